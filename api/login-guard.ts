/**
 * Login protection that cannot lock everyone out.
 *
 * A bearer token is checked first, always: a valid token is served whatever else happened (someone flooding its
 * address or its token prefix with bad tokens cannot lock a staff member out, even behind a proxy that gives everyone
 * one address). Only failures count, in two express-rate-limit windows:
 *
 * - per client address (`req.ip`, which honours `TRUST_PROXY`; IPv6 grouped by /56 with `ipKeyGenerator`), and
 * - per presented token prefix (the first {@link TOKEN_PREFIX_CHARS} characters), which slows guessing spread over
 *   many addresses.
 *
 * Over either limit a failure is answered 429 instead of 401 (it still never learns more than "not a valid token").
 * Failures are not logged one line each (an attacker would control the volume of the log): {@link FailureBursts}
 * writes one line per burst, with the counts, the addresses and paths involved and how many were refused 429.
 */
import type { Request, RequestHandler, Response } from 'express';
import { ipKeyGenerator, rateLimit } from 'express-rate-limit';
import type { Knex } from 'knex';
import { staffTokens, type StaffIdentity } from '../db/repositories/staff-tokens';
import type { Logger } from '../lib/logger';
import { HttpProblem, sendTooManyRequests } from './problem';

/** Characters of a presented token that key the per-prefix limit (`dlo_` and 8 random characters). */
export const TOKEN_PREFIX_CHARS = 12;
/** Failures per window are counted over 15 minutes. */
const FAILURE_WINDOW_MS = 15 * 60_000;
/** Longest burst before its line is written even if failures keep coming. */
const MAX_BURST_MS = 15 * 60_000;
/** How many addresses and paths a burst's line names (the busiest ones); counts cover all of them. */
const TOP = 5;

/** Limits of the login guard (part of `RateLimits`, api/auth.ts). */
export interface LoginLimits {
  /** Failed authentications per 15 minutes from one address before its failures get 429. */
  authFailuresPer15Minutes: number;
  /** Failed authentications per 15 minutes with one token prefix (from any address) before they get 429. */
  authFailuresPerTokenPrefix: number;
  /** Time without a failure that ends a burst and writes its one log line. */
  authFailureReportQuietMs: number;
}

/** Why a request was not authenticated. */
type FailureReason = 'no bearer token' | 'unknown or revoked token';

interface Failure {
  reason: FailureReason;
  /** The presented token's first characters, when a token was presented. */
  prefix?: string;
}

interface Burst {
  startedAt: Date;
  failures: number;
  limited: number;
  addresses: Map<string, number>;
  paths: Map<string, number>;
  prefixes: Set<string>;
  reasons: Map<FailureReason, number>;
  timer?: NodeJS.Timeout;
}

const top = (counts: Map<string, number>) => Object.fromEntries([...counts].sort((a, b) => b[1] - a[1]).slice(0, TOP));

/**
 * Aggregates failed authentications into bursts: a burst lasts while failures keep coming less than `quietMs` apart
 * (at most {@link MAX_BURST_MS}), and ends with one log line: a warning, or an error ("abnormal activity") when some
 * of its requests were over a limit.
 */
export class FailureBursts {
  private burst: Burst | undefined;

  constructor(
    private readonly log: Logger,
    private readonly quietMs: number,
  ) {}

  /** Counts one failure (`limited`: answered 429). */
  record(req: Request, failure: Failure, limited: boolean): void {
    const burst: Burst = (this.burst ??= {
      startedAt: new Date(),
      failures: 0,
      limited: 0,
      addresses: new Map(),
      paths: new Map(),
      prefixes: new Set(),
      reasons: new Map(),
    });
    burst.failures++;
    if (limited) burst.limited++;
    const address = req.ip ?? 'unknown';
    burst.addresses.set(address, (burst.addresses.get(address) ?? 0) + 1);
    const path = `${req.method} ${req.baseUrl}${req.path}`.slice(0, 200);
    if (burst.paths.size < 1000 || burst.paths.has(path)) burst.paths.set(path, (burst.paths.get(path) ?? 0) + 1);
    if (failure.prefix !== undefined && burst.prefixes.size < 100_000) burst.prefixes.add(failure.prefix);
    burst.reasons.set(failure.reason, (burst.reasons.get(failure.reason) ?? 0) + 1);

