/**
 * Erasure of one scope (customer x data categories): the child workflow that retention and contract termination both
 * run. Deterministic code only; every side effect is an activity (activities/erasure.ts).
 *
 * 1. Record the erasure and take the settings from configuration (batch size, deadlines, statutory rules in force).
 * 2. Check legal holds. Held categories (and those whose rows held rows point at) wait, visibly: status stage and the
 *    `RequestStage` search attribute read `waiting-for-legal-hold`. Everything else proceeds at once.
 * 3. Delete the free categories' rows in dependency order and short batches (`eraseTables`, heartbeating a checkpoint;
 *    a retried attempt resumes after the last committed batch with exact counts). Invoiced orders are kept with their
 *    own `retain_until` (lib/statutory-retention.ts). Access-request archives holding a copy of an erased category
 *    go too (files and rows; their download links then answer 410).
 * 4. Tell each subprocessor holding those categories to delete (protocol v1); a confirmation arrives in the answer or
 *    later as a signal from the signed callback route. Each deletion waits up to `confirmationTimeout`, then is
 *    escalated to staff by email and reported `escalated`.
 * 5. When a hold is released (signal from `DELETE /v1/legal-holds/:id`, or the periodic re-check as a safety net),
 *    the waiting categories go through 3 and 4.
 * 6. Verify that no row of the scope remains (retained rows apart); sweep stragglers and verify again if needed.
 * 7. Termination with `business_contact`: remove the customer record and its subprocessor links, or keep it while
 *    retained invoices need their counterparty.
 * 8. Record per-table counts, retained rows, receipts and policy versions on the erasure and in the audit log.
 *
 * Out of scope unless the categories say so: the customers row (only `termination` with `business_contact`) and the
 * audit log (`audit_log` is the audit module's own retention purge; it is reported in `excludedCategories`).
 */
import {
  ActivityFailure,
  ApplicationFailure,
  allHandlersFinished,
  condition,
  continueAsNew,
  defineQuery,
  defineSignal,
  log,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
  uuid4,
  workflowInfo,
} from '@temporalio/workflow';
import type { Duration } from '@temporalio/common';
import type {
  CustomerRecordOutcome,
  ErasureActivities,
  ErasureRef,
  ErasureSettings,
  RetainedRows,
  SubprocessorDeletionReceipt,
  VerificationResult,
} from '../activities/erasure';
import type { DataCategory } from '../lib/pure/data-categories';
import { type DeletionConfirmed, type LegalHoldReleased } from '../lib/pure/erasure-messages';
import {
  CATEGORIES_OUTSIDE_ERASURE,
  ERASURE_TABLES,
  erasableCategories,
  includesCustomerRecord,
  normalizeCategories,
  type ErasureReason,
  type ErasureRecords,
} from '../lib/pure/erasure-plan';
import { NON_RETRYABLE_ERROR_TYPES } from '../lib/pure/errors';
import { REQUEST_STATUS_QUERY } from '../lib/pure/request-messages';
import { searchAttributes } from '../lib/pure/temporal-ids';

/** What the erasure needs: one scope, why, and optional overrides of configured settings. */
export interface ErasureInput {
  customerId: string;
  categories: DataCategory[];
  reason: ErasureReason;
  /** Lifecycle request it belongs to, if any. */
  requestId?: string;
  /**
   * Narrows the erasure to named contacts / seller accounts (a deletion request): for their categories only these
   * rows are erased, and subprocessors are asked to delete only these records.
   */
  records?: ErasureRecords;
  /** Recorded in the evidence. */
  policyVersions?: Partial<Record<DataCategory, number>>;
  /** How long to wait for subprocessor confirmations before escalating to staff (default ERASURE_CONFIRMATION_TIMEOUT). */
  confirmationTimeout?: Duration;
  /** Rows per batch transaction (default ERASURE_BATCH_SIZE). */
  batchSize?: number;
  /** How often a held erasure re-checks its holds without a release signal (default LEGAL_HOLD_RECHECK_INTERVAL). */
  holdRecheckInterval?: Duration;
  /** Internal: state carried across continue-as-new while waiting for a long hold. Never set by callers. */
  carried?: ErasureCarriedState;
}

