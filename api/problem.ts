/**
 * RFC 9457 problem details. Every error the API answers is `application/problem+json`; validation problems list each
 * invalid field with the rule it broke, so a client can fix all of them in one go.
 */
import type { ErrorRequestHandler, Request, RequestHandler } from 'express';
import type { z } from 'zod';
import { redactTokens } from '../lib/log-redaction';
import type { Logger } from '../lib/logger';
import { isDatabaseUnavailable, isTemporalUnavailable, RETRY_AFTER_SECONDS } from './unavailable';

/** One invalid field: where it is (`contacts[0].email`), which rule it broke, and a sentence. */
export interface FieldError {
  field: string;
  rule: string;
  message: string;
}

/** An error that becomes a problem+json answer. */
export class HttpProblem extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    readonly detail?: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(detail ?? title);
    this.name = 'HttpProblem';
  }
}

/** 400 with the list of invalid fields. */
export class ValidationProblem extends HttpProblem {
  constructor(readonly errors: FieldError[]) {
    super(400, 'Invalid request', errors.map((e) => `${e.field}: ${e.message}`).join('; '), { errors });
  }
}

/** Turns a zod path into `a.b[0].c`, prefixed with where the value came from (`body`, `query`, `path`). */
function fieldName(location: string, path: PropertyKey[]): string {
  let out = location;
  for (const part of path) out += typeof part === 'number' ? `[${part}]` : `.${String(part)}`;
  return out;
}

/** Converts zod issues into field errors. Unknown keys are reported one by one, under their own names. */
export function fieldErrors(location: string, error: z.ZodError): FieldError[] {
  return error.issues.flatMap((issue): FieldError[] => {
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => ({
        field: fieldName(location, [...issue.path, key]),
        rule: 'unrecognized_key',
        message: 'is not a known field',
      }));
    }
    // A custom rule names itself (`params.rule`, e.g. `date_range` in lib/schemas/dates.ts).
    const custom = issue.code === 'custom' ? (issue.params as { rule?: unknown } | undefined)?.rule : undefined;
    const rule =
      typeof custom === 'string'
        ? custom
        : issue.code === 'invalid_format'
          ? `invalid_format:${issue.format}`
          : issue.code;
    return [{ field: fieldName(location, issue.path), rule, message: issue.message }];
  });
}

/** Parses `value` with `schema` or throws a {@link ValidationProblem} whose fields start with `location`. */
export function parseOr400<S extends z.ZodType>(
  schema: S,
  value: unknown,
  location: 'body' | 'query' | 'path' | `header.${string}`,
): z.infer<S> {
  const result = schema.safeParse(value);
  if (!result.success) throw new ValidationProblem(fieldErrors(location, result.error));
  return result.data;
}

/**
 * Parses the request's header `name` with `schema` or throws a {@link ValidationProblem} naming it
 * (`header.Idempotency-Key`): a header is parsed on its own, so its name is the only thing that says which is wrong.
 */
export function parseHeaderOr400<S extends z.ZodType>(schema: S, req: Request, name: string): z.infer<S> {
  return parseOr400(schema, req.get(name), `header.${name}`);
}

/**
 * What an answer may say about the request's URL: the link token of `/verify/{token}` (and the other public links)
 * and anything shaped like a token masked, so an error never echoes a credential back (or into a proxy's log).
 */
export function instanceOf(req: Request): string {
  return redactTokens(req.originalUrl);
}

function send(res: Parameters<RequestHandler>[1], status: number, body: Record<string, unknown>): void {
  const safe = { ...body };
  if (typeof safe.detail === 'string') safe.detail = redactTokens(safe.detail);
  // Every 503 says when to come back: the server the API needs is down or busy, not the request wrong.
  if (status === 503 && !res.get('Retry-After')) res.set('Retry-After', String(RETRY_AFTER_SECONDS));
  res.status(status).type('application/problem+json').send(JSON.stringify(safe));
}

/** Answers 429 problem+json (a rate or failure limit is over; the RateLimit headers say when to retry). */
export function sendTooManyRequests(req: Request, res: Parameters<RequestHandler>[1], detail: string): void {
  send(res, 429, { type: 'about:blank', title: 'Too Many Requests', status: 429, detail, instance: instanceOf(req) });
}

/** 404 for routes that do not exist. */
export const notFoundHandler: RequestHandler = (req, res) => {
  send(res, 404, {
    type: 'about:blank',
    title: 'Not Found',
    status: 404,
    detail: `no route for ${req.method} ${req.path}`,
    instance: instanceOf(req),
  });
};

/**
 * The one place errors become answers. PostgreSQL or Temporal unavailable: 503 with `Retry-After` (api/unavailable.ts).
 * Unexpected errors are logged and answered 500 without internals.
 */
export function errorHandler(log: Logger): ErrorRequestHandler {
  return (err: unknown, req, res, _next) => {
    if (err instanceof HttpProblem) {
      send(res, err.status, {
        type: 'about:blank',
        title: err.title,
        status: err.status,
        detail: err.detail,
        instance: instanceOf(req),
        ...err.extra,
      });
      return;
    }
    // body-parser errors (malformed JSON, too large) carry a status and are the client's fault.
    const status =
      (err as { status?: number; statusCode?: number }).status ?? (err as { statusCode?: number }).statusCode;
    if (typeof status === 'number' && status >= 400 && status < 500) {
      const type = (err as { type?: string }).type;
      const detail =
        type === 'entity.parse.failed'
          ? 'body is not valid JSON'
          : type === 'entity.too.large'
            ? 'body is too large'
            : (err as Error).message;
      send(res, status, { type: 'about:blank', title: 'Bad Request', status, detail, instance: instanceOf(req) });
      return;
    }
    const database = isDatabaseUnavailable(err);
    if (database || isTemporalUnavailable(err)) {
      const server = database ? 'database' : 'workflow service';
      log.warn(`${server} unavailable`, { path: req.path, method: req.method, err: (err as Error)?.message });
      send(res, 503, {
        type: 'about:blank',
        title: 'Service Unavailable',
        status: 503,
        detail: `the ${server} is unavailable; retry after ${RETRY_AFTER_SECONDS} seconds`,
        instance: req.originalUrl,
      });
      return;
    }
    log.error('unhandled error', {
      err: err instanceof Error ? { name: err.name, message: err.message, stack: err.stack } : String(err),
      path: req.path,
      method: req.method,
    });
    send(res, 500, { type: 'about:blank', title: 'Internal Server Error', status: 500, instance: instanceOf(req) });
  };
}
