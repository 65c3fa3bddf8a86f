/**
 * Deletions requested from subprocessors (protocol v1 `POST /v1/tenants/{tenantId}/deletions`) and their receipts:
 * the request's answer, the confirmation (synchronous or by signed callback) or the escalation to staff.
 * A row exists before the request is sent, so a callback that arrives at once finds the workflow to signal.
 */
import type { Knex } from 'knex';
import type { DataCategory } from '../../lib/pure/data-categories';

export type DeletionStatus = 'requested' | 'confirmed' | 'escalated';

/** A deletion request as activities and the callback route see it. */
export interface DeletionRequest {
  id: string;
  erasureId: string;
  workflowId: string;
  customerId: string;
  subprocessorId: string;
  categories: DataCategory[];
  status: DeletionStatus;
  idempotencyKey: string;
  requestReceipt: Record<string, unknown> | null;
  requestedAt: Date;
  confirmedAt: Date | null;
  confirmedVia: 'sync' | 'callback' | null;
  escalatedAt: Date | null;
}

interface DeletionRequestRow {
  id: string;
  erasure_id: string;
  workflow_id: string;
  customer_id: string;
  subprocessor_id: string;
  categories: DataCategory[];
  status: DeletionStatus;
  idempotency_key: string;
  request_receipt: Record<string, unknown> | null;
  requested_at: Date;
  confirmed_at: Date | null;
  confirmed_via: 'sync' | 'callback' | null;
  escalated_at: Date | null;
}

function toDeletion(row: DeletionRequestRow): DeletionRequest {
  return {
    id: row.id,
    erasureId: row.erasure_id,
    workflowId: row.workflow_id,
    customerId: row.customer_id,
    subprocessorId: row.subprocessor_id,
    categories: row.categories,
    status: row.status,
    idempotencyKey: row.idempotency_key,
    requestReceipt: row.request_receipt,
    requestedAt: row.requested_at,
    confirmedAt: row.confirmed_at,
    confirmedVia: row.confirmed_via,
    escalatedAt: row.escalated_at,
  };
}

/** Store for `deletion_requests`. */
export const deletionRequests = {
  /** Records a deletion about to be sent (idempotent: a retried activity finds the same row). */
  async create(
    db: Knex | Knex.Transaction,
    d: Pick<
      DeletionRequest,
      'id' | 'erasureId' | 'workflowId' | 'customerId' | 'subprocessorId' | 'categories' | 'idempotencyKey'
    >,
  ): Promise<void> {
    await db('deletion_requests')
      .insert({
        id: d.id,
        erasure_id: d.erasureId,
        workflow_id: d.workflowId,
        customer_id: d.customerId,
        subprocessor_id: d.subprocessorId,
        categories: d.categories,
        idempotency_key: d.idempotencyKey,
      })
      .onConflict('id')
      .ignore();
  },

  async findById(db: Knex | Knex.Transaction, id: string): Promise<DeletionRequest | undefined> {
    const row = await db<DeletionRequestRow>('deletion_requests').where({ id }).first();
    return row && toDeletion(row);
  },

  /** Locks and reads one deletion (inside a transaction that changes it). */
  async lock(trx: Knex.Transaction, id: string): Promise<DeletionRequest | undefined> {
    const row = await trx<DeletionRequestRow>('deletion_requests').where({ id }).forUpdate().first();
    return row && toDeletion(row);
  },

  /** Stores the subprocessor's answer to the request. */
  async recordRequestReceipt(db: Knex | Knex.Transaction, id: string, receipt: Record<string, unknown>): Promise<void> {
    // The first receipt is the evidence: a later "already done" (409) never replaces it.
    await db('deletion_requests')
      .where({ id })
      .whereNull('request_receipt')
      .update({ request_receipt: JSON.stringify(receipt) });
  },

  /**
   * Records a confirmation (a late one after an escalation too: the evidence should say it arrived).
   * Returns the confirmed row; a second confirmation changes nothing and returns the first one's time.
   */
  async confirm(
    trx: Knex.Transaction,
    id: string,
    via: 'sync' | 'callback',
    receipt: Record<string, unknown>,
  ): Promise<{ deletion: DeletionRequest; newlyConfirmed: boolean } | undefined> {
    const current = await deletionRequests.lock(trx, id);
    if (!current) return undefined;
    if (current.confirmedAt !== null) return { deletion: current, newlyConfirmed: false };
    const [row] = (await trx('deletion_requests')
      .where({ id })
      .update({
        status: 'confirmed',
        confirmed_at: trx.raw("date_trunc('milliseconds', now())"),
        confirmed_via: via,
        confirmation_receipt: JSON.stringify(receipt),
      })
      .returning('*')) as DeletionRequestRow[];
    return { deletion: toDeletion(row!), newlyConfirmed: true };
  },

  /** Marks an unconfirmed deletion escalated; returns false when it was confirmed (or escalated) meanwhile. */
  async escalate(trx: Knex.Transaction, id: string, escalation: Record<string, unknown>): Promise<boolean> {
    const n = await trx('deletion_requests')
      .where({ id, status: 'requested' })
      .update({ status: 'escalated', escalated_at: trx.fn.now(), escalation: JSON.stringify(escalation) });
    return n > 0;
  },

  /** The deletions of one erasure, oldest first. */
  async listForErasure(db: Knex | Knex.Transaction, erasureId: string): Promise<DeletionRequest[]> {
    const rows = await db<DeletionRequestRow>('deletion_requests')
      .where({ erasure_id: erasureId })
      .orderBy('requested_at');
    return rows.map(toDeletion);
  },
};
