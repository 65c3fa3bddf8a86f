/**
 * Store for `outbox_intents`: the record, written before an email or a subprocessor call leaves, that it is owed
 * (with its Message-ID or idempotency key), and its completion once it is known to have happened. Used only through
 * activities/outbox.ts.
 */
import type { Knex } from 'knex';

type Db = Knex | Knex.Transaction;

export type OutboxKind = 'email' | 'subprocessor_call';

/** One intent as the rest of the code sees it. */
export interface OutboxIntent {
  key: string;
  kind: OutboxKind;
  messageId: string | null;
  target: string;
  operation: string;
  attempts: number;
  createdAt: Date;
  completedAt: Date | null;
  result: Record<string, unknown> | null;
}

interface OutboxIntentRow {
  key: string;
  kind: OutboxKind;
  message_id: string | null;
  target: string;
  operation: string;
  attempts: number;
  created_at: Date;
  completed_at: Date | null;
  result: Record<string, unknown> | null;
}

function toIntent(row: OutboxIntentRow): OutboxIntent {
  return {
    key: row.key,
    kind: row.kind,
    messageId: row.message_id,
    target: row.target,
    operation: row.operation,
    attempts: row.attempts,
    createdAt: row.created_at,
    completedAt: row.completed_at,
    result: row.result,
  };
}

export const outboxIntents = {
  async find(db: Db, key: string): Promise<OutboxIntent | undefined> {
    const row = await db<OutboxIntentRow>('outbox_intents').where({ key }).first();
    return row && toIntent(row);
  },

  /**
   * Records the intent unless it is recorded (the first attempt's Message-ID stays), counts this attempt (not when
   * the intent is completed already), and answers the intent as it now stands, `completedAt` included: one statement,
   * so two attempts racing count two and share one row, and a re-run learns in the same round trip that it is done.
   */
  async begin(
    db: Db,
    i: { key: string; kind: OutboxKind; messageId?: string; target: string; operation: string },
  ): Promise<OutboxIntent> {
    const {
      rows: [row],
    } = await db.raw<{ rows: OutboxIntentRow[] }>(
      `insert into outbox_intents (key, kind, message_id, target, operation, attempts, last_attempt_at)
       values (?, ?, ?, ?, ?, 1, now())
       on conflict (key) do update
         set attempts = outbox_intents.attempts + case when outbox_intents.completed_at is null then 1 else 0 end,
             last_attempt_at = case when outbox_intents.completed_at is null then now()
                                    else outbox_intents.last_attempt_at end
       returning *`,
      [i.key, i.kind, i.messageId ?? null, i.target, i.operation],
    );
    if (!row) throw new Error(`recording the outbox intent ${i.key} returned no row`);
    return toIntent(row);
  },

  /** Marks the intent done with `result`; answers false when it was done already (the first result stays). */
  async complete(db: Db, key: string, result: Record<string, unknown>): Promise<boolean> {
    const n = await db('outbox_intents')
      .where({ key })
      .whereNull('completed_at')
      .update({ completed_at: db.fn.now(), result: JSON.stringify(result) });
    return n > 0;
  },

  /** Intents older than `olderThan` still without completion (for operations: what may have been sent twice). */
  async open(db: Db, olderThan: Date, limit = 100): Promise<OutboxIntent[]> {
    const rows = await db<OutboxIntentRow>('outbox_intents')
      .whereNull('completed_at')
      .where('created_at', '<', olderThan)
      .orderBy('created_at')
      .limit(limit);
    return rows.map(toIntent);
  },
};
