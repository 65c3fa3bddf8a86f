/**
 * Changing when a customer's contract ends (`PUT /v1/customers/{id}/contract`), which re-times every contract-end
 * deletion of the customer's data.
 *
 * A change that brings the erasure forward (the contract's end, where the retention clock starts, becomes earlier,
 * or an open-ended contract gets an end) cannot be taken back once the erasure has run, so it needs four eyes: it is
 * recorded as a pending change request and applied by {@link applyContractChange} when a second privacy officer
 * approves it. A change that moves the end later, or clears it, applies at once.
 *
 * The dates live in the customer's lifecycle dates record (kept after a business_contact erasure removed the contract
 * row, so this keeps working then) and in the contract row while it exists. A change is written and audited in one
 * transaction, then the retention workflow is signalled (and started if the customer has none yet); if Temporal cannot
 * be reached, the workflow's periodic re-check picks the change up.
 */
import type { Knex } from 'knex';
import { auditEvents } from '../../db/repositories/audit-events';
import { customerLifecycleDates } from '../../db/repositories/customer-lifecycle-dates';
import { customers } from '../../db/repositories/customers';
import type { ContractChangeInput } from '../../lib/schemas/retention-policies';
import { retentionWorkflowId, searchAttributes } from '../../lib/pure/temporal-ids';
import { contractChangedSignal, retentionWorkflow } from '../../workflows/retention';
import type { AppDeps } from '../deps';
import { HttpProblem, ValidationProblem, type FieldError } from '../problem';
import { proposeChange, StaleChangeError, type AppliedChange, type PendingChangeAnswer } from './pending-changes';

/** How far in the future `endedAt` may lie, for clocks that run a little ahead. */
const CLOCK_SKEW_MS = 60_000;

/** A contract's end as stored: the agreed last day and the instant it actually ended. */
interface ContractEnd {
  endsOn: string | null;
  endedAt: string | null;
}

/** The contract as it stands after a change, as the route answers it. */
export interface ContractChangeOutcome {
  customerId: string;
  contract: { startsOn: string; endsOn: string | null; endedAt: string | null };
  changed: boolean;
  retention: { workflowId: string; notified: boolean };
}

/**
 * The instant the retention clock of contract-end data starts for `end`: `endedAt`, else the end (UTC) of `endsOn`;
 * undefined when the contract is open-ended (nothing expires).
 */
function clockStartMs(end: ContractEnd): number | undefined {
  if (end.endedAt) return new Date(end.endedAt).getTime();
  if (end.endsOn) return new Date(`${end.endsOn}T00:00:00Z`).getTime() + 24 * 3600_000;
  return undefined;
}

/** Whether going from `from` to `to` makes contract-end data expire earlier (or at all, where it never did). */
export function bringsErasureForward(from: ContractEnd, to: ContractEnd): boolean {
  const before = clockStartMs(from);
  const after = clockStartMs(to);
  if (after === undefined) return false;
  return before === undefined || after < before;
}

/** The customer's contract end now, locked for the transaction. @throws HttpProblem 404 / 409. */
async function lockContract(trx: Knex.Transaction, customerId: string) {
  const customer = await customers.findById(trx, customerId);
  if (!customer) throw new HttpProblem(404, 'Customer not found', `no customer ${customerId}`);
  if (customer.status === 'terminated' || customer.status === 'onboarding_failed') {
    throw new HttpProblem(409, 'Contract cannot change', `the customer is ${customer.status}`);
  }
  // The lifecycle dates, not the contracts row: they survive a business_contact erasure (issue #11).
  await customerLifecycleDates.recordFromContract(trx, customerId);
  const dates = await customerLifecycleDates.lock(trx, customerId);
  if (!dates) throw new HttpProblem(409, 'Contract cannot change', 'the customer has no contract recorded');
  return {
    id: dates.contractId,
    startsOn: dates.contractStartsOn,
    end: { endsOn: dates.contractEndsOn, endedAt: dates.contractEndedAt?.toISOString() ?? null },
  };
}

/**
 * Validates and either applies a contract change (200) or, when it brings the erasure forward, records it as a
 * pending change request (202).
 * @throws ValidationProblem (before_start, in_future), HttpProblem 404 (no customer), 409 (terminated, failed
 * onboarding, no contract, a change already pending).
 */
