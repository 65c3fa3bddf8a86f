/**
 * The Temporal Schedules the service runs, created idempotently when the worker starts, on the worker's task queue:
 * - the rolling retention sweep (workflows/retention-sweep.ts), every RETENTION_SWEEP_INTERVAL;
 * - the contract-end check (workflows/contract-end-check.ts), every CONTRACT_END_CHECK_INTERVAL: it starts the
 *   termination of customers whose contract end date has passed, with nobody calling the API;
 * - the audit verification (workflows/audit-verify.ts), every AUDIT_VERIFY_INTERVAL: verifies the audit chain against
 *   its keys and the signed checkpoints, signs a checkpoint of its head, and alerts staff on a break;
 * - the start reconciler (workflows/request-start-reconciler.ts), every REQUEST_START_RECONCILE_INTERVAL: it starts
 *   the workflows of requests the API accepted but could not start (Temporal down, the API stopped mid-way).
 * Starting a second worker, or the same one again, finds each schedule and brings it to the current configuration
 * instead of creating another.
 */
import {
  ScheduleAlreadyRunning,
  ScheduleOverlapPolicy,
  type Client,
  type ScheduleOptionsStartWorkflowAction,
  type Workflow,
} from '@temporalio/client';
import type { AppConfig } from '../lib/config';
import {
  auditVerifyScheduleId,
  contractEndCheckScheduleId,
  requestStartReconcilerScheduleId,
  retentionSweepScheduleId,
} from '../lib/pure/temporal-ids';
import type { auditVerifyWorkflow } from '../workflows/audit-verify';
import type { ContractEndCheckInput, contractEndCheckWorkflow } from '../workflows/contract-end-check';
import type {
  RequestStartReconcilerInput,
  requestStartReconcilerWorkflow,
} from '../workflows/request-start-reconciler';
import type { RetentionSweepInput, retentionSweepWorkflow } from '../workflows/retention-sweep';

export interface EnsureSchedulesOptions {
  /** Input of every scheduled sweep (tests restrict it to their own customers). */
  sweep?: RetentionSweepInput;
  /** Overrides RETENTION_SWEEP_INTERVAL (milliseconds). */
  sweepIntervalMs?: number;
  /** Input of every scheduled contract-end check (tests restrict it to their own customers). */
  contractEndCheck?: ContractEndCheckInput;
  /** Overrides CONTRACT_END_CHECK_INTERVAL (milliseconds). */
  contractEndCheckIntervalMs?: number;
  /** Input of every scheduled start reconciliation (tests restrict it to their own requests). */
  startReconciler?: RequestStartReconcilerInput;
  /** Overrides REQUEST_START_RECONCILE_INTERVAL (milliseconds). */
  startReconcileIntervalMs?: number;
  /** Overrides AUDIT_VERIFY_INTERVAL (milliseconds). */
  auditVerifyIntervalMs?: number;
}

/** What {@link ensureSchedules} did. */
export interface EnsuredSchedules {
  retentionSweep: { scheduleId: string; created: boolean };
  contractEndCheck: { scheduleId: string; created: boolean };
  startReconciler: { scheduleId: string; created: boolean };
  auditVerify: { scheduleId: string; created: boolean };
}

/**
 * Creates the service's schedules, or updates each to the current interval, catch-up window and action if it exists.
 * Overlap policy SKIP: a run still going when the next is due makes that one be skipped, never run twice.
 */
