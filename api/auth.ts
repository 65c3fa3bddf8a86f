/**
 * Staff authentication (bearer tokens, through the login guard of api/login-guard.ts), authorization from the route
 * table, and the limits around them: a general rate limit and a stricter one for the public links.
 */
import { Router, type RequestHandler, type Response } from 'express';
import { rateLimit } from 'express-rate-limit';
import type { StaffIdentity } from '../db/repositories/staff-tokens';
import type { Logger } from '../lib/logger';
import { can, type Permission } from '../lib/roles';
import { identifiedStaff, type LoginLimits } from './login-guard';
import { HttpProblem, sendTooManyRequests } from './problem';
import { isPublicRoute, permissionFor } from './route-permissions';

/** Per-address limits, and the login guard's (api/login-guard.ts). Defaults suit a staff tool; tests lower them. */
export interface RateLimits extends LoginLimits {
  /** Requests per minute to the API by one client address. Default 600. */
  apiPerMinute: number;
  /** Requests per minute to /verify and /exports by one client address. Default 30. */
  publicLinksPerMinute: number;
}

export const DEFAULT_RATE_LIMITS: RateLimits = {
  apiPerMinute: 600,
  publicLinksPerMinute: 30,
  authFailuresPer15Minutes: 10,
  authFailuresPerTokenPrefix: 10,
  authFailureReportQuietMs: 60_000,
};

/** The staff member behind the current request (set by {@link authenticate}). */
export function staffOf(locals: Record<string, unknown>): StaffIdentity | undefined {
  return locals.staff as StaffIdentity | undefined;
}

/** `staff:<tokenId>`: how requests, workflows and audit events name who acted. */
export function actorOf(staff: StaffIdentity): string {
  return `staff:${staff.id}`;
}

function tooMany(detail: string): RequestHandler {
  return (req, res) => sendTooManyRequests(req, res, detail);
}

/** General and public-link rate limiters, by client address. */
export function rateLimiters(limits: RateLimits): { api: RequestHandler; publicLinks: RequestHandler } {
  return {
    api: rateLimit({
      windowMs: 60_000,
      limit: limits.apiPerMinute,
      standardHeaders: 'draft-8',
      legacyHeaders: false,
      handler: tooMany('rate limit exceeded; retry after the time in the RateLimit header'),
    }),
    publicLinks: rateLimit({
      windowMs: 60_000,
      limit: limits.publicLinksPerMinute,
      standardHeaders: 'draft-8',
      legacyHeaders: false,
      handler: tooMany('too many link requests from this address'),
    }),
  };
}

/** 403 unless the staff member's role holds `permission`; on success records who acts in `res.locals`. */
function authorize(
  deps: { log: Logger },
  staff: StaffIdentity,
  permission: Permission,
  route: string,
  res: Response,
): void {
  if (!can(staff.role, permission)) {
    deps.log.warn('permission denied', { event: 'security.forbidden', staffId: staff.id, role: staff.role, route });
    throw new HttpProblem(403, 'Forbidden', `role ${staff.role} lacks permission ${permission}`);
  }
  res.locals.staff = staff;
  res.locals.actor = actorOf(staff);
}

/** The staff member the login guard identified; only reached when it did (it answers 401/429 otherwise). */
function staffFrom(res: Response): StaffIdentity {
  const staff = identifiedStaff(res);
  if (!staff) throw new Error('login guard did not run before authorisation');
  return staff;
}

/**
 * Authentication and authorisation for one permission, for routers mounted ahead of the global guard (the codec
 * endpoints answer CORS themselves, so their refusals must come from inside them to carry CORS headers). `login` is
 * the app's one login guard, so failures here count with the API's.
 */
export function requirePermission(
  deps: { log: Logger; login: RequestHandler[] },
  permission: Permission,
): RequestHandler[] {
  return [
    ...deps.login,
    (req, res, next) => {
      authorize(deps, staffFrom(res), permission, `${req.method} ${req.path}`, res);
      next();
    },
  ];
}

/**
 * Authenticates every non-public request through the login guard and checks its permission against the route table.
 * Answers 401 (no or bad token), 429 (failures from this address or with this token prefix over their limit; a valid
 * token is still served), 403 (role lacks the permission), 404 (no such protected route: deny by default).
 */
export function authenticate(deps: { log: Logger; login: RequestHandler[] }): Router {
  const check: RequestHandler = (req, res, next) => {
    const staff = staffFrom(res);
    const needed = permissionFor(req.method, req.path);
    if (!needed) throw new HttpProblem(404, 'Not Found', `no route for ${req.method} ${req.path}`);
    authorize(deps, staff, needed.permission, needed.route, res);
    next();
  };

  const skipPublic: RequestHandler = (req, _res, next) => {
    // CORS preflights carry no credentials by design; the routes answer them without side effects.
    if (req.method === 'OPTIONS' || isPublicRoute(req.method, req.path)) {
      next('router');
      return;
    }
    next();
  };
  const guard = Router();
  guard.use(skipPublic, ...deps.login, check);
  return guard;
}
