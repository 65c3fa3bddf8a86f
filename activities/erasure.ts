/**
 * Activities of the erasure workflow (workflows/erasure.ts): record the erasure, check legal holds, delete the scope
 * table by table in short batches with an exact checkpoint, tell subprocessors to delete, escalate unconfirmed
 * deletions to staff, verify, close the customer record (termination), and record the results with their evidence.
 *
 * Exactness across crashes: every batch is one transaction that (1) takes the hold-change lock shared, (2) checks
 * legal holds, (3) deletes up to `batchSize` rows after the step's last key AND adds what it deleted to the step's
 * checkpoint in the same statement. A retried activity reads the checkpoints and continues after the last committed
 * batch: nothing is deleted twice, nothing counted twice, and a batch that did not commit is simply done again.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Context, log } from '@temporalio/activity';
import type { Knex } from 'knex';
import { auditEvents } from '../db/repositories/audit-events';
import { customerLifecycleDates } from '../db/repositories/customer-lifecycle-dates';
import { deletionRequests } from '../db/repositories/deletion-requests';
import { erasures, type StepProgress } from '../db/repositories/erasures';
import { publicLinks } from '../db/repositories/public-links';
import {
  LOCK_AGAINST_HOLD_CHANGES_SQL,
  heldCategories,
  legalHolds,
  lockAgainstHoldChanges,
} from '../db/repositories/legal-holds';
import { subprocessors } from '../db/repositories/subprocessors';
import type { AppConfig } from '../lib/config';
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
import { UnknownSubprocessorError } from '../lib/pure/errors';
import type { Mailer } from '../lib/mailer';
import { notUnderStatutoryRetention, retainUntilExpression } from '../lib/statutory-retention';
import { STATUTORY_RETENTION_RULES, statutoryRulesFor, TABLES_WITH_RETAIN_UNTIL } from '../lib/pure/statutory-rules';
import type { SubprocessorClient } from '../lib/subprocessor-client';
import type { EmailContent } from './email-templates';
import { auditKeyFor, createOutbox } from './outbox';

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
  }) => unknown;
}

/** What the erasure activities need from the outside world. */
export interface ErasureDeps {
  db: Knex;
  mailer: Mailer;
  subprocessorClient: SubprocessorClient;
  config: AppConfig;
  erasureTestHooks?: ErasureTestHooks;
}

/** Who the audit log names for the erasure's own steps. */
const ACTOR = 'system:erasure';

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

/** One subprocessor to tell, and which of the scope's categories it holds. */
export interface SubprocessorTarget {
  subprocessorId: string;
  categories: DataCategory[];
}

export type DeletionRequestOutcome =
  { outcome: 'held'; held: DataCategory[] } | { outcome: 'confirmed'; confirmedAt: string } | { outcome: 'pending' };

/** How the customer record ended (termination only). */
export type CustomerRecordOutcome =
  | { outcome: 'held' }
  | { outcome: 'deleted'; tables: Record<string, number> }
  | { outcome: 'retained'; retained: RetainedRows; tables: Record<string, number> }
  | { outcome: 'kept'; remainingTables: string[] };

/** A subprocessor receipt as the erasure result reports it. */
export interface SubprocessorDeletionReceipt {
  status: 'confirmed' | 'escalated';
  deletionId: string;
  confirmedAt?: string;
}

function sqlKey(step: Pick<ErasureStep, 'keyType'>): string {
  return step.keyType === 'uuid' ? 'uuid' : 'bigint';
}