/** What the erasure returns (and records in the audit log). */
export interface ErasureResult {
  customerId: string;
  categories: DataCategory[];
  /** Rows deleted per table (exact, across retries and resumptions). */
  tables: Record<string, number>;
  /** Rows kept under statutory retention, per table, with their expiry and reason. */
  retained: Record<string, RetainedRows>;
  /** One receipt per subprocessor (the worst status and the latest deletion when it got several). */
  subprocessors: Record<string, SubprocessorDeletionReceipt>;
  /** No row of the scope remains (except retained). */
  verified: boolean;
  policyVersions?: Partial<Record<DataCategory, number>>;
  /** Every deletion request sent, in order (a subprocessor gets one per pass when holds split the scope). */
  subprocessorDeletions?: Array<SubprocessorDeletionReceipt & { subprocessorId: string; categories: DataCategory[] }>;
  /** Termination with business_contact: what happened to the customer record. */
  customerRecord?: CustomerRecordOutcome['outcome'];
  /** Categories in the scope that erasure never deletes, and why (e.g. audit_log). */
  excludedCategories?: Partial<Record<DataCategory, string>>;
  /** Rows left behind when not verified, per table (diagnosis). */
  remaining?: Record<string, number>;
}

export type ErasureStage =
  | 'starting'
  | 'checking-legal-holds'
  | 'erasing'
  | 'requesting-subprocessor-deletions'
  | 'waiting-for-legal-hold'
  | 'verifying'
  | 'closing-customer-record'
  | 'waiting-for-confirmations'
  | 'recording'
  | 'completed';

/** Per-category progress as the status query shows it. */
export type CategoryState = 'pending' | 'waiting-for-legal-hold' | 'erased' | 'excluded';

/** What the `status` query answers. */
export interface ErasureStatus {
  stage: ErasureStage;
  categories: Partial<Record<DataCategory, CategoryState>>;
  /** Categories waiting for a legal hold right now. */
  heldCategories: DataCategory[];
  /** Whether the customer record (termination) waits for a hold. */
  customerRecordHeld: boolean;
  tables: Record<string, number>;
  subprocessors: Record<string, { status: 'requested' | 'confirmed' | 'escalated'; deletionId: string }>;
}

interface DeletionState {
  deletionId: string;
  subprocessorId: string;
  categories: DataCategory[];
  status: 'requested' | 'confirmed' | 'escalated';
  confirmedAt?: string;
}

/** State carried across continue-as-new (only while no confirmation is outstanding). */
export interface ErasureCarriedState {
  settings: ErasureSettings;
  pendingLocal: DataCategory[];
  pendingRemote: DataCategory[];
  /** Categories already requested from each subprocessor. */
  requested: Record<string, DataCategory[]>;
  deletions: DeletionState[];
  customerRecordPending: boolean;
}

/** Query: the erasure's live status (stage, categories, counts, subprocessors). */
export const erasureStatusQuery = defineQuery<ErasureStatus>(REQUEST_STATUS_QUERY);
/** Signal: a legal hold on the customer was released (`DELETE /v1/legal-holds/{id}`). */
export const legalHoldReleasedSignal = defineSignal<[LegalHoldReleased]>('legalHoldReleased');
/** Signal: a subprocessor confirmed a deletion (`POST /v1/subprocessor-callbacks/{id}`). */
export const deletionConfirmedSignal = defineSignal<[DeletionConfirmed]>('subprocessorDeletionConfirmed');

/** Continue as new past this many history events while waiting for a hold (the server's limit is 51,200). */
const MAX_HISTORY_EVENTS = 10_000;
/** Straggler sweeps after a failed verification before reporting `verified: false`. */
const MAX_SWEEPS = 2;

/** Quick steps: records, hold checks, escalations (regular activities, not local ones), retried with backoff. */
const quick = proxyActivities<ErasureActivities>({
  startToCloseTimeout: '1 minute',
  retry: {
    initialInterval: '1 second',
    maximumInterval: '30 seconds',
    nonRetryableErrorTypes: NON_RETRYABLE_ERROR_TYPES,
  },
});

/** Bulk work: long, heartbeating, resumed from its checkpoint on another attempt. */
const bulk = proxyActivities<ErasureActivities>({
  startToCloseTimeout: '24 hours',
  heartbeatTimeout: '1 minute',
  retry: {
    initialInterval: '1 second',
    maximumInterval: '1 minute',
    nonRetryableErrorTypes: NON_RETRYABLE_ERROR_TYPES,
  },
});