export async function changeContract(
  deps: AppDeps,
  customerId: string,
  input: ContractChangeInput,
  actor: string,
): Promise<{ applied: ContractChangeOutcome } | { pending: PendingChangeAnswer }> {
  const result = await deps.db.transaction(async (trx) => {
    const contract = await lockContract(trx, customerId);
    const endedAt =
      input.endedAt === undefined
        ? contract.end.endedAt
        : input.endedAt === null
          ? null
          : new Date(input.endedAt).toISOString();
    const errors: FieldError[] = [];
    if (input.endsOn !== null && input.endsOn < contract.startsOn)
      errors.push({
        field: 'body.endsOn',
        rule: 'before_start',
        message: `must not be before the start ${contract.startsOn}`,
      });
    if (input.endedAt && endedAt) {
      if (new Date(endedAt).getTime() > Date.now() + CLOCK_SKEW_MS)
        errors.push({
          field: 'body.endedAt',
          rule: 'in_future',
          message: 'must not be in the future (a contract that has ended)',
        });
      if (endedAt.slice(0, 10) < contract.startsOn)
        errors.push({
          field: 'body.endedAt',
          rule: 'before_start',
          message: `must not be before the start ${contract.startsOn}`,
        });
    }
    if (errors.length > 0) throw new ValidationProblem(errors);

    const to: ContractEnd = { endsOn: input.endsOn, endedAt };
    if (bringsErasureForward(contract.end, to)) {
      const pending = await proposeChange(deps, trx, {
        kind: 'contract_end',
        subjectType: 'customer',
        subjectId: customerId,
        customerId,
        summary: {
          customerId,
          endsOn: { from: contract.end.endsOn, to: to.endsOn },
          endedAt: { from: contract.end.endedAt, to: to.endedAt },
        },
        payload: { customerId, from: contract.end, to },
        actor,
      });
      return { pending, applied: undefined };
    }
    const changed = await writeContractEnd(trx, customerId, contract, to, { actor });
    return { pending: undefined, applied: { changed, startsOn: contract.startsOn, to } };
  });
  if (result.pending) return { pending: result.pending };
  const applied = result.applied;
  const notified = applied.changed ? await notifyRetention(deps, customerId, actor) : false;
  return {
    applied: {
      customerId,
      contract: { startsOn: applied.startsOn, endsOn: applied.to.endsOn, endedAt: applied.to.endedAt },
      changed: applied.changed,
      retention: { workflowId: retentionWorkflowId(customerId), notified },
    },
  };
}

/** Writes the new end to the lifecycle dates and the contract row, audited as `contract.changed`; false if equal. */
async function writeContractEnd(
  trx: Knex.Transaction,
  customerId: string,
  contract: { id: string; end: ContractEnd },
  to: ContractEnd,
  who: { actor: string; approvedBy?: string; changeRequestId?: string },
): Promise<boolean> {
  if (contract.end.endsOn === to.endsOn && contract.end.endedAt === to.endedAt) return false;
  const endedAt = to.endedAt === null ? null : new Date(to.endedAt);
  await customerLifecycleDates.setContractEnd(trx, customerId, { endsOn: to.endsOn, endedAt });
  // The contract row too, while it exists.
  await trx('contracts')
    .where({ id: contract.id })
    .update({ ends_on: to.endsOn, ended_at: endedAt, updated_at: trx.fn.now() });
  await auditEvents.append(trx, {
    actor: who.actor,
    action: 'contract.changed',
    subjectType: 'contract',
    subjectId: contract.id,
    customerId,
    details: {
      endsOn: { from: contract.end.endsOn, to: to.endsOn },
      endedAt: { from: contract.end.endedAt, to: to.endedAt },
      ...(who.changeRequestId ? { changeRequestId: who.changeRequestId, approvedBy: who.approvedBy } : {}),
    },
  });
  return true;
}

/**
 * Applies an approved contract change request in `trx`, as its requester made it (audited with the approver).
 * @throws HttpProblem 409 when the contract changed since the proposal (the change is stale, not applied).
 * Returns the outcome and what to do once committed (signal the retention workflow).
 */
export async function applyContractChange(
  deps: AppDeps,
  trx: Knex.Transaction,
  payload: Record<string, unknown>,
  who: { requestedBy: string; approvedBy: string; changeRequestId: string },
): Promise<AppliedChange> {
  const { customerId, from, to } = payload as { customerId: string; from: ContractEnd; to: ContractEnd };
  const contract = await lockContract(trx, customerId);
  if (contract.end.endsOn !== from.endsOn || contract.end.endedAt !== from.endedAt) {
    throw new StaleChangeError('the contract end changed since this change was proposed');
  }
  await writeContractEnd(trx, customerId, contract, to, {
    actor: who.requestedBy,
    approvedBy: who.approvedBy,
    changeRequestId: who.changeRequestId,
  });
  const outcome = { customerId, contract: { startsOn: contract.startsOn, ...to } };
  return {
    outcome,
    afterCommit: async (): Promise<ContractChangeOutcome> => ({
      ...outcome,
      changed: true,
      retention: {
        workflowId: retentionWorkflowId(customerId),
        notified: await notifyRetention(deps, customerId, who.approvedBy),
      },
    }),
  };
}

/** Signals (or starts) the customer's retention workflow; false when Temporal could not be reached. */
async function notifyRetention(deps: AppDeps, customerId: string, actor: string): Promise<boolean> {
  try {
    await deps.temporal.workflow.signalWithStart(retentionWorkflow, {
      workflowId: retentionWorkflowId(customerId),
      taskQueue: deps.taskQueue,
      args: [{ customerId }],
      signal: contractChangedSignal,
      signalArgs: [{ source: actor }],
      typedSearchAttributes: [{ key: searchAttributes.customerId, value: customerId }],
    });
    return true;
  } catch (err) {
    deps.log.warn('contract changed but the retention workflow could not be signalled', {
      customerId,
      err: (err as Error).message,
    });
    return false;
  }
}
