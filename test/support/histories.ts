/**
 * Recorded workflow histories: the fixtures that test/replay.test.ts replays against the current workflow code, so a
 * change that would break the workflows already running (a retention workflow sleeps for years) fails `npm test`.
 *
 * How they are made (`npm run histories:record`, scripts/record-histories.ts): the full-stack tests run with
 * RECORD_HISTORIES_DIR set; every test stack saves, on stop(), the history of each workflow on its task queue into that
 * staging directory (`saveTaskQueueHistories`); the script then names each history after the path it took through its
 * workflow (`scenarioOf`), keeps one per name (`selectFixtures`, fewest events first) and writes it to
 * test/histories/<workflowType>/<scenario>[+<patchId>...].json in the JSON format of `temporal workflow show -o json`.
 *
 * Payloads in the histories are encrypted with the test payload keys (TEST_PAYLOAD_KEYS), so replay uses the same data
 * converter as the worker (lib/data-converter.ts). See docs/versioning.md.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { approveUpdate, rejectUpdate } from '../../workflows/approval';
import { waiveReceiptUpdate } from '../../workflows/correction';
import { deletionConfirmedSignal } from '../../workflows/erasure';
import { acknowledgeReturnUpdate } from '../../workflows/termination';
import { historyToJson } from './history-json';

/** Where the fixtures live: one folder per workflow type. */
export const HISTORIES_DIR = path.join(__dirname, '..', 'histories');

/** Set by scripts/record-histories.ts: the staging directory test stacks save their histories into. */
export const RECORD_HISTORIES_ENV = 'RECORD_HISTORIES_DIR';

/**
 * Workflow types whose open runs are worth keeping: they run for years, so what matters is that a run that is still
 * waiting today replays tomorrow. Closed runs (including continued-as-new ones) are kept for every type.
 */
export const LONG_RUNNING_TYPES: ReadonlySet<string> = new Set(['retentionWorkflow']);

/** Most histories one test stack saves (a bound on the staging area; the tests start far fewer). */
const MAX_SAVED_PER_STACK = 500;

/** One history as a test stack saved it. */
export interface StagedHistory {
  workflowType: string;
  workflowId: string;
  runId: string;
  /** Execution status name at the time it was saved, e.g. COMPLETED, FAILED, CONTINUED_AS_NEW, RUNNING. */
  status: string;
  /** The test stack (test file) it came from, e.g. `onboarding`. */
  source: string;
  /** The history in the JSON format of `temporal workflow show -o json`. */
  history: HistoryJson;
}

/** The parts of a JSON history this module reads; everything else is kept as it is. */
export interface HistoryJson {
  events: HistoryEventJson[];
}
export type HistoryEventJson = { eventType: string } & Record<string, any>;

/**
 * Saves the history of every workflow run on `taskQueue` into `dir/<source>/`: closed runs of every type and open runs
 * of long-running types. Called by the test stack's stop() after its worker has shut down, so nothing moves meanwhile.
 */
export async function saveTaskQueueHistories(
  client: Client,
  taskQueue: string,
  source: string,
  dir: string,
): Promise<number> {
  const out = path.join(dir, source);
  fs.mkdirSync(out, { recursive: true });
  let saved = 0;
  for await (const run of client.workflow.list({ query: `TaskQueue = '${taskQueue}'` })) {
    if (saved >= MAX_SAVED_PER_STACK) break;
    if (run.status.name === 'RUNNING' && !LONG_RUNNING_TYPES.has(run.type)) continue;
    const history = await client.workflow.getHandle(run.workflowId, run.runId).fetchHistory();
    const staged: StagedHistory = {
      workflowType: run.type,
      workflowId: run.workflowId,
      runId: run.runId,
      status: run.status.name,
      source,
      history: historyToJson(history) as HistoryJson,
    };
    fs.writeFileSync(path.join(out, `${run.runId}.json`), JSON.stringify(staged));
    saved++;
  }
  return saved;
}

