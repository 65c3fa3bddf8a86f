/**
 * The one way an activity sends an email or calls a subprocessor: record the intent first, then the side effect, then
 * its completion with the caller's own records, once (docs/reliability.md "Outbox and accepted starts").
 *
 * 1. The intent (`outbox_intents`, keyed by the email's dedupe key or the call's idempotency key) is written before
 *    anything leaves, with the Message-ID every attempt will send.
 * 2. A completed intent is never sent again: a re-run activity answers the first result.
 * 3. An intent without completion (the process died, or the database failed, between the side effect and its record)
 *    is sent again with the SAME Message-ID or idempotency key: the only possible duplicate is that one, and the
 *    receiving side can recognise it (mail clients by Message-ID, subprocessors by key, answering 409).
 * 4. The completion, the caller's records (notice, communication record, receipt) and the audit event commit in one
 *    transaction, and only the first completion runs them: a second attempt that also got an answer writes nothing.
 *
 * Fault points (lib/fault-points.ts): `email.after-accept` between the SMTP server's acceptance and the record,
 * `subprocessor.after-answer` between a subprocessor's answer and its receipt.
 */
import type { Knex } from 'knex';
import { outboxIntents } from '../db/repositories/outbox-intents';
import { faultPoint } from '../lib/fault-points';
import type { Mailer, OutgoingMail } from '../lib/mailer';
import type { SubprocessorClient, SubprocessorEndpoint } from '../lib/subprocessor-client';

/** The Message-ID of the email with dedupe key `key`: derived from it, so every attempt sends the same one. */
export function messageIdFor(key: string): string {
  return `<${key}@data-lifecycle.local>`;
}

/** The audit idempotency key of the event that records outbox intent `key` (one event per fact). */
export function auditKeyFor(action: string, key: string): string {
  return `${action}:${key}`;
}

/** One email owed. */
export interface OutboxEmail {
  /** Dedupe key: one email per key, ever (e.g. `access-ack-<requestId>`). */
  key: string;
  /** What kind of email (the notice kind), kept with the intent. */
  operation: string;
  /** Who receives it, as a kind (`requester`, `contact`, `staff`): never the address. */
  recipient: string;
  mail: Omit<OutgoingMail, 'messageId'>;
  /** Writes that record the sent email (notice, communication record, audit event); run once, with the completion. */
  record: (trx: Knex.Transaction, sent: { messageId: string }) => Promise<void>;
}

/** What a subprocessor answered, as kept with the intent (the receipt). */
export interface OutboxCallReceipt {
  status: number;
  alreadyDone: boolean;
  body: unknown;
  answeredAt: string;
}

/** One subprocessor call owed. */
export interface OutboxCall<R> {
  /** The protocol idempotency key: one effective call per key. */
  key: string;
  subprocessor: SubprocessorEndpoint;
  path: string;
  /** The kind of call, kept with the intent (e.g. `tenant-registration`). */
  operation: string;
  body: unknown;
  /** Writes that keep the receipt (and its audit event); run once, with the completion. Answers the caller's result. */
  record: (trx: Knex.Transaction, receipt: OutboxCallReceipt) => Promise<R>;
  /** The caller's result for a call completed earlier (a re-run), from the kept receipt. */
  recorded: (receipt: OutboxCallReceipt) => Promise<R> | R;
}

/** Builds the outbox of one process from its dependencies (only those it uses). */
export function createOutbox(deps: { db: Knex; mailer?: Mailer; subprocessorClient?: SubprocessorClient }) {
  const { db } = deps;

  return {
    /** Sends `e` once (see the module comment); answers whether it was sent before, and its Message-ID. */
    async sendEmail(e: OutboxEmail): Promise<{ alreadySent: boolean; messageId: string }> {
      if (!deps.mailer) throw new Error('this outbox has no mailer');
      // One statement records the intent (or counts this attempt) and answers whether it was completed before.
      const intent = await outboxIntents.begin(db, {
        key: e.key,
        kind: 'email',
        messageId: messageIdFor(e.key),
        target: e.recipient,
        operation: e.operation,
      });
      if (intent.completedAt) {
        const accepted = intent.result?.messageId;
        return { alreadySent: true, messageId: typeof accepted === 'string' ? accepted : (intent.messageId ?? '') };
      }
      const messageId = intent.messageId ?? messageIdFor(e.key);
      const accepted = await deps.mailer.send({ ...e.mail, messageId });
      await faultPoint('email.after-accept');
      const first = await db.transaction(async (trx) => {
        const completed = await outboxIntents.complete(trx, e.key, {
          messageId: accepted.messageId,
          attempts: intent.attempts,
        });
        if (completed) await e.record(trx, { messageId: accepted.messageId });
        return completed;
      });
      return { alreadySent: !first, messageId: accepted.messageId };
    },

    /**
     * Makes the call `c` once (see the module comment) and answers the caller's result: from this answer, or from the
     * receipt kept by an earlier attempt (a 409 "already done" heard by a later attempt never replaces it).
     * @throws what the subprocessor client throws (the intent stays open; the retry sends the same key).
     */
    async callSubprocessor<R>(c: OutboxCall<R>): Promise<R> {
      if (!deps.subprocessorClient) throw new Error('this outbox has no subprocessor client');
      const intent = await outboxIntents.begin(db, {
        key: c.key,
        kind: 'subprocessor_call',
        target: c.subprocessor.id,
        operation: c.operation,
      });
      if (intent.completedAt) return c.recorded(intent.result as unknown as OutboxCallReceipt);
      const answer = await deps.subprocessorClient.post(c.subprocessor, c.path, c.body, c.key);
      await faultPoint('subprocessor.after-answer');
      const receipt: OutboxCallReceipt = {
        status: answer.status,
        alreadyDone: answer.alreadyDone,
        body: answer.body ?? null,
        answeredAt: new Date().toISOString(),
      };
      const first = await db.transaction(async (trx) => {
        const completed = await outboxIntents.complete(trx, c.key, receipt as unknown as Record<string, unknown>);
        return completed ? { result: await c.record(trx, receipt) } : undefined;
      });
      if (first) return first.result;
      // Another attempt completed it meanwhile: its receipt is the one kept.
      const kept = await outboxIntents.find(db, c.key);
      return c.recorded((kept?.result ?? receipt) as unknown as OutboxCallReceipt);
    },
  };
}

/** The outbox of one process. */
export type Outbox = ReturnType<typeof createOutbox>;
