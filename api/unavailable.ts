/**
 * Which errors mean "a server the API depends on is unavailable" rather than "this request is wrong" or "a bug": they
 * are answered 503 problem+json with `Retry-After` (api/problem.ts), never 500, so clients and load balancers retry
 * instead of giving up. See README "When PostgreSQL or Temporal is down".
 */

/** Seconds a client is asked to wait before retrying a 503. */
export const RETRY_AFTER_SECONDS = 5;

/** Socket-level failures of a connection to PostgreSQL. */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/**
 * SQLSTATEs of a server that cannot serve now: class 08 (connection exception), 57P01-57P03 (shut down, crashed,
 * starting up), 53300 (too many connections).
 */
function isUnavailableSqlState(code: string): boolean {
  return code.startsWith('08') || code === '57P01' || code === '57P02' || code === '57P03' || code === '53300';
}

/** Messages of node-postgres and knex for a lost or unobtainable connection (they carry no code). */
const MESSAGES = [
  /^Connection terminated/,
  /Client has encountered a connection error/,
  /^Knex: Timeout acquiring a connection/,
  /Connection ended unexpectedly/,
];

/** The error and its causes (an AggregateError's errors too), outermost first. */
function* chain(err: unknown): Generator<unknown> {
  const seen = new Set<unknown>();
  const queue = [err];
  while (queue.length > 0) {
    const e = queue.shift();
    if (e === null || e === undefined || seen.has(e)) continue;
    seen.add(e);
    yield e;
    const o = e as { cause?: unknown; errors?: unknown[] };
    queue.push(o.cause);
    if (Array.isArray(o.errors)) queue.push(...o.errors);
  }
}

/** Whether `err` says PostgreSQL cannot be reached or cannot serve now. */
export function isDatabaseUnavailable(err: unknown): boolean {
  for (const e of chain(err)) {
    const o = e as { code?: unknown; name?: unknown; message?: unknown };
    if (o.name === 'KnexTimeoutError') return true;
    if (typeof o.code === 'string' && (NETWORK_CODES.has(o.code) || isUnavailableSqlState(o.code))) return true;
    if (typeof o.message === 'string' && MESSAGES.some((m) => m.test(o.message as string))) return true;
  }
  return false;
}

/** gRPC status codes of a Temporal server that cannot be reached in time: UNAVAILABLE (14), DEADLINE_EXCEEDED (4). */
const GRPC_UNAVAILABLE = new Set([14, 4]);

/** Whether `err` says the Temporal server cannot be reached (or did not answer in time). */
export function isTemporalUnavailable(err: unknown): boolean {
  for (const e of chain(err)) {
    const o = e as { code?: unknown; name?: unknown };
    if (typeof o.code === 'number' && GRPC_UNAVAILABLE.has(o.code)) return true;
  }
  return false;
}