/** Reads everything the test stacks staged under `dir`. */
export function readStagedHistories(dir: string): StagedHistory[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')) as StagedHistory);
}

/** `EVENT_TYPE_ACTIVITY_TASK_SCHEDULED` and `ActivityTaskScheduled` (CLI output) both become `ActivityTaskScheduled`. */
function eventTypeOf(e: HistoryEventJson): string {
  const t = e.eventType;
  if (!t.startsWith('EVENT_TYPE_')) return t;
  return t
    .slice('EVENT_TYPE_'.length)
    .toLowerCase()
    .replace(/(^|_)([a-z])/g, (_m, _s, c: string) => c.toUpperCase());
}

/** What a history did, as far as naming it needs: activity types scheduled, signals, accepted updates, child starts. */
interface HistoryFacts {
  activities: Map<string, number>;
  signals: Set<string>;
  /** Names of the updates the workflow accepted (a refused update never enters history). */
  updates: Set<string>;
  childTypes: Set<string>;
  continuedFromPreviousRun: boolean;
}

function factsOf(history: HistoryJson): HistoryFacts {
  const facts: HistoryFacts = {
    activities: new Map(),
    signals: new Set(),
    updates: new Set(),
    childTypes: new Set(),
    continuedFromPreviousRun: false,
  };
  for (const e of history.events) {
    switch (eventTypeOf(e)) {
      case 'WorkflowExecutionStarted':
        facts.continuedFromPreviousRun = Boolean(e.workflowExecutionStartedEventAttributes?.continuedExecutionRunId);
        break;
      case 'ActivityTaskScheduled': {
        const name: string = e.activityTaskScheduledEventAttributes.activityType.name;
        facts.activities.set(name, (facts.activities.get(name) ?? 0) + 1);
        break;
      }
      case 'WorkflowExecutionSignaled':
        facts.signals.add(e.workflowExecutionSignaledEventAttributes.signalName);
        break;
      case 'WorkflowExecutionUpdateAccepted':
        facts.updates.add(e.workflowExecutionUpdateAcceptedEventAttributes.acceptedRequest.input.name);
        break;
      case 'StartChildWorkflowExecutionInitiated':
        facts.childTypes.add(e.startChildWorkflowExecutionInitiatedEventAttributes.workflowType.name);
        break;
    }
  }
  return facts;
}

/**
 * Ids of the patches (`patched()` / `deprecatePatch()`) a history passed. Core records each as a `core_patch` marker
 * whose `patch-data` detail is a JSON payload `{ id, deprecated }` (not codec-encoded: core writes it itself).
 */
export function patchIdsOf(history: HistoryJson): string[] {
  const ids = new Set<string>();
  for (const e of history.events) {
    if (eventTypeOf(e) !== 'MarkerRecorded') continue;
    const marker = e.markerRecordedEventAttributes;
    if (marker?.markerName !== 'core_patch') continue;
    const payload = marker.details?.['patch-data']?.payloads?.[0];
    try {
      const id = (JSON.parse(Buffer.from(payload.data, 'base64').toString('utf8')) as { id?: string }).id;
      if (id) ids.add(id);
    } catch {
      ids.add('unreadable-patch-marker');
    }
  }
  return [...ids].sort();
}

const has = (f: HistoryFacts, activity: string) => (f.activities.get(activity) ?? 0) > 0;
const withModifiers = (base: string, modifiers: Array<string | false>) =>
  [base, ...modifiers.filter((m): m is string => Boolean(m))].join('-');

/**
 * Names the path a history took through its workflow, from what it did (activity types, signals, updates, children,
 * status), never from ids or timing, so the same test scenario gets the same name in every recording. Answers
 * undefined for histories not worth a fixture (e.g. open runs of short-lived types, terminated runs).
 */
