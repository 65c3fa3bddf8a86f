/**
 * `POST /v1/requests/{requestId}/approve|reject`: a privacy officer's decision (api/use-cases/decide-request.ts).
 */
import { RequestIdParam } from '../../lib/schemas/params';
import { Router } from 'express';
import { z } from 'zod';
import type { AppDeps } from '../deps';
import { HttpProblem, parseOr400 } from '../problem';
import { decideRequest } from '../use-cases/decide-request';

export const DecisionBody = z
  .strictObject({ reason: z.string().trim().min(1).max(2000).optional() })
  .meta({ id: 'DecisionBody' });

export function decisionsRouter(deps: AppDeps): Router {
  const router = Router();

  for (const verb of ['approve', 'reject'] as const) {
    router.post(`/v1/requests/:requestId/${verb}`, async (req, res) => {
      const { requestId } = parseOr400(RequestIdParam, req.params, 'path');
      const body = parseOr400(DecisionBody, req.body ?? {}, 'body');
      if (verb === 'reject' && !body.reason) {
        throw new HttpProblem(400, 'Invalid request', 'body.reason: a rejection needs a reason', {
          errors: [{ field: 'body.reason', rule: 'required', message: 'a rejection needs a reason' }],
        });
      }
      const decision = await decideRequest(deps, {
        requestId,
        verb,
        actor: res.locals.actor as string,
        ...(body.reason ? { reason: body.reason } : {}),
      });
      res.json({ requestId, ...decision });
    });
  }
  return router;
}
