/**
 * Where the service may send outbound calls (subprocessor protocol v1): `https` to public addresses only, unless the
 * configuration says otherwise. Without this an admin (or a stolen admin token) could point a subprocessor at
 * `http://127.0.0.1:...` or the cloud metadata service and have the worker call it with customer data, and read the
 * answer back in a request's failure reason.
 *
 * Checked twice: when a subprocessor's URL is registered (a 400 naming the field and rule) and at every call, on the
 * address the connection actually uses ({@link guardedLookup}), so a name that resolved to a public address at
 * registration and to a private one later (DNS rebinding) is still refused. Address classes come from `ipaddr.js`
 * (IANA special-purpose registries), not from hand-written ranges.
 */
import dns from 'node:dns';
import type { LookupAddress, LookupAllOptions, LookupOneOptions } from 'node:dns';
import ipaddr from 'ipaddr.js';

/** The configured exceptions (SUBPROCESSOR_ALLOW_HTTP, SUBPROCESSOR_ALLOWED_HOSTS). */
export interface OutboundPolicy {
  /** Plain `http` allowed (development and tests only; refused with NODE_ENV=production). */
  allowHttp: boolean;
  /** Host names (lower case) whose addresses are not checked. */
  allowedHosts: readonly string[];
  /** Address ranges allowed although not public, e.g. `127.0.0.1/32` for a local simulator. */
  allowedCidrs: readonly string[];
}

/** No exceptions: `https` to public addresses only. The default wherever no configuration is passed. */
export const STRICT_OUTBOUND_POLICY: OutboundPolicy = { allowHttp: false, allowedHosts: [], allowedCidrs: [] };

/** The cloud metadata services (AWS, GCP, Azure: IPv4; AWS Nitro: IPv6), named as such in refusals. */
const METADATA_ADDRESSES = new Set(['169.254.169.254', 'fd00:ec2::254']);

/** Why a destination is refused: the rule a 400 names, and a sentence for people. */
export interface DestinationProblem {
  rule: 'https_required' | 'not_public_address' | 'metadata_address' | 'unresolvable' | 'credentials_in_url';
  message: string;
}

/** Raised at call time when a destination is refused; the subprocessor client reports it as the call's failure. */
export class OutboundDestinationRefusedError extends Error {
  override name = 'OutboundDestinationRefusedError';
  constructor(
    readonly problem: DestinationProblem,
    readonly host: string,
  ) {
    super(`destination refused (${problem.rule}): ${problem.message}`);
  }
}

/**
 * Parses one SUBPROCESSOR_ALLOWED_HOSTS entry: an IP address, a CIDR range or a host name. Returns the problem as a
 * sentence, or undefined when it is valid.
 */
export function allowedHostEntryProblem(entry: string): string | undefined {
  if (ipaddr.isValid(entry)) return undefined;
  if (entry.includes('/')) {
    try {
      ipaddr.parseCIDR(entry);
      return undefined;
    } catch {
      return `"${entry}" is not a CIDR range such as 10.1.0.0/16`;
    }
  }
  if (/^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i.test(entry))
    return undefined;
  return `"${entry}" is neither an IP address, a CIDR range nor a host name`;
}

/** Splits SUBPROCESSOR_ALLOWED_HOSTS entries (already validated) into host names and CIDR ranges. */
export function outboundPolicy(opts: { allowHttp: boolean; allowedEntries: readonly string[] }): OutboundPolicy {
  const allowedHosts: string[] = [];
  const allowedCidrs: string[] = [];
  for (const entry of opts.allowedEntries) {
    if (ipaddr.isValid(entry)) {
      const address = ipaddr.process(entry);
      allowedCidrs.push(`${address.toString()}/${address.kind() === 'ipv4' ? 32 : 128}`);
    } else if (entry.includes('/')) allowedCidrs.push(entry);
    else allowedHosts.push(entry.toLowerCase());
  }
  return { allowHttp: opts.allowHttp, allowedHosts, allowedCidrs };
}

/** The URL's host name as DNS sees it: lower case, IPv6 brackets removed. */
function hostOf(url: URL): string {
  return url.hostname.replace(/^\[(.*)\]$/, '$1').toLowerCase();
}

/**
 * What is wrong with one resolved (or literal) address under `policy`, or undefined when it may be called: public
 * unicast addresses, and addresses inside an allowed range. IPv4-mapped IPv6 addresses are judged as the IPv4 address.
 */
