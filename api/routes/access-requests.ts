/**
 * `POST /v1/customers/{id}/access-requests` (start an access request) and `POST /v1/requests/{requestId}/extend`
 * (extend a request's legal deadline, through the workflow that keeps its clock).
 */
import { CustomerIdParam, RequestIdParam, IdempotencyKeyHeader } from '../../lib/schemas/params';
import type { OpenAPIRegistry, ResponseConfig } from '@asteasolutions/zod-to-openapi';
import { Router } from 'express';
import { z } from 'zod';
import { isTerminal, lifecycleRequests } from '../../db/repositories/lifecycle-requests';
import { EXTENSION_REFUSED, type ExtensionRefusal } from '../../lib/pure/access-request-messages';
import {
  AccessRequestInput,
  AccessRequestStarted,
  DeadlineExtended,
  ExtendDeadlineInput,
} from '../../lib/schemas/access-request';
import type { AppDeps } from '../deps';
import { withRecordedReason } from '../use-cases/record-reason';
import { HttpProblem, parseHeaderOr400, parseOr400 } from '../problem';
import { startAccessRequest } from '../use-cases/start-access-request';
import { executeRequestUpdate } from '../workflow-calls';
import { extendDeadlineUpdate } from '../../workflows/deadline-clock';

/** How long the API waits for the workflow to record an extension (it sends the notice) before answering 503. */
const UPDATE_DEADLINE_MS = 30_000;

export function accessRequestsRouter(deps: AppDeps): Router {
  const router = Router();

  router.post('/v1/customers/:id/access-requests', async (req, res) => {
    const { id } = parseOr400(CustomerIdParam, req.params, 'path');
    const idempotencyKey = parseHeaderOr400(IdempotencyKeyHeader, req, 'Idempotency-Key');
    const input = parseOr400(AccessRequestInput, req.body, 'body');
    const started = await startAccessRequest(deps, id, input, { idempotencyKey, actor: res.locals.actor as string });
    res
      .status(202)
      .location(`/v1/requests/${started.requestId}`)
      .json({ ...started, links: { request: `/v1/requests/${started.requestId}` } });
  });

  router.post('/v1/requests/:requestId/extend', async (req, res) => {
    const { requestId } = parseOr400(RequestIdParam, req.params, 'path');
    const { reason } = parseOr400(ExtendDeadlineInput, req.body, 'body');
    const request = await lifecycleRequests.findById(deps.db, requestId);
    if (!request) throw new HttpProblem(404, 'Request not found', `no request ${requestId}`);
    const refused = (refusal: ExtensionRefusal | { rule: string }, detail: string) =>
      new HttpProblem(409, 'Extension not allowed', detail, { ...refusal });
    if (isTerminal(request.status))
      throw refused(
        { rule: 'request_answered' },
        `the request has ended (${request.status}): there is nothing to extend`,
      );

    // The reason's words stay in the database; the workflow gets their id (api/use-cases/record-reason.ts).
    const actor = res.locals.actor as string;
    const result = await withRecordedReason(
      deps.db,
      { requestId, kind: 'extension_reason', text: reason, actor },
      (reasonId) =>
        executeRequestUpdate(deps.temporal, request.workflowId, extendDeadlineUpdate, [{ reasonId, actor }], {
          deadlineMs: UPDATE_DEADLINE_MS,
          ended: refused({ rule: 'request_answered' }, 'the request has ended: there is nothing to extend'),
          refusal: (failure) =>
            failure.type === EXTENSION_REFUSED
              ? refused((failure.details?.[0] as ExtensionRefusal | undefined) ?? { rule: 'unknown' }, failure.message)
              : refused({ rule: 'extension_not_supported' }, `this request cannot be extended: ${failure.message}`),
        }),
    );
    deps.log.info('deadline extended', { requestId, ...result });
    res.json({ requestId, ...result });
  });

  return router;
}

/** Describes the routes above in the OpenAPI document (api/openapi.ts). */
export function registerAccessRequestsOpenApi(
  registry: OpenAPIRegistry,
  problem: (description: string) => ResponseConfig,
): void {
  registry.registerPath({
    method: 'post',
    path: '/v1/customers/{id}/access-requests',
    summary: 'Start an access request (identity check, export, signed download link)',
    description:
      'Answers 202 in the same way for every well-formed customer id and address: whether the address is a ' +
      'registered contact is decided by the workflow, which sends a one-time link to the registered address or a ' +
      'refusal that discloses nothing. `dueOn` is the legal deadline (null while a UK GDPR clock is stopped).',
    request: {
      params: CustomerIdParam,
      headers: z.object({ 'Idempotency-Key': z.string().optional() }),
      body: { content: { 'application/json': { schema: AccessRequestInput } } },
    },
    responses: {
      202: {
        description: 'Request recorded and its workflow started (or replayed for the same Idempotency-Key)',
        content: { 'application/json': { schema: AccessRequestStarted } },
      },
      400: problem('Invalid input; `errors` names each field and rule. Nothing was started.'),
      422: problem('Idempotency-Key reused with a different body'),
      503: problem(
        'the database is unavailable (Retry-After): nothing was accepted. Temporal unavailable is no error: 202 with status received',
      ),
    },
  });
  registry.registerPath({
    method: 'post',
    path: '/v1/requests/{requestId}/extend',
    summary: "Extend a request's legal deadline (privacy officer); the requester is told, with the reason",
    request: {
      params: RequestIdParam,
      body: { content: { 'application/json': { schema: ExtendDeadlineInput } } },
    },
    responses: {
      200: { description: 'Extended', content: { 'application/json': { schema: DeadlineExtended } } },
      400: problem('Invalid input (a reason is required)'),
      404: problem('No such request'),
      409: problem(
        'Not allowed; `rule` names why: within_original_period (with originalPeriodEnd), clock_not_started, ' +
          'already_extended, request_answered',
      ),
      503: problem('The workflow did not confirm the extension in time'),
    },
  });
}