/** Erases one scope; see the module comment for the steps. */
export async function erasureWorkflow(input: ErasureInput): Promise<ErasureResult> {
  const info = workflowInfo();
  let categories: DataCategory[];
  try {
    categories = normalizeCategories(input.categories);
  } catch (err) {
    throw ApplicationFailure.nonRetryable((err as Error).message, 'InvalidErasureInput');
  }
  if (categories.length === 0) throw ApplicationFailure.nonRetryable('no categories to erase', 'InvalidErasureInput');
  if (input.batchSize !== undefined && !(Number.isInteger(input.batchSize) && input.batchSize > 0)) {
    throw ApplicationFailure.nonRetryable('batchSize must be a positive integer', 'InvalidErasureInput');
  }
  const ref: ErasureRef = {
    erasureId: info.firstExecutionRunId,
    workflowId: info.workflowId,
    customerId: input.customerId,
    reason: input.reason,
    ...(input.requestId ? { requestId: input.requestId } : {}),
    ...(input.records ? { records: input.records } : {}),
  };
  const scope = erasableCategories(categories);
  const excluded: Partial<Record<DataCategory, string>> = {};
  for (const c of categories) if (CATEGORIES_OUTSIDE_ERASURE[c]) excluded[c] = CATEGORIES_OUTSIDE_ERASURE[c];
  const carried = input.carried;

  const status: ErasureStatus = {
    stage: 'starting',
    categories: {},
    heldCategories: [],
    customerRecordHeld: false,
    tables: {},
    subprocessors: {},
  };
  for (const c of categories) status.categories[c] = excluded[c] ? 'excluded' : 'pending';
  const confirmations = new Map<string, string>();
  let releaseSignalled = false;
  setHandler(erasureStatusQuery, () => status);
  setHandler(legalHoldReleasedSignal, () => {
    releaseSignalled = true;
  });
  setHandler(deletionConfirmedSignal, (c) => {
    if (!confirmations.has(c.deletionId)) confirmations.set(c.deletionId, c.confirmedAt);
  });

  upsertSearchAttributes([
    { key: searchAttributes.customerId, value: input.customerId },
    { key: searchAttributes.requestType, value: 'erasure' },
    { key: searchAttributes.requestStage, value: 'starting' },
    ...(input.requestId ? [{ key: searchAttributes.requestId, value: input.requestId }] : []),
  ]);
  function enter(stage: ErasureStage): void {
    if (status.stage === stage) return;
    status.stage = stage;
    upsertSearchAttributes([{ key: searchAttributes.requestStage, value: stage }]);
  }

  const settings =
    carried?.settings ??
    (await quick.beginErasure({
      ...ref,
      categories,
      ...(input.policyVersions ? { policyVersions: input.policyVersions } : {}),
    }));
  const confirmationTimeout = input.confirmationTimeout ?? settings.confirmationTimeoutMs;
  const recheckInterval = input.holdRecheckInterval ?? settings.holdRecheckIntervalMs;
  const batchSize = input.batchSize ?? settings.batchSize;
  const remote = proxyActivities<ErasureActivities>({
    startToCloseTimeout: '1 minute',
    // A subprocessor that cannot even take the request within the confirmation window is escalated like a silent one.
    scheduleToCloseTimeout: confirmationTimeout,
    retry: {
      initialInterval: '1 second',
      backoffCoefficient: 2,
      maximumInterval: '5 minutes',
      nonRetryableErrorTypes: NON_RETRYABLE_ERROR_TYPES,
    },
  });

  let pendingLocal = carried?.pendingLocal ?? scope;
  let pendingRemote = carried?.pendingRemote ?? scope;
  let customerRecordPending = carried?.customerRecordPending ?? includesCustomerRecord(input.reason, categories);
  const requested: Record<string, DataCategory[]> = carried?.requested ?? {};
  const deletions: DeletionState[] = carried?.deletions ?? [];
  const waits: Promise<void>[] = [];
  let outstanding = 0;
  for (const d of deletions) showDeletion(d);

  function showDeletion(d: DeletionState): void {
    status.subprocessors[d.subprocessorId] = { status: d.status, deletionId: d.deletionId };
  }

  async function escalate(d: DeletionState, why: 'deadline-passed' | 'refused', detail?: string): Promise<void> {
    const r = await quick.escalateDeletion({
      ...ref,
      deletionId: d.deletionId,
      subprocessorId: d.subprocessorId,
      why,
      ...(detail ? { detail } : {}),
    });
    d.status = r.status;
    if (r.status === 'confirmed') d.confirmedAt = r.confirmedAt;
    showDeletion(d);
  }

  /** Runs a confirmation wait or an escalation in the background; continue-as-new waits until none is running. */
  function track(work: Promise<void>): void {
    outstanding += 1;
    waits.push(
      work.finally(() => {
        outstanding -= 1;
      }),
    );
  }

  async function awaitConfirmation(d: DeletionState): Promise<void> {
    const confirmed = await condition(() => confirmations.has(d.deletionId), confirmationTimeout);
    if (confirmed) {
      d.status = 'confirmed';
      d.confirmedAt = confirmations.get(d.deletionId);
      showDeletion(d);
    } else {
      await escalate(d, 'deadline-passed');
    }
  }

  /** Tells one subprocessor to delete what it holds of `free` and has not been asked for; returns held categories. */
  async function tell(target: { subprocessorId: string; categories: DataCategory[] }): Promise<DataCategory[]> {
    const already = requested[target.subprocessorId] ?? [];
    const cats = target.categories.filter((c) => !already.includes(c));
    if (cats.length === 0) return [];
    const d: DeletionState = {
      deletionId: uuid4(),
      subprocessorId: target.subprocessorId,
      categories: cats,
      status: 'requested',
    };
    try {
      const r = await remote.requestSubprocessorDeletion({
        ...ref,
        deletionId: d.deletionId,
        ...target,
        categories: cats,
      });
      if (r.outcome === 'held') return cats;
      requested[target.subprocessorId] = [...already, ...cats];
      deletions.push(d);
      if (r.outcome === 'confirmed') {
        d.status = 'confirmed';
        d.confirmedAt = r.confirmedAt;
      } else {
        track(awaitConfirmation(d));
      }
      showDeletion(d);
      return [];
    } catch (err) {
      if (!(err instanceof ActivityFailure)) throw err;
      // Refused (permanent 4xx) or not deliverable within the confirmation window: staff must follow up.
      requested[target.subprocessorId] = [...already, ...cats];
      deletions.push(d);
      showDeletion(d);
      const refused = err.cause instanceof ApplicationFailure && err.cause.type === 'SubprocessorRejectedError';
      track(escalate(d, refused ? 'refused' : 'deadline-passed', describeFailure(err)));
      return [];
    }
  }

  /**
   * Records the erasure as waiting (so that a release finds and signals it), then waits for that signal or the
   * re-check interval. Returns at once if the holds were released meanwhile.
   */
  async function waitForRelease(customerRecord: boolean): Promise<void> {
    // Cleared before the check: a release signalled while the check runs must not be lost.
    releaseSignalled = false;
    const pending = normalizeCategories([...pendingLocal, ...pendingRemote]);
    const held = await quick.checkLegalHolds({ ...ref, categories: pending, customerRecord });
    if (held.deferred.length === 0 && !held.customerRecordHeld) return;
    status.heldCategories = held.deferred;
    for (const c of held.deferred) status.categories[c] = 'waiting-for-legal-hold';
    enter('waiting-for-legal-hold');
    await condition(() => releaseSignalled, recheckInterval);
    const now = workflowInfo();
    if ((now.continueAsNewSuggested || now.historyLength > MAX_HISTORY_EVENTS) && outstanding === 0) {
      await condition(allHandlersFinished);
      log.info('erasure continues as new while waiting for a legal hold', { customerId: input.customerId });
      await continueAsNew<typeof erasureWorkflow>({
        ...input,
        carried: { settings, pendingLocal, pendingRemote, requested, deletions, customerRecordPending },
      });
    }
  }

  // Passes: each deletes and requests what no hold covers, then waits for a release while anything is left.
  while (pendingLocal.length > 0 || pendingRemote.length > 0) {
    enter('checking-legal-holds');
    const pending = normalizeCategories([...pendingLocal, ...pendingRemote]);
    const { deferred } = await quick.checkLegalHolds({ ...ref, categories: pending, customerRecord: false });
    status.heldCategories = deferred;
    for (const c of pending) status.categories[c] = deferred.includes(c) ? 'waiting-for-legal-hold' : 'pending';

    const localNow = pendingLocal.filter((c) => !deferred.includes(c));
    if (localNow.length > 0) {
      enter('erasing');
      const r = await bulk.eraseTables({
        ...ref,
        categories: localNow,
        scope,
        batchSize,
        retention: settings.retention,
      });
      status.tables = r.tables;
      pendingLocal = pendingLocal.filter((c) => !localNow.includes(c) || r.heldDuring.includes(c));
    }

    // A category's subprocessors are told once its own rows are gone here.
    const remoteNow = pendingRemote.filter((c) => !deferred.includes(c) && !pendingLocal.includes(c));
    if (remoteNow.length > 0) {
      enter('requesting-subprocessor-deletions');
      const targets = await quick.subprocessorTargets({ customerId: input.customerId, categories: remoteNow });
      const stillHeld = new Set((await Promise.all(targets.map(tell))).flat());
      pendingRemote = pendingRemote.filter((c) => !remoteNow.includes(c) || stillHeld.has(c));
    }

    for (const c of scope) {
      if (!pendingLocal.includes(c) && !pendingRemote.includes(c)) status.categories[c] = 'erased';
    }
    if (pendingLocal.length > 0 || pendingRemote.length > 0) await waitForRelease(false);
  }
  status.heldCategories = [];

  enter('verifying');
  let verification: VerificationResult = await bulk.verifyErasure({ ...ref, categories: scope });
  for (let sweep = 0; !verification.verified && sweep < MAX_SWEEPS; sweep++) {
    const leftover = scope.filter((c) =>
      ERASURE_TABLES.some((t) => t.categories.includes(c) && (verification.remaining[t.table] ?? 0) > 0),
    );
    if (leftover.length === 0) break;
    log.warn('erasure verification found rows left; sweeping again', { remaining: verification.remaining });
    enter('erasing');
    const r = await bulk.eraseTables({
      ...ref,
      categories: leftover,
      scope,
      batchSize,
      retention: settings.retention,
      fromStart: true,
    });
    status.tables = r.tables;
    enter('verifying');
    verification = await bulk.verifyErasure({ ...ref, categories: scope });
  }

  const extraTables: Record<string, number> = {};
  const retained = { ...verification.retained };
  let customerRecord: CustomerRecordOutcome | undefined;
  let waitedForRecord = false;
  while (customerRecordPending) {
    enter('closing-customer-record');
    const r = await quick.closeCustomerRecord(ref);
    status.customerRecordHeld = r.outcome === 'held';
    if (r.outcome === 'held') {
      waitedForRecord = true;
      await waitForRelease(true);
      continue;
    }
    customerRecord = r;
    customerRecordPending = false;
    if (r.outcome === 'deleted' || r.outcome === 'retained') Object.assign(extraTables, r.tables);
    if (r.outcome === 'retained') retained.customers = r.retained;
  }
  // Back to running in the record (and the audit log says the wait ended).
  if (waitedForRecord) await quick.checkLegalHolds({ ...ref, categories: [], customerRecord: false });

  if (outstanding > 0) enter('waiting-for-confirmations');
  await Promise.all(waits);

  enter('recording');
  const subprocessors: Record<string, SubprocessorDeletionReceipt> = {};
  for (const d of deletions) {
    const receipt = receiptOf(d);
    const previous = subprocessors[d.subprocessorId];
    // Several deletions to one subprocessor: the latest id, and escalated if any of them was.
    subprocessors[d.subprocessorId] = previous?.status === 'escalated' ? { ...receipt, status: 'escalated' } : receipt;
  }
  const verified = verification.verified && customerRecord?.outcome !== 'kept';
  const { tables } = await quick.completeErasure({
    ...ref,
    categories,
    extraTables,
    retained,
    subprocessors,
    verified,
    ...(input.policyVersions ? { policyVersions: input.policyVersions } : {}),
  });
  status.tables = tables;
  enter('completed');
  return {
    customerId: input.customerId,
    categories,
    tables,
    retained,
    subprocessors,
    verified,
    ...(input.policyVersions ? { policyVersions: input.policyVersions } : {}),
    subprocessorDeletions: deletions.map((d) => ({
      ...receiptOf(d),
      subprocessorId: d.subprocessorId,
      categories: d.categories,
    })),
    ...(customerRecord ? { customerRecord: customerRecord.outcome } : {}),
    ...(Object.keys(excluded).length > 0 ? { excludedCategories: excluded } : {}),
    ...(verified ? {} : { remaining: { ...verification.remaining, ...verification.unplanned } }),
  };
}

function receiptOf(d: DeletionState): SubprocessorDeletionReceipt {
  return {
    status: d.status === 'confirmed' ? 'confirmed' : 'escalated',
    deletionId: d.deletionId,
    ...(d.confirmedAt ? { confirmedAt: d.confirmedAt } : {}),
  };
}

/** The innermost message of an activity failure: the domain error's own words, not Temporal's wrapper. */
function describeFailure(err: ActivityFailure): string {
  const cause = err.cause;
  if (cause instanceof ApplicationFailure) return `${cause.type ?? 'Error'}: ${cause.message}`;
  return cause?.message ?? err.message;
}
