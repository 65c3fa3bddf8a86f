/**
 * Plays the *receiving* side of subprocessor protocol v1 (see DESIGN.md) for any number of subprocessors at once, so
 * the orchestrator's outbound client is exercised over real HTTP with real signatures, idempotency keys, failures,
 * slow answers and asynchronous deletion callbacks. Subprocessor `<id>` lives under `<url>/sp/<id>`.
 *
 * Run standalone with `tsx test/fakes/subprocessor-simulator.ts` (env: SUBPROCESSOR_SIM_PORT, SUBPROCESSOR_SIM_HOST,
 * SUBPROCESSOR_SIM_SECRET for every subprocessor, SUBPROCESSOR_SIM_SECRETS as `id=secret,id2=secret2`).
 */
import type { Server } from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleepWithSignal } from 'node:timers/promises';
import express from 'express';
import type { NextFunction, Request, Response } from 'express';
import { IDEMPOTENCY_HEADER, SIGNATURE_HEADER, signBody, verifySignature } from '../../lib/signature';

/** How a subprocessor confirms deletions: in the response, later through the callback URL, or not at all. */
export type DeletionMode = 'sync' | 'callback' | 'never';

/** One request the simulator received under `/sp/<id>`, as answered. */
export interface RecordedCall {
  subprocessorId: string;
  method: string;
  /** Path without the `/sp/<id>` prefix and without the query string, e.g. `/v1/tenants`. */
  path: string;
  /** Request headers by lower-case name; repeated headers joined with `, `. */
  headers: Record<string, string>;
  /** Parsed JSON body; the raw text when it was not JSON; `undefined` when empty. */
  body: unknown;
  idempotencyKey?: string;
  /** Whether `X-Signature` matched the raw body bytes under this subprocessor's secret. */
  signatureValid: boolean;
  /** HTTP status the simulator answered. */
  status: number;
  /** JSON body the simulator answered. */
  responseBody: unknown;
  /** Arrival time (the call is recorded when it is answered, i.e. after any injected delay). */
  receivedAt: Date;
}

/** Narrows {@link SubprocessorSimulator.calls}; a string path must match exactly. */
export interface CallFilter {
  subprocessorId?: string;
  path?: string | RegExp;
}

/** A failure to inject with {@link SubprocessorSimulator.failNext}. */
export interface InjectedFailure {
  status: number;
  /** How many consecutive calls fail; at least 1. */
  times: number;
  /** Response body; default `{ error: 'injected failure' }`. */
  body?: unknown;
  /** Extra response headers, e.g. `Retry-After` with a 429. */
  headers?: Record<string, string>;
}

/** One attempt to deliver a deletion callback to the orchestrator. */
export interface CallbackAttempt {
  subprocessorId: string;
  deletionId: string;
  tenantId: string;
  url: string;
  /** 1 for the first attempt. */
  attempt: number;
  /** HTTP status the orchestrator answered; absent when the request itself failed. */
  status?: number;
  /** Network error or timeout, when there was no HTTP answer. */
  error?: string;
  sentAt: Date;
}

/** Options of {@link startSubprocessorSimulator}. */
export interface SubprocessorSimulatorOptions {
  /** Default 0 (a free port). */
  port?: number;
  /** Default `127.0.0.1`. */
  host?: string;
  /** Shared secret per subprocessor id. */
  secrets?: Record<string, string>;
  /** Secret for subprocessors not in `secrets`. Without either, every call to that subprocessor gets a 401. */
  defaultSecret?: string;
  /** Receives one line per answered call and per callback attempt; default: silent. */
  log?: (line: string) => void;
  /** Attempts per deletion callback (retried on network errors, 5xx, 408, 429); default 5. */
  callbackAttempts?: number;
  /**
   * Serve HTTPS with this certificate and key (PEM), e.g. for a stack with NODE_ENV=production, which calls
   * subprocessors over https only; default plain HTTP.
   */
  tls?: { cert: string; key: string };
}

