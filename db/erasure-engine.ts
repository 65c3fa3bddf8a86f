/**
 * The erasure engine: the SQL of an erasure (workflows/erasure.ts, through the thin activities in
 * activities/erasure.ts). It records the erasure, checks legal holds, deletes the scope table by table in batches with
 * an exact checkpoint, deletes export archives holding copies, counts what is left, closes the customer record
 * (termination) and records the results with their evidence.
 *
 * Exactness across crashes: every batch is one transaction that (1) checks the attempt's lease, (2) takes the
 * hold-change lock shared, (3) checks legal holds, (4) deletes up to the batch size of rows after the step's last key
 * AND adds what it deleted to the step's checkpoint in the same statement. A retried activity reads the checkpoints and
 * continues after the last committed batch: nothing is deleted twice, nothing counted twice, and a batch that did not
 * commit is simply done again. The lease (db/repositories/activity-leases.ts) refuses every batch of an attempt that a
 * newer attempt replaced, so a worker that wakes up after its heartbeat timeout cannot move a checkpoint or write an
 * audit event (docs/reliability.md).
 *
 * Speed (bench/erasure.ts, docs/benchmarks.md): batches grow and shrink toward a time budget per batch
 * ({@link BATCH_TARGET_MS}), starting from the configured size; steps on tables that do not depend on each other
 * (no foreign key between them, not the same table) run side by side on their own connections.
 */
import fs from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import type { Knex } from 'knex';
import { activityLeases, rethrowStale, type Lease } from './repositories/activity-leases';
import { auditEvents } from './repositories/audit-events';
import { customerLifecycleDates } from './repositories/customer-lifecycle-dates';
import { erasures, type StepProgress } from './repositories/erasures';
import { publicLinks } from './repositories/public-links';
import {
  LOCK_AGAINST_HOLD_CHANGES_SQL,
  heldCategories,
  legalHolds,
  lockAgainstHoldChanges,
} from './repositories/legal-holds';
import { archiveDirectory } from '../lib/export-archive';
import { faultPoint } from '../lib/fault-points';
import { DATA_CATEGORIES, type DataCategory } from '../lib/pure/data-categories';
import {
  ARCHIVE_COPIES_STEP_KEY,
  ERASURE_TABLES,
  TABLES_OUTSIDE_ERASURE,
  exportScopesHolding,
  deferredCategories,
  erasableCategories,
  erasureSteps,
  holdingCategories,
  tablesOf,
  recordFilter,
  type ErasureReason,
  type ErasureRecords,
  type ErasureStep,
} from '../lib/pure/erasure-plan';
import { notUnderStatutoryRetention, retainUntilExpression } from '../lib/statutory-retention';
import { STATUTORY_RETENTION_RULES, statutoryRulesFor, TABLES_WITH_RETAIN_UNTIL } from '../lib/pure/statutory-rules';

/** Who the audit log names for the erasure's own steps. */
export const ERASURE_ACTOR = 'system:erasure';

/**
 * The time a batch aims at. Batches start at the configured size and grow (at most doubling) or shrink toward it, so a
 * batch takes about this long whatever the table: far fewer round trips than fixed batches of the configured size, at
 * a bounded transaction length. Under a third of the 200 ms that a batch transaction must stay under
 * (docs/benchmarks.md): on a busy machine the same batch can take three times as long a moment later.
 */
export const BATCH_TARGET_MS = 60;

/** Test-only hooks: tests inject failures at exact points to prove resumption. Never set in production wiring. */
export interface ErasureTestHooks {
  /**
   * Called after every committed batch of `eraseTables`. Throwing fails the activity attempt right there, as a
   * crashed worker would (the batch itself is committed).
   */
  afterBatch?: (info: {
    customerId: string;
    erasureId: string;
    attempt: number;
    batchesThisAttempt: number;
    stepKey: string;
    rows: number;
    /** How long the batch took (its transaction, measured around it). */
    ms: number;
    /** Rows the batch was allowed (adaptive: see {@link BATCH_TARGET_MS}). */
    batchSize: number;
  }) => unknown;
}

/** Identifies one erasure in every activity call. */
export interface ErasureRef {
  /** First run id of the workflow: stable across retries and continue-as-new. */
  erasureId: string;
  workflowId: string;
  customerId: string;
  reason: ErasureReason;
  requestId?: string;
  /** Narrows the erasure to named contacts / seller accounts (a deletion request); see lib/erasure-plan.ts. */
  records?: ErasureRecords;
}

/** Settings the workflow takes from configuration once, at the start (recorded in its history). */
export interface ErasureSettings {
  batchSize: number;
  confirmationTimeoutMs: number;
  holdRecheckIntervalMs: number;
  /** Statutory rules in force and their period (ISO 8601), by rule id. */
  retention: Record<string, string>;
}

