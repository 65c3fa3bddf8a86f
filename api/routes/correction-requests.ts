/**
 * `POST /v1/customers/{id}/correction-requests` (start a correction request, support) and
 * `POST /v1/requests/{requestId}/receipts/{subprocessorId}/waive` (a privacy officer waives a subprocessor's receipt,
 * with a reason; delivered to the workflow as a typed update, which validates it). Approval and rejection go through
 * the generic `POST /v1/requests/{id}/approve|reject` (api/routes/decisions.ts).
 */
import type { OpenAPIRegistry, ResponseConfig } from '@asteasolutions/zod-to-openapi';
import { Router } from 'express';
import { z } from 'zod';
import { isTerminal, lifecycleRequests } from '../../db/repositories/lifecycle-requests';
import { RECEIPT_NOT_WAIVABLE, type WaiverRefusal } from '../../lib/pure/correction-messages';
import {
  CorrectionRequestInput,
  CorrectionRequestStarted,
  WaiveReceiptInput,
  WaiveReceiptParams,
} from '../../lib/schemas/correction';
import { CustomerIdParam, IdempotencyKeyHeader } from '../../lib/schemas/params';
import { waiveReceiptUpdate } from '../../workflows/correction';
import type { AppDeps } from '../deps';
import { withRecordedReason } from '../use-cases/record-reason';
import { HttpProblem, parseHeaderOr400, parseOr400 } from '../problem';
import { startCorrectionRequest } from '../use-cases/start-correction-request';
import { executeRequestUpdate } from '../workflow-calls';

export function correctionRequestsRouter(deps: AppDeps): Router {
  const router = Router();

  router.post('/v1/customers/:id/correction-requests', async (req, res) => {
    const { id } = parseOr400(CustomerIdParam, req.params, 'path');
    const idempotencyKey = parseHeaderOr400(IdempotencyKeyHeader, req, 'Idempotency-Key');
    const input = parseOr400(CorrectionRequestInput, req.body, 'body');
    const started = await startCorrectionRequest(deps, id, input, {
      idempotencyKey,
      actor: res.locals.actor as string,
    });
    res
      .status(202)
      .location(`/v1/requests/${started.requestId}`)
      .json({ ...started, links: { request: `/v1/requests/${started.requestId}` } });
  });

  router.post('/v1/requests/:requestId/receipts/:subprocessorId/waive', async (req, res) => {
    const { requestId, subprocessorId } = parseOr400(WaiveReceiptParams, req.params, 'path');
    const { reason } = parseOr400(WaiveReceiptInput, req.body ?? {}, 'body');
    const request = await lifecycleRequests.findById(deps.db, requestId);
    if (!request) throw new HttpProblem(404, 'Request not found', `no request ${requestId}`);
    const refused = (rule: string, detail: string) =>
      new HttpProblem(409, 'Receipt cannot be waived', detail, { rule });
    if (request.type !== 'correction')
      throw refused('not_a_correction', 'only the receipts of a correction request can be waived');
    if (isTerminal(request.status)) throw refused('request_ended', `the request has ended (${request.status})`);

    // Four-eyes, ended and busy answers come from api/workflow-calls.ts; this route adds the waiver's own refusals.
    // The reason's words stay in the database; the workflow gets their id (api/use-cases/record-reason.ts).
    const actor = res.locals.actor as string;
    const result = await withRecordedReason(
      deps.db,
      { requestId, kind: 'waiver_reason', text: reason, actor },
      (reasonId) =>
        executeRequestUpdate(
          deps.temporal,
          request.workflowId,
          waiveReceiptUpdate,
          [{ subprocessorId, reasonId, actor }],
          {
            ended: refused('request_ended', 'the request has ended'),
            refusal: (failure) => {
              if (failure.type !== RECEIPT_NOT_WAIVABLE) return undefined;
              const rule = (failure.details?.[0] as WaiverRefusal | undefined)?.rule ?? 'unknown';
              if (rule === 'not_a_recipient')
                return new HttpProblem(404, 'Receipt not found', failure.message, { rule });
              return refused(rule, failure.message);
            },
          },
        ),
    );
    deps.log.info('correction receipt waived', { requestId, subprocessorId, status: result.status });
    res.json({ requestId, ...result });
  });

  return router;
}

