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
  const erasure = new Erasure(input, validatedCategories(input));
  await erasure.begin();
  await erasure.eraseWhatNoHoldCovers();
  const verification = await erasure.verifyWithSweeps();
  const customerRecord = await erasure.closeCustomerRecord();
  await erasure.waitForConfirmations();
  return erasure.record(verification, customerRecord);
}

/** The scope's categories, normalised; a bad input fails the workflow at once (nothing to retry). */
function validatedCategories(input: ErasureInput): DataCategory[] {
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
  return categories;
}

/**
 * One erasure run: its state (what is still to delete here and at subprocessors, what the status query shows) and
 * its steps, in the order {@link erasureWorkflow} calls them. Continue-as-new carries the state across runs
 * ({@link ErasureCarriedState}).
 */
class Erasure {
  private readonly ref: ErasureRef;
  /** Categories erasure may delete (the scope minus those outside erasure). */
  private readonly scope: DataCategory[];
  /** Categories in the scope that erasure never deletes, and why. */
  private readonly excluded: Partial<Record<DataCategory, string>> = {};
  private readonly status: ErasureStatus;
  private releaseSignalled = false;
  private settings!: ErasureSettings;
  private batchSize!: number;
  private recheckInterval!: Duration;
  private deletions!: SubprocessorDeletions;
  private pendingLocal: DataCategory[];
  private pendingRemote: DataCategory[];
  private customerRecordPending: boolean;
  /** Rows the customer-record step deleted or kept (termination with business_contact). */
  private readonly extraTables: Record<string, number> = {};

  constructor(
    private readonly input: ErasureInput,
    private readonly categories: DataCategory[],
  ) {
    const info = workflowInfo();
    this.ref = {
      erasureId: info.firstExecutionRunId,
      workflowId: info.workflowId,
      customerId: input.customerId,
      reason: input.reason,
      ...(input.requestId ? { requestId: input.requestId } : {}),
      ...(input.records ? { records: input.records } : {}),
    };
    this.scope = erasableCategories(categories);
    for (const c of categories) if (CATEGORIES_OUTSIDE_ERASURE[c]) this.excluded[c] = CATEGORIES_OUTSIDE_ERASURE[c];
    this.status = {
      stage: 'starting',
      categories: {},
      heldCategories: [],
      customerRecordHeld: false,
      tables: {},
      subprocessors: {},
    };
    for (const c of categories) this.status.categories[c] = this.excluded[c] ? 'excluded' : 'pending';
    const carried = input.carried;
    this.pendingLocal = carried?.pendingLocal ?? this.scope;
    this.pendingRemote = carried?.pendingRemote ?? this.scope;
    this.customerRecordPending = carried?.customerRecordPending ?? includesCustomerRecord(input.reason, categories);
  }

  /** Step 1: handlers, search attributes, the erasure record and its settings (carried over after continue-as-new). */
  async begin(): Promise<void> {
    const confirmations = new Map<string, string>();
    setHandler(erasureStatusQuery, () => this.status);
    setHandler(legalHoldReleasedSignal, () => {
      this.releaseSignalled = true;
    });
    setHandler(deletionConfirmedSignal, (c) => {
      if (!confirmations.has(c.deletionId)) confirmations.set(c.deletionId, c.confirmedAt);
    });
    upsertSearchAttributes([
      { key: searchAttributes.customerId, value: this.input.customerId },
      { key: searchAttributes.requestType, value: 'erasure' },
      { key: searchAttributes.requestStage, value: 'starting' },
      ...(this.input.requestId ? [{ key: searchAttributes.requestId, value: this.input.requestId }] : []),
    ]);

    this.settings =
      this.input.carried?.settings ??
      (await quick.beginErasure({
        ...this.ref,
        categories: this.categories,
        ...(this.input.policyVersions ? { policyVersions: this.input.policyVersions } : {}),
      }));
    this.recheckInterval = this.input.holdRecheckInterval ?? this.settings.holdRecheckIntervalMs;
    this.batchSize = this.input.batchSize ?? this.settings.batchSize;
    this.deletions = new SubprocessorDeletions(
      this.ref,
      this.input.confirmationTimeout ?? this.settings.confirmationTimeoutMs,
      confirmations,
      this.status,
      this.input.carried,
    );
  }

