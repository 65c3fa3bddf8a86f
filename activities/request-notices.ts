/**
 * Emails about a request, sent at most once each: the part every request process shares (access, correction,
 * deletion, termination). Each notice goes through the outbox (activities/outbox.ts) under its dedupe key: the intent
 * is recorded before the email leaves, with a Message-ID derived from the key, so a resend after a crash between
 * sending and recording is the same message and the only possible duplicate. The record of the notice,
 * the caller's own writes (`alsoIn`) and the audit event commit in one transaction; with `communicationKind`, a notice
 * to the customer (not to staff) is also kept as a communication record of the customer.
 */
import type { Knex } from 'knex';
import { accessRequests, type NoticeRecipient } from '../db/repositories/access-requests';
import { auditEvents } from '../db/repositories/audit-events';
import type { Mailer } from '../lib/mailer';
import type { EmailContent } from './email-templates';
import { auditKeyFor, createOutbox } from './outbox';

/** The ids of the request a notice is about (what every workflow step carries). */
export interface NoticeStep {
  requestId: string;
  customerId: string;
  workflowId: string;
}

/** One notice: to whom, what, under which dedupe key, and how it is audited. */
export interface RequestNotice {
  kind: string;
  dedupeKey: string;
  recipient: NoticeRecipient;
  to: string;
  contactId?: string;
  mail: EmailContent;
  /** Audit action, e.g. `access.acknowledged`. */
  action: string;
  /** Who the audit event names; the process's own system actor when absent. */
  actor?: string;
  details?: Record<string, unknown>;
  /** HTML alternative and attachments (the certificate). */
  extra?: Pick<Parameters<Mailer['send']>[0], 'html' | 'attachments'>;
  /** More writes in the same transaction as the record of the notice. */
  alsoIn?: (trx: Knex.Transaction) => Promise<void>;
}

/**
 * The notice helpers of one process. `actor` is the process's system actor (`system:access-request`, ...);
 * `communicationKind` prefixes the kind of the communication records it keeps, when it keeps them.
 */
export function createRequestNotices(
  deps: { db: Knex; mailer: Mailer },
  opts: { actor: string; communicationKind?: string },
) {
  const { db } = deps;
  const outbox = createOutbox(deps);

  /** The customer id for audit events: only a customer that exists gets events in its chain. */
  async function auditCustomer(customerId: string): Promise<string | null> {
    const row = await db<{ id: string }>('customers').where({ id: customerId }).first('id');
    return row ? customerId : null;
  }

  /** Sends `n` once (see the module comment); answers whether it had been sent before, and its Message-ID. */
  async function notify(step: NoticeStep, n: RequestNotice): Promise<{ alreadySent: boolean; messageId: string }> {
    // Notices recorded before the outbox existed have no intent: their record alone says they were sent.
    const sent = await accessRequests.findNotice(db, n.dedupeKey);
    if (sent) return { alreadySent: true, messageId: sent.messageId };
    const customerId = await auditCustomer(step.customerId);
    return outbox.sendEmail({
      key: n.dedupeKey,
      operation: n.kind,
      recipient: n.recipient,
      mail: {
        to: n.to,
        subject: n.mail.subject,
        text: n.mail.text,
        headers: { 'X-Request-Id': step.requestId },
        ...n.extra,
      },
      record: async (trx, { messageId }) => {
        await accessRequests.recordNotice(trx, {
          requestId: step.requestId,
          kind: n.kind,
          recipient: n.recipient,
          contactId: n.contactId,
          dedupeKey: n.dedupeKey,
          messageId,
        });
        if (opts.communicationKind && customerId && n.recipient !== 'staff') {
          await trx('communication_records')
            .insert({
              customer_id: customerId,
              contact_id: n.contactId ?? null,
              channel: 'email',
              direction: 'outbound',
              kind: `${opts.communicationKind}-${n.kind}`,
              subject: n.mail.subject,
              message_id: messageId,
              dedupe_key: n.dedupeKey,
            })
            .onConflict('dedupe_key')
            .ignore();
        }
        await n.alsoIn?.(trx);
        await auditEvents.appendForRequest(
          trx,
          { ...step, customerId },
          {
            actor: n.actor ?? opts.actor,
            action: n.action,
            details: { recipient: n.recipient, contactId: n.contactId ?? null, messageId, ...n.details },
            idempotencyKey: auditKeyFor(n.action, n.dedupeKey),
          },
        );
      },
    });
  }

  /**
   * Tells staff about a request's legal deadline: a reminder before the due date (one per due date and reminder
   * instant) or an escalation once it has passed (one per due date). `process` prefixes the dedupe key and the audit
   * action (`access`, `correction`, `deletion`), so each process keeps its own records.
   */
  async function notifyStaffOfDeadline(
    step: NoticeStep & { dueOn: string; stage: string; reminderAtMs?: number },
    n: { process: string; staffEmail: string; mail: EmailContent },
  ): Promise<void> {
    const reminder = step.reminderAtMs !== undefined;
    await notify(step, {
      kind: reminder ? 'reminder' : 'escalation',
      dedupeKey: reminder
        ? `${n.process}-reminder-${step.requestId}-${step.dueOn}-${step.reminderAtMs}`
        : `${n.process}-escalation-${step.requestId}-${step.dueOn}`,
      recipient: 'staff',
      to: n.staffEmail,
      mail: n.mail,
      action: `${n.process}.${reminder ? 'deadline_reminder_sent' : 'deadline_escalated'}`,
      details: { dueOn: step.dueOn, stage: step.stage },
    });
  }

  return { notify, auditCustomer, notifyStaffOfDeadline };
}
