/**
 * `POST /v1/requests/{requestId}/approve|reject`: a privacy officer's decision, delivered to the request's workflow
 * as an update. The workflow validates it (four-eyes rule, one decision, only when asked), so the rule holds even for
 * a client that bypasses this route.
 */
import { WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { Router } from 'express';
import { z } from 'zod';
import { auditEvents } from '../../db/repositories/audit-events';
import { lifecycleRequests } from '../../db/repositories/lifecycle-requests';
import { RequestIdParam } from '../../lib/schemas/onboarding';
import {
  approveUpdate,
  FOUR_EYES_VIOLATION,
  NOT_AWAITING_DECISION,
  rejectUpdate,
  type DecisionRecord,
} from '../../workflows/approval';
import type { AppDeps } from '../app';
import { HttpProblem, parseOr400 } from '../problem';

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

      let decision: DecisionRecord;
      try {
        decision = await deps.temporal.workflow
          .getHandle(request.workflowId)
          .executeUpdate(update, { args: [{ actor, reason: body.reason }] });
      } catch (err) {
        const cause = err instanceof WorkflowUpdateFailedError ? err.cause : undefined;
        if (cause instanceof ApplicationFailure && cause.type === FOUR_EYES_VIOLATION) {
          throw new HttpProblem(403, 'Four-eyes rule', cause.message);
        }
        if (cause instanceof ApplicationFailure && cause.type === NOT_AWAITING_DECISION) {
          throw new HttpProblem(409, 'Not awaiting a decision', cause.message);
        }
        if (err instanceof WorkflowNotFoundError) {
          throw new HttpProblem(409, 'Not awaiting a decision', 'the request has ended');
        }
        throw err;
      }
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