  /**
   * Steps 2-5: passes that each delete and request what no legal hold covers, then wait for a release while anything
   * is left.
   */
  async eraseWhatNoHoldCovers(): Promise<void> {
    while (this.pendingLocal.length > 0 || this.pendingRemote.length > 0) {
      this.enter('checking-legal-holds');
      const pending = normalizeCategories([...this.pendingLocal, ...this.pendingRemote]);
      const { deferred } = await quick.checkLegalHolds({ ...this.ref, categories: pending, customerRecord: false });
      this.status.heldCategories = deferred;
      for (const c of pending) this.status.categories[c] = deferred.includes(c) ? 'waiting-for-legal-hold' : 'pending';

      const localNow = this.pendingLocal.filter((c) => !deferred.includes(c));
      if (localNow.length > 0) {
        this.enter('erasing');
        const r = await this.eraseTables(localNow, false);
        this.pendingLocal = this.pendingLocal.filter((c) => !localNow.includes(c) || r.heldDuring.includes(c));
      }

      // A category's subprocessors are told once its own rows are gone here.
      const remoteNow = this.pendingRemote.filter((c) => !deferred.includes(c) && !this.pendingLocal.includes(c));
      if (remoteNow.length > 0) {
        this.enter('requesting-subprocessor-deletions');
        const stillHeld = await this.deletions.request(remoteNow);
        this.pendingRemote = this.pendingRemote.filter((c) => !remoteNow.includes(c) || stillHeld.has(c));
      }

      for (const c of this.scope) {
        if (!this.pendingLocal.includes(c) && !this.pendingRemote.includes(c)) this.status.categories[c] = 'erased';
      }
      if (this.pendingLocal.length > 0 || this.pendingRemote.length > 0) await this.waitForRelease(false);
    }
    this.status.heldCategories = [];
  }

  /** Step 6: no row of the scope may remain (retained rows apart); stragglers are swept up to MAX_SWEEPS times. */
  async verifyWithSweeps(): Promise<VerificationResult> {
    this.enter('verifying');
    let verification = await bulk.verifyErasure({ ...this.ref, categories: this.scope });
    for (let sweep = 0; !verification.verified && sweep < MAX_SWEEPS; sweep++) {
      const remaining = verification.remaining;
      const leftover = this.scope.filter((c) =>
        ERASURE_TABLES.some((t) => t.categories.includes(c) && (remaining[t.table] ?? 0) > 0),
      );
      if (leftover.length === 0) break;
      log.warn('erasure verification found rows left; sweeping again', { remaining });
      this.enter('erasing');
      await this.eraseTables(leftover, true);
      this.enter('verifying');
      verification = await bulk.verifyErasure({ ...this.ref, categories: this.scope });
    }
    return verification;
  }

  /** Step 7: termination with business_contact removes the customer record, waiting while a hold covers it. */
  async closeCustomerRecord(): Promise<CustomerRecordOutcome | undefined> {
    let customerRecord: CustomerRecordOutcome | undefined;
    let waitedForRecord = false;
    while (this.customerRecordPending) {
      this.enter('closing-customer-record');
      const r = await quick.closeCustomerRecord(this.ref);
      this.status.customerRecordHeld = r.outcome === 'held';
      if (r.outcome === 'held') {
        waitedForRecord = true;
        await this.waitForRelease(true);
        continue;
      }
      customerRecord = r;
      this.customerRecordPending = false;
      if (r.outcome === 'deleted' || r.outcome === 'retained') Object.assign(this.extraTables, r.tables);
    }
    // Back to running in the record (and the audit log says the wait ended).
    if (waitedForRecord) await quick.checkLegalHolds({ ...this.ref, categories: [], customerRecord: false });
    return customerRecord;
  }

  /** Subprocessor confirmations (or their escalations) still running in the background. */
  async waitForConfirmations(): Promise<void> {
    if (this.deletions.outstanding > 0) this.enter('waiting-for-confirmations');
    await this.deletions.settled();
  }

