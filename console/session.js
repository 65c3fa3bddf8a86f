// @ts-check
/**
 * Who is signed in and what they may do. `GET /v1/session` answers the role and every route of the API's route table
 * that the role may call; the views offer an action only when {@link may} says the route is allowed, the same table
 * the API enforces (api/route-permissions.ts).
 */
import { api, tokenStore } from './api.js';

/**
 * @typedef {{ staff: { id: string, name: string, role: string, actor: string }, permissions: string[],
 *   routes: string[], temporalUi: { baseUrl: string, namespace: string }, dueSoonDays: number }} Session
 */

/** @type {Session | null} */
let current = null;

/** The signed-in session, or null. */
export function session() {
  return current;
}

/**
 * Signs in with a staff token: kept only if the API accepts it.
 * @param {string} token
 * @returns {Promise<Session>}
 */
export async function signIn(token) {
  tokenStore.set(token.trim());
  try {
    current = await api('GET', '/v1/session');
    return /** @type {Session} */ (current);
  } catch (err) {
    tokenStore.clear();
    current = null;
    throw err;
  }
}

/** Restores the session of this tab from sessionStorage, if its token still works. */
export async function resume() {
  const token = tokenStore.get();
  if (!token) return null;
  try {
    return await signIn(token);
  } catch {
    return null;
  }
}

export function signOut() {
  tokenStore.clear();
  current = null;
}

/**
 * Whether the signed-in role may call a route of the API's table, e.g. `POST /v1/requests/:requestId/approve`.
 * @param {string} route
 */
export function may(route) {
  return current?.routes.includes(route) ?? false;
}

/** Whether `actor` (`staff:<id>`) is the signed-in staff member. @param {string | null | undefined} actor */
export function isMe(actor) {
  return Boolean(current && actor === current.staff.actor);
}

/** The Temporal Web UI page of a workflow. @param {string} workflowId */
export function temporalUiLink(workflowId) {
  if (!current) return '#';
  const { baseUrl, namespace } = current.temporalUi;
  return `${baseUrl}/namespaces/${encodeURIComponent(namespace)}/workflows/${encodeURIComponent(workflowId)}`;
}
