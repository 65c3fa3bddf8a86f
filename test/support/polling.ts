/**
 * Waiting in tests for something another process does (a workflow, the API, a schedule): look again every 250 ms,
 * never assert how long it took.
 */
import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import type { ReconcileSummary } from '../../activities/request-starts';
import type { requestStartReconcilerWorkflow } from '../../workflows/request-start-reconciler';

/** Resolves with the first value `probe` answers other than `undefined`; throws after `timeoutMs`, naming `what`. */
export async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Runs one pass of the start reconciler on a stack's worker (its `taskQueue`), restricted to `requestIds`. */
export async function reconcileStarts(
  stack: { client: Client; taskQueue: string },
  requestIds: string[],
): Promise<ReconcileSummary> {
  return stack.client.workflow.execute<typeof requestStartReconcilerWorkflow>('requestStartReconcilerWorkflow', {
    taskQueue: stack.taskQueue,
    workflowId: `test-start-reconciler-${randomUUID()}`,
    args: [{ requestIds }],
  });
}
