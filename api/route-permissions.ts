/**
 * The one table that says who may call what. Every route of the API is either public (no token; health, docs, the
 * signed public links) or listed here with the permission it needs. A request that matches no entry is refused even
 * if some router would handle it: deny by default. test/authorization.test.ts walks this table for every role.
 *
 * `/metrics` is deliberately in neither list: Prometheus metrics are served on a port of their own (METRICS_PORT, and
 * the worker's WORKER_METRICS_PORT; loopback unless METRICS_HOST says otherwise, api/metrics.ts), which a deployment
 * exposes to its monitoring network only. They hold counts, never customer data, and a scraper needs no staff token.
 * On the API port `/metrics` is refused like any unlisted route.
 */
import { match } from 'path-to-regexp';
import type { Permission } from '../lib/roles';

/** `METHOD /path/:param` -> permission. */
export const ROUTE_PERMISSIONS = {
  'POST /v1/customers': 'customers:create',
  'GET /v1/customers': 'customers:read',
  'GET /v1/customers/:id': 'customers:read',
  'PUT /v1/customers/:id/contract': 'contracts:manage',
  'GET /v1/customers/:id/retention': 'customers:read',
  'GET /v1/retention-policies': 'retention-policies:read',
  'GET /v1/retention-policies/:category': 'retention-policies:read',
  'PUT /v1/retention-policies/:category': 'retention-policies:manage',
  'GET /v1/requests': 'requests:read',
  'GET /v1/requests/:requestId': 'requests:read',
  'GET /v1/requests/:requestId/history': 'requests:read',
  'POST /v1/requests/:requestId/approve': 'requests:decide',
  'POST /v1/requests/:requestId/reject': 'requests:decide',
  'POST /v1/requests/:requestId/extend': 'requests:decide',
  // Four eyes on irreversible or trust-changing changes; deciding one also needs the change's own permission.
  'GET /v1/change-requests': 'changes:read',
  'GET /v1/change-requests/:changeId': 'changes:read',
  'POST /v1/change-requests/:changeId/approve': 'changes:decide',
  'POST /v1/change-requests/:changeId/reject': 'changes:decide',
  'POST /v1/customers/:id/access-requests': 'requests:create',
  'POST /v1/customers/:id/correction-requests': 'requests:create',
  'POST /v1/requests/:requestId/receipts/:subprocessorId/waive': 'requests:decide',
  'POST /v1/customers/:id/deletion-requests': 'requests:create',
  'GET /v1/audit-events': 'audit:read',
  'GET /v1/audit/verify': 'audit:read',
  'GET /v1/subprocessors': 'subprocessors:read',
  'POST /v1/subprocessors': 'subprocessors:manage',
  'POST /v1/customers/:id/legal-holds': 'legal-holds:manage',
  'GET /v1/customers/:id/legal-holds': 'legal-holds:read',
  'GET /v1/legal-holds/:holdId': 'legal-holds:read',
  'DELETE /v1/legal-holds/:holdId': 'legal-holds:manage',
  'POST /v1/customers/:id/termination': 'terminations:manage',
  'DELETE /v1/customers/:id/termination': 'terminations:manage',
  'POST /v1/customers/:id/termination/acknowledgement': 'terminations:manage',
  'GET /v1/customers/:id/certificates': 'certificates:read',
  'GET /v1/certificates/:id': 'certificates:read',
  'GET /v1/certificates/:id/verify': 'certificates:read',
  'POST /v1/certificates/verify': 'certificates:read',
  'GET /v1/session': 'session:read',
  'POST /codec/encode': 'codec:use',
  'POST /codec/decode': 'codec:use',
} as const satisfies Record<string, Permission>;

export type ProtectedRoute = keyof typeof ROUTE_PERMISSIONS;

/** Routes anyone may call. The public links (/verify, /exports) carry their own signed, expiring tokens. */
export const PUBLIC_ROUTES = [
  'GET /healthz',
  'GET /readyz',
  'GET /openapi.json',
  'GET /docs{/*rest}',
  // The staff console's static files (HTML, ES modules, CSS): no data in them; every call they make carries the token.
  'GET /console',
  'GET /console/{*rest}',
  // The page of a verification link changes nothing; the confirmation is the POST with the token in the body.
  'GET /verify/:token',
  'POST /verify',
  // The download page of an export, and the download itself.
  'GET /download/:token',
  'GET /exports/:token',
  // The acknowledgement link of a termination's return: a signed, expiring, single-use token like /verify.
  'GET /acknowledge/:token',
  'POST /acknowledge',
  'POST /acknowledge/:token',
  // Whoever received a deletion certificate can fetch the key that verifies it.
  'GET /.well-known/certificate-signing-key',
  // ... and check a certificate they hold on a page (nothing is stored; it discloses only what they paste).
  'GET /certificates/verify',
  'POST /certificates/verify',
  // No bearer token: subprocessors authenticate each callback with X-Signature, the HMAC of the raw body under their
  // shared secret, checked by the route itself (api/routes/subprocessor-callbacks.ts answers 401 when it fails).
  'POST /v1/subprocessor-callbacks/:subprocessorId',
] as const;

interface CompiledRoute {
  key: string;
  method: string;
  /** The route's parameters as they appear in the path (still percent-encoded), or undefined when it does not match. */
  params: (path: string) => Record<string, string | string[]> | undefined;
}

function compile(key: string): CompiledRoute {
  const [method, pattern] = key.split(' ') as [string, string];
  // No decoding while matching: a malformed percent-escape (`/verify/%ff`) is the client's error, answered 400 by
  // api/input-guard.ts naming the parameter; decodeURIComponent here used to throw a URIError, answered 500.
  const m = match(pattern, { decode: false });
  return {
    key,
    method,
    params: (path) => {
      const found = m(path);
      return found === false ? undefined : (found.params as Record<string, string | string[]>);
    },
  };
}

const protectedRoutes = Object.keys(ROUTE_PERMISSIONS).map(compile);
const publicRoutes = PUBLIC_ROUTES.map(compile);

function find(routes: CompiledRoute[], method: string, path: string): CompiledRoute | undefined {
  // HEAD is answered by GET handlers in Express, so it needs what GET needs.
  const m = method === 'HEAD' ? 'GET' : method;
  return routes.find((r) => r.method === m && r.params(path) !== undefined);
}

/** Whether a request needs no token. */
export function isPublicRoute(method: string, path: string): boolean {
  return find(publicRoutes, method, path) !== undefined;
}

/**
 * The route table entry (public or protected) a request matches, with its path parameters still percent-encoded;
 * undefined when none does.
 */
export function routeParams(
  method: string,
  path: string,
): { route: string; params: Record<string, string | string[]> } | undefined {
  const route = find(publicRoutes, method, path) ?? find(protectedRoutes, method, path);
  if (!route) return undefined;
  return { route: route.key, params: route.params(path)! };
}

/** The permission a request needs, or undefined when no protected route matches it. */
export function permissionFor(
  method: string,
  path: string,
): { route: ProtectedRoute; permission: Permission } | undefined {
  const route = find(protectedRoutes, method, path);
  if (!route) return undefined;
  const key = route.key as ProtectedRoute;
  return { route: key, permission: ROUTE_PERMISSIONS[key] };
}
