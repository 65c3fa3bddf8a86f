/**
 * Store for `activity_leases`: which attempt of a long or side-effecting activity may write to a resource (an export
 * archive, an erasure, a retention sweep). An attempt claims the lease when it starts and every write it makes checks
 * the lease in the same transaction, so an attempt that a newer one replaced (paused past its heartbeat timeout, then
 * woken up) is refused at its next write and changes nothing. See docs/reliability.md and the migration
 * `20261202104000_activity_leases.ts`.
 */
import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { StaleAttemptError } from '../../lib/pure/errors';

type Db = Knex | Knex.Transaction;

/** SQLSTATE raised by `assert_activity_lease` when the token no longer holds the lease. */
export const STALE_ATTEMPT_SQLSTATE = 'DLF01';

/** Who claims: the Temporal identity of one activity attempt. */
export interface AttemptIdentity {
  activityType: string;
  workflowId: string;
  activityId: string;
  attempt: number;
  /** Temporal's `currentAttemptScheduledTimestampMs`: later for every retry and every later activity. */
  scheduledMs: number;
}

/** A held lease: pass it to every fenced write. */
export interface Lease {
  key: string;
  token: string;
  attempt: number;
}

/** Whether `err` is the database refusing a write of a replaced attempt. */
export function isStaleAttemptDbError(err: unknown): boolean {
  return (err as { code?: unknown } | null)?.code === STALE_ATTEMPT_SQLSTATE;
}

/** Rethrows a refused fenced write as {@link StaleAttemptError}, anything else as it is. */
export function rethrowStale(lease: Pick<Lease, 'key'>, err: unknown): never {
  if (isStaleAttemptDbError(err)) throw new StaleAttemptError(lease.key);
  throw err;
}

export const activityLeases = {
  /**
   * Claims `key` for this attempt with a fresh token. It takes over from any holder scheduled no later than this
   * attempt (a newer attempt always wins; an equal time is the same attempt, or a test's mock context); it fails with
   * {@link StaleAttemptError} when a later-scheduled attempt holds it. Waits for a running fenced write of the old
   * holder to commit (the claim needs the row that write holds FOR SHARE).
   */
  async claim(db: Db, key: string, who: AttemptIdentity): Promise<Lease> {
    const token = randomUUID();
    const { rows } = await db.raw<{ rows: { token: string }[] }>(
      `insert into activity_leases as l
         (fence_key, token, activity_type, workflow_id, activity_id, attempt, attempt_scheduled_ms, claimed_at)
       values (?, ?, ?, ?, ?, ?, ?, now())
       on conflict (fence_key) do update
         set token = excluded.token, activity_type = excluded.activity_type, workflow_id = excluded.workflow_id,
             activity_id = excluded.activity_id, attempt = excluded.attempt,
             attempt_scheduled_ms = excluded.attempt_scheduled_ms, claimed_at = now()
       where l.attempt_scheduled_ms <= excluded.attempt_scheduled_ms
       returning token`,
      [key, token, who.activityType, who.workflowId, who.activityId, who.attempt, who.scheduledMs],
    );
    if (rows[0]?.token !== token) throw new StaleAttemptError(key, 'a later-scheduled attempt claimed it first');
    return { key, token, attempt: who.attempt };
  },

  /**
   * Inside a transaction: holds the lease row FOR SHARE until commit, or fails with {@link StaleAttemptError} (and the
   * transaction with it) when a newer attempt took the lease over.
   */
  async assert(trx: Knex.Transaction, lease: Lease): Promise<void> {
    try {
      await trx.raw('select assert_activity_lease(?, ?::uuid)', [lease.key, lease.token]);
    } catch (err) {
      rethrowStale(lease, err);
    }
  },

  /** The same check as SQL text, for a batch sent as one multi-statement round trip (its implicit transaction). */
  assertSql(db: Db, lease: Lease): string {
    return db.raw('select assert_activity_lease(?, ?::uuid)', [lease.key, lease.token]).toQuery();
  },

  /** Runs `work` in a transaction that first checks the lease: the write and the check commit together. */
  async fenced<T>(db: Knex, lease: Lease, work: (trx: Knex.Transaction) => Promise<T>): Promise<T> {
    try {
      return await db.transaction(async (trx) => {
        await activityLeases.assert(trx, lease);
        return work(trx);
      });
    } catch (err) {
      rethrowStale(lease, err);
    }
  },

  /** Whether `lease` still holds (a cheap check before a costly step; the fenced write decides). */
  async holds(db: Db, lease: Lease): Promise<boolean> {
    const row = await db('activity_leases')
      .where({ fence_key: lease.key, token: lease.token })
      .first<{ token: string } | undefined>('token');
    return row !== undefined;
  },

  /** The current holder of `key` (diagnosis and status). */
  async holder(
    db: Db,
    key: string,
  ): Promise<{ token: string; attempt: number; activityId: string; claimedAt: Date } | undefined> {
    const row = await db('activity_leases')
      .where({ fence_key: key })
      .first<{ token: string; attempt: number; activity_id: string; claimed_at: Date } | undefined>(
        'token',
        'attempt',
        'activity_id',
        'claimed_at',
      );
    return row && { token: row.token, attempt: row.attempt, activityId: row.activity_id, claimedAt: row.claimed_at };
  },
};
