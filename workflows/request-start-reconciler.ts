/**
 * The start reconciler, run by a Temporal Schedule (workers/schedules.ts; interval REQUEST_START_RECONCILE_INTERVAL,
 * overlap SKIP): starts the workflows of requests the API accepted (recorded with their `*.requested` event) but could
 * not start, e.g. while Temporal was down or when the API died between its commit and the start; closes those whose
 * start Temporal refuses for good. The decisions are in activities/request-starts.ts.
 */
import { proxyActivities } from '@temporalio/workflow';
import type { ReconcileSummary, RequestStartActivities } from '../activities/request-starts';
import { NON_RETRYABLE_ERROR_TYPES } from '../lib/pure/errors';

export interface RequestStartReconcilerInput {
  /** Restrict the pass to these requests (tests sharing a database). */
  requestIds?: string[];
}

const activities = proxyActivities<RequestStartActivities>({
  startToCloseTimeout: '5 minutes',
  heartbeatTimeout: '1 minute',
  retry: {
    initialInterval: '1 second',
    maximumInterval: '1 minute',
    maximumAttempts: 5,
    nonRetryableErrorTypes: NON_RETRYABLE_ERROR_TYPES,
  },
});

/** One pass: at most 100 requests (the oldest); the rest wait for the next run. */
export async function requestStartReconcilerWorkflow(
  input: RequestStartReconcilerInput = {},
): Promise<ReconcileSummary> {
  return activities.reconcileRequestStarts({ limit: 100, requestIds: input.requestIds });
}