    clearTimeout(burst.timer);
    if (Date.now() - burst.startedAt.getTime() >= MAX_BURST_MS) {
      this.flush();
      return;
    }
    burst.timer = setTimeout(() => this.flush(), this.quietMs);
    burst.timer.unref();
  }

  /** Writes the current burst's line now (also what the quiet timer does). */
  flush(): void {
    const burst = this.burst;
    if (!burst) return;
    this.burst = undefined;
    clearTimeout(burst.timer);
    const meta = {
      event: burst.limited > 0 ? 'security.auth_failures_exceeded' : 'security.auth_failed',
      failures: burst.failures,
      refused429: burst.limited,
      startedAt: burst.startedAt.toISOString(),
      endedAt: new Date().toISOString(),
      addressCount: burst.addresses.size,
      addresses: top(burst.addresses),
      paths: top(burst.paths),
      // How many different tokens were tried, never the tokens or their prefixes.
      distinctTokenPrefixes: burst.prefixes.size,
      reasons: Object.fromEntries(burst.reasons),
    };
    if (burst.limited > 0) this.log.error('abnormal activity: repeated failed authentication', meta);
    else this.log.warn('authentication failed', meta);
  }
}

/** The staff member the login guard identified for this request. */
export function identifiedStaff(res: Response): StaffIdentity | undefined {
  return res.locals.identifiedStaff as StaffIdentity | undefined;
}

function failureOf(res: Response): Failure | undefined {
  return res.locals.authFailure as Failure | undefined;
}

function tooManyFailures(req: Request, res: Response): void {
  sendTooManyRequests(req, res, 'too many failed authentications; retry after the time in the RateLimit header');
}

/**
 * The login guard: middleware that identifies the staff member behind the bearer token (then
 * {@link identifiedStaff} names them) or answers 401, or 429 once the failures of the request's address or token
 * prefix are over their limit. One guard serves the API and the codec endpoints, so they share the counts.
 * `flush()` writes the failures of the burst in progress at once (the app calls it when its server closes, so the
 * last burst's line is neither lost nor written after the process has moved on).
 */
export function loginGuard(deps: { db: Knex; log: Logger; limits: LoginLimits }): RequestHandler[] & { flush(): void } {
  const bursts = new FailureBursts(deps.log, deps.limits.authFailureReportQuietMs);

  const identify: RequestHandler = async (req, res, next) => {
    const header = req.get('authorization');
    const token = header?.match(/^Bearer\s+(\S+)$/i)?.[1];
    const staff = token ? await staffTokens.authenticate(deps.db, token) : undefined;
    if (staff) res.locals.identifiedStaff = staff;
    else
      res.locals.authFailure = {
        reason: header ? 'unknown or revoked token' : 'no bearer token',
        prefix: token?.slice(0, TOKEN_PREFIX_CHARS),
      } satisfies Failure;
    next();
  };

  // Only failures reach the limiters' counts (`skip`), so a valid token is neither counted nor refused.
  const limiter = (limit: number, keyGenerator: (req: Request, res: Response) => string, onlyWithToken = false) =>
    rateLimit({
      windowMs: FAILURE_WINDOW_MS,
      limit,
      standardHeaders: 'draft-8',
      legacyHeaders: false,
      skip: (_req, res) => {
        const failure = failureOf(res);
        return failure === undefined || (onlyWithToken && failure.prefix === undefined);
      },
      keyGenerator,
      handler: (req, res) => {
        bursts.record(req, failureOf(res)!, true);
        tooManyFailures(req, res);
      },
    });
  const byAddress = limiter(deps.limits.authFailuresPer15Minutes, (req) => `ip:${ipKeyGenerator(req.ip ?? '')}`);
  const byTokenPrefix = limiter(
    deps.limits.authFailuresPerTokenPrefix,
    (_req, res) => `prefix:${failureOf(res)!.prefix}`,
    true,
  );

  const refuse: RequestHandler = (req, res, next) => {
    const failure = failureOf(res);
    if (failure === undefined) return next();
    bursts.record(req, failure, false);
    res.set('WWW-Authenticate', 'Bearer');
    throw new HttpProblem(401, 'Unauthorized', 'a valid staff bearer token is required');
  };

  return Object.assign([identify, byAddress, byTokenPrefix, refuse], { flush: () => bursts.flush() });
}
