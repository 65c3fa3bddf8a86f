/**
 * Store for what the access-request process records beyond the generic lifecycle request (db/repositories/
 * lifecycle-requests.ts, which records it): due-date changes, how it closed, the extensions granted and the notices
 * sent.
 */
import type { Knex } from 'knex';
import type { RequestStatus } from './lifecycle-requests';

type Db = Knex | Knex.Transaction;

const TERMINAL: RequestStatus[] = ['completed', 'failed', 'cancelled'];

/** Who a notice went to: the address named in the request, a registered contact, or the staff mailbox. */
export type NoticeRecipient = 'requester' | 'contact' | 'staff';

/** A notice that was sent. */
export interface SentNotice {
  messageId: string;
  sentAt: Date;
}

/** A granted extension. */
export interface RequestExtension {
  requestId: string;
  actor: string;
  reason: string;
  previousDueOn: string;
  dueOn: string;
  createdAt: Date;
}

export const accessRequests = {
  /** Sets the legal due date (clock started, or extended). */
  async setDueOn(db: Db, id: string, dueOn: string): Promise<void> {
    await db('lifecycle_requests').where({ id }).update({ due_on: dueOn, updated_at: db.fn.now() });
  },

  /**
   * Ends a request that did not (or not yet) deliver: refused, closed unverified, failed. The reason is what staff see
   * in `GET /v1/requests/{id}`; the outcome holds small facts. A no-op on a request that has already ended.
   */
  async close(
    db: Db,
    id: string,
    c: { status: RequestStatus; stage: string; reason: string; outcome: Record<string, unknown> },
  ): Promise<void> {
    await db('lifecycle_requests')
      .where({ id })
      .whereNotIn('status', TERMINAL)
      .update({
        status: c.status,
        stage: c.stage,
        failure_reason: c.reason,
        outcome: JSON.stringify(c.outcome),
        completed_at: db.fn.now(),
        updated_at: db.fn.now(),
        payload: null,
      });
  },

  /** Merges small facts into the outcome of a running request (e.g. what was delivered, before the archive expires). */
  async mergeOutcome(db: Db, id: string, facts: Record<string, unknown>): Promise<void> {
    await db('lifecycle_requests')
      .where({ id })
      .update({
        outcome: db.raw("coalesce(outcome, '{}'::jsonb) || ?::jsonb", [JSON.stringify(facts)]),
        updated_at: db.fn.now(),
      });
  },

  /** Records a granted extension; false when the request already has one (a retried activity). */
  async insertExtension(db: Db, e: Omit<RequestExtension, 'createdAt'>): Promise<boolean> {
    const rows = await db('request_extensions')
      .insert({
        request_id: e.requestId,
        actor: e.actor,
        reason: e.reason,
        previous_due_on: e.previousDueOn,
        due_on: e.dueOn,
      })
      .onConflict('request_id')
      .ignore()
      .returning('id');
    return rows.length > 0;
  },

  async findExtension(db: Db, requestId: string): Promise<RequestExtension | undefined> {
    const row = await db<{
      request_id: string;
      actor: string;
      reason: string;
      previous_due_on: string;
      due_on: string;
      created_at: Date;
    }>('request_extensions')
      .where({ request_id: requestId })
      .first();
    return (
      row && {
        requestId: row.request_id,
        actor: row.actor,
        reason: row.reason,
        previousDueOn: row.previous_due_on,
        dueOn: row.due_on,
        createdAt: row.created_at,
      }
    );
  },

  /** The notice recorded under `dedupeKey`, if it was sent already. */
  async findNotice(db: Db, dedupeKey: string): Promise<SentNotice | undefined> {
    const row = await db<{ dedupe_key: string; message_id: string; sent_at: Date }>('request_notifications')
      .where({ dedupe_key: dedupeKey })
      .first('message_id', 'sent_at');
    return row && { messageId: row.message_id, sentAt: row.sent_at };
  },

  /** Records a sent notice (once per dedupe key). */
  async recordNotice(
    db: Db,
    n: {
      requestId: string;
      kind: string;
      recipient: NoticeRecipient;
      contactId?: string;
      dedupeKey: string;
      messageId: string;
    },
  ): Promise<void> {
    await db('request_notifications')
      .insert({
        request_id: n.requestId,
        kind: n.kind,
        recipient: n.recipient,
        contact_id: n.contactId ?? null,
        dedupe_key: n.dedupeKey,
        message_id: n.messageId,
      })
      .onConflict('dedupe_key')
      .ignore();
  },

  /** Notices of a request, oldest first (kinds and recipients only). */
  async notices(db: Db, requestId: string): Promise<{ kind: string; recipient: NoticeRecipient; sentAt: Date }[]> {
    const rows = await db<{ request_id: string; kind: string; recipient: NoticeRecipient; sent_at: Date }>(
      'request_notifications',
    )
      .where({ request_id: requestId })
      .orderBy('id');
    return rows.map((r) => ({ kind: r.kind, recipient: r.recipient, sentAt: r.sent_at }));
  },
};
