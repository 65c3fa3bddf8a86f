/**
 * Outbound side of subprocessor protocol v1 (DESIGN.md): signed, idempotency-keyed JSON over HTTP(S), with the
 * protocol's answer classes turned into domain errors so that Temporal retries exactly what is worth retrying.
 */
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
  fetch?: typeof fetch;
  /** Told of every failed call (before the error is thrown), e.g. to count it in the worker's metrics. */
  onFailure?: (subprocessorId: string, kind: SubprocessorFailureKind) => void;
}

/** Creates a client that gives each call `timeoutMs` before treating it as unavailable. */
export function createSubprocessorClient(opts: SubprocessorClientOptions): SubprocessorClient {
  const doFetch = opts.fetch ?? fetch;
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
        const reason = timedOut ? `no answer within ${opts.timeoutMs} ms` : String(err);
        failed(endpoint.id, 'unavailable');
        throw new SubprocessorUnavailableError(endpoint.id, reason, { cause: err });
      }
      const text = await response.text();
      const parsed = parseJson(text);
      if (response.ok) return { status: response.status, alreadyDone: false, body: parsed };
      if (response.status === 409) return { status: 409, alreadyDone: true, body: parsed };
      const detail = `${path}: ${text.slice(0, 300)}`;
      if (response.status >= 500 || RETRYABLE_4XX.has(response.status)) {
        failed(endpoint.id, 'unavailable');
        throw new SubprocessorUnavailableError(endpoint.id, `HTTP ${response.status} on ${detail}`);
      }
      failed(endpoint.id, 'rejected');
      throw new SubprocessorRejectedError(endpoint.id, response.status, detail);
    },
  };
}

function parseJson(text: string): unknown {
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    return text.slice(0, 1000);
  }
}