  /** Step 8: counts, retained rows, receipts and policy versions on the erasure and in the audit log. */
  async record(
    verification: VerificationResult,
    customerRecord: CustomerRecordOutcome | undefined,
  ): Promise<ErasureResult> {
    const { input, categories } = this;
    const retained = { ...verification.retained };
    if (customerRecord?.outcome === 'retained') retained.customers = customerRecord.retained;
    this.enter('recording');
    const subprocessors = this.deletions.receipts();
    const verified = verification.verified && customerRecord?.outcome !== 'kept';
    const { tables } = await quick.completeErasure({
      ...this.ref,
      categories,
      extraTables: this.extraTables,
      retained,
      subprocessors,
      verified,
      ...(input.policyVersions ? { policyVersions: input.policyVersions } : {}),
    });
    this.status.tables = tables;
    this.enter('completed');
    return {
      customerId: input.customerId,
      categories,
      tables,
      retained,
      subprocessors,
      verified,
      ...(input.policyVersions ? { policyVersions: input.policyVersions } : {}),
      subprocessorDeletions: this.deletions.sent(),
      ...(customerRecord ? { customerRecord: customerRecord.outcome } : {}),
      ...(Object.keys(this.excluded).length > 0 ? { excludedCategories: this.excluded } : {}),
      ...(verified ? {} : { remaining: { ...verification.remaining, ...verification.unplanned } }),
    };
  }

  private enter(stage: ErasureStage): void {
    if (this.status.stage === stage) return;
    this.status.stage = stage;
    upsertSearchAttributes([{ key: searchAttributes.requestStage, value: stage }]);
  }

  private async eraseTables(categories: DataCategory[], fromStart: boolean) {
    const r = await bulk.eraseTables({
      ...this.ref,
      categories,
      scope: this.scope,
      batchSize: this.batchSize,
      retention: this.settings.retention,
      ...(fromStart ? { fromStart: true } : {}),
    });
    this.status.tables = r.tables;
    return r;
  }

  /**
   * Records the erasure as waiting (so that a release finds and signals it), then waits for that signal or the
   * re-check interval; continues as new when the history grows long and nothing runs in the background. Returns at
   * once if the holds were released meanwhile.
   */
  private async waitForRelease(customerRecord: boolean): Promise<void> {
    // Cleared before the check: a release signalled while the check runs must not be lost.
    this.releaseSignalled = false;
    const pending = normalizeCategories([...this.pendingLocal, ...this.pendingRemote]);
    const held = await quick.checkLegalHolds({ ...this.ref, categories: pending, customerRecord });
    if (held.deferred.length === 0 && !held.customerRecordHeld) return;
    this.status.heldCategories = held.deferred;
    for (const c of held.deferred) this.status.categories[c] = 'waiting-for-legal-hold';
    this.enter('waiting-for-legal-hold');
    await condition(() => this.releaseSignalled, this.recheckInterval);
    const now = workflowInfo();
    if ((now.continueAsNewSuggested || now.historyLength > MAX_HISTORY_EVENTS) && this.deletions.outstanding === 0) {
      await condition(allHandlersFinished);
      log.info('erasure continues as new while waiting for a legal hold', { customerId: this.input.customerId });
      await continueAsNew<typeof erasureWorkflow>({
        ...this.input,
        carried: {
          settings: this.settings,
          pendingLocal: this.pendingLocal,
          pendingRemote: this.pendingRemote,
          ...this.deletions.carried(),
          customerRecordPending: this.customerRecordPending,
        },
      });
    }
  }
}

/**
 * The deletion requests sent to subprocessors: one per subprocessor and pass, each confirmed in its answer, by a
 * callback signal within the confirmation timeout, or escalated to staff. Waits and escalations run in the
 * background; {@link settled} awaits them all.
 */
class SubprocessorDeletions {
  /** Categories already requested from each subprocessor. */
  private readonly requested: Record<string, DataCategory[]>;
  private readonly deletions: DeletionState[];
  private readonly waits: Promise<void>[] = [];
  /** Background waits and escalations still running (continue-as-new waits until there are none). */
  outstanding = 0;
  private readonly remote: ErasureActivities;