/** Result of one `eraseTables` call. */
export interface EraseTablesResult {
  /** Rows deleted per table by this erasure so far (all calls, all attempts): exact. */
  tables: Record<string, number>;
  /** Categories a legal hold placed meanwhile stopped; their remaining rows are untouched. */
  heldDuring: DataCategory[];
  batchesThisAttempt: number;
  longestBatchMs: number;
  /** The step of the longest batch (diagnosis). */
  longestBatchStep?: string;
}

/** Heartbeat details of `eraseTables`: where it is and what it has done. */
export interface EraseCheckpoint {
  stepIndex: number;
  stepKey: string;
  tables: Record<string, number>;
}

/** Statutory retention of one table, as reported in the erasure result. */
export interface RetainedRows {
  rows: number;
  until: string;
  reason: string;
}

/** Result of `verifyErasure`. */
export interface VerificationResult {
  verified: boolean;
  /** Rows of the scope still present (statutorily retained rows excluded), per table. */
  remaining: Record<string, number>;
  /** Rows of the scope kept under statutory retention, per table. */
  retained: Record<string, RetainedRows>;
  /** Tables outside the plan that hold rows of the scope (a table someone added without adding it to the plan). */
  unplanned: Record<string, number>;
}

/** How the customer record ended (termination only). */
export type CustomerRecordOutcome =
  | { outcome: 'held' }
  | { outcome: 'deleted'; tables: Record<string, number> }
  | { outcome: 'retained'; retained: RetainedRows; tables: Record<string, number> }
  | { outcome: 'kept'; remainingTables: string[] };

function sqlKey(step: Pick<ErasureStep, 'keyType'>): string {
  return step.keyType === 'uuid' ? 'uuid' : 'bigint';
}
/** An audit event about an erasure (from its reference); the subject is the erasure unless given. */
export interface ErasureAuditEvent {
  action: string;
  details: Record<string, unknown>;
  subject?: { type: string; id: string };
  /** Names the fact, so a re-run writes no second event (see `auditEvents.append`). */
  idempotencyKey?: string;
}

/**
 * Appends an audit event about the erasure `ref` (inside the caller's transaction): through
 * `auditEvents.appendForRequest` when the erasure serves a request (a deletion request, a termination), else (a
 * retention expiry) with the same fields and no request.
 */
export async function auditErasure(trx: Knex | Knex.Transaction, ref: ErasureRef, event: ErasureAuditEvent) {
  const subject = event.subject ?? { type: 'erasure', id: ref.erasureId };
  if (ref.requestId) {
    return auditEvents.appendForRequest(trx, ref as ErasureRef & { requestId: string }, {
      actor: ERASURE_ACTOR,
      action: event.action,
      details: event.details,
      subject,
      idempotencyKey: event.idempotencyKey,
    });
  }
  return auditEvents.append(trx, {
    actor: ERASURE_ACTOR,
    action: event.action,
    subjectType: subject.type,
    subjectId: subject.id,
    customerId: ref.customerId,
    requestId: null,
    workflowId: ref.workflowId,
    details: event.details,
    idempotencyKey: event.idempotencyKey,
  });
}

/** Categories of `scope` that must wait for a legal hold now, and every held category of the customer. */
export async function categoriesDeferredNow(
  db: Knex | Knex.Transaction,
  customerId: string,
  scope: DataCategory[],
): Promise<{ held: DataCategory[]; deferred: DataCategory[] }> {
  const held = await heldCategories(db, customerId, DATA_CATEGORIES);
  return { held, deferred: deferredCategories(scope, held) };
}

/** What the engine needs. */
export interface ErasureEngineDeps {
  db: Knex;
  /** EXPORT_DIR: where the export archives erased with their rows live. */
  exportDir: string;
  /** Largest batch the adaptive sizing may reach (default: the batch size given to each call, i.e. fixed batches). */
  maxBatchSize?: number;
  /** Steps run side by side (default 1). */
  parallelSteps?: number;
  hooks?: ErasureTestHooks;
}

/** One `eraseTables` call's scope. */
export interface EraseTablesInput extends ErasureRef {
  categories: DataCategory[];
  /** The first batch's size; later ones adapt toward {@link BATCH_TARGET_MS}. */
  batchSize: number;
  retention: Record<string, string>;
  fromStart?: boolean;
  /** Every category of the erasure when `categories` is only the part erased now (default `categories`). */
  scope?: DataCategory[];
}

/** The attempt running an `eraseTables` call. */
export interface EraseAttempt {
  attempt: number;
  /** The lease on `erasure:<erasureId>` this attempt claimed; every batch checks it. */
  lease: Lease;
  /** Called after every batch (the activity heartbeats it). */
  onBatch(checkpoint: EraseCheckpoint): void;
}

