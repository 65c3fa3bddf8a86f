/**
 * Codec server for the Temporal Web UI (and `temporal ... --codec-endpoint`): `POST /codec/encode` and
 * `POST /codec/decode` speak Temporal's remote codec protocol, so operators see decrypted inputs, results and failure
 * messages in the UI while the Temporal server only ever stores ciphertext.
 *
 * Protocol: the body is `{ "payloads": [{ "metadata": { "<key>": "<base64>" }, "data": "<base64>" }] }` (the proto
 * JSON form of `temporal.api.common.v1.Payloads`); the answer has the same shape. Payloads this codec did not encrypt
 * pass through decode unchanged.
 *
 * The browser calls it cross-origin (the UI runs on its own port), so the router answers CORS itself: preflights
 * (`OPTIONS`, which carry no credentials by design) from an allowed origin get 204 with the allowed method and headers;
 * any request from another origin is refused with 403 and no CORS headers. Requests without an `Origin` header
 * (command-line tools, server-side callers) are not browser requests and are served.
 *
 * Authentication is not done here: mount the router behind the API's auth middleware, or pass it as
 * `deps.authenticate`, which runs after the CORS handling (so preflights are answered without a token and refusals
 * carry CORS headers the browser can read) and before encode/decode.
 */
import type { Payload, PayloadCodec } from '@temporalio/common';
import express, { Router, type ErrorRequestHandler, type RequestHandler, type Response } from 'express';
import { PayloadDecryptionError } from '../../lib/payload-codec';

/** What the codec router needs. */
export interface CodecRouterDeps {
  /** The same codec the clients and workers use (lib/payload-codec.ts). */
  codec: PayloadCodec;
  /** Browser origins allowed to call the endpoints, e.g. `http://localhost:8233` (CODEC_CORS_ORIGINS). */
  corsOrigins: string[];
  /** Middleware run after CORS and before encode/decode, typically authentication and authorisation. */
  authenticate?: RequestHandler | RequestHandler[];
}

/** Request headers the Web UI sends to a codec server. */
export const CODEC_ALLOWED_HEADERS = 'content-type,x-namespace,authorization';
const ALLOWED_METHODS = 'POST, OPTIONS';
/** How long a browser may cache a preflight answer, in seconds. */
const PREFLIGHT_MAX_AGE = '600';
/** Largest request body; the UI sends one event's payloads at a time. */
const CODEC_BODY_LIMIT = '4mb';

/** A payload in proto JSON form: metadata values and data are base64. */
export interface JsonPayload {
  metadata?: Record<string, string> | null;
  data?: string | null;
}

const BASE64 = /^[A-Za-z0-9+/_-]*={0,2}$/;

function problem(res: Response, status: number, title: string, detail: string): void {
  res
    .status(status)
    .type('application/problem+json')
    .send(JSON.stringify({ type: 'about:blank', title, status, detail, instance: res.req.originalUrl }));
}

class BadPayloads extends Error {}

function fromBase64(value: unknown, where: string): Uint8Array {
  if (typeof value !== 'string' || !BASE64.test(value)) throw new BadPayloads(`${where} must be a base64 string`);
  return Buffer.from(value, 'base64');
}

/**
 * Proto JSON -> Payload. An empty `Payloads` message is `{}` in proto JSON (empty lists are left out), and that is what
 * the Temporal CLI and Web UI send for, say, a query without arguments: `{}` and `"payloads": null` are the empty list.
 * @throws BadPayloads naming the offending field.
 */