/** A running simulator. */
export interface SubprocessorSimulator {
  /** e.g. `http://127.0.0.1:PORT` (`https://` with `tls`). */
  readonly url: string;
  /** Base URL to register for subprocessor `id`: `<url>/sp/<id>`. */
  baseUrlFor(id: string): string;
  /** The secret this subprocessor verifies and signs with, if any. */
  secretFor(id: string): string | undefined;
  /** Sets or replaces a subprocessor's secret (e.g. to simulate rotation). */
  setSecret(id: string, secret: string): void;
  /**
   * The next `times` calls to `id` (after the signature and Idempotency-Key checks, before the already-done check)
   * answer `status`. Their idempotency keys are not recorded, so a retry with the same key then succeeds.
   */
  failNext(id: string, failure: InjectedFailure): void;
  /** The next `times` (default 1) calls to `id` are answered only after `ms`; their effects still happen at once. */
  delayNext(id: string, ms: number, times?: number): void;
  /** How `id` confirms deletions from now on; `callbackDelayMs` (default 100) applies to mode `callback`. */
  setDeletionMode(id: string, mode: DeletionMode, callbackDelayMs?: number): void;
  /**
   * Sends the callback for a deletion that is still unconfirmed (mode `never`, or `callback` before its delay ran out)
   * right now; resolves with the last delivery attempt. Rejects when no such deletion is pending.
   */
  completeDeletion(id: string, deletionId: string): Promise<CallbackAttempt>;
  /** Recorded calls, oldest first. */
  calls(filter?: CallFilter): RecordedCall[];
  /** Callback delivery attempts, oldest first. */
  callbacks(): CallbackAttempt[];
  /**
   * Resolves with the first recorded call matching `predicate`, or the next one recorded. Rejects after `timeoutMs`
   * (default 30000) with an Error listing the calls so far, and when the simulator stops.
   */
  waitForCall(predicate: (c: RecordedCall) => boolean, opts?: { timeoutMs?: number }): Promise<RecordedCall>;
  /**
   * Back to a fresh state: forgets calls, callbacks, idempotency keys, pending deletions, injected failures and delays,
   * and deletion modes; cancels pending callbacks. Secrets stay.
   */
  reset(): void;
  /** Cancels pending callbacks, rejects pending waits and closes the server. */
  stop(): Promise<void>;
}

interface PendingDeletion {
  tenantId: string;
  callbackUrl: string;
  timer?: NodeJS.Timeout;
}

interface SubprocessorState {
  failures: Array<{ status: number; remaining: number; body: unknown; headers: Record<string, string> }>;
  delays: Array<{ ms: number; remaining: number }>;
  deletionMode: DeletionMode;
  callbackDelayMs: number;
  /** `<path>\n<idempotency key>` of every call that succeeded. */
  doneKeys: Set<string>;
  pendingDeletions: Map<string, PendingDeletion>;
}

interface Answer {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
  /** Runs only if the answer is sent as decided; used for side effects of successful calls. */
  onSuccess?: () => void;
}