  constructor(
    private readonly ref: ErasureRef,
    private readonly confirmationTimeout: Duration,
    private readonly confirmations: ReadonlyMap<string, string>,
    private readonly status: ErasureStatus,
    carried: ErasureCarriedState | undefined,
  ) {
    this.requested = carried?.requested ?? {};
    this.deletions = carried?.deletions ?? [];
    this.remote = proxyActivities<ErasureActivities>({
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
    for (const d of this.deletions) this.show(d);
  }

  /** Asks every subprocessor holding `categories` to delete them; returns the categories a hold keeps there. */
  async request(categories: DataCategory[]): Promise<Set<DataCategory>> {
    const targets = await quick.subprocessorTargets({ customerId: this.ref.customerId, categories });
    return new Set((await Promise.all(targets.map((t) => this.tell(t)))).flat());
  }

  /** Resolves when every background wait and escalation has ended. */
  async settled(): Promise<void> {
    await Promise.all(this.waits);
  }

  /** One receipt per subprocessor: the latest deletion id, and escalated if any of its deletions was. */
  receipts(): Record<string, SubprocessorDeletionReceipt> {
    const receipts: Record<string, SubprocessorDeletionReceipt> = {};
    for (const d of this.deletions) {
      const receipt = receiptOf(d);
      const previous = receipts[d.subprocessorId];
      receipts[d.subprocessorId] = previous?.status === 'escalated' ? { ...receipt, status: 'escalated' } : receipt;
    }
    return receipts;
  }

  /** Every deletion request sent, in order. */
  sent(): NonNullable<ErasureResult['subprocessorDeletions']> {
    return this.deletions.map((d) => ({ ...receiptOf(d), subprocessorId: d.subprocessorId, categories: d.categories }));
  }

  /** What continue-as-new carries of the deletions. */
  carried(): Pick<ErasureCarriedState, 'requested' | 'deletions'> {
    return { requested: this.requested, deletions: this.deletions };
  }

  /** Tells one subprocessor to delete what it holds of its categories and has not been asked for; returns held ones. */
  private async tell(target: { subprocessorId: string; categories: DataCategory[] }): Promise<DataCategory[]> {
    const already = this.requested[target.subprocessorId] ?? [];
    const cats = target.categories.filter((c) => !already.includes(c));
    if (cats.length === 0) return [];
    const d: DeletionState = {
      deletionId: uuid4(),
      subprocessorId: target.subprocessorId,
      categories: cats,
      status: 'requested',
    };
    try {
      const r = await this.remote.requestSubprocessorDeletion({
        ...this.ref,
        deletionId: d.deletionId,
        ...target,
        categories: cats,
      });
      if (r.outcome === 'held') return cats;
      this.requested[target.subprocessorId] = [...already, ...cats];
      this.deletions.push(d);
      if (r.outcome === 'confirmed') {
        d.status = 'confirmed';
        d.confirmedAt = r.confirmedAt;
      } else {
        this.track(this.awaitConfirmation(d));
      }
      this.show(d);
      return [];
    } catch (err) {
      if (!(err instanceof ActivityFailure)) throw err;
      // Refused (permanent 4xx) or not deliverable within the confirmation window: staff must follow up.
      this.requested[target.subprocessorId] = [...already, ...cats];
      this.deletions.push(d);
      this.show(d);
      const refused = err.cause instanceof ApplicationFailure && err.cause.type === 'SubprocessorRejectedError';
      this.track(this.escalate(d, refused ? 'refused' : 'deadline-passed', describeFailure(err)));
      return [];
    }
  }

  private async awaitConfirmation(d: DeletionState): Promise<void> {
    const confirmed = await condition(() => this.confirmations.has(d.deletionId), this.confirmationTimeout);
    if (confirmed) {
      d.status = 'confirmed';
      d.confirmedAt = this.confirmations.get(d.deletionId);
      this.show(d);
    } else {
      await this.escalate(d, 'deadline-passed');
    }
  }

  private async escalate(d: DeletionState, why: 'deadline-passed' | 'refused', detail?: string): Promise<void> {
    const r = await quick.escalateDeletion({
      ...this.ref,
      deletionId: d.deletionId,
      subprocessorId: d.subprocessorId,
      why,
      ...(detail ? { detail } : {}),
    });
    d.status = r.status;
    if (r.status === 'confirmed') d.confirmedAt = r.confirmedAt;
    this.show(d);
  }

  /** Runs a confirmation wait or an escalation in the background. */
  private track(work: Promise<void>): void {
    this.outstanding += 1;
    this.waits.push(
      work.finally(() => {
        this.outstanding -= 1;
      }),
    );
  }

  private show(d: DeletionState): void {
    this.status.subprocessors[d.subprocessorId] = { status: d.status, deletionId: d.deletionId };
  }
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