export function addressProblem(address: string, policy: OutboundPolicy): DestinationProblem | undefined {
  let parsed: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    parsed = ipaddr.process(address);
  } catch {
    return { rule: 'not_public_address', message: `"${address}" is not an IP address` };
  }
  for (const cidr of policy.allowedCidrs) {
    const [range, bits] = ipaddr.parseCIDR(cidr);
    if (range.kind() === parsed.kind() && parsed.match(range, bits)) return undefined;
  }
  const normal = parsed.toNormalizedString();
  if (METADATA_ADDRESSES.has(parsed.toString()) || METADATA_ADDRESSES.has(normal)) {
    return { rule: 'metadata_address', message: `${address} is a cloud metadata service address` };
  }
  const range = parsed.range();
  if (range !== 'unicast') {
    return { rule: 'not_public_address', message: `${address} is a ${range} address, not a public one` };
  }
  return undefined;
}

/**
 * Checks a URL's scheme and, when its host is an IP literal, the address (a literal never reaches a DNS lookup, so
 * {@link guardedLookup} would not see it). Host names are checked by {@link destinationProblem} (registration) and
 * {@link guardedLookup} (call time).
 */
export function urlProblem(url: URL, policy: OutboundPolicy): DestinationProblem | undefined {
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && policy.allowHttp)) {
    return {
      rule: 'https_required',
      message: policy.allowHttp
        ? 'must be an http or https URL'
        : 'must be an https URL (plain http only with SUBPROCESSOR_ALLOW_HTTP=true, outside production)',
    };
  }
  if (url.username || url.password) {
    return { rule: 'credentials_in_url', message: 'must not carry a user name or password' };
  }
  const host = hostOf(url);
  if (policy.allowedHosts.includes(host)) return undefined;
  if (ipaddr.isValid(host)) return addressProblem(host, policy);
  return undefined;
}

/** Resolves `host` to all its addresses with the system resolver (what the HTTP client would connect to). */
async function resolveAll(host: string): Promise<string[]> {
  const found = await dns.promises.lookup(host, { all: true, verbatim: true });
  return found.map((a) => a.address);
}

/**
 * The full check of a URL at registration: scheme, then every address its host resolves to now (a name with one
 * private address among public ones is refused: the client may pick any of them).
 */
export async function destinationProblem(
  rawUrl: string,
  policy: OutboundPolicy,
  resolve: (host: string) => Promise<string[]> = resolveAll,
): Promise<DestinationProblem | undefined> {
  let url: URL;
  try {
    url = new URL(rawUrl);
  } catch {
    return { rule: 'https_required', message: 'must be an absolute https URL' };
  }
  const problem = urlProblem(url, policy);
  if (problem) return problem;
  const host = hostOf(url);
  if (policy.allowedHosts.includes(host) || ipaddr.isValid(host)) return undefined;
  let addresses: string[];
  try {
    addresses = await resolve(host);
  } catch {
    return { rule: 'unresolvable', message: `${host} does not resolve to an address` };
  }
  if (addresses.length === 0) return { rule: 'unresolvable', message: `${host} does not resolve to an address` };
  for (const address of addresses) {
    const refused = addressProblem(address, policy);
    if (refused) return { ...refused, message: `${host} resolves to ${refused.message}` };
  }
  return undefined;
}

/** A `dns.lookup`-shaped function, as `net.connect` takes it. */
export type LookupFunction = (
  hostname: string,
  options: LookupOneOptions | LookupAllOptions,
  callback: (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void,
) => void;

/**
 * A `lookup` for the HTTP client's sockets that resolves with `base` (default `dns.lookup`) and refuses the connection
 * when any address it would use is not allowed: the check runs on the address actually connected to, so DNS that
 * changes between registration and call (rebinding) cannot slip through.
 */
export function guardedLookup(policy: OutboundPolicy, base: LookupFunction = dns.lookup) {
  return ((hostname: string, options: LookupOneOptions | LookupAllOptions, callback: LookupCallback) => {
    base(hostname, options, (err, address, family) => {
      if (err) return callback(err, address, family);
      if (policy.allowedHosts.includes(hostname.toLowerCase())) return callback(null, address, family);
      const addresses = Array.isArray(address) ? address.map((a) => a.address) : [address];
      for (const one of addresses) {
        const problem = addressProblem(one, policy);
        if (problem) {
          const refused = new OutboundDestinationRefusedError(
            { ...problem, message: `${hostname} resolves to ${problem.message}` },
            hostname,
          ) as OutboundDestinationRefusedError & NodeJS.ErrnoException;
          refused.code = 'EDESTINATIONREFUSED';
          return callback(refused, address, family);
        }
      }
      callback(null, address, family);
    });
  }) as LookupFunction;
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;
