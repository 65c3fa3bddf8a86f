/**
 * Waiting in tests for something another process does (a workflow, the API, a schedule): look again every
 * {@link POLL_INTERVAL_MS}, never assert how long it took.
 */
import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import type { ReconcileSummary } from '../../activities/request-starts';
import type { requestStartReconcilerWorkflow } from '../../workflows/request-start-reconciler';

/** How often a helper here looks again. */
const POLL_INTERVAL_MS = 200;

/**
 * Polls `read` until `done` holds, returning that value; fails after `timeoutMs` naming `what` and the last value read.
 */
export async function eventually<T>(
  read: () => Promise<T>,
  done: (v: T) => boolean,
  timeoutMs = 30_000,
  what = 'condition',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) {
      throw new Error(`${what} not met within ${timeoutMs} ms; last value: ${JSON.stringify(value)}`);
    }
    await new Promise((r) => setTimeout(r, POLL_INTERVAL_MS));
  }
}

/** Resolves with the first value `probe` answers other than `undefined` ({@link eventually}, named `what`). */
export async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  return (await eventually(probe, (v) => v !== undefined, timeoutMs, `waiting for ${what}`)) as T;
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
