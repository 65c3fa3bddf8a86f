/**
 * Store for what correction requests keep beside their lifecycle request: the requested changes (with the new values,
 * which never leave the database except to the subprocessors) and one receipt per subprocessor told of the
 * correction. Also reads the snapshot of the rows a correction may touch (lib/correction-plan.ts), optionally locked.
 */
import type { Knex } from 'knex';
import type { CorrectionSnapshot, TargetTable } from '../../lib/correction-plan';
import { rowVersionSql } from '../../lib/correction-plan';
import type { DataCategory } from '../../lib/pure/data-categories';
import type { CorrectionChangeState } from '../../lib/pure/correction-messages';
import type { CorrectionKind } from '../../lib/schemas/correction';

type Db = Knex | Knex.Transaction;

interface CustomerVersionRow {
  id: string;
  company_name: string;
  trading_name: string | null;
  registration_number: string;
  address: string | null;
  version: string;
}

/** A stored change. */
export interface CorrectionChange {
  id: string;
  requestId: string;
  customerId: string;
  position: number;
  kind: CorrectionKind;
  targetTable: TargetTable;
  targetId: string;
  targetColumn: string | null;
  newValue: unknown;
  previousValue: unknown;
  beforeSha256: string | null;
  afterSha256: string | null;
  rowVersion: string | null;
  sensitive: boolean;
  state: CorrectionChangeState;
  stateRule: string | null;
  dataCategory: DataCategory;
  appliedAt: Date | null;
}

interface ChangeRow {
  id: string;
  request_id: string;
  customer_id: string;
  position: number;
  kind: CorrectionKind;
  target_table: TargetTable;
  target_id: string;
  target_column: string | null;
  new_value: unknown;
  previous_value: unknown;
  before_sha256: string | null;
  after_sha256: string | null;
  row_version: string | null;
  sensitive: boolean;
  state: CorrectionChangeState;
  state_rule: string | null;
  data_category: DataCategory;
  applied_at: Date | null;
}

const toChange = (r: ChangeRow): CorrectionChange => ({
  id: r.id,
  requestId: r.request_id,
  customerId: r.customer_id,
  position: r.position,
  kind: r.kind,
  targetTable: r.target_table,
  targetId: r.target_id,
  targetColumn: r.target_column,
  newValue: r.new_value,
  previousValue: r.previous_value,
  beforeSha256: r.before_sha256,
  afterSha256: r.after_sha256,
  rowVersion: r.row_version,
  sensitive: r.sensitive,
  state: r.state,
  stateRule: r.state_rule,
  dataCategory: r.data_category,
  appliedAt: r.applied_at,
});

/** Receipt status of one subprocessor. */
export type ReceiptStatus = 'pending' | 'delivered' | 'failed' | 'waived';

/** A subprocessor's receipt for a correction. */
export interface CorrectionReceipt {
  requestId: string;
  subprocessorId: string;
  categories: string[];
  idempotencyKey: string;
  status: ReceiptStatus;
  httpStatus: number | null;
  alreadyDone: boolean | null;
  attempts: number;
  lastError: string | null;
  answeredAt: Date | null;
  escalatedAt: Date | null;
  waivedBy: string | null;
  waivedAt: Date | null;
}

interface ReceiptRow {
  request_id: string;
  subprocessor_id: string;
  categories: string[];
  idempotency_key: string;
  status: ReceiptStatus;
  http_status: number | null;
  already_done: boolean | null;
  attempts: number;
  last_error: string | null;
  answered_at: Date | null;
  escalated_at: Date | null;
  waived_by: string | null;
  waived_at: Date | null;
}

const toReceipt = (r: ReceiptRow): CorrectionReceipt => ({
  requestId: r.request_id,
  subprocessorId: r.subprocessor_id,
  categories: r.categories,
  idempotencyKey: r.idempotency_key,
  status: r.status,
  httpStatus: r.http_status,
  alreadyDone: r.already_done,
  attempts: r.attempts,
  lastError: r.last_error,
  answeredAt: r.answered_at,
  escalatedAt: r.escalated_at,
  waivedBy: r.waived_by,
  waivedAt: r.waived_at,
});

