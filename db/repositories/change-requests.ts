import type { Knex } from 'knex';

/** What a change request changes (README "Approvals"). */
export type ChangeKind = 'contract_end' | 'retention_policy' | 'subprocessor';
export type ChangeStatus = 'pending' | 'applied' | 'rejected' | 'expired' | 'superseded';

/** A change waiting for (or past) a second person's decision. */
export interface ChangeRequest {
  id: string;
  kind: ChangeKind;
  subjectType: string;
  subjectId: string;
  /** From/to as staff see it; never a secret. */
  summary: Record<string, unknown>;
  /** The change as it will be applied; null once decided. */
  payload: Record<string, unknown> | null;
  status: ChangeStatus;
  requestedBy: string;
  requestedAt: Date;
  expiresAt: Date;
  decidedBy: string | null;
  decidedAt: Date | null;
  decisionReason: string | null;
  outcome: Record<string, unknown> | null;
}

interface ChangeRequestRow {
  id: string;
  kind: ChangeKind;
  subject_type: string;
  subject_id: string;
  summary: Record<string, unknown>;
  payload: Record<string, unknown> | null;
  status: ChangeStatus;
  requested_by: string;
  requested_at: Date;
  expires_at: Date;
  decided_by: string | null;
  decided_at: Date | null;
  decision_reason: string | null;
  outcome: Record<string, unknown> | null;
}

function toChangeRequest(row: ChangeRequestRow): ChangeRequest {
  return {
    id: row.id,
    kind: row.kind,
    subjectType: row.subject_type,
    subjectId: row.subject_id,
    summary: row.summary,
    payload: row.payload,
    status: row.status,
    requestedBy: row.requested_by,
    requestedAt: row.requested_at,
    expiresAt: row.expires_at,
    decidedBy: row.decided_by,
    decidedAt: row.decided_at,
    decisionReason: row.decision_reason,
    outcome: row.outcome,
  };
}

/** Fields of a new change request. */
export interface NewChangeRequest {
  id: string;
  kind: ChangeKind;
  subjectType: string;
  subjectId: string;
  summary: Record<string, unknown>;
  payload: Record<string, unknown>;
  requestedBy: string;
  /** How long it may wait for a decision. */
  ttlMs: number;
}

/** Store for `change_requests`. */
export const changeRequests = {
  /**
   * Records a pending change, unless one is already pending for the same subject: then answers that one
   * (`created: false`) and records nothing. Pending changes past their expiry are marked expired first.
   */
  async insertPending(
    trx: Knex.Transaction,
    r: NewChangeRequest,
  ): Promise<{ change: ChangeRequest; created: boolean }> {
    await trx('change_requests')
      .where({ kind: r.kind, subject_id: r.subjectId, status: 'pending' })
      .where('expires_at', '<=', trx.fn.now())
      .update({ status: 'expired', payload: null });
    // The partial unique index (one pending change per subject) is the arbiter: a second proposal inserts nothing.
    const inserted = await trx.raw<{ rows: ChangeRequestRow[] }>(
      `insert into change_requests
         (id, kind, subject_type, subject_id, summary, payload, requested_by, expires_at)
       values (?, ?, ?, ?, ?::jsonb, ?::jsonb, ?, now() + make_interval(secs => ?))
       on conflict (kind, subject_id) where status = 'pending' do nothing
       returning *`,
      [
        r.id,
        r.kind,
        r.subjectType,
        r.subjectId,
        JSON.stringify(r.summary),
        JSON.stringify(r.payload),
        r.requestedBy,
        r.ttlMs / 1000,
      ],
    );
    const row = inserted.rows[0];
    if (row) return { change: toChangeRequest(row), created: true };
    const pending = await trx<ChangeRequestRow>('change_requests')
      .where({ kind: r.kind, subject_id: r.subjectId, status: 'pending' })
      .first();
    return { change: toChangeRequest(pending!), created: false };
  },

  async findById(db: Knex | Knex.Transaction, id: string): Promise<ChangeRequest | undefined> {
    const row = await db<ChangeRequestRow>('change_requests').where({ id }).first();
    return row && toChangeRequest(row);
  },

  /** The change request, locked until the transaction ends (one decision at a time). */
  async lock(trx: Knex.Transaction, id: string): Promise<ChangeRequest | undefined> {
    const row = await trx<ChangeRequestRow>('change_requests').where({ id }).forUpdate().first();
    return row && toChangeRequest(row);
  },

  /**
   * Newest first; `status` filters as the API shows it: a pending change past its expiry (not yet settled, because
   * nobody acted on it since) counts as `expired`, not `pending`.
   */
  async list(db: Knex, opts: { status?: ChangeStatus; limit: number }): Promise<ChangeRequest[]> {
    const q = db<ChangeRequestRow>('change_requests').orderBy('requested_at', 'desc').limit(opts.limit);
    if (opts.status === 'pending') void q.where({ status: 'pending' }).where('expires_at', '>', db.fn.now());
    else if (opts.status === 'expired')
      void q.where((w) =>
        w
          .where({ status: 'expired' })
          .orWhere((p) => p.where({ status: 'pending' }).where('expires_at', '<=', db.fn.now())),
      );
    else if (opts.status) void q.where({ status: opts.status });
    return (await q).map(toChangeRequest);
  },

  /** Ends a pending change: its decision (or lapse) is recorded and the payload (which may hold a secret) cleared. */
  async settle(
    trx: Knex.Transaction,
    id: string,
    s: { status: Exclude<ChangeStatus, 'pending'>; decidedBy?: string; reason?: string; outcome?: object },
  ): Promise<ChangeRequest> {
    const [row] = await trx<ChangeRequestRow>('change_requests')
      .where({ id })
      .update({
        status: s.status,
        payload: null,
        decided_by: s.decidedBy ?? null,
        decided_at: s.decidedBy ? (trx.fn.now() as never) : null,
        decision_reason: s.reason ?? null,
        outcome: s.outcome === undefined ? null : (JSON.stringify(s.outcome) as never),
      })
      .returning('*');
    return toChangeRequest(row!);
  },
};