interface Waiter {
  predicate: (c: RecordedCall) => boolean;
  resolve: (c: RecordedCall) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

const DEFAULT_WAIT_MS = 30_000;
const DEFAULT_CALLBACK_DELAY_MS = 100;
const CALLBACK_TIMEOUT_MS = 10_000;
const CALLBACK_BACKOFF_MS = 200;

/** Starts the simulator on `host:port` (default 127.0.0.1, a free port). */
export async function startSubprocessorSimulator(
  opts: SubprocessorSimulatorOptions = {},
): Promise<SubprocessorSimulator> {
  const secrets = new Map(Object.entries(opts.secrets ?? {}));
  const log = opts.log ?? ((): void => undefined);
  const maxCallbackAttempts = Math.max(1, opts.callbackAttempts ?? 5);

  const states = new Map<string, SubprocessorState>();
  let recorded: RecordedCall[] = [];
  let callbackAttempts: CallbackAttempt[] = [];
  const waiters = new Set<Waiter>();
  const inFlight = new Set<Promise<unknown>>();
  // Aborted by reset()/stop() so that sleeping callbacks and delayed answers never outlive the state they belong to.
  let lifetime = new AbortController();
  let stopped = false;

  const secretFor = (id: string): string | undefined => secrets.get(id) ?? opts.defaultSecret;

  const stateOf = (id: string): SubprocessorState => {
    let s = states.get(id);
    if (!s) {
      s = {
        failures: [],
        delays: [],
        deletionMode: 'sync',
        callbackDelayMs: DEFAULT_CALLBACK_DELAY_MS,
        doneKeys: new Set(),
        pendingDeletions: new Map(),
      };
      states.set(id, s);
    }
    return s;
  };

  const track = <T>(p: Promise<T>): Promise<T> => {
    inFlight.add(p);
    const forget = (): void => {
      inFlight.delete(p);
    };
    p.then(forget, forget);
    return p;
  };

  /** Resolves after `ms`, or early (never rejecting) when the simulator is reset or stopped. */
  const pause = async (ms: number, signal: AbortSignal = lifetime.signal): Promise<void> => {
    try {
      await sleepWithSignal(ms, undefined, { signal });
    } catch {
      // Aborted: the caller checks the state it cares about.
    }
  };

  const describeCalls = (): string =>
    recorded.length === 0
      ? 'no calls received'
      : `received ${recorded.length}: ` +
        recorded.map((c) => `${c.subprocessorId} ${c.method} ${c.path} -> ${c.status}`).join('; ');

  const record = (call: RecordedCall): void => {
    recorded.push(call);
    for (const w of [...waiters]) {
      let matches: boolean;
      try {
        matches = w.predicate(call);
      } catch (err) {
        waiters.delete(w);
        clearTimeout(w.timer);
        w.reject(err instanceof Error ? err : new Error(String(err)));
        continue;
      }
      if (matches) {
        waiters.delete(w);
        clearTimeout(w.timer);
        w.resolve(call);
      }
    }
  };

  /** Delivers one deletion callback, retrying the way the protocol asks callers to retry. */
  const deliverCallback = async (
    spId: string,
    deletionId: string,
    pending: PendingDeletion,
  ): Promise<CallbackAttempt> => {
    const signal = lifetime.signal;
    const body = JSON.stringify({ deletionId, tenantId: pending.tenantId, status: 'deleted' });
    const secret = secretFor(spId);
    let last: CallbackAttempt | undefined;
    for (let attempt = 1; attempt <= maxCallbackAttempts && !signal.aborted; attempt++) {
      const entry: CallbackAttempt = {
        subprocessorId: spId,
        deletionId,
        tenantId: pending.tenantId,
        url: pending.callbackUrl,
        attempt,
        sentAt: new Date(),
      };
      try {
        if (secret === undefined) throw new Error(`no secret configured for subprocessor ${spId}`);
        const res = await fetch(pending.callbackUrl, {
          method: 'POST',
          headers: {
            'Content-Type': 'application/json',
            [SIGNATURE_HEADER]: signBody(body, secret),
            // Stable per deletion so the orchestrator can drop our retries.
            [IDEMPOTENCY_HEADER]: `callback-${deletionId}`,
          },
          body,
          signal: AbortSignal.any([signal, AbortSignal.timeout(CALLBACK_TIMEOUT_MS)]),
        });
        await res.arrayBuffer(); // drain, so the keep-alive socket is reusable
        entry.status = res.status;
      } catch (err) {
        // Cancelled by reset()/stop(): the attempt belongs to a state that no longer exists, so don't record it.
        if (signal.aborted) break;
        entry.error = err instanceof Error ? err.message : String(err);
      }
      callbackAttempts.push(entry);
      last = entry;
      log(
        `[subprocessor-sim] ${spId} callback ${deletionId} attempt ${attempt} -> ${entry.status ?? entry.error ?? '?'}`,
      );
      const status = entry.status ?? 0;
      // Same rule the protocol gives callers: network errors, 5xx, 408 and 429 are worth another try.
      const retryable =
        secret !== undefined && (entry.error !== undefined || status >= 500 || status === 408 || status === 429);
      if (!retryable) break;
      if (attempt < maxCallbackAttempts) await pause(CALLBACK_BACKOFF_MS * 2 ** (attempt - 1), signal);
    }
    if (!last) throw new Error(`callback for deletion ${deletionId} was cancelled`);
    return last;
  };

  const scheduleCallback = (spId: string, deletionId: string, pending: PendingDeletion, delayMs: number): void => {
    pending.timer = setTimeout(() => {
      const state = states.get(spId);
      if (state?.pendingDeletions.get(deletionId) !== pending) return;
      state.pendingDeletions.delete(deletionId);
      // Failures are recorded in callbacks(); nothing else to do with the result here.
      void track(deliverCallback(spId, deletionId, pending).catch(() => undefined));
    }, delayMs);
  };

  const handleTenants = (spId: string, body: Record<string, unknown>): Answer => {
    const { tenantId, categories } = body;
    if (typeof tenantId !== 'string' || tenantId === '') return invalid('tenantId must be a non-empty string');
    if (!isStringArray(categories)) return invalid('categories must be an array of strings');
    return { status: 201, body: { tenantId, status: 'registered' } };
  };

  const handleCorrections = (_spId: string, body: Record<string, unknown>): Answer => {
    if (!isPlainObject(body.fields)) return invalid('fields must be an object');
    return { status: 200, body: { status: 'applied' } };
  };

  const handleDeletions = (spId: string, body: Record<string, unknown>, tenantId: string): Answer => {
    const { deletionId, categories, callbackUrl } = body;
    if (typeof deletionId !== 'string' || deletionId === '') return invalid('deletionId must be a non-empty string');
    if (!isStringArray(categories)) return invalid('categories must be an array of strings');
    if (typeof callbackUrl !== 'string' || !isHttpUrl(callbackUrl)) {
      return invalid('callbackUrl must be an absolute http(s) URL');
    }
    const state = stateOf(spId);
    if (state.deletionMode === 'sync') return { status: 200, body: { status: 'deleted', deletionId } };
    return {
      status: 202,
      body: { status: 'pending', deletionId },
      onSuccess: () => {
        const pending: PendingDeletion = { tenantId, callbackUrl };
        const previous = state.pendingDeletions.get(deletionId);
        if (previous?.timer) clearTimeout(previous.timer);
        state.pendingDeletions.set(deletionId, pending);
        if (state.deletionMode === 'callback') scheduleCallback(spId, deletionId, pending, state.callbackDelayMs);
      },
    };
  };

  /** Decides the answer to a protocol call; side effects of a success run through `onSuccess`. */
  const decide = (
    spId: string,
    method: string,
    path: string,
    parsed: { ok: true; value: unknown } | { ok: false },
    signatureValid: boolean,
    idempotencyKey: string | undefined,
  ): Answer => {
    const route = matchRoute(method, path);
    if (!route) return { status: 404, body: { error: `no such endpoint: ${method} ${path}` } };
    if (!signatureValid) return { status: 401, body: { error: 'bad signature' } };
    if (!idempotencyKey) return { status: 400, body: { error: `missing ${IDEMPOTENCY_HEADER} header` } };

    const state = stateOf(spId);
    const failure = state.failures[0];
    if (failure) {
      failure.remaining -= 1;
      if (failure.remaining <= 0) state.failures.shift();
      return { status: failure.status, body: failure.body, headers: failure.headers };
    }

    const doneKey = `${path}\n${idempotencyKey}`;
    if (state.doneKeys.has(doneKey)) return { status: 409, body: { status: 'already-done', idempotencyKey } };
    if (!parsed.ok || !isPlainObject(parsed.value)) return invalid('body must be a JSON object');

    const answer =
      route.kind === 'tenants'
        ? handleTenants(spId, parsed.value)
        : route.kind === 'corrections'
          ? handleCorrections(spId, parsed.value)
          : handleDeletions(spId, parsed.value, route.tenantId);
    if (answer.status >= 200 && answer.status < 300) {
      const effect = answer.onSuccess;
      answer.onSuccess = () => {
        state.doneKeys.add(doneKey);
        effect?.();
      };
    }
    return answer;
  };

  const app = express();
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/_calls', (req, res) => {
    const sp = typeof req.query.subprocessorId === 'string' ? req.query.subprocessorId : undefined;
    res.json(recorded.filter((c) => sp === undefined || c.subprocessorId === sp));
  });
  app.get('/_callbacks', (_req, res) => {
    res.json(callbackAttempts);
  });
  // Raw bytes for every content type: the signature covers the body exactly as sent, so it must not be re-serialised.
  app.use(
    '/sp/:spId',
    express.raw({ type: () => true, limit: '10mb' }),
    async (req: Request<{ spId: string }>, res: Response) => {
      const receivedAt = new Date();
      const spId = req.params.spId;
      const state = stateOf(spId);
      const delay = state.delays[0];
      let delayMs = 0;
      if (delay) {
        delayMs = delay.ms;
        delay.remaining -= 1;
        if (delay.remaining <= 0) state.delays.shift();
      }

      const rawBody = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      const text = rawBody.toString('utf8');
      const parsed = parseJson(text);
      const headers = flattenHeaders(req.headers);
      const idempotencyKey = headers[IDEMPOTENCY_HEADER.toLowerCase()] || undefined;
      const secret = secretFor(spId);
      const signatureValid =
        secret !== undefined && verifySignature(rawBody, headers[SIGNATURE_HEADER.toLowerCase()], secret);
      if (secret === undefined) log(`[subprocessor-sim] ${spId}: no secret configured, answering 401`);

      const answer = decide(spId, req.method, req.path, parsed, signatureValid, idempotencyKey);
      // Effects happen now, the answer comes late: that is what a slow subprocessor looks like to a timing-out client.
      answer.onSuccess?.();
      if (delayMs > 0) await pause(delayMs);

      record({
        subprocessorId: spId,
        method: req.method,
        path: req.path,
        headers,
        body: parsed.ok ? parsed.value : text === '' ? undefined : text,
        ...(idempotencyKey !== undefined ? { idempotencyKey } : {}),
        signatureValid,
        status: answer.status,
        responseBody: answer.body,
        receivedAt,
      });
      log(`[subprocessor-sim] ${spId} ${req.method} ${req.path} -> ${answer.status}`);
      if (answer.headers) res.set(answer.headers);
      res.status(answer.status).json(answer.body);
    },
  );
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const status = typeof (err as { status?: unknown }).status === 'number' ? (err as { status: number }).status : 500;
    log(`[subprocessor-sim] error: ${err instanceof Error ? err.message : String(err)}`);
    res.status(status).json({ error: err instanceof Error ? err.message : 'internal error' });
  });

  const host = opts.host ?? '127.0.0.1';
  const server: Server = opts.tls
    ? https.createServer({ cert: opts.tls.cert, key: opts.tls.key }, app).listen(opts.port ?? 0, host)
    : app.listen(opts.port ?? 0, host);
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  const port = (server.address() as AddressInfo).port;
  const urlHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  const url = `${opts.tls ? 'https' : 'http'}://${urlHost}:${port}`;

  const cancelPending = (): void => {
    for (const state of states.values()) {
      for (const p of state.pendingDeletions.values()) if (p.timer) clearTimeout(p.timer);
    }
    lifetime.abort();
  };

  return {
    url,
    baseUrlFor: (id) => `${url}/sp/${encodeURIComponent(id)}`,
    secretFor,
    setSecret: (id, secret) => {
      secrets.set(id, secret);
    },
    failNext: (id, failure) => {
      if (!Number.isInteger(failure.times) || failure.times < 1) throw new Error('failNext: times must be >= 1');
      if (!Number.isInteger(failure.status) || failure.status < 100 || failure.status > 599) {
        throw new Error(`failNext: ${failure.status} is not an HTTP status`);
      }
      stateOf(id).failures.push({
        status: failure.status,
        remaining: failure.times,
        body: failure.body ?? { error: 'injected failure' },
        headers: failure.headers ?? {},
      });
    },
    delayNext: (id, ms, times = 1) => {
      if (!Number.isInteger(times) || times < 1) throw new Error('delayNext: times must be >= 1');
      stateOf(id).delays.push({ ms, remaining: times });
    },
    setDeletionMode: (id, mode, callbackDelayMs = DEFAULT_CALLBACK_DELAY_MS) => {
      const state = stateOf(id);
      state.deletionMode = mode;
      state.callbackDelayMs = callbackDelayMs;
    },
    completeDeletion: (id, deletionId) => {
      const state = states.get(id);
      const pending = state?.pendingDeletions.get(deletionId);
      if (!state || !pending) {
        return Promise.reject(new Error(`no pending deletion ${deletionId} at subprocessor ${id}`));
      }
      if (pending.timer) clearTimeout(pending.timer);
      state.pendingDeletions.delete(deletionId);
      return track(deliverCallback(id, deletionId, pending));
    },
    calls: (filter) =>
      recorded.filter(
        (c) =>
          (filter?.subprocessorId === undefined || c.subprocessorId === filter.subprocessorId) &&
          (filter?.path === undefined ||
            (typeof filter.path === 'string' ? c.path === filter.path : filter.path.test(c.path))),
      ),
    callbacks: () => [...callbackAttempts],
    waitForCall: (predicate, waitOpts) => {
      const existing = recorded.find(predicate);
      if (existing) return Promise.resolve(existing);
      if (stopped) return Promise.reject(new Error('subprocessor simulator is stopped'));
      const timeoutMs = waitOpts?.timeoutMs ?? DEFAULT_WAIT_MS;
      return new Promise<RecordedCall>((resolve, reject) => {
        const waiter: Waiter = {
          predicate,
          resolve,
          reject,
          timer: setTimeout(() => {
            waiters.delete(waiter);
            reject(new Error(`subprocessor simulator: no matching call within ${timeoutMs} ms (${describeCalls()})`));
          }, timeoutMs),
        };
        waiters.add(waiter);
      });
    },
    reset: () => {
      cancelPending();
      lifetime = new AbortController();
      states.clear();
      recorded = [];
      callbackAttempts = [];
    },
    stop: async () => {
      if (stopped) return;
      stopped = true;
      cancelPending();
      for (const w of waiters) {
        clearTimeout(w.timer);
        w.reject(new Error(`subprocessor simulator stopped while waiting (${describeCalls()})`));
      }
      waiters.clear();
      await Promise.allSettled([...inFlight]);
      await new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        // Clients (undici) keep connections alive; close() alone would wait for them to idle out.
        server.closeAllConnections();
      });
    },
  };
}

