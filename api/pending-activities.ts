/**
 * What a request's running activities are doing, from Temporal's own record (`describe()`): which attempt runs, when
 * it last heartbeated, the checkpoint it heartbeated, and why an earlier attempt ended. This is what tells the truth
 * after a crash: while a killed or frozen worker's attempt waits for its heartbeat timeout nothing else reports, and
 * once Temporal retries, the status says "retrying after heartbeat timeout, attempt N" with the last checkpoint.
 */
import type { Client } from '@temporalio/client';
import { decodeArrayFromPayloads } from '@temporalio/common/lib/internal-non-workflow';
import type { google } from '@temporalio/proto';
import { temporal as proto } from '@temporalio/proto';

/** One pending activity of a workflow, as `GET /v1/requests/{id}` shows it under `activities`. */
export interface PendingActivityStatus {
  activityType: string;
  /** `scheduled` (waiting for a worker, e.g. for its retry), `started` (a worker runs it), or another SDK state. */
  state: string;
  attempt: number;
  /** One line for people: `running`, `retrying after heartbeat timeout, attempt 2`, `retrying after failure: ...`. */
  summary: string;
  /** The last checkpoint the activity heartbeated (export: rows done; erasure: step and rows per table). */
  lastCheckpoint: unknown;
  lastHeartbeatAt: string | null;
  /** Why the previous attempt ended (absent on a first attempt). */
  lastFailure: { message: string; timeout?: string } | null;
  /** When the next attempt is due, while the activity waits to be retried. */
  nextAttemptAt: string | null;
}

const STATES: Record<number, string> = {
  [proto.api.enums.v1.PendingActivityState.PENDING_ACTIVITY_STATE_SCHEDULED]: 'scheduled',
  [proto.api.enums.v1.PendingActivityState.PENDING_ACTIVITY_STATE_STARTED]: 'started',
  [proto.api.enums.v1.PendingActivityState.PENDING_ACTIVITY_STATE_CANCEL_REQUESTED]: 'cancel-requested',
  [proto.api.enums.v1.PendingActivityState.PENDING_ACTIVITY_STATE_PAUSED]: 'paused',
};

const TIMEOUTS: Record<number, string> = {
  [proto.api.enums.v1.TimeoutType.TIMEOUT_TYPE_HEARTBEAT]: 'heartbeat',
  [proto.api.enums.v1.TimeoutType.TIMEOUT_TYPE_START_TO_CLOSE]: 'start-to-close',
  [proto.api.enums.v1.TimeoutType.TIMEOUT_TYPE_SCHEDULE_TO_START]: 'schedule-to-start',
  [proto.api.enums.v1.TimeoutType.TIMEOUT_TYPE_SCHEDULE_TO_CLOSE]: 'schedule-to-close',
};

function isoOf(t: google.protobuf.ITimestamp | null | undefined): string | null {
  if (!t?.seconds) return null;
  return new Date(Number(t.seconds) * 1000 + Math.floor((t.nanos ?? 0) / 1e6)).toISOString();
}

/** The one-line summary of a pending activity (see {@link PendingActivityStatus.summary}). */
export function summarize(a: Pick<PendingActivityStatus, 'attempt' | 'lastFailure' | 'state'>): string {
  if (a.attempt <= 1 || !a.lastFailure) return a.state === 'scheduled' ? 'waiting for a worker' : 'running';
  const why = a.lastFailure.timeout ? `${a.lastFailure.timeout} timeout` : `failure: ${a.lastFailure.message}`;
  return `retrying after ${why}, attempt ${a.attempt}`;
}

/**
 * The pending activities of `workflowId` (decoded with the client's data converter, so encrypted heartbeat details
 * are readable here as in the Web UI), within `deadlineMs`.
 */
export async function pendingActivities(
  temporal: Client,
  workflowId: string,
  deadlineMs: number,
): Promise<PendingActivityStatus[]> {
  const described = await temporal.connection.withDeadline(Date.now() + deadlineMs, () =>
    temporal.workflow.getHandle(workflowId).describe(),
  );
  const out: PendingActivityStatus[] = [];
  for (const a of described.raw.pendingActivities ?? []) {
    const details = await decodeArrayFromPayloads(
      temporal.options.loadedDataConverter,
      a.heartbeatDetails?.payloads ?? undefined,
    ).catch(() => [] as unknown[]);
    const timeoutType = a.lastFailure?.timeoutFailureInfo?.timeoutType;
    const status = {
      activityType: a.activityType?.name ?? 'unknown',
      state: STATES[a.state ?? 0] ?? 'unknown',
      attempt: a.attempt ?? 1,
      lastCheckpoint: details[0] ?? null,
      lastHeartbeatAt: isoOf(a.lastHeartbeatTime),
      lastFailure: a.lastFailure
        ? {
            message: a.lastFailure.message ?? '',
            ...(timeoutType ? { timeout: TIMEOUTS[timeoutType] ?? String(timeoutType) } : {}),
          }
        : null,
      nextAttemptAt: isoOf(a.nextAttemptScheduleTime),
    };
    out.push({ ...status, summary: summarize(status) });
  }
  return out;
}
