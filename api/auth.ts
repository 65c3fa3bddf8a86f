/**
 * Staff authentication (bearer tokens), authorization from the route table, and the limits around them: a general
 * rate limit, a stricter one for the public links, and detection of repeated failed authentication, which is logged
 * as abnormal activity.
 */
import { Router, type Request, type RequestHandler, type Response } from 'express';
import { rateLimit } from 'express-rate-limit';
import type { Knex } from 'knex';
import { staffTokens, type StaffIdentity } from '../db/repositories/staff-tokens';
import type { Logger } from '../lib/logger';
import { can, type Permission } from '../lib/roles';
import { HttpProblem } from './problem';
import { isPublicRoute, permissionFor } from './route-permissions';

/** Per-IP limits. Defaults suit a staff tool; tests lower them. */
export interface RateLimits {
  /** Requests per minute to the API by one client address. Default 600. */
  apiPerMinute: number;
  /** Requests per minute to /verify and /exports by one client address. Default 30. */
  publicLinksPerMinute: number;
  /** Failed authentications per 15 minutes from one address before it is blocked and reported. Default 10. */
  authFailuresPer15Minutes: number;
}

export const DEFAULT_RATE_LIMITS: RateLimits = {
  apiPerMinute: 600,
  publicLinksPerMinute: 30,
  authFailuresPer15Minutes: 10,
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
  return (req, res) => {
    res
      .status(429)
      .type('application/problem+json')
      .send(
        JSON.stringify({
          type: 'about:blank',
          title: 'Too Many Requests',
          status: 429,
          detail,
          instance: req.originalUrl,
        }),
      );
  };
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

/** The staff member behind the request's bearer token; 401 (logged as a security event) when there is none. */
async function identify(deps: { db: Knex; log: Logger }, req: Request, res: Response): Promise<StaffIdentity> {
  const header = req.get('authorization');
  const token = header?.match(/^Bearer\s+(\S+)$/i)?.[1];
  const staff = token ? await staffTokens.authenticate(deps.db, token) : undefined;
  if (!staff) {
    deps.log.warn('authentication failed', {
      event: 'security.auth_failed',
      ip: req.ip,
      method: req.method,
      path: req.path,
      reason: header ? 'unknown or revoked token' : 'no bearer token',
    });
    res.set('WWW-Authenticate', 'Bearer');
    throw new HttpProblem(401, 'Unauthorized', 'a valid staff bearer token is required');
  }
  return staff;
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

/**
 * Authentication and authorisation for one permission, for routers mounted ahead of the global guard (the codec
 * endpoints answer CORS themselves, so their refusals must come from inside them to carry CORS headers).
 */
export function requirePermission(deps: { db: Knex; log: Logger }, permission: Permission): RequestHandler {
  return async (req, res, next) => {
    const staff = await identify(deps, req, res);
    authorize(deps, staff, permission, `${req.method} ${req.path}`, res);
    next();
  };
}

/**
 * Authenticates every non-public request and checks its permission against the route table.
 * Answers 401 (no or bad token), 403 (role lacks the permission), 404 (no such protected route: deny by default),
 * 429 after repeated failed authentications from one address (reported as abnormal activity).
 */
export function authenticate(deps: { db: Knex; log: Logger; limits: RateLimits }): Router {
  const failures = rateLimit({
    windowMs: 15 * 60_000,
    limit: deps.limits.authFailuresPer15Minutes,
    standardHeaders: 'draft-8',
    legacyHeaders: false,
    // Only failed authentications count towards this limit.
    requestWasSuccessful: (_req, res) => res.statusCode !== 401,
    skipSuccessfulRequests: true,
    handler: (req, res, next, options) => {
      deps.log.error('abnormal activity: repeated failed authentication', {
        event: 'security.auth_failures_exceeded',
        ip: req.ip,
        limit: options.limit,
        path: req.path,
      });
      tooMany('too many failed authentications from this address')(req, res, next);
    },
  });

  const check: RequestHandler = async (req, res, next) => {
    const staff = await identify(deps, req, res);
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
  guard.use(skipPublic, failures, check);
  return guard;
}
