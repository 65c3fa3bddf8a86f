/**
 * The audit log's intake: how a transaction records an audit event without taking the chain lock.
 *
 * Every append to the chains takes one lock (db/repositories/audit-events.ts) and holds it until its transaction
 * ends, so an append waits for every append ahead of it in every process. The API's accepting statement (the
 * request, the start it is owed and its `*.requested` event, api/use-cases/start-request-workflow.ts) must not wait
 * there: under load, the worker's appends made it queue for up to ~200 ms (docs/benchmarks.md `api-load`). So it
 * records the event here instead: a row in `audit_intake`, keyed and MACed, committed with the request (no request
 * without its event, no event without its request). Right after the commit, beside the workflow start, the same
 * process chains it ({@link auditIntake.chain}): one transaction deletes the row and appends the event with its key,
 * at the instant it was recorded. When that process dies first, the start reconciler chains what is left
 * ({@link auditIntake.chainBacklog}).
 *
 * At least once, effectively once: the append is keyed, so a row chained twice (the API's chaining and the
 * reconciler's at once) appends one event; the row's delete serialises them. A row whose MAC does not match (it was
 * altered or written without the key) is not chained: `audit.intake_refused` is appended in its place, naming its key.
 */
import type { Knex } from 'knex';
import { auditIntakeMac, auditIntakeMacMatches } from '../../lib/audit-hash';
import { auditEvents, auditLogSecurity, type AuditEventInput } from './audit-events';

/** An event for the intake: every intake event is keyed, so chaining it twice appends it once. */
export type IntakeEvent = AuditEventInput & { idempotencyKey: string };

/** What {@link auditIntake.chain} did with a row. */
export type IntakeOutcome =
  /** Appended to the chains (or found appended already under its key) and removed from the intake. */
  | 'chained'
  /** No such row: chained by someone else first. */
  | 'gone'
  /** Its MAC did not match: removed, and `audit.intake_refused` appended instead. */
  | 'refused';

/** Who the audit log names when it refuses an intake row. */
const INTAKE_ACTOR = 'system:audit-intake';

interface IntakeRow {
  idempotency_key: string;
  event: Omit<AuditEventInput, 'idempotencyKey'>;
  recorded_at: Date;
  mac_key_id: string;
  mac: string;
}

/** The event as it will read back from its jsonb column (undefined fields dropped), which is what the MAC covers. */
function asStored(event: IntakeEvent): Omit<AuditEventInput, 'idempotencyKey'> {
  return JSON.parse(JSON.stringify({ ...event, idempotencyKey: undefined })) as Omit<AuditEventInput, 'idempotencyKey'>;
}

/** Intake rows recorded before `recordedBefore`, oldest first, at most `limit` (what both backlog readers take). */
function recordedBeforeOldestFirst(db: Knex, recordedBefore: Date, limit: number) {
  return db<IntakeRow>('audit_intake').where('recorded_at', '<', recordedBefore).orderBy('recorded_at').limit(limit);
}

export const auditIntake = {
  /**
   * Records `event` in the intake, in `trx`: one INSERT, no chain lock. Call {@link auditIntake.chain} with its key
   * once `trx` has committed. A key already waiting keeps its first event.
   */
  async record(trx: Knex.Transaction, event: IntakeEvent): Promise<void> {
    await auditIntake.recordQuery(trx, event);
  },

  /**
   * {@link auditIntake.record}'s INSERT, not yet run: for a statement that records the event together with the rows it
   * is about (the API's accepting statement, api/use-cases/start-request-workflow.ts), atomically without a
   * transaction around it.
   */
  recordQuery(db: Knex | Knex.Transaction, event: IntakeEvent): Knex.QueryBuilder {
    const stored = asStored(event);
    const { keyring } = auditLogSecurity();
    return db('audit_intake')
      .insert({
        idempotency_key: event.idempotencyKey,
        event: JSON.stringify(stored),
        mac_key_id: keyring.activeKeyId,
        mac: auditIntakeMac(keyring.keys.get(keyring.activeKeyId)!, event.idempotencyKey, stored),
      })
      .onConflict('idempotency_key')
      .ignore();
  },

  /**
   * Chains the intake row `idempotencyKey` into the audit log, in one transaction that removes the row and appends
   * the event (keyed: appended once however often this runs), occurring when it was recorded.
   */
  async chain(db: Knex, idempotencyKey: string): Promise<IntakeOutcome> {
    return db.transaction(async (trx) => {
      // The delete takes the row first: a concurrent chaining of the same row waits here, then finds it gone. The
      // chain lock comes last (the append), as every appending transaction takes it.
      const [row] = await trx<IntakeRow>('audit_intake')
        .where({ idempotency_key: idempotencyKey })
        .del()
        .returning(['idempotency_key', 'event', 'recorded_at', 'mac_key_id', 'mac']);
      if (!row) return 'gone';
      const key = auditLogSecurity().keyring.keys.get(row.mac_key_id);
      if (!key || !auditIntakeMacMatches(key, row.idempotency_key, row.event, row.mac)) {
        await auditEvents.append(trx, {
          actor: INTAKE_ACTOR,
          action: 'audit.intake_refused',
          subjectType: 'audit_intake',
          subjectId: row.idempotency_key,
          details: {
            reason: key ? 'mac_mismatch' : 'unknown_mac_key',
            macKeyId: row.mac_key_id,
            recordedAt: row.recorded_at.toISOString(),
          },
          idempotencyKey: `intake_refused:${row.idempotency_key}`,
        });
        return 'refused';
      }
      await auditEvents.append(
        trx,
        { ...row.event, idempotencyKey: row.idempotency_key },
        { occurredAt: row.recorded_at },
      );
      return 'chained';
    });
  },

  /**
   * Chains up to `limit` rows recorded before `recordedBefore`, oldest first: what a process recorded and did not
   * live to chain. `only` restricts the pass to these keys (tests sharing a database); `onChained` is called after
   * each (a heartbeat).
   */
  async chainBacklog(
    db: Knex,
    recordedBefore: Date,
    limit: number,
    opts: { only?: string[]; onChained?: (key: string, outcome: IntakeOutcome) => void } = {},
  ): Promise<Record<IntakeOutcome, number>> {
    const q = recordedBeforeOldestFirst(db, recordedBefore, limit);
    if (opts.only) void q.whereIn('idempotency_key', opts.only);
    const keys = await q.pluck<string[]>('idempotency_key');
    const counts: Record<IntakeOutcome, number> = { chained: 0, gone: 0, refused: 0 };
    for (const key of keys) {
      const outcome = await auditIntake.chain(db, key);
      counts[outcome] += 1;
      opts.onChained?.(key, outcome);
    }
    return counts;
  },

  /** Rows recorded before `recordedBefore` and still waiting to be chained, oldest first (the CLI's `pending`). */
  async waiting(
    db: Knex,
    recordedBefore: Date,
    limit: number,
  ): Promise<Array<{ key: string; action: string; recordedAt: Date }>> {
    const rows = await recordedBeforeOldestFirst(db, recordedBefore, limit).select(
      'idempotency_key',
      'event',
      'recorded_at',
    );
    return rows.map((r) => ({ key: r.idempotency_key, action: r.event.action, recordedAt: r.recorded_at }));
  },
};
