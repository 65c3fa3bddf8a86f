/**
 * `GET /v1/session`: who the bearer token belongs to and what that role may call. The staff console signs in with it
 * and shows only the actions the route table allows the role (api/route-permissions.ts), so a button is never offered
 * that the API would refuse; the API still checks every call.
 */
import type { OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import { Router } from 'express';
import { z } from 'zod';
import { can, ROLE_PERMISSIONS, ROLES } from '../../lib/roles';
import { DUE_SOON_DAYS } from '../../lib/pure/request-urgency';
import { actorOf, staffOf } from '../auth';
import type { AppDeps } from '../deps';
import { ROUTE_PERMISSIONS, type ProtectedRoute } from '../route-permissions';

export const SessionView = z
  .object({
    staff: z.object({
      id: z.uuid(),
      name: z.string(),
      role: z.enum(ROLES),
      actor: z.string().meta({ description: '`staff:<id>`: how requests and audit events name this staff member' }),
    }),
    permissions: z.array(z.string()),
    routes: z.array(z.string()).meta({ description: 'Every `METHOD /path` of the route table this role may call' }),
    temporalUi: z.object({
      baseUrl: z.string().meta({ description: 'TEMPORAL_UI_URL' }),
      namespace: z.string(),
    }),
    dueSoonDays: z.number().int(),
  })
  .meta({ id: 'Session' });

export function sessionRouter(deps: Pick<AppDeps, 'config'>): Router {
  const router = Router();
  router.get('/v1/session', (_req, res) => {
    const staff = staffOf(res.locals)!;
    res.set('Cache-Control', 'no-store');
    res.json({
      staff: { id: staff.id, name: staff.name, role: staff.role, actor: actorOf(staff) },
      permissions: ROLE_PERMISSIONS[staff.role],
      routes: (Object.keys(ROUTE_PERMISSIONS) as ProtectedRoute[]).filter((r) => can(staff.role, ROUTE_PERMISSIONS[r])),
      temporalUi: { baseUrl: deps.config.temporal.uiUrl, namespace: deps.config.temporal.namespace },
      dueSoonDays: DUE_SOON_DAYS,
    });
  });
  return router;
}

/** Adds the session route to the OpenAPI document. */
export function registerSessionOpenApi(registry: OpenAPIRegistry): void {
  registry.registerPath({
    method: 'get',
    path: '/v1/session',
    summary: "The caller's staff identity, role, permissions and the routes it may call (the console signs in here)",
    responses: { 200: { description: 'The session', content: { 'application/json': { schema: SessionView } } } },
  });
}
