/**
 * `POST /v1/requests/{requestId}/approve|reject`: a privacy officer's decision, delivered to the request's workflow
 * as an update. The workflow validates it (four-eyes rule, one decision, only when asked), so the rule holds even for
 * a client that bypasses this route.
 */
import { RequestIdParam } from '../../lib/schemas/params';
import { Router } from 'express';
import { z } from 'zod';
import { auditEvents } from '../../db/repositories/audit-events';
import { lifecycleRequests } from '../../db/repositories/lifecycle-requests';
import { approveUpdate, rejectUpdate } from '../../workflows/approval';
import type { AppDeps } from '../deps';
import { HttpProblem, parseOr400 } from '../problem';
import { executeRequestUpdate } from '../workflow-calls';

export const DecisionBody = z
  .strictObject({ reason: z.string().trim().min(1).max(2000).optional() })
  .meta({ id: 'DecisionBody' });

export function decisionsRouter(deps: AppDeps): Router {
  const router = Router();

  for (const [verb, update] of [
    ['approve', approveUpdate],
    ['reject', rejectUpdate],
  ] as const) {
    router.post(`/v1/requests/:requestId/${verb}`, async (req, res) => {
      const { requestId } = parseOr400(RequestIdParam, req.params, 'path');
      const body = parseOr400(DecisionBody, req.body ?? {}, 'body');
      if (verb === 'reject' && !body.reason) {
        throw new HttpProblem(400, 'Invalid request', 'body.reason: a rejection needs a reason', {
          errors: [{ field: 'body.reason', rule: 'required', message: 'a rejection needs a reason' }],
        });
      }
      const request = await lifecycleRequests.findById(deps.db, requestId);
      if (!request) throw new HttpProblem(404, 'Request not found', `no request ${requestId}`);
      const actor = res.locals.actor as string;

      // Four-eyes (403), nothing awaited or no gate in this request type (409), ended (409): api/workflow-calls.ts.
      const decision = await executeRequestUpdate(
        deps.temporal,
        request.workflowId,
        update,
        [{ actor, reason: body.reason }],
        { ended: new HttpProblem(409, 'Not awaiting a decision', 'the request has ended') },
      );
      await auditEvents.append(deps.db, {
        actor,
        action: `request.${decision.decision}`,
        subjectType: 'lifecycle_request',
        subjectId: request.id,
        customerId: request.customerId,
        requestId: request.id,
        workflowId: request.workflowId,
        details: { hasReason: Boolean(body.reason) },
      });
      res.json({ requestId, ...decision });
    });
  }
  return router;
}
