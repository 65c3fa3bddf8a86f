/**
 * `/v1/change-requests`: changes that wait for a second person (README "Approvals"): listing and reading them
 * (privacy officers, admins, auditors), and approving or rejecting one (a privacy officer or admin other than the one
 * who proposed it, holding the permission the change itself needs). The rules: api/use-cases/decide-change-request.ts.
 */
import type { OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import { Router } from 'express';
import { z } from 'zod';
import { changeRequests } from '../../db/repositories/change-requests';
import { ChangeIdParam, ChangeRequestListQuery, ChangeRequestView } from '../../lib/schemas/change-requests';
import { staffOf } from '../auth';
import type { AppDeps } from '../deps';
import { HttpProblem, parseOr400 } from '../problem';
import { decideChangeRequest } from '../use-cases/decide-change-request';
import { changeRequestView } from '../use-cases/pending-changes';
import { DecisionBody } from './decisions';

export function changeRequestsRouter(deps: AppDeps): Router {
  const router = Router();

  router.get('/v1/change-requests', async (req, res) => {
    const query = parseOr400(ChangeRequestListQuery, req.query, 'query');
    const items = await changeRequests.list(deps.db, query);
    res.json({ items: items.map((c) => changeRequestView(c)) });
  });

  router.get('/v1/change-requests/:changeId', async (req, res) => {
    const { changeId } = parseOr400(ChangeIdParam, req.params, 'path');
    const change = await changeRequests.findById(deps.db, changeId);
    if (!change) throw new HttpProblem(404, 'Change request not found', `no change request ${changeId}`);
    res.json(changeRequestView(change));
  });

  for (const verb of ['approve', 'reject'] as const) {
    router.post(`/v1/change-requests/:changeId/${verb}`, async (req, res) => {
      const { changeId } = parseOr400(ChangeIdParam, req.params, 'path');
      const body = parseOr400(DecisionBody, req.body ?? {}, 'body');
      if (verb === 'reject' && !body.reason) {
        throw new HttpProblem(400, 'Invalid request', 'body.reason: a rejection needs a reason', {
          errors: [{ field: 'body.reason', rule: 'required', message: 'a rejection needs a reason' }],
        });
      }
      const decided = await decideChangeRequest(deps, changeId, {
        verb,
        staff: staffOf(res.locals)!,
        actor: res.locals.actor as string,
        reason: body.reason,
      });
      res.json(decided);
    });
  }
  return router;
}

/** Adds the change request paths to the OpenAPI document. */
export function registerChangeRequestsOpenApi(registry: OpenAPIRegistry): void {
  const problem = (description: string) => ({
    description,
    content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
  });
  registry.registerPath({
    method: 'get',
    path: '/v1/change-requests',
    summary: 'Changes that wait (or waited) for a second person, newest first',
    request: { query: ChangeRequestListQuery },
    responses: {
      200: {
        description: 'Change requests',
        content: { 'application/json': { schema: z.object({ items: ChangeRequestView.array() }) } },
      },
    },
  });
  registry.registerPath({
    method: 'get',
    path: '/v1/change-requests/{changeId}',
    summary: 'One change request: what changes, who proposed it, where it stands',
    request: { params: ChangeIdParam },
    responses: {
      200: { description: 'The change request', content: { 'application/json': { schema: ChangeRequestView } } },
      404: problem('No such change request'),
    },
  });
  for (const verb of ['approve', 'reject'] as const) {
    registry.registerPath({
      method: 'post',
      path: `/v1/change-requests/{changeId}/${verb}`,
      summary:
        verb === 'approve'
          ? 'Approve a pending change (a second person): it is applied at once'
          : 'Reject a pending change (a second person; a reason is required): it is never applied',
      request: {
        params: ChangeIdParam,
        body: { content: { 'application/json': { schema: DecisionBody } } },
      },
      responses: {
        200: {
          description:
            'The decided change request; for an approval, `result` is what the change route answers for a change ' +
            'that needs no approval (the policy, the contract, the subprocessor)',
        },
        400: problem(verb === 'reject' ? 'No reason given' : 'The subprocessor URL is now refused (body.baseUrl)'),
        403: problem('Four-eyes rule (you proposed it), or your role may not make this kind of change'),
        404: problem('No such change request'),
        409: problem('Not awaiting a decision: already decided, expired, or stale (the subject changed since)'),
      },
    });
  }
}