/** The lease key of an erasure's bulk work: one attempt at a time moves its checkpoints. */
export const erasureFenceKey = (erasureId: string) => `erasure:${erasureId}`;

/** Next batch size: toward {@link BATCH_TARGET_MS}, at most doubling, shrinking at once, within `[1, max]`. */
export function nextBatchSize(size: number, ms: number, max: number): number {
  const aimed = ms <= 0 ? size * 2 : (size * BATCH_TARGET_MS) / ms;
  return Math.max(1, Math.min(max, Math.round(Math.min(size * 2, Math.max(size / 8, aimed)))));
}

/**
 * For each step, the earlier steps it must wait for: those on the same table, and those on a table that has a foreign
 * key to or from its table (a detach before the delete of the parent, children before parents). Everything else may
 * run side by side.
 */
export function stepDependencies(steps: readonly ErasureStep[], related: ReadonlySet<string>): number[][] {
  const pair = (a: string, b: string) => a === b || related.has(`${a}>${b}`) || related.has(`${b}>${a}`);
  return steps.map((s, i) =>
    steps
      .slice(0, i)
      .map((t, j) => ({ t, j }))
      .filter(({ t }) => pair(s.table, t.table) || (s.detach && pair(s.detach.parent, t.table)))
      .map(({ j }) => j),
  );
}