export function payloadsFromJson(body: unknown): Payload[] {
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw new BadPayloads('body must be a JSON object (with a "payloads" array, or {} for none)');
  // Unknown fields are refused rather than read as "no payloads": a misspelt field must not decode to nothing.
  const unknown = Object.keys(body).filter((key) => key !== 'payloads');
  if (unknown.length > 0)
    throw new BadPayloads(`unknown field "${unknown[0]}": the body is {"payloads": [...]} (a "payloads" array, or {})`);
  const list = (body as { payloads?: unknown }).payloads ?? [];
  if (!Array.isArray(list)) throw new BadPayloads('"payloads" must be an array of payloads');
  return list.map((item: unknown, i): Payload => {
    if (typeof item !== 'object' || item === null) throw new BadPayloads(`payloads[${i}] must be an object`);
    const { metadata, data } = item as JsonPayload;
    if (metadata !== undefined && metadata !== null && (typeof metadata !== 'object' || Array.isArray(metadata)))
      throw new BadPayloads(`payloads[${i}].metadata must be an object`);
    return {
      metadata: Object.fromEntries(
        Object.entries(metadata ?? {}).map(([key, value]) => [
          key,
          fromBase64(value, `payloads[${i}].metadata.${key}`),
        ]),
      ),
      data: data === undefined || data === null ? new Uint8Array() : fromBase64(data, `payloads[${i}].data`),
    };
  });
}

/** Payload -> proto JSON. */
export function payloadsToJson(payloads: Payload[]): { payloads: JsonPayload[] } {
  return {
    payloads: payloads.map((p) => ({
      metadata: Object.fromEntries(
        Object.entries(p.metadata ?? {}).map(([key, value]) => [key, Buffer.from(value ?? []).toString('base64')]),
      ),
      data: Buffer.from(p.data ?? []).toString('base64'),
    })),
  };
}

/** Builds the router; mount it at the root (`app.use(codecRouter(deps))`), it serves `/codec/*`. */
export function codecRouter(deps: CodecRouterDeps): Router {
  const allowed = new Set(deps.corsOrigins);
  const router = Router();

  const cors: RequestHandler = (req, res, next) => {
    res.vary('Origin');
    const origin = req.get('origin');
    if (origin !== undefined) {
      if (!allowed.has(origin)) {
        problem(res, 403, 'Forbidden', `origin ${origin} may not call the codec endpoint (see CODEC_CORS_ORIGINS)`);
        return;
      }
      res.set({ 'Access-Control-Allow-Origin': origin, 'Access-Control-Allow-Credentials': 'true' });
    }
    if (req.method === 'OPTIONS') {
      if (origin === undefined) {
        problem(res, 400, 'Bad Request', 'a CORS preflight needs an Origin header');
        return;
      }
      res.set({
        'Access-Control-Allow-Methods': ALLOWED_METHODS,
        'Access-Control-Allow-Headers': CODEC_ALLOWED_HEADERS,
        'Access-Control-Max-Age': PREFLIGHT_MAX_AGE,
      });
      res.status(204).end();
      return;
    }
    next();
  };

  const handle =
    (operation: 'encode' | 'decode'): RequestHandler =>
    async (req, res) => {
      let payloads: Payload[];
      try {
        payloads = payloadsFromJson(req.body);
      } catch (err) {
        if (err instanceof BadPayloads) return problem(res, 400, 'Bad Request', err.message);
        throw err;
      }
      try {
        const out = await deps.codec[operation](payloads);
        res.json(payloadsToJson(out));
      } catch (err) {
        if (err instanceof PayloadDecryptionError) return problem(res, 422, 'Unprocessable Content', err.message);
        throw err;
      }
    };

  const parseErrors: ErrorRequestHandler = (err: unknown, _req, res, next) => {
    const type = (err as { type?: string } | null)?.type;
    if (type === 'entity.parse.failed') return problem(res, 400, 'Bad Request', 'body is not valid JSON');
    if (type === 'entity.too.large') return problem(res, 413, 'Content Too Large', 'body is too large');
    next(err);
  };

  const guards = deps.authenticate === undefined ? [] : [deps.authenticate].flat();
  const json = express.json({ limit: CODEC_BODY_LIMIT });
  router.options(['/codec/encode', '/codec/decode'], cors);
  router.post('/codec/encode', cors, ...guards, json, handle('encode'), parseErrors);
  router.post('/codec/decode', cors, ...guards, json, handle('decode'), parseErrors);
  return router;
}
