/**
 * The Temporal Schedules the service runs, created idempotently when the worker starts: today one, the rolling
 * retention sweep (workflows/retention-sweep.ts) on the worker's task queue. Starting a second worker, or the same one
 * again, finds the schedule and brings it to the current configuration instead of creating another.
 */
import {
  ScheduleAlreadyRunning,
  ScheduleOverlapPolicy,
  type Client,
  type ScheduleOptionsStartWorkflowAction,
} from '@temporalio/client';
import type { AppConfig } from '../lib/config';
import { retentionSweepScheduleId } from '../lib/pure/temporal-ids';
import type { RetentionSweepInput, retentionSweepWorkflow } from '../workflows/retention-sweep';

export interface EnsureSchedulesOptions {
  /** Input of every scheduled sweep (tests restrict it to their own customers). */
  sweep?: RetentionSweepInput;
  /** Overrides RETENTION_SWEEP_INTERVAL (milliseconds). */
  sweepIntervalMs?: number;
}

/** What {@link ensureSchedules} did. */
export interface EnsuredSchedules {
  retentionSweep: { scheduleId: string; created: boolean };
}

/**
 * Creates the retention sweep schedule, or updates it to the current interval, catch-up window and action if it
 * exists. Overlap policy SKIP: a sweep still running when the next is due makes that one be skipped, never run twice.
 */
export async function ensureSchedules(
  client: Client,
  config: AppConfig,
  opts: EnsureSchedulesOptions = {},
): Promise<EnsuredSchedules> {
  const taskQueue = config.temporal.taskQueue;
  const scheduleId = retentionSweepScheduleId(taskQueue);
  const every = opts.sweepIntervalMs ?? config.retention.sweepIntervalMs;
  const action: ScheduleOptionsStartWorkflowAction<typeof retentionSweepWorkflow> = {
    type: 'startWorkflow',
    workflowType: 'retentionSweepWorkflow',
    workflowId: scheduleId,
    taskQueue,
    args: [opts.sweep ?? {}],
  };
  const policies = {
    overlap: ScheduleOverlapPolicy.SKIP,
    catchupWindow: config.retention.sweepCatchupWindowMs,
  };
  try {
    await client.schedule.create({
      scheduleId,
      spec: { intervals: [{ every }] },
      action,
      policies,
      state: { note: 'Rolling retention sweep (workers/schedules.ts); interval from RETENTION_SWEEP_INTERVAL' },
    });
    return { retentionSweep: { scheduleId, created: true } };
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
  }
  await client.schedule.getHandle(scheduleId).update((previous) => ({
    ...previous,
    spec: { intervals: [{ every }] },
    action,
    policies: { ...previous.policies, ...policies },
  }));
  return { retentionSweep: { scheduleId, created: false } };
}
