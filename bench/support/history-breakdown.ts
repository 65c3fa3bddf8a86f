/**
 * Where the time of a workflow run goes, read from its history: how long its activities waited for a worker and ran,
 * how long its workflow tasks took, how long its child workflows took to start. The benchmarks print it next to their
 * ratio, so that a figure that misses its target says which step to look at.
 */
import type { WorkflowClient } from '@temporalio/client';
import type { temporal } from '@temporalio/proto';

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

/** Milliseconds summed over the runs read, by step. */
export interface Breakdown {
  runs: number;
  /** First event to the closing event. */
  totalMs: number;
  /** Workflow task scheduled to completed (queue wait + the worker's activation). */
  workflowTaskMs: number;
  workflowTasks: number;
  /** Activity scheduled to started, by activity type. */
  activityWaitMs: Map<string, number>;
  /** Activity started to completed, by activity type. */
  activityRunMs: Map<string, number>;
  activityCounts: Map<string, number>;
  /** Child workflow initiated to started. */
  childStartMs: number;
  childStarts: number;
}

function millis(event: HistoryEvent | undefined): number {
  const t = event?.eventTime;
  if (!t) return NaN;
  return Number(t.seconds ?? 0) * 1000 + Math.floor((t.nanos ?? 0) / 1e6);
}

function add(map: Map<string, number>, key: string, value: number): void {
  map.set(key, (map.get(key) ?? 0) + value);
}

/** Reads the histories of `workflowIds` and sums their steps. */
export async function breakdownOf(client: WorkflowClient, workflowIds: readonly string[]): Promise<Breakdown> {
  const b: Breakdown = {
    runs: 0,
    totalMs: 0,
    workflowTaskMs: 0,
    workflowTasks: 0,
    activityWaitMs: new Map(),
    activityRunMs: new Map(),
    activityCounts: new Map(),
    childStartMs: 0,
    childStarts: 0,
  };
  for (const id of workflowIds) {
    const history = await client.getHandle(id).fetchHistory();
    const events = history.events ?? [];
    if (events.length === 0) continue;
    const byId = new Map<number, HistoryEvent>();
    for (const e of events) byId.set(Number(e.eventId), e);
    b.runs++;
    b.totalMs += millis(events[events.length - 1]) - millis(events[0]);
    for (const e of events) {
      const wtDone = e.workflowTaskCompletedEventAttributes;
      if (wtDone) {
        b.workflowTaskMs += millis(e) - millis(byId.get(Number(wtDone.scheduledEventId)));
        b.workflowTasks++;
      }
      const actStarted = e.activityTaskStartedEventAttributes;
      if (actStarted) {
        const scheduled = byId.get(Number(actStarted.scheduledEventId));
        const type = scheduled?.activityTaskScheduledEventAttributes?.activityType?.name ?? '?';
        add(b.activityWaitMs, type, millis(e) - millis(scheduled));
      }
      const actDone = e.activityTaskCompletedEventAttributes;
      if (actDone) {
        const scheduled = byId.get(Number(actDone.scheduledEventId));
        const type = scheduled?.activityTaskScheduledEventAttributes?.activityType?.name ?? '?';
        add(b.activityRunMs, type, millis(e) - millis(byId.get(Number(actDone.startedEventId))));
        add(b.activityCounts, type, 1);
      }
      const childStarted = e.childWorkflowExecutionStartedEventAttributes;
      if (childStarted) {
        b.childStartMs += millis(e) - millis(byId.get(Number(childStarted.initiatedEventId)));
        b.childStarts++;
      }
    }
  }
  return b;
}

/** Lines that show a breakdown as means per run, the activities by type. */
export function describeBreakdown(label: string, b: Breakdown): string[] {
  const per = (ms: number) => (b.runs === 0 ? 'n/a' : `${(ms / b.runs).toFixed(1)} ms`);
  const lines = [
    `  ${label}: ${b.runs} runs; per run: total ${per(b.totalMs)}, ${(b.workflowTasks / Math.max(1, b.runs)).toFixed(1)} workflow tasks ${per(b.workflowTaskMs)}` +
      (b.childStarts > 0 ? `, child start ${per(b.childStartMs)}` : ''),
  ];
  for (const [type, count] of b.activityCounts) {
    lines.push(
      `    ${type} x${(count / b.runs).toFixed(1)}: waited ${per(b.activityWaitMs.get(type) ?? 0)}, ran ${per(b.activityRunMs.get(type) ?? 0)}`,
    );
  }
  return lines;
}
