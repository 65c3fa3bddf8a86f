/**
 * Legal holds: a hold suspends every deletion of what it covers (one customer; some categories, or all of them when
 * `categories` is null) until it is released. Deleters respect holds in two ways:
 *
 * - set-based sweeps exclude covered rows in SQL:
 *   `.whereRaw('not exists (?)', [activeHoldCovers(knex, 'orders.customer_id', 'orders')])`;
 * - the erasure workflow asks {@link heldCategories} before each category and re-checks inside every batch.
 *
 * Placing or releasing a hold takes an exclusive advisory lock that every deletion batch takes shared
 * ({@link lockAgainstHoldChanges}), so once `POST .../legal-holds` has answered, no batch that started before it
 * can still be deleting covered rows.
 */
import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import type { DataCategory } from '../../lib/pure/data-categories';
import { normalizeCategories } from '../../lib/pure/erasure-plan';

/** A hold as the API and activities see it. */
export interface LegalHold {
  id: string;
  customerId: string;
  /** Covered categories; null covers every category. */
  categories: DataCategory[] | null;
  reason: string;
  reference: string;
  placedBy: string;
  placedAt: Date;
  releasedBy: string | null;
  releasedAt: Date | null;
  releaseReason: string | null;
  active: boolean;
}

interface LegalHoldRow {
  id: string;
  customer_id: string;
  categories: DataCategory[] | null;
  reason: string;
  reference: string;
  placed_by: string;
  placed_at: Date;
  released_by: string | null;
  released_at: Date | null;
  release_reason: string | null;
}

function toHold(row: LegalHoldRow): LegalHold {
  return {
    id: row.id,
    customerId: row.customer_id,
    categories: row.categories,
    reason: row.reason,
    reference: row.reference,
    placedBy: row.placed_by,
    placedAt: row.placed_at,
    releasedBy: row.released_by,
    releasedAt: row.released_at,
    releaseReason: row.release_reason,
    active: row.released_at === null,
  };
}

/** Name of the advisory lock between hold changes (exclusive) and deletion batches (shared). */
const HOLD_CHANGE_LOCK = 'legal_holds.change';

/**
 * The statement behind {@link lockAgainstHoldChanges}, for deleters that send a batch as one multi-statement query
 * (an implicit transaction): this first, then the statement that checks holds and deletes, which then sees every
 * hold committed before it.
 */
export const LOCK_AGAINST_HOLD_CHANGES_SQL = `select pg_advisory_xact_lock_shared(hashtextextended('${HOLD_CHANGE_LOCK}', 0))`;

/**
 * Takes the hold-change lock shared, for the rest of the transaction. Every deletion batch calls this first, then
 * checks holds, then deletes: a hold placed meanwhile waits for the batch, and the next batch sees the hold.
 * Shared holders never wait for each other.
 */
export async function lockAgainstHoldChanges(trx: Knex.Transaction): Promise<void> {
  await trx.raw(LOCK_AGAINST_HOLD_CHANGES_SQL);
}

async function lockHoldChanges(trx: Knex.Transaction): Promise<void> {
  await trx.raw('select pg_advisory_xact_lock(hashtextextended(?, 0))', [HOLD_CHANGE_LOCK]);
}

/**
 * A subquery that finds an active hold covering `category` for the customer in `customerIdColumn` (an identifier
 * such as `orders.customer_id`; `category` is a value). Wrap it in NOT EXISTS to keep held rows out of a deletion:
 * `db('orders').whereRaw('not exists (?)', [activeHoldCovers(db, 'orders.customer_id', 'orders')])` (knex also runs
 * `.whereNotExists(raw)`, but its typings only admit builders there).
 */
export function activeHoldCovers(knex: Knex, customerIdColumn: string, category: string): Knex.Raw {
  return knex.raw(
    `select 1 from legal_holds lh
      where lh.customer_id = ?? and lh.released_at is null and (lh.categories is null or ? = any(lh.categories))`,
    [customerIdColumn, category],
  );
}

/** The categories among `categories` that an active hold on the customer covers (in canonical order). */
export async function heldCategories(
  db: Knex | Knex.Transaction,
  customerId: string,
  categories: readonly DataCategory[],
): Promise<DataCategory[]> {
  const holds = await db<LegalHoldRow>('legal_holds')
    .where({ customer_id: customerId })
    .whereNull('released_at')
    .select('categories');
  const covered = (c: DataCategory) => holds.some((h) => h.categories === null || h.categories.includes(c));
  return normalizeCategories(categories).filter(covered);
}

/** What a new hold needs. */
export interface NewLegalHold {
  customerId: string;
  categories: DataCategory[] | null;
  reason: string;
  reference: string;
  placedBy: string;
}

/** Store for `legal_holds`. */
export const legalHolds = {
  /** Places a hold (after waiting for in-flight deletion batches). Call inside the transaction that audits it. */
  async place(trx: Knex.Transaction, hold: NewLegalHold): Promise<LegalHold> {
    await lockHoldChanges(trx);
    const [row] = await trx<LegalHoldRow>('legal_holds')
      .insert({
        id: randomUUID(),
        customer_id: hold.customerId,
        categories: hold.categories === null ? null : normalizeCategories(hold.categories),
        reason: hold.reason,
        reference: hold.reference,
        placed_by: hold.placedBy,
      })
      .returning('*');
    return toHold(row!);
  },

  /**
   * Releases an active hold. Returns the released hold, `not-found`, or `already-released` (with the hold).
   * Takes the hold-change lock, so erasures that checked holds before it are already recorded as waiting.
   */
  async release(
    trx: Knex.Transaction,
    id: string,
    by: string,
    reason: string,
  ): Promise<{ outcome: 'released' | 'already-released'; hold: LegalHold } | { outcome: 'not-found' }> {
    await lockHoldChanges(trx);
    const current = await trx<LegalHoldRow>('legal_holds').where({ id }).forUpdate().first();
    if (!current) return { outcome: 'not-found' };
    if (current.released_at !== null) return { outcome: 'already-released', hold: toHold(current) };
    const [row] = (await trx('legal_holds')
      .where({ id })
      .update({ released_by: by, released_at: trx.fn.now(), release_reason: reason })
      .returning('*')) as LegalHoldRow[];
    return { outcome: 'released', hold: toHold(row!) };
  },

  async findById(db: Knex | Knex.Transaction, id: string): Promise<LegalHold | undefined> {
    const row = await db<LegalHoldRow>('legal_holds').where({ id }).first();
    return row && toHold(row);
  },

  /** Every hold of a customer, newest first; only the active ones when `activeOnly`. */
  async listForCustomer(db: Knex, customerId: string, opts: { activeOnly?: boolean } = {}): Promise<LegalHold[]> {
    const q = db<LegalHoldRow>('legal_holds')
      .where({ customer_id: customerId })
      .orderBy([
        { column: 'placed_at', order: 'desc' },
        { column: 'id', order: 'asc' },
      ]);
    if (opts.activeOnly) void q.whereNull('released_at');
    return (await q).map(toHold);
  },

  /** Whether any active hold exists for the customer (whatever it covers). */
  async anyActive(db: Knex | Knex.Transaction, customerId: string): Promise<boolean> {
    const row = await db<LegalHoldRow>('legal_holds')
      .where({ customer_id: customerId })
      .whereNull('released_at')
      .first('id');
    return row !== undefined;
  },
};
