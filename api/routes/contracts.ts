/**
 * `PUT /v1/customers/{id}/contract`: changing when a customer's contract ends (privacy officer), and
 * `GET /v1/customers/{id}/retention`: where the customer's retention lifecycle stands.
 *
 * Changing the end date moves every contract-end deletion date of the customer's data; an earlier date means earlier,
 * irreversible erasure. That is a decision about personal data, so it needs `contracts:manage`, which only the privacy
 * officer holds; support starts a termination through its own request (with four-eyes approval) instead. A change
 * that brings the erasure forward waits for a second privacy officer (202 with the change request); the rules and the
 * writes are in api/use-cases/change-contract.ts.
 */
import { CustomerIdParam } from '../../lib/schemas/params';
import type { OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import { WorkflowNotFoundError } from '@temporalio/client';
import { Router } from 'express';
import { PendingChangeAnswer } from '../../lib/schemas/change-requests';
import { ContractChangeInput, ContractChangeResult } from '../../lib/schemas/retention-policies';
import { retentionWorkflowId } from '../../lib/pure/temporal-ids';
import { retentionStatusQuery, type RetentionStatus } from '../../workflows/retention';
import type { AppDeps } from '../deps';
import { HttpProblem, parseOr400 } from '../problem';
import { changeContract } from '../use-cases/change-contract';

export function contractsRouter(deps: AppDeps): Router {
  const router = Router();

  router.put('/v1/customers/:id/contract', async (req, res) => {
    const { id: customerId } = parseOr400(CustomerIdParam, req.params, 'path');
    const input = parseOr400(ContractChangeInput, req.body, 'body');
    const result = await changeContract(deps, customerId, input, res.locals.actor as string);
    if ('pending' in result) {
      res.status(202).location(result.pending.changeRequest.links.self).json(result.pending);
      return;
    }
    res.json(result.applied);
  });

  router.get('/v1/customers/:id/retention', async (req, res) => {
    const { id: customerId } = parseOr400(CustomerIdParam, req.params, 'path');
    const workflowId = retentionWorkflowId(customerId);
    let status: RetentionStatus;
    try {
      status = await deps.temporal.workflow.getHandle(workflowId).query(retentionStatusQuery);
    } catch (err) {
      if (err instanceof WorkflowNotFoundError)
        throw new HttpProblem(404, 'No retention lifecycle', `no retention workflow for customer ${customerId}`);
      throw err;
    }
    res.json({ workflowId, ...status });
  });

  return router;
}

/** Adds the contract and retention status paths to the OpenAPI document. */
export function registerContractsOpenApi(registry: OpenAPIRegistry): void {
  const problem = (description: string) => ({
    description,
    content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
  });
  registry.registerPath({
    method: 'put',
    path: '/v1/customers/{id}/contract',
    summary: "Change when a customer's contract ends (privacy officer); re-times its retention",
    description:
      'Sets the agreed end date and, once known, the instant the contract actually ended. The retention clock of the ' +
      "customer's contract-end categories starts at endedAt, else at the end of endsOn (UTC). The change is audited " +
      '(`contract.changed`) and signalled to the retention workflow `retention-<customerId>`.',
    request: { params: CustomerIdParam, body: { content: { 'application/json': { schema: ContractChangeInput } } } },
    responses: {
      200: {
        description: 'The contract as it now stands',
        content: { 'application/json': { schema: ContractChangeResult } },
      },
      202: {
        description:
          'The change brings the erasure forward: it waits for a second privacy officer (Location: the change)',
        content: { 'application/json': { schema: PendingChangeAnswer } },
      },
      400: problem('Invalid body; `errors` names each field and rule (before_start, in_future)'),
      404: problem('No such customer'),
      409: problem(
        'The customer is terminated, failed onboarding, has no contract dates recorded, or a change is already pending',
      ),
    },
  });
  registry.registerPath({
    method: 'get',
    path: '/v1/customers/{id}/retention',
    summary: "The customer's retention lifecycle: stage, contract end, next expiry and each category's timer",
    request: { params: CustomerIdParam },
    responses: { 200: { description: 'The status query of retention-<customerId>' }, 404: problem('No lifecycle') },
  });
}
