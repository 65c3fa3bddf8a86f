/**
 * Outbound side of subprocessor protocol v1 (DESIGN.md): signed, idempotency-keyed JSON over HTTP(S), with the
 * protocol's answer classes turned into domain errors so that Temporal retries exactly what is worth retrying.
 *
 * Every call goes only where lib/outbound-destinations.ts allows: the URL's scheme and literal address are checked
 * before the call, and the address a host name resolves to is checked in the socket's `lookup`, so DNS that changed
 * since registration (rebinding) cannot send a call to loopback, a private network or the metadata service. What a
 * refused or failed call reports (it ends up in `GET /v1/requests/{id}` for staff) is the status and a short,
 * sanitised excerpt of the answer, never the answer itself.
 */
import { Agent, fetch as undiciFetch } from 'undici';
import {
  guardedLookup,
  OutboundDestinationRefusedError,
  STRICT_OUTBOUND_POLICY,
  urlProblem,
  type LookupFunction,
  type OutboundPolicy,
} from './outbound-destinations';
import { SubprocessorRejectedError, SubprocessorUnavailableError } from './pure/errors';
import { IDEMPOTENCY_HEADER, SIGNATURE_HEADER, signBody } from './signature';

/** Where and how to reach one subprocessor. */
export interface SubprocessorEndpoint {
  id: string;
  baseUrl: string;
  signingSecret: string;
}

/** A call the subprocessor accepted (2xx) or had already done (409 for the same idempotency key). */
export interface SubprocessorAnswer {
  status: number;
  alreadyDone: boolean;
  body: unknown;
}

/** Sends protocol v1 calls. */
export interface SubprocessorClient {
  /**
   * POSTs `body` to `{baseUrl}{path}`.
   * @throws SubprocessorUnavailableError on 5xx, 408, 429, a timeout or a network error (retry).
   * @throws SubprocessorRejectedError on any other 4xx (permanent).
   */
  post(
    endpoint: SubprocessorEndpoint,
    path: string,
    body: unknown,
    idempotencyKey: string,
  ): Promise<SubprocessorAnswer>;
}

const RETRYABLE_4XX = new Set([408, 429]);

/** How a call failed: `unavailable` is retried (5xx, 408, 429, timeout, network), `rejected` is permanent. */
export type SubprocessorFailureKind = 'unavailable' | 'rejected';

/** Options of {@link createSubprocessorClient}. */
export interface SubprocessorClientOptions {
  timeoutMs: number;
  /**
   * Where calls may go (SUBPROCESSOR_ALLOW_HTTP, SUBPROCESSOR_ALLOWED_HOSTS: `config.subprocessors.outbound`).
   * Default: `https` to public addresses only.
   */
  outbound?: OutboundPolicy;
  /** Resolver under the destination check (default `dns.lookup`); tests pass one that answers a chosen address. */
  lookup?: LookupFunction;
  /** Replaces the guarded HTTP client entirely (no destination check at connect time); tests only. */
  fetch?: typeof fetch;
  /** Told of every failed call (before the error is thrown), e.g. to count it in the worker's metrics. */
  onFailure?: (subprocessorId: string, kind: SubprocessorFailureKind) => void;
}

/** Creates a client that gives each call `timeoutMs` before treating it as unavailable. */
export function createSubprocessorClient(opts: SubprocessorClientOptions): SubprocessorClient {
  const policy = opts.outbound ?? STRICT_OUTBOUND_POLICY;
  // One connection pool whose sockets resolve through the destination check.
  const dispatcher = new Agent({ connect: { lookup: guardedLookup(policy, opts.lookup) } });
  const doFetch: typeof fetch = opts.fetch ?? ((url, init) => undiciFetch(url, { ...(init as object), dispatcher }));
  const failed = (endpointId: string, kind: SubprocessorFailureKind) => {
    try {
      opts.onFailure?.(endpointId, kind);
    } catch {
      // Counting a failure must never change what the caller sees.
    }
  };
  return {
    async post(endpoint, path, body, idempotencyKey) {
      const payload = JSON.stringify(body);
      const url = `${endpoint.baseUrl.replace(/\/+$/, '')}${path}`;
      // A literal address never reaches the lookup: check it (and the scheme) here.
      const refused = urlProblem(new URL(url), policy);
      if (refused) {
        failed(endpoint.id, 'unavailable');
        throw new SubprocessorUnavailableError(
          endpoint.id,
          `destination refused (${refused.rule}): ${refused.message}`,
        );
      }
      let response: Response;
      try {
        response = await doFetch(url, {
          method: 'POST',
          headers: {
            'Content-Type': 'application/json',
            [IDEMPOTENCY_HEADER]: idempotencyKey,
            [SIGNATURE_HEADER]: signBody(payload, endpoint.signingSecret),
          },
          body: payload,
          signal: AbortSignal.timeout(opts.timeoutMs),
        });
      } catch (err) {
        // Checked by name: the DOMException fetch throws need not share this realm's Error prototype.
        const timedOut = (err as { name?: string } | null)?.name === 'TimeoutError';
        const refusal = findRefusal(err);
        const reason = timedOut
          ? `no answer within ${opts.timeoutMs} ms`
          : refusal
            ? refusal.message
            : boundedExcerpt(describeNetworkError(err));
        failed(endpoint.id, 'unavailable');
        throw new SubprocessorUnavailableError(endpoint.id, reason, { cause: err });
      }
      const text = await response.text();
      const parsed = parseJson(text);
      if (response.ok) return { status: response.status, alreadyDone: false, body: parsed };
      if (response.status === 409) return { status: 409, alreadyDone: true, body: parsed };
      const detail = `${path}: ${boundedExcerpt(text)}`;
      if (response.status >= 500 || RETRYABLE_4XX.has(response.status)) {
        failed(endpoint.id, 'unavailable');
        throw new SubprocessorUnavailableError(endpoint.id, `HTTP ${response.status} on ${detail}`);
      }
      failed(endpoint.id, 'rejected');
      throw new SubprocessorRejectedError(endpoint.id, response.status, detail);
    },
  };
}

/** Longest excerpt of a subprocessor's answer kept in a failure reason. */
export const EXCERPT_MAX_CHARS = 200;

/**
 * A failure reason's excerpt of text from outside: control and format characters (including NUL, escape sequences,
 * bidi overrides and lone surrogates) replaced by a space, whitespace collapsed, and at most `max` characters (an
 * ellipsis marks a cut). Staff read it in `GET /v1/requests/{id}`; it must not carry a terminal escape or a page.
 */
export function boundedExcerpt(text: string, max = EXCERPT_MAX_CHARS): string {
  const clean = text
    .replace(/[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}]/gu, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  return clean.length <= max ? clean : `${clean.slice(0, max - 1)}…`;
}

/** The destination refusal somewhere in a failed fetch's cause chain (undici wraps the socket's error). */
function findRefusal(err: unknown): OutboundDestinationRefusedError | undefined {
  for (let e = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    if (e instanceof OutboundDestinationRefusedError) return e;
  }
  return undefined;
}

/** "fetch failed: connect ECONNREFUSED 127.0.0.1:1": the message and its cause's, which names the network error. */
function describeNetworkError(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  const cause = (err as { cause?: unknown } | null)?.cause;
  return cause instanceof Error ? `${message}: ${cause.message}` : message;
}

function parseJson(text: string): unknown {
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    return text.slice(0, 1000);
  }
}