/** Builds the erasure engine. */
export function createErasureEngine(deps: ErasureEngineDeps) {
  const { db, exportDir } = deps;
  let foreignKeys: Promise<Set<string>> | undefined;

  /** `child>parent` for every foreign key between tables of the plan (the live schema's, read once). */
  function relatedTables(): Promise<Set<string>> {
    foreignKeys ??= db
      .raw<{ rows: { child: string; parent: string }[] }>(
        `select child.relname as child, parent.relname as parent
           from pg_constraint c
           join pg_class child on child.oid = c.conrelid
           join pg_class parent on parent.oid = c.confrelid
          where c.contype = 'f'`,
      )
      .then(({ rows }) => {
        const set = new Set(rows.map((r) => `${r.child}>${r.parent}`));
        for (const t of ERASURE_TABLES) for (const r of t.referencedBy ?? []) set.add(`${r.table}>${t.table}`);
        return set;
      });
    return foreignKeys;
  }

  /**
   * One batch of one step. The batch is one statement: unless an active legal hold now covers the step's category,
   * walk the next `batchSize` keys of the customer after the checkpoint (an index-only scan of `(customer_id, id)`),
   * change the matching rows between the first and the last of them, and move the checkpoint to the last. A walk
   * shorter than `batchSize` reached the end: the step completes in the same statement. Rows are read once (the
   * change finds them by key range), so a batch costs about what a plain DELETE of the same rows costs.
   *
   * It runs after the shared hold-change lock, in one transaction without a WAL flush of its own: a batch and its
   * checkpoint are lost or kept together, so a server crash can only make the retry redo a batch, and the audit event
   * at the end of `eraseTables` commits synchronously, which flushes every batch before the activity reports. Both
   * statements go in one round trip (a multi-statement query is one implicit transaction); a step with files takes an
   * explicit transaction, as the files go between the hold check and the delete. First in the transaction, the lease
   * check: a batch of an attempt that a newer one replaced is refused and changes nothing.
   */
  async function runBatch(
    ref: ErasureRef,
    step: ErasureStep,
    lastKey: string | null,
    batchSize: number,
    retention: Record<string, string>,
    lease: Lease,
  ): Promise<{ held: boolean; changed: number; completed: boolean | null; last_key: string | null }> {
    const keyType = sqlKey(step);
    const held = `held as (select exists (select 1 from legal_holds lh where lh.customer_id = ?
        and lh.released_at is null and (lh.categories is null or lh.categories && ?::text[])) as held)`;
    const heldBindings = [ref.customerId, holdingCategories(step.category)];
    const after = lastKey === null ? '' : ` and id > ?::${keyType}`;
    // uuid has no min/max aggregate; the walk is small for the uuid-keyed tables (a customer's contacts, accounts).
    const ends =
      keyType === 'bigint'
        ? 'bounds as (select min(id) as lo, max(id) as hi, count(*) as n from walk)'
        : `bounds as (select (select id from walk order by id limit 1) as lo,
                             (select id from walk order by id desc limit 1) as hi, (select count(*) from walk) as n)`;
    // Narrowed to named records (a deletion request): the walk and the change both keep to those rows.
    const named = step.ids !== undefined && step.action === 'delete';
    const only = named ? ` and id = any(?::${keyType}[])` : '';
    const walk = `${held}, walk as (select id from ?? where customer_id = ?${after}${only}
        and not (select held from held) order by id limit ?), ${ends}`;
    const walkBindings = [
      ...heldBindings,
      step.table,
      ref.customerId,
      ...(lastKey === null ? [] : [lastKey]),
      ...(named ? [step.ids!] : []),
      batchSize,
    ];
    const range = 'customer_id = ? and id >= (select lo from bounds) and id <= (select hi from bounds)';
    const rangeBindings = [ref.customerId];

    let change: string;
    let changeBindings: unknown[];
    if (step.action === 'delete') {
      const retained = TABLES_WITH_RETAIN_UNTIL.includes(step.table)
        ? ` and ${notUnderStatutoryRetention(db).toQuery()}`
        : '';
      change = `delete from ?? where ${range} and data_category = ?${retained}${only} returning id`;
      changeBindings = [step.table, ...rangeBindings, step.category, ...(named ? [step.ids!] : [])];
    } else if (step.action === 'mark-retained') {
      const rule = STATUTORY_RETENTION_RULES.find((r) => r.id === step.ruleId);
      const period = rule ? retention[rule.id] : undefined;
      if (!rule || period === undefined) throw new Error(`statutory rule ${step.ruleId} is not in force`);
      change = `update ?? set retain_until = ${retainUntilExpression(db, rule, period).toQuery()},
          retention_reason = ?
        where ${range} and data_category = ? and status = any(?) and retain_until is null returning id`;
      changeBindings = [step.table, rule.reason, ...rangeBindings, step.category, [...rule.statuses]];
    } else {
      const detach = step.detach!;
      const parentOnly = step.ids !== undefined ? ' and id = any(?::uuid[])' : '';
      change = `update ?? set ?? = null where ${range}
          and ?? in (select id from ?? where customer_id = ? and data_category = ?${parentOnly}) returning id`;
      changeBindings = [
        step.table,
        detach.column,
        ...rangeBindings,
        detach.column,
        detach.parent,
        ref.customerId,
        step.category,
        ...(step.ids !== undefined ? [step.ids] : []),
      ];
    }

    const main = db
      .raw(
        `with ${walk}, changed as (${change}),
         progressed as (
           update erasure_progress
              set rows = rows + (select count(*) from changed),
                  last_key = coalesce((select hi::text from bounds), last_key),
                  batches = batches + (select least(count(*), 1) from changed),
                  completed = (select n from bounds) < ?,
                  updated_at = now()
            where erasure_id = ? and step_key = ? and not (select held from held)
           returning completed, last_key)
         select (select held from held) as held, (select count(*) from changed)::int as changed,
                (select completed from progressed) as completed, (select last_key from progressed) as last_key`,
        [...walkBindings, ...changeBindings, batchSize, ref.erasureId, step.key] as Knex.RawBinding[],
      )
      .toQuery();
    const preamble =
      `select set_config('synchronous_commit', 'off', true); ${activityLeases.assertSql(db, lease)}; ` +
      LOCK_AGAINST_HOLD_CHANGES_SQL;

    type Row = { held: boolean; changed: number; completed: boolean | null; last_key: string | null };
    let row: Row | undefined;
    if (step.files === 'export-archive-directory') {
      row = await activityLeases.fenced(db, lease, async (trx) => {
        await trx.raw(preamble);
        // Files first, then rows: a crash in between leaves rows whose files are gone, which the retry deletes.
        const { rows: ids } = await trx.raw<{ rows: { id: string }[] }>(
          `with ${walk} select id from ?? where ${range} and data_category = ?`,
          [...walkBindings, step.table, ...rangeBindings, step.category] as Knex.RawBinding[],
        );
        for (const { id } of ids) {
          await fs.rm(archiveDirectory(exportDir, id), { recursive: true, force: true });
        }
        return (await trx.raw<{ rows: Row[] }>(main)).rows[0];
      });
    } else {
      const results = (await db
        .raw(`${preamble}; ${main}`)
        .catch((err: unknown) => rethrowStale(lease, err))) as unknown as {
        rows: Row[];
      }[];
      row = results[results.length - 1]?.rows[0];
      await faultPoint('erasure.mid-batch');
    }
    if (!row) throw new Error(`erasure batch of ${step.key} (${ref.erasureId}) returned nothing`);
    if (!row.held && row.completed === null) {
      throw new Error(`erasure checkpoint ${step.key} of ${ref.erasureId} is missing`);
    }
    return row;
  }

  /**
   * Before rows that other tables reference (seller accounts) are deleted: a read-only index scan over each
   * referencing column. The referencing rows of the scope were deleted moments ago, but their index entries stay until
   * vacuum, and the foreign-key action (ON DELETE SET NULL) inside the delete's transaction would visit every one of
   * them (hundreds of ms for a large customer). This scan visits them outside any write transaction, and PostgreSQL
   * marks them dead on the way, so the delete's own check is short. It changes nothing and holds no row lock.
   */
  async function primeReferences(customerId: string, step: ErasureStep): Promise<void> {
    const table = ERASURE_TABLES.find((t) => t.table === step.table);
    if (!table?.referencedBy?.length) return;
    await db.transaction(async (trx) => {
      // Plain index scans are what mark dead entries; a bitmap or sequential scan would not.
      await trx.raw('set local enable_seqscan = off; set local enable_bitmapscan = off');
      for (const ref of table.referencedBy ?? []) {
        await trx.raw(
          `select count(*) from ?? where ?? = any(array(select id from ?? where customer_id = ? and data_category = ?))`,
          [ref.table, ref.column, step.table, customerId, step.category],
        );
      }
    });
  }

  async function deletedPerTable(ref: ErasureRef, categories: DataCategory[]): Promise<Record<string, number>> {
    const all = await erasures.deletedPerTable(db, ref.erasureId);
    const tables: Record<string, number> = {};
    for (const t of tablesOf(categories, ref.records)) tables[t] = all[t] ?? 0;
    for (const [t, n] of Object.entries(all)) tables[t] = n;
    return tables;
  }

  async function retainedRows(
    db2: Knex | Knex.Transaction,
    customerId: string,
    categories: DataCategory[],
  ): Promise<Record<string, RetainedRows>> {
    const retained: Record<string, RetainedRows> = {};
    for (const table of tablesOf(categories)) {
      if (!TABLES_WITH_RETAIN_UNTIL.includes(table) || statutoryRulesFor(table).length === 0) continue;
      const rows = await db2(table)
        .where({ customer_id: customerId })
        .whereIn('data_category', categories)
        .whereNotNull('retain_until')
        .groupBy('retention_reason')
        .select(
          'retention_reason',
          db2.raw('count(*)::int as n'),
          db2.raw(`to_char(max(retain_until) at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as until`),
        );
      if (rows.length === 0) continue;
      const typed = rows as { retention_reason: string | null; n: number; until: string }[];
      retained[table] = {
        rows: typed.reduce((sum, r) => sum + r.n, 0),
        until: typed.map((r) => r.until).sort()[typed.length - 1]!,
        reason: [...new Set(typed.map((r) => r.retention_reason ?? 'statutory retention'))].join('; '),
      };
    }
    return retained;
  }

  /**
   * Deletes the customer's access-request archives that hold a copy of any of `categories` (issue #11: erased data
   * must not stay downloadable): per archive, in one transaction under the hold-change lock, unless a legal hold covers
   * `export_archives`: the files, then the row, with its links revoked (they answer 410) and the deletion counted on
   * the erasure's checkpoint and audited. Archives still being written are left to the verification, which reports
   * them. Idempotent: a retried attempt finds only what is left.
   */
  async function deleteArchiveCopies(ref: ErasureRef, categories: DataCategory[], lease: Lease): Promise<number> {
    const scopes = exportScopesHolding(categories);
    if (scopes.length === 0) return 0;
    const ids = await db('export_archives')
      .where({ customer_id: ref.customerId })
      .whereIn('scope', scopes)
      .whereNot({ status: 'running' })
      .orderBy('id')
      .pluck<string[]>('id');
    if (ids.length === 0) return 0;
    await erasures.ensureSteps(db, ref.erasureId, [
      {
        key: ARCHIVE_COPIES_STEP_KEY,
        table: 'export_archives',
        category: 'export_archives',
        action: 'delete',
        keyType: 'uuid',
      },
    ]);
    let deleted = 0;
    for (const id of ids) {
      const done = await activityLeases.fenced(db, lease, async (trx) => {
        await lockAgainstHoldChanges(trx);
        if ((await heldCategories(trx, ref.customerId, ['export_archives'])).length > 0) return false;
        const archive = await trx('export_archives')
          .where({ id, customer_id: ref.customerId })
          .forUpdate()
          .first<{ request_id: string; scope: string; status: string } | undefined>('request_id', 'scope', 'status');
        if (!archive) return false;
        // Files first, then the row: a crash in between leaves a row without files, which the retry deletes.
        await fs.rm(archiveDirectory(exportDir, id), { recursive: true, force: true });
        const revokedLinks = await publicLinks.revokeForArchive(trx, id);
        await trx('export_archives').where({ id }).delete();
        await trx('erasure_progress')
          .where({ erasure_id: ref.erasureId, step_key: ARCHIVE_COPIES_STEP_KEY })
          .update({ rows: trx.raw('rows + 1'), batches: trx.raw('batches + 1'), updated_at: trx.fn.now() });
        await auditErasure(trx, ref, {
          action: 'erasure.export_archive_deleted',
          subject: { type: 'export_archive', id },
          details: { accessRequestId: archive.request_id, scope: archive.scope, status: archive.status, revokedLinks },
        });
        return true;
      });
      if (done) deleted += 1;
    }
    return deleted;
  }

  return {
    /** Records the erasure once, with its `erasure.started` event. */
    async begin(
      input: ErasureRef & { categories: DataCategory[]; policyVersions?: Partial<Record<DataCategory, number>> },
    ) {
      await db.transaction(async (trx) => {
        const inserted = await erasures.begin(trx, {
          id: input.erasureId,
          workflowId: input.workflowId,
          customerId: input.customerId,
          reason: input.reason,
          requestId: input.requestId,
          categories: input.categories,
          policyVersions: input.policyVersions,
        });
        if (!inserted) return;
        await auditErasure(trx, input, {
          action: 'erasure.started',
          details: {
            reason: input.reason,
            categories: input.categories,
            policyVersions: input.policyVersions ?? null,
            ...(input.records ? { records: input.records } : {}),
          },
        });
      });
    },

    /**
     * Which of `categories` must wait for a legal hold, and whether the customer record must; records the erasure as
     * waiting (or running again) in the same transaction, under the hold-change lock.
     */
    async checkLegalHolds(
      input: ErasureRef & { categories: DataCategory[]; customerRecord: boolean },
    ): Promise<{ deferred: DataCategory[]; customerRecordHeld: boolean }> {
      return db.transaction(async (trx) => {
        await lockAgainstHoldChanges(trx);
        const { held, deferred } = await categoriesDeferredNow(trx, input.customerId, input.categories);
        const customerRecordHeld = input.customerRecord && (await legalHolds.anyActive(trx, input.customerId));
        const waiting = deferred.length > 0 || customerRecordHeld;
        const before = await erasures.setHeld(trx, input.erasureId, waiting ? (deferred.length ? deferred : held) : []);
        const wasWaiting = before === 'waiting-for-legal-hold';
        if (waiting !== wasWaiting) {
          await auditErasure(trx, input, {
            action: waiting ? 'erasure.waiting_for_legal_hold' : 'erasure.resumed_after_legal_hold',
            details: { deferred, customerRecordHeld },
          });
        }
        return { deferred, customerRecordHeld };
      });
    },

    /**
     * Deletes the scope's rows table by table in dependency order (lib/pure/erasure-plan.ts), in batches sized toward
     * {@link BATCH_TARGET_MS}, each its own short transaction that checks the lease and legal holds; independent
     * tables side by side. Invoiced orders are first marked with their statutory `retain_until` and then skipped by
     * the delete. Resumes from the checkpoints in the database. With `fromStart`, walks every step of the scope again
     * from the first key (after verification found stragglers), counts adding up.
     */
    async eraseTables(input: EraseTablesInput, run: EraseAttempt): Promise<EraseTablesResult> {
      const categories = erasableCategories(input.categories);
      const steps = erasureSteps(
        categories,
        Object.keys(input.retention),
        erasableCategories(input.scope ?? input.categories),
        input.records,
      );
      await activityLeases.fenced(db, run.lease, async (trx) => {
        await erasures.ensureSteps(trx, input.erasureId, steps);
        if (input.fromStart && run.attempt === 1) await erasures.reopenSteps(trx, input.erasureId, categories);
      });
      const progress = new Map<string, StepProgress>(
        (await erasures.progress(db, input.erasureId)).map((p) => [p.stepKey, p]),
      );
      // Rows deleted so far, per table, from the checkpoints (for the heartbeat; the result re-reads them).
      const tables: Record<string, number> = {};
      for (const t of tablesOf(categories, input.records)) tables[t] = 0;
      for (const p of progress.values()) if (p.action === 'delete') tables[p.table] = (tables[p.table] ?? 0) + p.rows;

      const maxBatch = Math.max(input.batchSize, deps.maxBatchSize ?? input.batchSize);
      const stopped = new Set<DataCategory>();
      let batchesThisAttempt = 0;
      let longestBatchMs = 0;
      let longestBatchStep: string | undefined;

      async function runStep(i: number): Promise<void> {
        const step = steps[i]!;
        const p = progress.get(step.key)!;
        if (p.completed || stopped.has(step.category)) return;
        let lastKey = p.lastKey;
        let size = input.batchSize;
        if (step.action === 'delete') await primeReferences(input.customerId, step);
        for (;;) {
          const started = performance.now();
          const outcome = await runBatch(input, step, lastKey, size, input.retention, run.lease);
          const ms = performance.now() - started;
          if (ms > longestBatchMs) {
            longestBatchMs = ms;
            longestBatchStep = step.key;
          }
          if (outcome.held) {
            stopped.add(step.category);
            return;
          }
          // The step's last statement finds nothing past the checkpoint: no batch, just the completion.
          if (outcome.completed && outcome.changed === 0) return;
          batchesThisAttempt += 1;
          if (step.action === 'delete') tables[step.table] = (tables[step.table] ?? 0) + outcome.changed;
          lastKey = outcome.last_key;
          run.onBatch({ stepIndex: i, stepKey: step.key, tables });
          await deps.hooks?.afterBatch?.({
            customerId: input.customerId,
            erasureId: input.erasureId,
            attempt: run.attempt,
            batchesThisAttempt,
            stepKey: step.key,
            rows: outcome.changed,
            ms,
            batchSize: size,
          });
          if (outcome.completed) return;
          size = nextBatchSize(size, ms, maxBatch);
        }
      }

      // Steps start in plan order as soon as the steps they depend on are done, up to `parallelSteps` at a time; the
      // first failure stops new starts, lets the running ones finish their batch, and is thrown.
      const waitFor = stepDependencies(steps, await relatedTables());
      const parallel = Math.max(1, deps.parallelSteps ?? 1);
      const finished = new Set<number>();
      const running = new Map<number, Promise<void>>();
      let failure: { error: unknown } | undefined;
      for (;;) {
        for (let i = 0; i < steps.length && running.size < parallel && !failure; i++) {
          if (finished.has(i) || running.has(i) || !waitFor[i]!.every((j) => finished.has(j))) continue;
          running.set(
            i,
            runStep(i)
              .catch((error: unknown) => {
                failure ??= { error };
              })
              .finally(() => {
                finished.add(i);
                running.delete(i);
              }),
          );
        }
        if (running.size === 0) break;
        await Promise.race(running.values());
      }
      if (failure) throw failure.error;

      const heldDuring = categories.filter((c) => stopped.has(c));
      await deleteArchiveCopies(
        input,
        categories.filter((c) => !stopped.has(c)),
        run.lease,
      );
      const exact = await deletedPerTable(input, categories);
      // Synchronous commit: it flushes every batch (committed without a flush of their own) before the result counts.
      await activityLeases.fenced(db, run.lease, (trx) =>
        auditErasure(trx, input, {
          action: 'erasure.tables_erased',
          details: {
            categories: categories.filter((c) => !stopped.has(c)),
            heldDuring,
            tables: exact,
            sweep: input.fromStart === true,
          },
        }),
      );
      return {
        tables: exact,
        heldDuring,
        batchesThisAttempt,
        longestBatchMs: Math.round(longestBatchMs * 10) / 10,
        ...(longestBatchStep ? { longestBatchStep } : {}),
      };
    },

    /**
     * Counts what is left of the scope: per planned table (rows under statutory retention reported apart), the export
     * archives holding a copy of an erased category (`export_archives`), and any table with `customer_id` and
     * `data_category` that the plan does not know. Verified when nothing is left. `onTable` after each table.
     */
    async verify(
      input: ErasureRef & { categories: DataCategory[] },
      onTable: (table: string) => void = () => undefined,
    ): Promise<VerificationResult> {
      const categories = erasableCategories(input.categories);
      const remaining: Record<string, number> = {};
      for (const t of ERASURE_TABLES) {
        const cats = t.categories.filter(
          (c) => categories.includes(c) && recordFilter(t.table, c, input.records) !== 'skip',
        );
        if (cats.length === 0) continue;
        const q = db(t.table).where({ customer_id: input.customerId }).whereIn('data_category', cats);
        for (const c of cats) {
          const ids = recordFilter(t.table, c, input.records);
          if (Array.isArray(ids)) void q.whereIn('id', ids);
        }
        if (TABLES_WITH_RETAIN_UNTIL.includes(t.table)) void q.whereNull('retain_until');
        const [row] = await q.count<{ n: string }[]>({ n: '*' });
        remaining[t.table] = Number(row?.n ?? 0);
        onTable(t.table);
      }
      // Archives are copies: those holding an erased category count as left over until they are gone too.
      const copyScopes = exportScopesHolding(categories);
      if (!categories.includes('export_archives') && copyScopes.length > 0) {
        const [row] = await db('export_archives')
          .where({ customer_id: input.customerId })
          .whereIn('scope', copyScopes)
          .count<{ n: string }[]>({ n: '*' });
        remaining.export_archives = Number(row?.n ?? 0);
      }
      const known = new Set([...ERASURE_TABLES.map((t) => t.table), ...Object.keys(TABLES_OUTSIDE_ERASURE)]);
      const { rows: candidateRows } = await db.raw<{ rows: { table_name: string }[] }>(
        `select table_name from information_schema.columns
          where table_schema = current_schema() and column_name in ('customer_id', 'data_category')
          group by table_name having count(*) = 2`,
      );
      const candidates = candidateRows.map((r) => r.table_name);
      const unplanned: Record<string, number> = {};
      for (const table of candidates.filter((t) => !known.has(t)).sort()) {
        const [row] = await db(table)
          .where({ customer_id: input.customerId })
          .whereIn('data_category', categories)
          .count<{ n: string }[]>({ n: '*' });
        const n = Number(row?.n ?? 0);
        if (n > 0) unplanned[table] = n;
      }
      const retained = await retainedRows(db, input.customerId, categories);
      const verified = Object.values(remaining).every((n) => n === 0) && Object.values(unplanned).every((n) => n === 0);
      return { verified, remaining, retained, unplanned };
    },

    /**
     * Termination only: removes the customer record and its subprocessor links once nothing else of the customer
     * remains; keeps the record (status terminated, with `retain_until`; links removed) while records under statutory
     * retention need their counterparty; keeps it while rows of categories outside the scope remain (deleting it would cascade into
     * them); waits (`held`) while any legal hold is active.
     */
    async closeCustomerRecord(input: ErasureRef): Promise<CustomerRecordOutcome> {
      return db.transaction(async (trx): Promise<CustomerRecordOutcome> => {
        await lockAgainstHoldChanges(trx);
        if (await legalHolds.anyActive(trx, input.customerId)) return { outcome: 'held' };
        const customer = await trx<{ id: string }>('customers').where({ id: input.customerId }).forUpdate().first('id');
        if (!customer) return { outcome: 'deleted' as const, tables: { customers: 0, customer_subprocessors: 0 } };
        const {
          rows: [retainedUntil],
        } = await trx.raw<{ rows: { until: string | null }[] }>(
          `select to_char(max(retain_until) at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as until
             from orders where customer_id = ? and retain_until > now()`,
          [input.customerId],
        );
        const audit = (action: string, details: Record<string, unknown>) =>
          auditErasure(trx, input, { action, details, subject: { type: 'customer', id: input.customerId } });
        if (retainedUntil?.until) {
          const reason = 'counterparty of invoices kept under tax law';
          await trx('customers').where({ id: input.customerId }).update({
            status: 'terminated',
            retain_until: retainedUntil.until,
            retention_reason: reason,
            updated_at: trx.fn.now(),
          });
          // Every subprocessor has been told to delete: the relationship the links record is over.
          const links = await trx('customer_subprocessors').where({ customer_id: input.customerId }).delete();
          // No contract-end deadline is left (retained invoices carry their own retain_until): the dates go too.
          const dates = (await customerLifecycleDates.delete(trx, input.customerId)) ? 1 : 0;
          await audit('customer.retained', {
            until: retainedUntil.until,
            reason,
            customerSubprocessors: links,
            customerLifecycleDates: dates,
          });
          return {
            outcome: 'retained' as const,
            retained: { rows: 1, until: retainedUntil.until, reason },
            tables: { customer_subprocessors: links, ...(dates > 0 ? { customer_lifecycle_dates: dates } : {}) },
          };
        }
        const remainingTables: string[] = [];
        for (const t of ERASURE_TABLES) {
          if (await trx(t.table).where({ customer_id: input.customerId }).first(trx.raw('1'))) {
            remainingTables.push(t.table);
          }
        }
        if (remainingTables.length > 0) {
          await trx('customers')
            .where({ id: input.customerId })
            .update({ status: 'terminated', updated_at: trx.fn.now() });
          await audit('customer.kept', { remainingTables });
          return { outcome: 'kept' as const, remainingTables };
        }
        const links = await trx('customer_subprocessors').where({ customer_id: input.customerId }).delete();
        const customers = await trx('customers').where({ id: input.customerId }).delete();
        await audit('customer.erased', { tables: { customer_subprocessors: links, customers } });
        return { outcome: 'deleted' as const, tables: { customers, customer_subprocessors: links } };
      });
    },

    /** Records the results on the erasure and in the audit log (per-table counts, retained rows, receipts). */
    async complete(
      input: ErasureRef & {
        categories: DataCategory[];
        extraTables: Record<string, number>;
        retained: Record<string, RetainedRows>;
        subprocessors: Record<string, unknown>;
        verified: boolean;
        policyVersions?: Partial<Record<DataCategory, number>>;
      },
    ): Promise<{ tables: Record<string, number> }> {
      const tables = { ...(await deletedPerTable(input, erasableCategories(input.categories))), ...input.extraTables };
      await db.transaction(async (trx) => {
        const current = await erasures.findById(trx, input.erasureId);
        await erasures.complete(trx, input.erasureId, {
          tables,
          retained: input.retained,
          subprocessors: input.subprocessors,
          verified: input.verified,
        });
        if (current?.status === 'completed') return;
        await auditErasure(trx, input, {
          action: 'erasure.completed',
          details: {
            reason: input.reason,
            categories: input.categories,
            tables,
            retained: input.retained,
            subprocessors: input.subprocessors,
            verified: input.verified,
            policyVersions: input.policyVersions ?? null,
          },
        });
      });
      return { tables };
    },
  };
}

/** The erasure engine. */
export type ErasureEngine = ReturnType<typeof createErasureEngine>;
