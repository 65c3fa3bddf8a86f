/**
 * The staff console's reading routes over many requests:
 * - `GET /v1/requests`: the queue, open requests of every type most urgent first, filtered by customer, type and
 *   stage, paged with a keyset cursor (db/repositories/request-queue.ts);
 * - `GET /v1/requests/{requestId}/history`: the request's own audit trail and its deadline extensions, for whoever may
 *   read the request (the whole audit log and its verification stay with `audit:read`).
 */
import type { OpenAPIRegistry, ResponseConfig } from '@asteasolutions/zod-to-openapi';
import { Router } from 'express';
import { z } from 'zod';
import { accessRequests } from '../../db/repositories/access-requests';
import { auditEvents } from '../../db/repositories/audit-events';
import { isTerminal, lifecycleRequests } from '../../db/repositories/lifecycle-requests';
import { InvalidCursorError, requestQueue } from '../../db/repositories/request-queue';
import { can } from '../../lib/roles';
import { DUE_SOON_DAYS, urgencyOf } from '../../lib/pure/request-urgency';
import { RequestIdParam } from '../../lib/schemas/params';
import { ListRequestsQuery, RequestHistoryEvent, RequestQueuePage } from '../../lib/schemas/request-queue';
import { staffOf } from '../auth';
import type { AppDeps } from '../deps';
import { HttpProblem, parseOr400, ValidationProblem } from '../problem';

/** Most audit events one request's trail answers; a request writes a few dozen. */
const HISTORY_LIMIT = 1000;

export function requestQueueRouter(deps: Pick<AppDeps, 'db'>): Router {
  const router = Router();

  router.get('/v1/requests', async (req, res) => {
    const query = parseOr400(ListRequestsQuery, req.query, 'query');
    let page;
    try {
      page = await requestQueue.page(deps.db, query);
    } catch (err) {
      if (err instanceof InvalidCursorError)
        throw new ValidationProblem([{ field: 'query.cursor', rule: 'invalid_cursor', message: err.message }]);
      throw err;
    }
    // The company name is customer data: only for roles that may read customers (an auditor sees ids).
    const staff = staffOf(res.locals);
    const names = staff ? can(staff.role, 'customers:read') : false;
    const today = new Date().toISOString().slice(0, 10);
    res.json({
      items: page.rows.map((r) => ({
        id: r.id,
        type: r.type,
        customerId: r.customerId,
        companyName: names ? r.companyName : null,
        status: r.status,
        stage: r.stage,
        dueOn: r.dueOn,
        urgency: urgencyOf({ open: !isTerminal(r.status), dueOn: r.dueOn, today }),
        receivedAt: r.receivedAt.toISOString(),
        completedAt: r.completedAt?.toISOString() ?? null,
        requestedBy: r.actor,
        workflowId: r.workflowId,
      })),
      nextCursor: page.nextCursor,
      today,
      dueSoonDays: DUE_SOON_DAYS,
    });
  });

  router.get('/v1/requests/:requestId/history', async (req, res) => {
    const { requestId } = parseOr400(RequestIdParam, req.params, 'path');
    const request = await lifecycleRequests.findById(deps.db, requestId);
    if (!request) throw new HttpProblem(404, 'Request not found', `no request ${requestId}`);
    const [events, extension] = await Promise.all([
      auditEvents.list(deps.db, { requestId, limit: HISTORY_LIMIT }),
      accessRequests.findExtension(deps.db, requestId),
    ]);
    res.json({
      requestId,
      requestedBy: request.actor,
      receivedAt: request.receivedAt.toISOString(),
      completedAt: request.completedAt?.toISOString() ?? null,
      events: events.map((e) => ({
        id: e.id,
        occurredAt: e.occurredAt.toISOString(),
        actor: e.actor,
        action: e.action,
        subjectType: e.subjectType,
        subjectId: e.subjectId,
        details: e.details,
      })),
      extensions: extension
        ? [
            {
              previousDueOn: extension.previousDueOn,
              dueOn: extension.dueOn,
              actor: extension.actor,
              reason: extension.reason,
              decidedAt: extension.createdAt.toISOString(),
            },
          ]
        : [],
    });
  });

  return router;
}

/** Adds the routes above to the OpenAPI document. */
export function registerRequestQueueOpenApi(
  registry: OpenAPIRegistry,
  problem: (description: string) => ResponseConfig,
): void {
  registry.registerPath({
    method: 'get',
    path: '/v1/requests',
    summary: 'The request queue: open requests of every type, by due date (overdue first), paged with a cursor',
    description:
      'Sorted by due date (requests without one last), then by receipt. `urgency` says which are overdue and which ' +
      'are due within `dueSoonDays`. Pass `nextCursor` as `cursor` for the next page. `stage=awaiting-approval` ' +
      'lists the pending approvals. Live progress is at `GET /v1/requests/{id}`.',
    request: { query: ListRequestsQuery },
    responses: {
      200: { description: 'One page', content: { 'application/json': { schema: RequestQueuePage } } },
      400: problem('Invalid filter; `errors` names the field (e.g. query.type, query.cursor) and rule'),
    },
  });
  registry.registerPath({
    method: 'get',
    path: '/v1/requests/{requestId}/history',
    summary: "A request's audit trail (oldest first) and its deadline extensions",
    request: { params: RequestIdParam },
    responses: {
      200: {
        description: 'The trail',
        content: {
          'application/json': {
            schema: z.object({
              requestId: z.uuid(),
              requestedBy: z.string(),
              receivedAt: z.string(),
              completedAt: z.string().nullable(),
              events: z.array(RequestHistoryEvent),
              extensions: z.array(
                z.object({
                  previousDueOn: z.string(),
                  dueOn: z.string(),
                  actor: z.string(),
                  reason: z.string(),
                  decidedAt: z.string(),
                }),
              ),
            }),
          },
        },
      },
      404: problem('No such request'),
    },
  });
}
