/**
 * `PUT /v1/customers/{id}/contract`: changing when a customer's contract ends (privacy officer), and
 * `GET /v1/customers/{id}/retention`: where the customer's retention lifecycle stands.
 *
 * Changing the end date moves every contract-end deletion date of the customer's data; an earlier date means earlier,
 * irreversible erasure. That is a decision about personal data, so it needs `contracts:manage`, which only the privacy
 * officer holds; support starts a termination through its own request (with four-eyes approval) instead.
 * The dates live in the customer's lifecycle dates record (kept after a business_contact erasure removed the contract
 * row, so the route keeps working then) and in the contract row while it exists.
 * The change is written and audited in one transaction, then the retention workflow is signalled (and started if the
 * customer has none yet); if Temporal cannot be reached, the workflow's periodic re-check picks the change up.
 */
import { CustomerIdParam } from '../../lib/schemas/params';
import type { OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import { WorkflowNotFoundError } from '@temporalio/client';
import { Router } from 'express';
import { auditEvents } from '../../db/repositories/audit-events';
import { customerLifecycleDates } from '../../db/repositories/customer-lifecycle-dates';
import { customers } from '../../db/repositories/customers';
import { ContractChangeInput, ContractChangeResult } from '../../lib/schemas/retention-policies';
import { retentionWorkflowId, searchAttributes } from '../../lib/pure/temporal-ids';
import {
  contractChangedSignal,
  retentionStatusQuery,
  retentionWorkflow,
  type RetentionStatus,
} from '../../workflows/retention';
import type { AppDeps } from '../deps';
import { HttpProblem, parseOr400, ValidationProblem, type FieldError } from '../problem';

/** How far in the future `endedAt` may lie, for clocks that run a little ahead. */
const CLOCK_SKEW_MS = 60_000;

export function contractsRouter(deps: AppDeps): Router {
  const router = Router();

  router.put('/v1/customers/:id/contract', async (req, res) => {
    const { id: customerId } = parseOr400(CustomerIdParam, req.params, 'path');
    const input = parseOr400(ContractChangeInput, req.body, 'body');
    const actor = res.locals.actor as string;

    const customer = await customers.findById(deps.db, customerId);
    if (!customer) throw new HttpProblem(404, 'Customer not found', `no customer ${customerId}`);
    if (customer.status === 'terminated' || customer.status === 'onboarding_failed') {
      throw new HttpProblem(409, 'Contract cannot change', `the customer is ${customer.status}`);
    }

    const outcome = await deps.db.transaction(async (trx) => {
      // The lifecycle dates, not the contracts row: they survive a business_contact erasure (issue #11).
      await customerLifecycleDates.recordFromContract(trx, customerId);
      const dates = await customerLifecycleDates.lock(trx, customerId);
      if (!dates) throw new HttpProblem(409, 'Contract cannot change', 'the customer has no contract recorded');
      const contract = {
        id: dates.contractId,
        starts_on: dates.contractStartsOn,
        ends_on: dates.contractEndsOn,
        ended_at: dates.contractEndedAt,
      };

      const endedAt =
        input.endedAt === undefined ? contract.ended_at : input.endedAt === null ? null : new Date(input.endedAt);
      const errors: FieldError[] = [];
      if (input.endsOn !== null && input.endsOn < contract.starts_on)
        errors.push({
          field: 'body.endsOn',
          rule: 'before_start',
          message: `must not be before the start ${contract.starts_on}`,
        });
      if (input.endedAt) {
        if (endedAt!.getTime() > Date.now() + CLOCK_SKEW_MS)
          errors.push({
            field: 'body.endedAt',
            rule: 'in_future',
            message: 'must not be in the future (a contract that has ended)',
          });
        if (endedAt!.toISOString().slice(0, 10) < contract.starts_on)
          errors.push({
            field: 'body.endedAt',
            rule: 'before_start',
            message: `must not be before the start ${contract.starts_on}`,
          });
      }
      if (errors.length > 0) throw new ValidationProblem(errors);

      const changed =
        contract.ends_on !== input.endsOn || (contract.ended_at?.getTime() ?? null) !== (endedAt?.getTime() ?? null);
      if (changed) {
        await customerLifecycleDates.setContractEnd(trx, customerId, { endsOn: input.endsOn, endedAt });
        // The contract row too, while it exists.
        await trx('contracts')
          .where({ id: contract.id })
          .update({ ends_on: input.endsOn, ended_at: endedAt, updated_at: trx.fn.now() });
        await auditEvents.append(trx, {
          actor,
          action: 'contract.changed',
          subjectType: 'contract',
          subjectId: contract.id,
          customerId,
          details: {
            endsOn: { from: contract.ends_on, to: input.endsOn },
            endedAt: { from: contract.ended_at?.toISOString() ?? null, to: endedAt?.toISOString() ?? null },
          },
        });
      }
      return {
        changed,
        contract: { startsOn: contract.starts_on, endsOn: input.endsOn, endedAt: endedAt?.toISOString() ?? null },
      };
    });

    const workflowId = retentionWorkflowId(customerId);
    let notified = false;
    if (outcome.changed) {
      try {
        await deps.temporal.workflow.signalWithStart(retentionWorkflow, {
          workflowId,
          taskQueue: deps.taskQueue,
          args: [{ customerId }],
          signal: contractChangedSignal,
          signalArgs: [{ source: actor }],
          typedSearchAttributes: [{ key: searchAttributes.customerId, value: customerId }],
        });
        notified = true;
      } catch (err) {
        deps.log.warn('contract changed but the retention workflow could not be signalled', {
          customerId,
          err: (err as Error).message,
        });
      }
    }
    res.json({ customerId, contract: outcome.contract, changed: outcome.changed, retention: { workflowId, notified } });
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
      400: problem('Invalid body; `errors` names each field and rule (before_start, in_future)'),
      404: problem('No such customer'),
      409: problem('The customer is terminated, failed onboarding, or has no contract dates recorded'),
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