export async function ensureSchedules(
  client: Client,
  config: AppConfig,
  opts: EnsureSchedulesOptions = {},
): Promise<EnsuredSchedules> {
  const taskQueue = config.temporal.taskQueue;
  const sweepId = retentionSweepScheduleId(taskQueue);
  const checkId = contractEndCheckScheduleId(taskQueue);
  const checkEveryMs = opts.contractEndCheckIntervalMs ?? config.termination.contractEndCheckIntervalMs;
  const reconcilerId = requestStartReconcilerScheduleId(taskQueue);
  const reconcileEveryMs = opts.startReconcileIntervalMs ?? config.temporal.startReconcileIntervalMs;
  const auditId = auditVerifyScheduleId(taskQueue);
  const auditEveryMs = opts.auditVerifyIntervalMs ?? config.audit.verifyIntervalMs;
  return {
    retentionSweep: await ensureSchedule(client, {
      scheduleId: sweepId,
      everyMs: opts.sweepIntervalMs ?? config.retention.sweepIntervalMs,
      action: startAction<typeof retentionSweepWorkflow>('retentionSweepWorkflow', sweepId, taskQueue, [
        opts.sweep ?? {},
      ]),
      catchupWindowMs: config.retention.sweepCatchupWindowMs,
      note: 'Rolling retention sweep (workers/schedules.ts); interval from RETENTION_SWEEP_INTERVAL',
    }),
    // A missed check needs no catch-up beyond one run: the next check finds every contract that ended meanwhile.
    // (The server accepts no catch-up window under 10 seconds.)
    contractEndCheck: await ensureSchedule(client, {
      scheduleId: checkId,
      everyMs: checkEveryMs,
      action: startAction<typeof contractEndCheckWorkflow>('contractEndCheckWorkflow', checkId, taskQueue, [
        opts.contractEndCheck ?? {},
      ]),
      catchupWindowMs: Math.max(checkEveryMs, 60_000),
      note: 'Starts terminations at contract end (workers/schedules.ts); interval from CONTRACT_END_CHECK_INTERVAL',
    }),
    // Like the contract-end check, one run finds everything owed: no catch-up beyond it.
    startReconciler: await ensureSchedule(client, {
      scheduleId: reconcilerId,
      everyMs: reconcileEveryMs,
      action: startAction<typeof requestStartReconcilerWorkflow>(
        'requestStartReconcilerWorkflow',
        reconcilerId,
        taskQueue,
        [opts.startReconciler ?? {}],
      ),
      catchupWindowMs: Math.max(reconcileEveryMs, 60_000),
      note: 'Starts accepted requests left unstarted (workers/schedules.ts); interval REQUEST_START_RECONCILE_INTERVAL',
    }),
    // A missed verification needs no catch-up: the next one checks the whole chain.
    auditVerify: await ensureSchedule(client, {
      scheduleId: auditId,
      everyMs: auditEveryMs,
      action: startAction<typeof auditVerifyWorkflow>('auditVerifyWorkflow', auditId, taskQueue, []),
      catchupWindowMs: Math.max(auditEveryMs, 60_000),
      note: 'Verifies the audit chain and signs checkpoints (workers/schedules.ts); interval from AUDIT_VERIFY_INTERVAL',
    }),
  };
}

/** A schedule's action: start `workflowType` as `workflowId` (the schedule's own id) with `args`. */
function startAction<W extends Workflow>(
  workflowType: string,
  workflowId: string,
  taskQueue: string,
  args: Parameters<W>,
): ScheduleOptionsStartWorkflowAction<W> {
  // The SDK's conditional option types do not narrow for a generic W; `args` is checked against W above.
  return { type: 'startWorkflow', workflowType, workflowId, taskQueue, args } as ScheduleOptionsStartWorkflowAction<W>;
}

/** Creates one schedule, or brings the existing one to this interval, action and policies. */
async function ensureSchedule<W extends Workflow>(
  client: Client,
  s: {
    scheduleId: string;
    everyMs: number;
    action: ScheduleOptionsStartWorkflowAction<W>;
    catchupWindowMs: number;
    note: string;
  },
): Promise<{ scheduleId: string; created: boolean }> {
  const spec = { intervals: [{ every: s.everyMs }] };
  const policies = { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: s.catchupWindowMs };
  try {
    await client.schedule.create({
      scheduleId: s.scheduleId,
      spec,
      action: s.action,
      policies,
      state: { note: s.note },
    });
    return { scheduleId: s.scheduleId, created: true };
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
  }
  await client.schedule.getHandle(s.scheduleId).update((previous) => ({
    ...previous,
    spec,
    action: s.action,
    policies: { ...previous.policies, ...policies },
  }));
  return { scheduleId: s.scheduleId, created: false };
}