/** A change to record with its request. */
export type NewCorrectionChange = Omit<CorrectionChange, 'state' | 'stateRule' | 'appliedAt'> & {
  state: 'pending' | 'unchanged';
};

export const corrections = {
  /**
   * The customer's rows a correction may touch, each with its version (hash of the whole row). With `lock`, inside a
   * transaction, the rows stay locked until commit (customer first, then contacts and seller accounts by id), so an
   * apply compares and writes without a concurrent writer in between.
   */
  async snapshot(
    db: Db,
    customerId: string,
    registrationNumbers: string[],
    opts: { lock?: boolean } = {},
  ): Promise<CorrectionSnapshot | undefined> {
    const lock = <Q extends Knex.QueryBuilder>(q: Q): Q => (opts.lock ? (q.forUpdate() as Q) : q);
    const customer = await lock(
      db('customers as t')
        .where('t.id', customerId)
        .first<CustomerVersionRow | undefined>(
          't.id',
          't.company_name',
          't.trading_name',
          't.registration_number',
          't.address',
          db.raw(`${rowVersionSql} as version`),
        ),
    );
    if (!customer) return undefined;
    const contacts = await lock(
      db('contacts as t')
        .where('t.customer_id', customerId)
        .orderBy('t.id')
        .select('t.id', 't.name', 't.email', 't.phone', 't.role', db.raw(`${rowVersionSql} as version`)),
    );
    const accounts = await lock(
      db('seller_accounts as t')
        .where('t.customer_id', customerId)
        .orderBy('t.id')
        .select('t.id', 't.marketplace', 't.external_account_id', 't.region', db.raw(`${rowVersionSql} as version`)),
    );
    const taken =
      registrationNumbers.length === 0
        ? []
        : await db('customers')
            .whereIn('registration_number', registrationNumbers)
            .whereNot('id', customerId)
            .pluck('registration_number');
    return {
      customer: {
        id: customer.id,
        legalName: customer.company_name,
        tradingName: customer.trading_name,
        registrationNumber: customer.registration_number,
        address: customer.address,
        version: customer.version,
      },
      contacts: (contacts as Record<string, string>[]).map((c) => ({
        id: c.id!,
        name: c.name!,
        email: c.email!,
        phone: c.phone ?? null,
        role: c.role!,
        version: c.version!,
      })),
      sellerAccounts: (accounts as Record<string, string>[]).map((a) => ({
        id: a.id!,
        marketplace: a.marketplace!,
        accountId: a.external_account_id!,
        region: a.region ?? null,
        version: a.version!,
      })),
      registrationNumbersTaken: taken as string[],
    };
  },

  /**
   * The INSERT of a request's changes (at least one), not yet run: a part of the statement that accepts the request
   * (api/use-cases/start-request-workflow.ts `acceptRequest`).
   */
  insertChangesQuery(db: Db, changes: NewCorrectionChange[]): Knex.QueryBuilder {
    return db('correction_changes').insert(
      changes.map((c) => ({
        id: c.id,
        request_id: c.requestId,
        customer_id: c.customerId,
        position: c.position,
        kind: c.kind,
        target_table: c.targetTable,
        target_id: c.targetId,
        target_column: c.targetColumn,
        new_value: JSON.stringify(c.newValue ?? null),
        previous_value: c.previousValue === undefined ? null : JSON.stringify(c.previousValue),
        before_sha256: c.beforeSha256,
        after_sha256: c.afterSha256,
        row_version: c.rowVersion,
        sensitive: c.sensitive,
        state: c.state,
        data_category: c.dataCategory,
      })),
    );
  },

  /** The changes of a request, in request order. */
  async changes(db: Db, requestId: string): Promise<CorrectionChange[]> {
    const rows = await db<ChangeRow>('correction_changes').where({ request_id: requestId }).orderBy('position');
    return rows.map(toChange);
  },

  /** Moves changes to `state`, only from one of `from` (a retried activity changes nothing twice). */
  async setState(
    db: Db,
    ids: string[],
    state: CorrectionChangeState,
    opts: { from: CorrectionChangeState[]; rule?: string | null; applied?: boolean },
  ): Promise<number> {
    if (ids.length === 0) return 0;
    return db('correction_changes')
      .whereIn('id', ids)
      .whereIn('state', opts.from)
      .update({
        state,
        state_rule: opts.rule ?? null,
        ...(opts.applied ? { applied_at: db.fn.now() } : {}),
      });
  },

  /** Records a re-validation: the new row version and before-hash the change was applied against. */
  async rebase(db: Db, id: string, rowVersion: string | null, beforeSha256: string | null): Promise<void> {
    await db('correction_changes').where({ id }).update({ row_version: rowVersion, before_sha256: beforeSha256 });
  },

  /** Drops the old address kept to tell it of an email change, once told. */
  async clearPreviousValues(db: Db, requestId: string): Promise<void> {
    await db('correction_changes')
      .where({ request_id: requestId })
      .whereNotNull('previous_value')
      .update({ previous_value: null });
  },

  /** Creates the receipt of a subprocessor for a request, once. */
  async ensureReceipt(
    db: Db,
    r: { requestId: string; subprocessorId: string; customerId: string; categories: string[]; idempotencyKey: string },
  ): Promise<void> {
    await db('correction_receipts')
      .insert({
        request_id: r.requestId,
        subprocessor_id: r.subprocessorId,
        customer_id: r.customerId,
        categories: r.categories,
        idempotency_key: r.idempotencyKey,
      })
      .onConflict(['request_id', 'subprocessor_id'])
      .ignore();
  },

  async receipt(db: Db, requestId: string, subprocessorId: string): Promise<CorrectionReceipt | undefined> {
    const row = await db<ReceiptRow>('correction_receipts')
      .where({ request_id: requestId, subprocessor_id: subprocessorId })
      .first();
    return row && toReceipt(row);
  },

  async receipts(db: Db, requestId: string): Promise<CorrectionReceipt[]> {
    const rows = await db<ReceiptRow>('correction_receipts')
      .where({ request_id: requestId })
      .orderBy('subprocessor_id');
    return rows.map(toReceipt);
  },

  /** Counts a call about to be made (before it leaves: the intent is recorded first). */
  async countAttempt(db: Db, requestId: string, subprocessorId: string): Promise<void> {
    await db('correction_receipts')
      .where({ request_id: requestId, subprocessor_id: subprocessorId })
      .update({ attempts: db.raw('attempts + 1'), first_attempt_at: db.raw('coalesce(first_attempt_at, now())') });
  },

  /** Records why the last call failed (status and path only). */
  async recordFailure(
    db: Db,
    requestId: string,
    subprocessorId: string,
    reason: string,
    permanent: boolean,
  ): Promise<void> {
    await db('correction_receipts')
      .where({ request_id: requestId, subprocessor_id: subprocessorId })
      .whereIn('status', ['pending', 'failed'])
      .update({ last_error: reason.slice(0, 300), ...(permanent ? { status: 'failed' } : {}) });
  },

  /** Marks a receipt delivered; false when it was delivered or waived already. */
  async markDelivered(
    db: Db,
    requestId: string,
    subprocessorId: string,
    answer: { httpStatus: number; alreadyDone: boolean },
  ): Promise<boolean> {
    const n = await db('correction_receipts')
      .where({ request_id: requestId, subprocessor_id: subprocessorId })
      .whereIn('status', ['pending', 'failed'])
      .update({
        status: 'delivered',
        http_status: answer.httpStatus,
        already_done: answer.alreadyDone,
        answered_at: db.fn.now(),
        last_error: null,
      });
    return n > 0;
  },

  async markEscalated(db: Db, requestId: string, subprocessorId: string): Promise<void> {
    await db('correction_receipts')
      .where({ request_id: requestId, subprocessor_id: subprocessorId })
      .whereNull('escalated_at')
      .update({ escalated_at: db.fn.now() });
  },

  /** Waives a receipt that is not delivered; false when it was delivered or waived already. */
  async waive(db: Db, requestId: string, subprocessorId: string, actor: string, reason: string): Promise<boolean> {
    const n = await db('correction_receipts')
      .where({ request_id: requestId, subprocessor_id: subprocessorId })
      .whereIn('status', ['pending', 'failed'])
      .update({ status: 'waived', waived_by: actor, waive_reason: reason, waived_at: db.fn.now() });
    return n > 0;
  },
};
