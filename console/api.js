// @ts-check
/**
 * The console's one way to call the API: the versioned JSON routes under /v1 with the staff token as a bearer token.
 * The token is entered once per browser tab and kept in sessionStorage (gone when the tab closes), never in a URL, a
 * cookie or localStorage. A 401 signs the console out.
 */

const TOKEN_KEY = 'dlo.console.token';

export const tokenStore = {
  /** @returns {string | null} */
  get: () => sessionStorage.getItem(TOKEN_KEY),
  /** @param {string} value */
  set: (value) => sessionStorage.setItem(TOKEN_KEY, value),
  clear: () => sessionStorage.removeItem(TOKEN_KEY),
};

/** A refusal from the API: its status and its problem+json body (`errors` lists invalid fields on a 400). */
export class ApiError extends Error {
  /**
   * @param {number} status
   * @param {{ title?: string, detail?: string, errors?: Array<{ field: string, rule: string, message: string }>,
   *   rule?: string } & Record<string, any>} problem
   */
  constructor(status, problem) {
    super(problem.detail ?? problem.title ?? `HTTP ${status}`);
    this.name = 'ApiError';
    this.status = status;
    this.problem = problem;
  }
}

/**
 * Calls the API. JSON in and out; throws {@link ApiError} on any non-2xx answer.
 * @param {string} method
 * @param {string} path
 * @param {unknown} [body]
 * @param {{ idempotencyKey?: string, accept?: string }} [opts]
 * @returns {Promise<any>}
 */
export async function api(method, path, body, opts = {}) {
  /** @type {Record<string, string>} */
  const headers = { Accept: opts.accept ?? 'application/json' };
  const token = tokenStore.get();
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (opts.idempotencyKey) headers['Idempotency-Key'] = opts.idempotencyKey;
  let res;
  try {
    res = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: 'no-store',
      credentials: 'omit',
    });
  } catch (err) {
    throw new ApiError(0, { title: 'Network error', detail: `the API could not be reached (${String(err)})` });
  }
  const type = res.headers.get('content-type') ?? '';
  const text = await res.text();
  const data = type.includes('json') && text ? JSON.parse(text) : text;
  if (res.status === 401) {
    tokenStore.clear();
    window.dispatchEvent(new CustomEvent('console:signed-out', { detail: data }));
  }
  if (!res.ok) throw new ApiError(res.status, typeof data === 'object' && data ? data : { detail: String(data) });
  return data;
}

/** Builds a query string from the defined, non-empty values. @param {Record<string, any>} params */
export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
}
