/**
 * Erasure bookkeeping: one `erasures` row per erasure workflow (scope, stage, results) and one `erasure_progress`
 * checkpoint per batched step. The checkpoint is written by the same statement that deletes a batch
 * (activities/erasure.ts), which is what keeps counts exact when a retried activity resumes.
 */
import type { Knex } from 'knex';
import type { DataCategory } from '../../lib/pure/data-categories';
import type { ErasureReason, ErasureStep } from '../../lib/pure/erasure-plan';

export type ErasureStatus = 'running' | 'waiting-for-legal-hold' | 'completed';

/** What a new erasure records. */
export interface NewErasure {
  id: string;
  workflowId: string;
  customerId: string;
  reason: ErasureReason;
  requestId?: string | null;
  categories: DataCategory[];
  policyVersions?: Partial<Record<DataCategory, number>> | null;
}

interface ErasureRow {
  id: string;
  workflow_id: string;
  customer_id: string;
  status: ErasureStatus;
}

/** A step's checkpoint. */
export interface StepProgress {
  stepKey: string;
  table: string;
  category: DataCategory;
  action: ErasureStep['action'];
  rows: number;
  lastKey: string | null;
  batches: number;
  completed: boolean;
}

interface ProgressRow {
  erasure_id: string;
  step_key: string;
  table_name: string;
  category: DataCategory;
  action: ErasureStep['action'];
  rows: string;
  last_key: string | null;
  batches: number;
  completed: boolean;
}

function toProgress(row: ProgressRow): StepProgress {
  return {
    stepKey: row.step_key,
    table: row.table_name,
    category: row.category,
    action: row.action,
    rows: Number(row.rows),
    lastKey: row.last_key,
    batches: row.batches,
    completed: row.completed,
  };
}

/** Results stored when an erasure completes. */
export interface ErasureOutcome {
  tables: Record<string, number>;
  retained: Record<string, { rows: number; until: string; reason: string }>;
  subprocessors: Record<string, unknown>;
  verified: boolean;
}

/** Store for `erasures` and `erasure_progress`. */
export const erasures = {
  /** Records a new erasure; returns false when it was recorded already (a retried activity). */
  async begin(db: Knex | Knex.Transaction, e: NewErasure): Promise<boolean> {
    const inserted = await db('erasures')
      .insert({
        id: e.id,
        workflow_id: e.workflowId,
        customer_id: e.customerId,
        reason: e.reason,
        request_id: e.requestId ?? null,
        categories: e.categories,
        policy_versions: e.policyVersions ? JSON.stringify(e.policyVersions) : null,
      })
      .onConflict('id')
      .ignore()
      .returning('id');
    return inserted.length > 0;
  },

  async findById(
    db: Knex | Knex.Transaction,
    id: string,
  ): Promise<{ id: string; workflowId: string; customerId: string; status: ErasureStatus } | undefined> {
    const row = await db<ErasureRow>('erasures').where({ id }).first('id', 'workflow_id', 'customer_id', 'status');
    return row
      ? { id: row.id, workflowId: row.workflow_id, customerId: row.customer_id, status: row.status }
      : undefined;
  },

  /** Sets the stage the release of a hold looks for; returns the previous status. */
  async setHeld(db: Knex | Knex.Transaction, id: string, held: DataCategory[]): Promise<ErasureStatus | undefined> {
    const before = await db<ErasureRow>('erasures').where({ id }).forUpdate().first('status');
    await db('erasures')
      .where({ id })
      .whereNot({ status: 'completed' })
      .update({
        status: held.length > 0 ? 'waiting-for-legal-hold' : 'running',
        held_categories: held,
        updated_at: db.fn.now(),
      });
    return before?.status;
  },

  /** Workflow ids of the customer's erasures that wait for a hold. */
  async waitingForCustomer(db: Knex | Knex.Transaction, customerId: string): Promise<string[]> {
    return db('erasures')
      .where({ customer_id: customerId, status: 'waiting-for-legal-hold' })
      .orderBy('started_at')
      .pluck('workflow_id');
  },

  /** Creates the checkpoints of `steps` that do not exist yet. */
  async ensureSteps(db: Knex | Knex.Transaction, erasureId: string, steps: readonly ErasureStep[]): Promise<void> {
    if (steps.length === 0) return;
    await db('erasure_progress')
      .insert(
        steps.map((s) => ({
          erasure_id: erasureId,
          step_key: s.key,
          table_name: s.table,
          category: s.category,
          action: s.action,
        })),
      )
      .onConflict(['erasure_id', 'step_key'])
      .ignore();
  },

  /** Every checkpoint of an erasure. */
  async progress(db: Knex | Knex.Transaction, erasureId: string): Promise<StepProgress[]> {
    const rows = await db<ProgressRow>('erasure_progress').where({ erasure_id: erasureId }).orderBy('step_key');
    return rows.map(toProgress);
  },

  /** Re-opens the steps of `categories` so a sweep walks them again from the first key (counts keep adding up). */
  async reopenSteps(db: Knex | Knex.Transaction, erasureId: string, categories: DataCategory[]): Promise<void> {
    await db('erasure_progress')
      .where({ erasure_id: erasureId })
      .whereIn('category', categories)
      .update({ completed: false, last_key: null, updated_at: db.fn.now() });
  },

  /** Rows deleted per table so far (the `delete` steps; marks and detaches are not deletions). */
  async deletedPerTable(db: Knex | Knex.Transaction, erasureId: string): Promise<Record<string, number>> {
    const rows = await db('erasure_progress')
      .where({ erasure_id: erasureId, action: 'delete' })
      .groupBy('table_name')
      .select('table_name', db.raw('sum(rows)::bigint as rows'));
    return Object.fromEntries(rows.map((r: { table_name: string; rows: string }) => [r.table_name, Number(r.rows)]));
  },

  /** Records the results and marks the erasure completed. */
  async complete(db: Knex | Knex.Transaction, id: string, outcome: ErasureOutcome): Promise<void> {
    await db('erasures')
      .where({ id })
      .update({
        status: 'completed',
        held_categories: [],
        tables: JSON.stringify(outcome.tables),
        retained: JSON.stringify(outcome.retained),
        subprocessors: JSON.stringify(outcome.subprocessors),
        verified: outcome.verified,
        completed_at: db.fn.now(),
        updated_at: db.fn.now(),
      });
  },
};
