/**
 * The contract-end check, run by a Temporal Schedule (workers/schedules.ts; interval CONTRACT_END_CHECK_INTERVAL,
 * overlap SKIP): starts the termination of every customer whose contract end date has passed, with nobody calling the
 * API. Which customers are due, and when a contract ends, is decided by activities/contract-end.ts; each start goes
 * through the same use case as `POST /v1/customers/{id}/termination` (actor `system:contract-end`), so the
 * termination's four-eyes gate lets any privacy officer approve its erasure.
 *
 * One batch per run: customers beyond the batch are due on the next run (the list is ordered by end date, and a
 * started customer leaves it).
 */
import { proxyActivities } from '@temporalio/workflow';
import type { ContractEndActivities, ContractEndStart } from '../activities/contract-end';
import { NON_RETRYABLE_ERROR_TYPES } from '../lib/pure/errors';

export interface ContractEndCheckInput {
  /** Restrict the check to these customers (an operator re-running one customer, or tests sharing a database). */
  customerIds?: string[];
}

/** What one check did: ids only. */
export interface ContractEndCheckSummary {
  asOf: string;
  starts: ContractEndStart[];
}

/** Customers started per run at most. */
const BATCH = 200;

const activities = proxyActivities<ContractEndActivities>({
  startToCloseTimeout: '1 minute',
  retry: {
    initialInterval: '1 second',
    maximumInterval: '1 minute',
    maximumAttempts: 10,
    nonRetryableErrorTypes: NON_RETRYABLE_ERROR_TYPES,
  },
});

/** Runs one check as of the workflow's start time and answers what it started or skipped. */
export async function contractEndCheckWorkflow(input: ContractEndCheckInput = {}): Promise<ContractEndCheckSummary> {
  const asOf = new Date(Date.now()).toISOString();
  const due = await activities.listDueContractEnds({ asOf, limit: BATCH, customerIds: input.customerIds });
  const starts: ContractEndStart[] = [];
  // One after another: each start is one small transaction and one Temporal call; a failure of one customer's start
  // (after its retries) must not hide the others, so it is recorded as skipped and the next run tries again.
  for (const contract of due) {
    try {
      starts.push(await activities.startContractEndTermination(contract));
    } catch {
      starts.push({ customerId: contract.customerId, outcome: 'skipped', reason: 'start failed; retried next run' });
    }
  }
  return { asOf, starts };
}