export function scenarioOf(staged: StagedHistory): string | undefined {
  const f = factsOf(staged.history);
  const status = staged.status;
  switch (staged.workflowType) {
    case 'onboardingWorkflow':
      return status === 'COMPLETED' ? 'completed' : status === 'FAILED' ? 'failed' : undefined;

    case 'accessRequestWorkflow': {
      // Terminated: a test that checked the deadline clock and stopped the request there (still a path to replay).
      if (status !== 'COMPLETED' && status !== 'FAILED' && status !== 'TERMINATED') return undefined;
      const base =
        status === 'TERMINATED'
          ? 'terminated'
          : has(f, 'failAccessRequest')
            ? 'export-failed'
            : has(f, 'refuseAccessRequest')
              ? 'refused'
              : has(f, 'closeUnverifiedAccessRequest')
                ? 'closed-unverified'
                : has(f, 'completeAccessRequest')
                  ? 'delivered-completed'
                  : undefined;
      if (!base) return undefined;
      return withModifiers(base, [
        has(f, 'recordDeadlineExtension') && 'extended',
        has(f, 'escalateOverdueAccessRequest') && 'escalated',
      ]);
    }

    case 'erasureWorkflow': {
      const base =
        status === 'COMPLETED'
          ? 'erased'
          : status === 'FAILED'
            ? 'failed'
            : status === 'CONTINUED_AS_NEW'
              ? 'continued-as-new'
              : undefined;
      if (!base) return undefined;
      return withModifiers(base, [
        // The first check decides what may go now; each wait for a release checks again.
        (f.activities.get('checkLegalHolds') ?? 0) > 1 && 'legal-hold-wait',
        has(f, 'closeCustomerRecord') && 'customer-record',
        f.signals.has(deletionConfirmedSignal.name) && 'confirmed-by-callback',
        has(f, 'escalateDeletion') && 'escalated',
        f.continuedFromPreviousRun && 'after-continue-as-new',
      ]);
    }

    case 'retentionWorkflow': {
      const base =
        status === 'RUNNING'
          ? 'waiting'
          : status === 'CONTINUED_AS_NEW'
            ? 'continued-as-new'
            : status === 'COMPLETED'
              ? 'completed'
              : undefined;
      if (!base) return undefined;
      return withModifiers(base, [
        f.childTypes.has('erasureWorkflow') && 'after-erasure',
        has(f, 'recordRetentionErasureFailed') && 'erasure-failed',
        // Which signals arrive before a test moves on is timing; that some did is the scenario.
        f.signals.size > 0 && 'signalled',
        f.continuedFromPreviousRun && 'after-continue-as-new',
      ]);
    }

    case 'retentionSweepWorkflow':
      if (status !== 'COMPLETED') return undefined;
      return withModifiers('completed', [has(f, 'sweepAuditLog') && 'audit-purge']);

    case 'terminationWorkflow': {
      if (status === 'FAILED') return 'failed';
      if (status !== 'COMPLETED') return undefined;
      // Only what the test decides (disposition, acknowledgement, decision, a hold), never how many reminders the
      // timers let through before it moved on.
      const base = has(f, 'recordTerminationCancelled')
        ? 'cancelled'
        : has(f, 'recordTerminationRejected')
          ? 'rejected'
          : !has(f, 'exportCustomerData')
            ? 'delete-only'
            : f.updates.has(acknowledgeReturnUpdate.name)
              ? 'returned-acknowledged'
              : 'returned-grace-period';
      return withModifiers(base, [
        // The first check decides whether erasure may start; each wait for a release checks again.
        (f.activities.get('activeLegalHolds') ?? 0) > 1 && 'legal-hold-wait',
      ]);
    }

    case 'correctionWorkflow': {
      if (status === 'FAILED') return 'failed';
      if (status !== 'COMPLETED') return undefined;
      // The decision is an update (approve or reject); no decision in time leaves only the recorded expiry.
      const base = has(f, 'refuseCorrectionRequest')
        ? 'refused'
        : has(f, 'closeUnverifiedCorrectionRequest')
          ? 'closed-unverified'
          : !has(f, 'recordCorrectionDecision')
            ? 'applied'
            : f.updates.has(approveUpdate.name)
              ? 'approved'
              : f.updates.has(rejectUpdate.name)
                ? 'rejected'
                : 'approval-expired';
      const answered = base === 'refused' || base === 'closed-unverified';
      return withModifiers(base, [
        // Whether a receipt escalation fires before a flaky subprocessor answers is timing, so it names nothing.
        !answered && !has(f, 'propagateCorrection') && 'not-propagated',
        f.updates.has(waiveReceiptUpdate.name) && 'receipt-waived',
        has(f, 'recordCorrectionExtension') && 'extended',
        has(f, 'escalateOverdueCorrectionRequest') && 'escalated',
      ]);
    }

    case 'deletionRequestWorkflow': {
      if (status !== 'COMPLETED' && status !== 'FAILED') return undefined;
      // Which parts were granted is in the (encrypted) decisions; what the history shows is whether any erasure ran.
      const base =
        status === 'FAILED'
          ? has(f, 'failDeletionRequest')
            ? 'erasure-failed'
            : 'failed'
          : has(f, 'refuseDeletionRequest')
            ? 'refused'
            : has(f, 'closeUnverifiedDeletionRequest')
              ? 'closed-unverified'
              : f.childTypes.has('erasureWorkflow')
                ? 'erased-certified'
                : 'nothing-granted';
      return withModifiers(base, [
        has(f, 'recordDeletionExtension') && 'extended',
        has(f, 'escalateOverdueDeletionRequest') && 'escalated',
      ]);
    }

    case 'contractEndCheckWorkflow':
      if (status !== 'COMPLETED') return undefined;
      return has(f, 'startContractEndTermination') ? 'started' : 'nothing-due';

    case 'requestStartReconcilerWorkflow':
      // One activity, whatever it found: the path is the same.
      return status === 'COMPLETED' ? 'completed' : undefined;
    case 'auditVerifyWorkflow':
      // One activity whatever it finds (intact or broken): one path to replay.
      return status === 'COMPLETED' ? 'verified' : undefined;

    default:
      return undefined;
  }
}

