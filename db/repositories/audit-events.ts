import type { Knex } from 'knex';

/** What happened, by whom, to what. Details hold ids, counts and hashes only: never plaintext personal data. */
export interface AuditEventInput {
  actor: string;
  action: string;
  subjectType: string;
  subjectId: string;
  customerId?: string | null;
  requestId?: string | null;
  workflowId?: string | null;
  details?: Record<string, unknown>;
}

/** A stored audit event. */
export interface AuditEvent extends Required<Omit<AuditEventInput, 'details'>> {
  id: string;
  occurredAt: Date;
  details: Record<string, unknown>;
}

interface AuditEventRow {
  id: string;
  occurred_at: Date;
  actor: string;
  action: string;
  subject_type: string;
  subject_id: string;
  customer_id: string | null;
  request_id: string | null;
  workflow_id: string | null;
  details: Record<string, unknown>;
}

function toAuditEvent(row: AuditEventRow): AuditEvent {
  return {
    id: row.id,
    occurredAt: row.occurred_at,
    actor: row.actor,
    action: row.action,
    subjectType: row.subject_type,
    subjectId: row.subject_id,
    customerId: row.customer_id,
    requestId: row.request_id,
    workflowId: row.workflow_id,
    details: row.details,
  };
}

/** Append-only access to the audit log. Pass a transaction so the event commits with the change it describes. */
export const auditEvents = {
  async append(db: Knex | Knex.Transaction, event: AuditEventInput): Promise<void> {
    await db('audit_events').insert({
      actor: event.actor,
      action: event.action,
      subject_type: event.subjectType,
      subject_id: event.subjectId,
      customer_id: event.customerId ?? null,
      request_id: event.requestId ?? null,
      workflow_id: event.workflowId ?? null,
      details: JSON.stringify(event.details ?? {}),
    });
  },

  async list(
    db: Knex,
    filter: { customerId?: string; requestId?: string; action?: string } = {},
  ): Promise<AuditEvent[]> {
    const q = db<AuditEventRow>('audit_events').orderBy('id', 'asc');
    if (filter.customerId) void q.where('customer_id', filter.customerId);
    if (filter.requestId) void q.where('request_id', filter.requestId);
    if (filter.action) void q.where('action', filter.action);
    return (await q).map(toAuditEvent);
  },
};
