/**
 * The rolling retention sweep, run by a Temporal Schedule (workers/schedules.ts; overlap policy SKIP, so two sweeps
 * never run at once). For every category on the record-creation clock it deletes, in batches, the rows older than the
 * category's period, for every customer not under a legal hold for that category; then it deletes records whose
 * statutory retention (`retain_until`) has passed; then it records what it deleted per category, with the policy
 * version and cutoff each deletion applied, in one audit event.
 *
 * Cutoffs are computed once from workflow time, so a retried activity deletes against the same cutoff.
 */
import { proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { RetentionActivities, RetentionSweepSummary } from '../activities/retention';
import type { DataCategory } from '../lib/pure/data-categories';
import { NON_RETRYABLE_ERROR_TYPES } from '../lib/pure/errors';
import { subtractPeriod } from '../lib/pure/retention';

export interface RetentionSweepInput {
  /**
   * Restrict the sweep to these customers (an operator re-running one customer, or tests sharing a database). The
   * audit log's purge removes a prefix of the global chain and so cannot be restricted: a restricted sweep skips it.
   */
  customerIds?: string[];
}

const short = proxyActivities<RetentionActivities>({
  startToCloseTimeout: '1 minute',
  retry: {
    initialInterval: '1 second',
    maximumInterval: '1 minute',
    nonRetryableErrorTypes: NON_RETRYABLE_ERROR_TYPES,
  },
});

/** Batched deletions: long, heartbeating (a lost worker is noticed within the heartbeat timeout and retried). */
const sweeping = proxyActivities<RetentionActivities>({
  startToCloseTimeout: '2 hours',
  heartbeatTimeout: '1 minute',
  retry: {
    initialInterval: '5 seconds',
    maximumInterval: '5 minutes',
    nonRetryableErrorTypes: NON_RETRYABLE_ERROR_TYPES,
  },
});

/** Runs one sweep and answers its summary (also recorded in the audit log as `retention.swept`). */
export async function retentionSweepWorkflow(input: RetentionSweepInput = {}): Promise<RetentionSweepSummary> {
  const sweepId = workflowInfo().workflowId;
  const customerIds = input.customerIds;
  const { plan, batchSize } = await short.beginRetentionSweep({ sweepId, customerIds });
  const now = Date.now();
  const skipped: DataCategory[] = [];

  for (const policy of plan) {
    const cutoff = new Date(subtractPeriod(now, policy.period)).toISOString();
    const common = { sweepId, policyVersion: policy.version, period: policy.period, cutoff, batchSize };
    if (policy.handling === 'rows') {
      await sweeping.sweepRetentionCategory({ ...common, category: policy.category, customerIds });
    } else if (policy.handling === 'audit-purge') {
      if (customerIds) skipped.push(policy.category);
      else await sweeping.sweepAuditLog(common);
    } else if (policy.clockStart === 'record_creation') {
      skipped.push(policy.category);
    }
  }

  const policyVersions: Partial<Record<DataCategory, number>> = {};
  for (const p of plan) policyVersions[p.category] = p.version;
  await sweeping.sweepStatutoryRetention({
    sweepId,
    now: new Date(now).toISOString(),
    batchSize,
    policyVersions,
    customerIds,
  });

  return short.completeRetentionSweep({ sweepId, skipped });
}
