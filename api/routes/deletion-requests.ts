/** `POST /v1/customers/{id}/deletion-requests`: start a deletion request (workflows/deletion-request.ts). */
import type { OpenAPIRegistry, ResponseConfig } from '@asteasolutions/zod-to-openapi';
import { Router } from 'express';
import { z } from 'zod';
import { DeletionRequestInput, DeletionRequestStarted } from '../../lib/schemas/deletion-request';
import { CustomerIdParam, IdempotencyKeyHeader } from '../../lib/schemas/params';
import type { AppDeps } from '../app';
import { parseHeaderOr400, parseOr400 } from '../problem';
import { startDeletionRequest } from '../use-cases/start-deletion-request';

export function deletionRequestsRouter(deps: AppDeps): Router {
  const router = Router();

  router.post('/v1/customers/:id/deletion-requests', async (req, res) => {
    const { id } = parseOr400(CustomerIdParam, req.params, 'path');
    const idempotencyKey = parseHeaderOr400(IdempotencyKeyHeader, req, 'Idempotency-Key');
    const input = parseOr400(DeletionRequestInput, req.body, 'body');
    const started = await startDeletionRequest(deps, id, input, { idempotencyKey, actor: res.locals.actor as string });
    res
      .status(202)
      .location(`/v1/requests/${started.requestId}`)
      .json({ ...started, links: { request: `/v1/requests/${started.requestId}` } });
  });

  return router;
}

/** Describes the route in the OpenAPI document (api/openapi.ts). */
export function registerDeletionRequestsOpenApi(
  registry: OpenAPIRegistry,
  problem: (description: string) => ResponseConfig,
): void {
  registry.registerPath({
    method: 'post',
    path: '/v1/customers/{id}/deletion-requests',
    summary: 'Start a deletion request: categories or named contacts / seller accounts, each granted or refused',
    description:
      'Answers 202 in the same way for every well-formed customer id and address. The workflow ' +
      '`deletion-request-<requestId>` verifies that the requester is a registered contact (one-time link to the ' +
      'registered address), then decides each part against the contract and the law: granted, or refused with the ' +
      'rule (statutory_retention with its end date, legal_hold, needed_for_service, only_primary_contact, ' +
      'kept_as_evidence, not_found). Granted parts are erased here and at every subprocessor, and the requester ' +
      'receives a signed deletion certificate. `GET /v1/requests/{requestId}` shows the decisions and progress.',
    request: {
      params: CustomerIdParam,
      headers: z.object({ 'Idempotency-Key': z.string().optional() }),
      body: { content: { 'application/json': { schema: DeletionRequestInput } } },
    },
    responses: {
      202: {
        description: 'Request recorded and its workflow started (or replayed for the same Idempotency-Key)',
        content: { 'application/json': { schema: DeletionRequestStarted } },
      },
      400: problem('Invalid input; `errors` names each field and rule. Nothing was started or written.'),
      422: problem('Idempotency-Key reused with a different body'),
      503: problem(
        'the database is unavailable (Retry-After): nothing was accepted. Temporal unavailable is no error: 202 with status received',
      ),
    },
  });
}