/** Builds the erasure activities from their dependencies. */
export function createErasureActivities(deps: ErasureDeps) {
  const { db } = deps;
  // Emails and subprocessor calls recorded before they leave, completed once (activities/outbox.ts).
  const outbox = createOutbox(deps);

  async function categoriesDeferredNow(db2: Knex | Knex.Transaction, customerId: string, scope: DataCategory[]) {
    const held = await heldCategories(db2, customerId, DATA_CATEGORIES);
    return { held, deferred: deferredCategories(scope, held) };
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
   * explicit transaction, as the files go between the hold check and the delete.
   */
  async function runBatch(
    ref: ErasureRef,
    step: ErasureStep,
    lastKey: string | null,
    batchSize: number,
    retention: Record<string, string>,
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
    const preamble = `select set_config('synchronous_commit', 'off', true); ${LOCK_AGAINST_HOLD_CHANGES_SQL}`;

    type Row = { held: boolean; changed: number; completed: boolean | null; last_key: string | null };
    let row: Row | undefined;
    if (step.files === 'export-archive-directory') {
      row = await db.transaction(async (trx) => {
        await trx.raw(preamble);
        // Files first, then rows: a crash in between leaves rows whose files are gone, which the retry deletes.
        const { rows: ids } = await trx.raw<{ rows: { id: string }[] }>(
          `with ${walk} select id from ?? where ${range} and data_category = ?`,
          [...walkBindings, step.table, ...rangeBindings, step.category] as Knex.RawBinding[],
        );
        for (const { id } of ids) {
          await fs.rm(path.join(deps.config.exports.dir, id), { recursive: true, force: true });
        }
        return (await trx.raw<{ rows: Row[] }>(main)).rows[0];
      });
    } else {
      const results = (await db.raw(`${preamble}; ${main}`)) as unknown as { rows: Row[] }[];
      row = results[results.length - 1]?.rows[0];
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
  async function deleteArchiveCopies(ref: ErasureRef, categories: DataCategory[]): Promise<number> {
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
      const done = await db.transaction(async (trx) => {
        await lockAgainstHoldChanges(trx);
        if ((await heldCategories(trx, ref.customerId, ['export_archives'])).length > 0) return false;
        const archive = await trx('export_archives')
          .where({ id, customer_id: ref.customerId })
          .forUpdate()
          .first<{ request_id: string; scope: string; status: string } | undefined>('request_id', 'scope', 'status');
        if (!archive) return false;
        // Files first, then the row: a crash in between leaves a row without files, which the retry deletes.
        await fs.rm(path.join(deps.config.exports.dir, id), { recursive: true, force: true });
        const revokedLinks = await publicLinks.revokeForArchive(trx, id);
        await trx('export_archives').where({ id }).delete();
        await trx('erasure_progress')
          .where({ erasure_id: ref.erasureId, step_key: ARCHIVE_COPIES_STEP_KEY })
          .update({ rows: trx.raw('rows + 1'), batches: trx.raw('batches + 1'), updated_at: trx.fn.now() });
        await auditEvents.append(trx, {
          actor: ACTOR,
          action: 'erasure.export_archive_deleted',
          subjectType: 'export_archive',
          subjectId: id,
          customerId: ref.customerId,
          requestId: ref.requestId ?? null,
          workflowId: ref.workflowId,
          details: { accessRequestId: archive.request_id, scope: archive.scope, status: archive.status, revokedLinks },
        });
        return true;
      });
      if (done) deleted += 1;
    }
    return deleted;
  }

  return {
    /**
     * Records the erasure (once) and answers the settings the workflow uses: batch size, confirmation deadline,
     * hold re-check interval and the statutory rules in force.
     */
    async beginErasure(
      input: ErasureRef & {
        categories: DataCategory[];
        policyVersions?: Partial<Record<DataCategory, number>>;
      },
    ): Promise<ErasureSettings> {
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
        await auditEvents.append(trx, {
          actor: ACTOR,
          action: 'erasure.started',
          subjectType: 'erasure',
          subjectId: input.erasureId,
          customerId: input.customerId,
          requestId: input.requestId ?? null,
          workflowId: input.workflowId,
          details: {
            reason: input.reason,
            categories: input.categories,
            policyVersions: input.policyVersions ?? null,
            ...(input.records ? { records: input.records } : {}),
          },
        });
      });
      const retention: Record<string, string> = {};
      for (const rule of STATUTORY_RETENTION_RULES) {
        const period = deps.config.statutoryRetention[rule.period];
        if (period) retention[rule.id] = period;
      }
      return {
        batchSize: deps.config.erasure.batchSize,
        confirmationTimeoutMs: deps.config.erasure.confirmationTimeoutMs,
        holdRecheckIntervalMs: deps.config.erasure.holdRecheckIntervalMs,
        retention,
      };
    },

    /**
     * Which of `categories` must wait for a legal hold (held, or referenced by held rows), and whether the customer
     * record (termination) must wait (any active hold). Records the erasure as waiting (or running again) in the
     * same transaction, under the hold-change lock, so a release that follows is sure to find and signal it.
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
          await auditEvents.append(trx, {
            actor: ACTOR,
            action: waiting ? 'erasure.waiting_for_legal_hold' : 'erasure.resumed_after_legal_hold',
            subjectType: 'erasure',
            subjectId: input.erasureId,
            customerId: input.customerId,
            requestId: input.requestId ?? null,
            workflowId: input.workflowId,
            details: { deferred, customerRecordHeld },
          });
        }
        return { deferred, customerRecordHeld };
      });
    },

    /**
     * Deletes the scope's rows table by table in dependency order (lib/erasure-plan.ts), in batches of `batchSize`
     * rows, each its own short transaction that re-checks legal holds. Invoiced orders are first marked with their
     * statutory `retain_until` and then skipped by the delete. Heartbeats `{ stepIndex, stepKey, tables }`; resumes
     * from the checkpoints in the database. With `fromStart`, walks every step of the scope again from the first key
     * (after verification found stragglers), counts adding up.
     */
    async eraseTables(
      input: ErasureRef & {
        categories: DataCategory[];
        batchSize: number;
        retention: Record<string, string>;
        fromStart?: boolean;
        /** Every category of the erasure when `categories` is only the part erased now (default `categories`). */
        scope?: DataCategory[];
      },
    ): Promise<EraseTablesResult> {
      const ctx = Context.current();
      const attempt = ctx.info.attempt;
      const categories = erasableCategories(input.categories);
      const steps = erasureSteps(
        categories,
        Object.keys(input.retention),
        erasableCategories(input.scope ?? input.categories),
        input.records,
      );
      await erasures.ensureSteps(db, input.erasureId, steps);
      if (input.fromStart && attempt === 1) await erasures.reopenSteps(db, input.erasureId, categories);
      const progress = new Map<string, StepProgress>(
        (await erasures.progress(db, input.erasureId)).map((p) => [p.stepKey, p]),
      );
      // Rows deleted so far, per table, from the checkpoints (for the heartbeat; the result re-reads them).
      const tables: Record<string, number> = {};
      for (const t of tablesOf(categories, input.records)) tables[t] = 0;
      for (const p of progress.values()) if (p.action === 'delete') tables[p.table] = (tables[p.table] ?? 0) + p.rows;
      const previous = ctx.info.heartbeatDetails as EraseCheckpoint | undefined;
      if (previous) {
        log.info('erasure resumes from its checkpoint', {
          erasureId: input.erasureId,
          attempt,
          heartbeatStep: previous.stepKey,
          rowsSoFar: Object.values(tables).reduce((a, b) => a + b, 0),
        });
      }

      const stopped = new Set<DataCategory>();
      let batchesThisAttempt = 0;
      let longestBatchMs = 0;
      let longestBatchStep: string | undefined;
      for (let i = 0; i < steps.length; i++) {
        const step = steps[i]!;
        const p = progress.get(step.key)!;
        if (p.completed || stopped.has(step.category)) continue;
        let lastKey = p.lastKey;
        if (step.action === 'delete') await primeReferences(input.customerId, step);
        for (;;) {
          const started = performance.now();
          const outcome = await runBatch(input, step, lastKey, input.batchSize, input.retention);
          const ms = performance.now() - started;
          if (ms > longestBatchMs) {
            longestBatchMs = ms;
            longestBatchStep = step.key;
          }
          if (outcome.held) {
            stopped.add(step.category);
            break;
          }
          // The step's last statement finds nothing past the checkpoint: no batch, just the completion.
          if (outcome.completed && outcome.changed === 0) break;
          batchesThisAttempt += 1;
          if (step.action === 'delete') tables[step.table] = (tables[step.table] ?? 0) + outcome.changed;
          lastKey = outcome.last_key;
          ctx.heartbeat({ stepIndex: i, stepKey: step.key, tables } satisfies EraseCheckpoint);
          await deps.erasureTestHooks?.afterBatch?.({
            customerId: input.customerId,
            erasureId: input.erasureId,
            attempt,
            batchesThisAttempt,
            stepKey: step.key,
            rows: outcome.changed,
          });
          if (outcome.completed) break;
        }
      }

      const heldDuring = categories.filter((c) => stopped.has(c));
      await deleteArchiveCopies(
        input,
        categories.filter((c) => !stopped.has(c)),
      );
      const exact = await deletedPerTable(input, categories);
      await auditEvents.append(db, {
        actor: ACTOR,
        action: 'erasure.tables_erased',
        subjectType: 'erasure',
        subjectId: input.erasureId,
        customerId: input.customerId,
        requestId: input.requestId ?? null,
        workflowId: input.workflowId,
        details: {
          categories: categories.filter((c) => !stopped.has(c)),
          heldDuring,
          tables: exact,
          sweep: input.fromStart === true,
        },
      });
      return {
        tables: exact,
        heldDuring,
        batchesThisAttempt,
        longestBatchMs: Math.round(longestBatchMs * 10) / 10,
        ...(longestBatchStep ? { longestBatchStep } : {}),
      };
    },

    /** The subprocessors linked to the customer that hold any of `categories`, with the categories each holds. */
    async subprocessorTargets(input: {
      customerId: string;
      categories: DataCategory[];
    }): Promise<SubprocessorTarget[]> {
      const rows = await db('customer_subprocessors as cs')
        .join('subprocessors as s', 's.id', 'cs.subprocessor_id')
        .where('cs.customer_id', input.customerId)
        .orderBy('s.id')
        .select<{ id: string; categories: string[] }[]>('s.id', 's.categories');
      return rows
        .map((r) => ({
          subprocessorId: r.id,
          categories: input.categories.filter((c) => r.categories.includes(c)),
        }))
        .filter((t) => t.categories.length > 0);
    },

    /**
     * Tells one subprocessor to delete the tenant's `categories` (protocol v1, signed, idempotency key
     * `deletion-<deletionId>`), with the callback URL for a later confirmation. Refuses (`held`) when a legal hold
     * now covers any of them and nothing was sent yet. A synchronous `{"status":"deleted"}` confirms at once.
     */
    async requestSubprocessorDeletion(
      input: ErasureRef & { deletionId: string; subprocessorId: string; categories: DataCategory[] },
    ): Promise<DeletionRequestOutcome> {
      const existing = await deletionRequests.findById(db, input.deletionId);
      if (existing?.confirmedAt) return { outcome: 'confirmed', confirmedAt: existing.confirmedAt.toISOString() };
      if (!existing) {
        const { deferred } = await categoriesDeferredNow(db, input.customerId, input.categories);
        if (deferred.length > 0) return { outcome: 'held', held: deferred };
      }
      const sub = await subprocessors.findById(db, input.subprocessorId);
      if (!sub) throw new UnknownSubprocessorError(input.subprocessorId);
      const idempotencyKey = `deletion-${input.deletionId}`;
      await deletionRequests.create(db, {
        id: input.deletionId,
        erasureId: input.erasureId,
        workflowId: input.workflowId,
        customerId: input.customerId,
        subprocessorId: sub.id,
        categories: input.categories,
        idempotencyKey,
      });
      // Read at call time: the public base URL is configuration (tests point it at their API's free port).
      const callbackUrl = `${deps.config.http.publicBaseUrl.replace(/\/+$/, '')}/v1/subprocessor-callbacks/${encodeURIComponent(sub.id)}`;
      // Through the outbox: recorded before the call, completed once; a re-run (or a 409 "already done" heard by a
      // later attempt) keeps the first receipt and writes no second `subprocessor.deletion_requested` event.
      const { status, confirmedAt } = await outbox.callSubprocessor({
        key: idempotencyKey,
        subprocessor: sub,
        path: `/v1/tenants/${encodeURIComponent(input.customerId)}/deletions`,
        operation: 'deletion',
        body: {
          deletionId: input.deletionId,
          categories: input.categories,
          // Protocol v1, optional: only these records of the categories (our ids, as sent in corrections).
          ...(input.records ? { records: input.records } : {}),
          callbackUrl,
        },
        recorded: async (r) => {
          const now = await deletionRequests.findById(db, input.deletionId);
          return { status: r.status, confirmedAt: now?.confirmedAt ?? null };
        },
        record: async (trx, answer) => {
          const answerStatus = (answer.body as { status?: unknown } | null)?.status;
          const receipt = {
            status: answer.status,
            answer: typeof answerStatus === 'string' ? answerStatus : null,
            alreadyDone: answer.alreadyDone,
            idempotencyKey,
            answeredAt: answer.answeredAt,
          };
          await deletionRequests.recordRequestReceipt(trx, input.deletionId, receipt);
          const confirmed =
            answerStatus === 'deleted'
              ? await deletionRequests.confirm(trx, input.deletionId, 'sync', { status: answer.status })
              : undefined;
          await auditEvents.append(trx, {
            actor: ACTOR,
            action: 'subprocessor.deletion_requested',
            subjectType: 'subprocessor',
            subjectId: sub.id,
            customerId: input.customerId,
            requestId: input.requestId ?? null,
            workflowId: input.workflowId,
            details: { deletionId: input.deletionId, categories: input.categories, ...receipt },
            idempotencyKey: auditKeyFor('subprocessor.deletion_requested', idempotencyKey),
          });
          if (confirmed?.newlyConfirmed) {
            await auditEvents.append(trx, {
              actor: ACTOR,
              action: 'subprocessor.deletion_confirmed',
              subjectType: 'subprocessor',
              subjectId: sub.id,
              customerId: input.customerId,
              requestId: input.requestId ?? null,
              workflowId: input.workflowId,
              details: { deletionId: input.deletionId, via: 'sync' },
            });
          }
          return { status: answer.status, confirmedAt: confirmed?.deletion.confirmedAt ?? null };
        },
      });
      log.info('subprocessor deletion requested', {
        customerId: input.customerId,
        subprocessorId: sub.id,
        deletionId: input.deletionId,
        status,
        confirmed: confirmedAt !== null,
      });
      if (confirmedAt) return { outcome: 'confirmed', confirmedAt: confirmedAt.toISOString() };
      // A callback may have confirmed it already (between our insert and this answer).
      const now = await deletionRequests.findById(db, input.deletionId);
      return now?.confirmedAt
        ? { outcome: 'confirmed', confirmedAt: now.confirmedAt.toISOString() }
        : { outcome: 'pending' };
    },

    /**
     * The deadline for a confirmation passed (or the subprocessor refused): emails staff (STAFF_NOTIFICATION_EMAIL)
     * and records the escalation. If the confirmation arrived meanwhile, answers `confirmed` instead.
     */
    async escalateDeletion(
      input: ErasureRef & {
        deletionId: string;
        subprocessorId: string;
        why: 'deadline-passed' | 'refused';
        detail?: string;
      },
    ): Promise<{ status: 'confirmed'; confirmedAt: string } | { status: 'escalated' }> {
      const deletion = await deletionRequests.findById(db, input.deletionId);
      if (deletion?.confirmedAt) return { status: 'confirmed', confirmedAt: deletion.confirmedAt.toISOString() };
      if (deletion?.status === 'escalated') return { status: 'escalated' };
      const sub = await subprocessors.findById(db, input.subprocessorId);
      const mail = deletionEscalationEmail({
        subprocessorId: input.subprocessorId,
        subprocessorName: sub?.name ?? input.subprocessorId,
        deletionId: input.deletionId,
        customerId: input.customerId,
        categories: deletion?.categories ?? [],
        requestedAt: deletion?.requestedAt.toISOString() ?? 'never (the request itself failed)',
        why: input.why,
        detail: input.detail,
        erasureWorkflowId: input.workflowId,
      });
      // Through the outbox: one email per deletion (Message-ID from the deletion id), recorded before it leaves.
      let escalated = false;
      await outbox.sendEmail({
        key: `deletion-escalation-${input.deletionId}`,
        operation: 'deletion-escalation',
        recipient: 'staff',
        mail: {
          to: deps.config.accessRequests.staffEmail,
          subject: mail.subject,
          text: mail.text,
          headers: { 'X-Deletion-Id': input.deletionId },
        },
        record: async (trx, { messageId }) => {
          const marked = deletion
            ? await deletionRequests.escalate(trx, input.deletionId, { why: input.why, messageId, to: 'staff' })
            : true;
          if (!marked) return;
          escalated = true;
          await auditEvents.append(trx, {
            actor: ACTOR,
            action: 'subprocessor.deletion_escalated',
            subjectType: 'subprocessor',
            subjectId: input.subprocessorId,
            customerId: input.customerId,
            requestId: input.requestId ?? null,
            workflowId: input.workflowId,
            details: { deletionId: input.deletionId, why: input.why, messageId },
            idempotencyKey: auditKeyFor('subprocessor.deletion_escalated', `deletion-escalation-${input.deletionId}`),
          });
        },
      });
      if (escalated) return { status: 'escalated' };
      const now = await deletionRequests.findById(db, input.deletionId);
      return now?.confirmedAt
        ? { status: 'confirmed', confirmedAt: now.confirmedAt.toISOString() }
        : { status: 'escalated' };
    },

    /**
     * Counts what is left of the scope: per planned table (rows under statutory retention reported apart), the export
     * archives holding a copy of an erased category (`export_archives`), and any table with `customer_id` and
     * `data_category` that the plan does not know. Verified when nothing is left.
     */
    async verifyErasure(input: ErasureRef & { categories: DataCategory[] }): Promise<VerificationResult> {
      const ctx = Context.current();
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
        ctx.heartbeat(t.table);
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
          auditEvents.append(trx, {
            actor: ACTOR,
            action,
            subjectType: 'customer',
            subjectId: input.customerId,
            customerId: input.customerId,
            requestId: input.requestId ?? null,
            workflowId: input.workflowId,
            details,
          });
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
    async completeErasure(
      input: ErasureRef & {
        categories: DataCategory[];
        extraTables: Record<string, number>;
        retained: Record<string, RetainedRows>;
        subprocessors: Record<string, SubprocessorDeletionReceipt>;
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
        await auditEvents.append(trx, {
          actor: ACTOR,
          action: 'erasure.completed',
          subjectType: 'erasure',
          subjectId: input.erasureId,
          customerId: input.customerId,
          requestId: input.requestId ?? null,
          workflowId: input.workflowId,
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

/**
 * Sent to staff (STAFF_NOTIFICATION_EMAIL) when a subprocessor did not confirm a deletion by its deadline or refused
 * it. Names ids only: whoever follows up looks the customer up in the service.
 */
export function deletionEscalationEmail(p: {
  subprocessorId: string;
  subprocessorName: string;
  deletionId: string;
  customerId: string;
  categories: string[];
  requestedAt: string;
  why: 'deadline-passed' | 'refused';
  detail?: string;
  erasureWorkflowId: string;
}): EmailContent {
  const what =
    p.why === 'deadline-passed'
      ? 'has not confirmed the deletion below by its deadline'
      : 'refused the deletion request below';
  return {
    subject: `Action needed: ${p.subprocessorName} ${p.why === 'deadline-passed' ? 'did not confirm' : 'refused'} a deletion`,
    text: [
      `The subprocessor ${p.subprocessorName} (${p.subprocessorId}) ${what}.`,
      '',
      `Deletion id:      ${p.deletionId}`,
      `Customer (tenant): ${p.customerId}`,
      `Categories:       ${p.categories.join(', ') || '(unknown)'}`,
      `Requested at:     ${p.requestedAt}`,
      `Erasure workflow: ${p.erasureWorkflowId}`,
      ...(p.detail ? ['', `Answer: ${p.detail}`] : []),
      '',
      'GDPR Art. 19 and the contract require the deletion at every recipient. Please follow up with the',
      'subprocessor and record the outcome; a late confirmation through the callback is still recorded.',
    ].join('\n'),
  };
}

/** The erasure workflow's activities. */
export type ErasureActivities = ReturnType<typeof createErasureActivities>;