type Route = { kind: 'tenants' } | { kind: 'corrections' | 'deletions'; tenantId: string };

function matchRoute(method: string, path: string): Route | undefined {
  if (method !== 'POST') return undefined;
  if (path === '/v1/tenants') return { kind: 'tenants' };
  const m = /^\/v1\/tenants\/([^/]+)\/(corrections|deletions)$/.exec(path);
  if (!m?.[1] || !m[2]) return undefined;
  let tenantId: string;
  try {
    tenantId = decodeURIComponent(m[1]);
  } catch {
    return undefined;
  }
  return { kind: m[2] as 'corrections' | 'deletions', tenantId };
}

function invalid(message: string): Answer {
  return { status: 400, body: { error: message } };
}

function parseJson(text: string): { ok: true; value: unknown } | { ok: false } {
  if (text === '') return { ok: false };
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch {
    return { ok: false };
  }
}

function flattenHeaders(headers: NodeJS.Dict<string | string[]>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) out[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isStringArray(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((x) => typeof x === 'string');
}

function isHttpUrl(s: string): boolean {
  try {
    const u = new URL(s);
    return u.protocol === 'http:' || u.protocol === 'https:';
  } catch {
    return false;
  }
}

if (require.main === module) {
  const env = process.env;
  const secrets = Object.fromEntries(
    (env.SUBPROCESSOR_SIM_SECRETS ?? '')
      .split(',')
      .filter((pair) => pair.includes('='))
      .map((pair) => [pair.slice(0, pair.indexOf('=')).trim(), pair.slice(pair.indexOf('=') + 1).trim()]),
  );
  startSubprocessorSimulator({
    port: Number(env.SUBPROCESSOR_SIM_PORT ?? 4010),
    host: env.SUBPROCESSOR_SIM_HOST ?? '127.0.0.1',
    secrets,
    ...(env.SUBPROCESSOR_SIM_SECRET ? { defaultSecret: env.SUBPROCESSOR_SIM_SECRET } : {}),
    log: (line) => console.log(line),
  }).then(
    (sim) => {
      console.log(`subprocessor-sim: ${sim.url} (subprocessor <id> at ${sim.url}/sp/<id>, calls at ${sim.url}/_calls)`);
      const shutdown = (): void => {
        sim.stop().then(
          () => process.exit(0),
          () => process.exit(1),
        );
      };
      process.once('SIGINT', shutdown);
      process.once('SIGTERM', shutdown);
    },
    (err: unknown) => {
      console.error('subprocessor-sim failed to start:', err);
      process.exit(1);
    },
  );
}