/** Describes the routes above in the OpenAPI document (api/openapi.ts). */
export function registerCorrectionRequestsOpenApi(
  registry: OpenAPIRegistry,
  problem: (description: string) => ResponseConfig,
): void {
  registry.registerPath({
    method: 'post',
    path: '/v1/customers/{id}/correction-requests',
    summary: 'Start a correction request (verification, four-eyes approval, apply, propagation with receipts)',
    description:
      'Every change is validated before anything is recorded: an invalid change refuses the whole request with a ' +
      'problem+json whose `errors` name each change (`body.changes[i]...`) and rule (contact_of_customer, ' +
      'seller_account_of_customer, one_change_per_field, one_primary_contact, unique_contact_email, ' +
      'unique_registration_number, unique_seller_account, or a syntax rule). A change that alters nothing is answered ' +
      "as `unchanged`. Sensitive changes (`needsApproval`: legal name, registration number, the primary contact's " +
      'email, removing a contact, moving the primary role) wait for `POST /v1/requests/{id}/approve` by a privacy ' +
      'officer other than the caller. Follow the request at `GET /v1/requests/{id}`: each change with its state ' +
      '(pending, unchanged, awaiting_approval, approved, rejected, applied, conflict, invalid), the decision and each ' +
      'subprocessor receipt.',
    request: {
      params: CustomerIdParam,
      headers: z.object({ 'Idempotency-Key': z.string().optional() }),
      body: {
        content: {
          'application/json': {
            schema: CorrectionRequestInput,
            examples: {
              phoneAndTradingName: {
                summary: 'Two changes that apply without approval',
                value: {
                  requesterEmail: 'greta@nordlicht.example',
                  changes: [
                    { change: 'company.tradingName', value: 'Nordlicht' },
                    {
                      change: 'contact.phone',
                      contactId: '6f1c2a9e-2f55-4a51-9d0e-3c1b8f0e7a11',
                      value: '+4930999888',
                    },
                  ],
                },
              },
              primaryEmail: {
                summary: "The primary contact's email (waits for a privacy officer)",
                value: {
                  requesterEmail: 'greta@nordlicht.example',
                  changes: [
                    {
                      change: 'contact.email',
                      contactId: '6f1c2a9e-2f55-4a51-9d0e-3c1b8f0e7a11',
                      value: 'greta.lindqvist@nordlicht.example',
                    },
                  ],
                },
              },
              swapPrimary: {
                summary: 'Hand the primary role to a new contact and remove the old one',
                value: {
                  requesterEmail: 'greta@nordlicht.example',
                  changes: [
                    {
                      change: 'contact.add',
                      contact: { name: 'Ola Berg', email: 'ola@nordlicht.example', role: 'primary' },
                    },
                    { change: 'contact.remove', contactId: '6f1c2a9e-2f55-4a51-9d0e-3c1b8f0e7a11' },
                  ],
                },
              },
            },
          },
        },
      },
    },
    responses: {
      202: {
        description: 'Request recorded and its workflow started (or replayed for the same Idempotency-Key)',
        content: { 'application/json': { schema: CorrectionRequestStarted } },
      },
      400: problem('Invalid change(s); `errors` names each change and rule. Nothing was started or written.'),
      404: problem('No such customer'),
      409: problem('The customer is not active (e.g. terminated)'),
      422: problem('Idempotency-Key reused with a different body'),
      503: problem(
        'the database is unavailable (Retry-After): nothing was accepted. Temporal unavailable is no error: 202 with status received',
      ),
    },
  });
  registry.registerPath({
    method: 'post',
    path: '/v1/requests/{requestId}/receipts/{subprocessorId}/waive',
    summary: "Waive a subprocessor's correction receipt (privacy officer, with a reason; audited)",
    description:
      'For a subprocessor that keeps failing or refused the correction and has been told another way. The request ' +
      'completes once every receipt is in or waived.',
    request: {
      params: WaiveReceiptParams,
      body: { content: { 'application/json': { schema: WaiveReceiptInput } } },
    },
    responses: {
      200: {
        description: 'Waived (or `delivered`, when the receipt came in meanwhile)',
        content: {
          'application/json': {
            schema: z.object({
              requestId: z.uuid(),
              subprocessorId: z.string(),
              status: z.enum(['waived', 'delivered']),
            }),
            example: { requestId: '0b7d4c1e-5f7a-4d8e-9a51-2c3b4d5e6f70', subprocessorId: 'crm', status: 'waived' },
          },
        },
      },
      400: problem('Invalid input (a reason of at least 10 characters is required)'),
      404: problem('No such request, or the subprocessor is not told of this correction'),
      409: problem(
        'Not waivable; `rule` names why: not_propagating, already_delivered, already_waived, request_ended, ' +
          'not_a_correction',
      ),
      503: problem('The workflow did not confirm the waiver in time'),
    },
  });
}