/** A fixture to write: where, and which staged history. */
export interface SelectedFixture {
  /** Relative to HISTORIES_DIR: `<workflowType>/<scenario>[+<patchId>...].json`. */
  file: string;
  staged: StagedHistory;
}

/**
 * One fixture per workflow type, scenario and set of patches, among the staged histories of `workflowTypes`: the one
 * with the fewest events (then the first by source and start order), so the selection is bounded and repeatable.
 * Patch ids are part of the file name, so recording after a `patched()` change writes new files beside the fixtures
 * of the previous code version instead of overwriting them (docs/versioning.md).
 */
export function selectFixtures(staged: StagedHistory[], workflowTypes: ReadonlySet<string>): SelectedFixture[] {
  const chosen = new Map<string, StagedHistory>();
  for (const s of staged) {
    if (!workflowTypes.has(s.workflowType)) continue;
    const scenario = scenarioOf(s);
    if (!scenario) continue;
    const patches = patchIdsOf(s.history);
    const file = `${s.workflowType}/${[scenario, ...patches].join('+')}.json`;
    const current = chosen.get(file);
    if (!current || s.history.events.length < current.history.events.length) chosen.set(file, s);
  }
  return [...chosen.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([file, s]) => ({ file, staged: s }));
}

/** Every fixture under HISTORIES_DIR: its path relative to that folder and the workflow type its folder names. */
export function listFixtures(dir = HISTORIES_DIR): Array<{ file: string; workflowType: string }> {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((file) => ({ file, workflowType: file.split(path.sep)[0]! }));
}
