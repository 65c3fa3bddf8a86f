/**
 * Activities of the erasure workflow (workflows/erasure.ts): thin calls into the erasure engine (db/erasure-engine.ts:
 * records, legal holds, batched deletion with exact checkpoints, verification, the customer record, results), plus
 * what talks to the outside world: deletion requests to subprocessors and escalations to staff.
 *
 * `eraseTables` runs under a lease on the erasure (docs/reliability.md): an attempt that a newer one replaced (paused
 * past its heartbeat timeout) has its next batch refused and fails with `StaleAttemptError`, having deleted nothing,
 * moved no checkpoint and written no audit event since the takeover.
 */
import { Context, log } from '@temporalio/activity';
import type { Knex } from 'knex';
import {
  auditErasure,
  categoriesDeferredNow,
  createErasureEngine,
  erasureFenceKey,
  type CustomerRecordOutcome,
  type EraseCheckpoint,
  type EraseTablesResult,
  type ErasureRef,
  type ErasureSettings,
  type ErasureTestHooks,
  type RetainedRows,
  type VerificationResult,
} from '../db/erasure-engine';
import { deletionRequests } from '../db/repositories/deletion-requests';
import { subprocessors } from '../db/repositories/subprocessors';
import type { AppConfig } from '../lib/config';
import type { DataCategory } from '../lib/pure/data-categories';
import { UnknownSubprocessorError } from '../lib/pure/errors';
import type { Mailer } from '../lib/mailer';
import { STATUTORY_RETENTION_RULES } from '../lib/pure/statutory-rules';
import type { SubprocessorClient } from '../lib/subprocessor-client';
import { claimForThisAttempt } from './attempt-lease';
import type { EmailContent } from './email-templates';
import { auditKeyFor, createOutbox } from './outbox';

// The engine's types, where the workflow and tests found them before the engine moved to db/.
export type {
  CustomerRecordOutcome,
  EraseCheckpoint,
  EraseTablesResult,
  ErasureRef,
  ErasureSettings,
  ErasureTestHooks,
  RetainedRows,
  VerificationResult,
} from '../db/erasure-engine';

/** What the erasure activities need from the outside world. */
export interface ErasureDeps {
  db: Knex;
  mailer: Mailer;
  subprocessorClient: SubprocessorClient;
  config: AppConfig;
  erasureTestHooks?: ErasureTestHooks;
}

/** One subprocessor to tell, and which of the scope's categories it holds. */
export interface SubprocessorTarget {
  subprocessorId: string;
  categories: DataCategory[];
}

export type DeletionRequestOutcome =
  { outcome: 'held'; held: DataCategory[] } | { outcome: 'confirmed'; confirmedAt: string } | { outcome: 'pending' };

/** A subprocessor receipt as the erasure result reports it. */
export interface SubprocessorDeletionReceipt {
  status: 'confirmed' | 'escalated';
  deletionId: string;
  confirmedAt?: string;
}

/** Builds the erasure activities from their dependencies. */
export function createErasureActivities(deps: ErasureDeps) {
  const { db } = deps;
  // Emails and subprocessor calls recorded before they leave, completed once (activities/outbox.ts).
  const outbox = createOutbox(deps);
  const engine = createErasureEngine({
    db,
    exportDir: deps.config.exports.dir,
    maxBatchSize: deps.config.erasure.maxBatchSize,
    parallelSteps: deps.config.erasure.parallelSteps,
    hooks: deps.erasureTestHooks,
  });

  return {
    /**
     * Records the erasure (once) and answers the settings the workflow uses: batch size, confirmation deadline,
     * hold re-check interval and the statutory rules in force.
     */
    async beginErasure(
      input: ErasureRef & {
        categories: DataCategory[];
        policyVersions?: Partial<Record<DataCategory, number>>;
      },
    ): Promise<ErasureSettings> {
      await engine.begin(input);
      const retention: Record<string, string> = {};
      for (const rule of STATUTORY_RETENTION_RULES) {
        const period = deps.config.statutoryRetention[rule.period];
        if (period) retention[rule.id] = period;
      }
      return {
        batchSize: deps.config.erasure.batchSize,
        confirmationTimeoutMs: deps.config.erasure.confirmationTimeoutMs,
        holdRecheckIntervalMs: deps.config.erasure.holdRecheckIntervalMs,
        retention,
      };
    },

    /**
     * Which of `categories` must wait for a legal hold (held, or referenced by held rows), and whether the customer
     * record (termination) must wait (any active hold). Records the erasure as waiting (or running again) in the
     * same transaction, under the hold-change lock, so a release that follows is sure to find and signal it.
     */
    async checkLegalHolds(
      input: ErasureRef & { categories: DataCategory[]; customerRecord: boolean },
    ): Promise<{ deferred: DataCategory[]; customerRecordHeld: boolean }> {
      return engine.checkLegalHolds(input);
    },

    /**
     * Deletes the scope's rows table by table in dependency order (lib/pure/erasure-plan.ts), in batches starting at
     * `batchSize` rows and adapting toward a time budget, each its own short transaction that re-checks the lease and
     * legal holds (db/erasure-engine.ts). Heartbeats `{ stepIndex, stepKey, tables }`; resumes from the checkpoints
     * in the database. With `fromStart`, walks every step of the scope again from the first key (after verification
     * found stragglers), counts adding up.
     */
    async eraseTables(
      input: ErasureRef & {
        categories: DataCategory[];
        batchSize: number;
        retention: Record<string, string>;
        fromStart?: boolean;
        /** Every category of the erasure when `categories` is only the part erased now (default `categories`). */
        scope?: DataCategory[];
      },
    ): Promise<EraseTablesResult> {
      const ctx = Context.current();
      const attempt = ctx.info.attempt;
      const lease = await claimForThisAttempt(db, erasureFenceKey(input.erasureId));
      const previous = ctx.info.heartbeatDetails as EraseCheckpoint | undefined;
      if (previous) {
        log.info('erasure resumes from its checkpoint', {
          erasureId: input.erasureId,
          attempt,
          heartbeatStep: previous.stepKey,
        });
      }
      return engine.eraseTables(input, {
        attempt,
        lease,
        onBatch: (checkpoint) => ctx.heartbeat(checkpoint),
      });
    },

    /** The subprocessors linked to the customer that hold any of `categories`, with the categories each holds. */
    async subprocessorTargets(input: {
      customerId: string;
      categories: DataCategory[];
    }): Promise<SubprocessorTarget[]> {
      const rows = await db('customer_subprocessors as cs')
        .join('subprocessors as s', 's.id', 'cs.subprocessor_id')
        .where('cs.customer_id', input.customerId)
        .orderBy('s.id')
        .select<{ id: string; categories: string[] }[]>('s.id', 's.categories');
      return rows
        .map((r) => ({
          subprocessorId: r.id,
          categories: input.categories.filter((c) => r.categories.includes(c)),
        }))
        .filter((t) => t.categories.length > 0);
    },

    /**
     * Tells one subprocessor to delete the tenant's `categories` (protocol v1, signed, idempotency key
     * `deletion-<deletionId>`), with the callback URL for a later confirmation. Refuses (`held`) when a legal hold
     * now covers any of them and nothing was sent yet. A synchronous `{"status":"deleted"}` confirms at once.
     */
    async requestSubprocessorDeletion(
      input: ErasureRef & { deletionId: string; subprocessorId: string; categories: DataCategory[] },
    ): Promise<DeletionRequestOutcome> {
      const existing = await deletionRequests.findById(db, input.deletionId);
      if (existing?.confirmedAt) return { outcome: 'confirmed', confirmedAt: existing.confirmedAt.toISOString() };
      if (!existing) {
        const { deferred } = await categoriesDeferredNow(db, input.customerId, input.categories);
        if (deferred.length > 0) return { outcome: 'held', held: deferred };
      }
      const sub = await subprocessors.findById(db, input.subprocessorId);
      if (!sub) throw new UnknownSubprocessorError(input.subprocessorId);
      const idempotencyKey = `deletion-${input.deletionId}`;
      await deletionRequests.create(db, {
        id: input.deletionId,
        erasureId: input.erasureId,
        workflowId: input.workflowId,
        customerId: input.customerId,
        subprocessorId: sub.id,
        categories: input.categories,
        idempotencyKey,
      });
      // Read at call time: the public base URL is configuration (tests point it at their API's free port).
      const callbackUrl = `${deps.config.http.publicBaseUrl.replace(/\/+$/, '')}/v1/subprocessor-callbacks/${encodeURIComponent(sub.id)}`;
      // Through the outbox: recorded before the call, completed once; a re-run (or a 409 "already done" heard by a
      // later attempt) keeps the first receipt and writes no second `subprocessor.deletion_requested` event.
      const { status, confirmedAt } = await outbox.callSubprocessor({
        key: idempotencyKey,
        subprocessor: sub,
        path: `/v1/tenants/${encodeURIComponent(input.customerId)}/deletions`,
        operation: 'deletion',
        body: {
          deletionId: input.deletionId,
          categories: input.categories,
          // Protocol v1, optional: only these records of the categories (our ids, as sent in corrections).
          ...(input.records ? { records: input.records } : {}),
          callbackUrl,
        },
        recorded: async (r) => {
          const now = await deletionRequests.findById(db, input.deletionId);
          return { status: r.status, confirmedAt: now?.confirmedAt ?? null };
        },
        record: async (trx, answer) => {
          const answerStatus = (answer.body as { status?: unknown } | null)?.status;
          const receipt = {
            status: answer.status,
            answer: typeof answerStatus === 'string' ? answerStatus : null,
            alreadyDone: answer.alreadyDone,
            idempotencyKey,
            answeredAt: answer.answeredAt,
          };
          await deletionRequests.recordRequestReceipt(trx, input.deletionId, receipt);
          const confirmed =
            answerStatus === 'deleted'
              ? await deletionRequests.confirm(trx, input.deletionId, 'sync', { status: answer.status })
              : undefined;
          await auditErasure(trx, input, {
            action: 'subprocessor.deletion_requested',
            subject: { type: 'subprocessor', id: sub.id },
            details: { deletionId: input.deletionId, categories: input.categories, ...receipt },
            idempotencyKey: auditKeyFor('subprocessor.deletion_requested', idempotencyKey),
          });
          if (confirmed?.newlyConfirmed) {
            await auditErasure(trx, input, {
              action: 'subprocessor.deletion_confirmed',
              subject: { type: 'subprocessor', id: sub.id },
              details: { deletionId: input.deletionId, via: 'sync' },
            });
          }
          return { status: answer.status, confirmedAt: confirmed?.deletion.confirmedAt ?? null };
        },
      });
      log.info('subprocessor deletion requested', {
        customerId: input.customerId,
        subprocessorId: sub.id,
        deletionId: input.deletionId,
        status,
        confirmed: confirmedAt !== null,
      });
      if (confirmedAt) return { outcome: 'confirmed', confirmedAt: confirmedAt.toISOString() };
      // A callback may have confirmed it already (between our insert and this answer).
      const now = await deletionRequests.findById(db, input.deletionId);
      return now?.confirmedAt
        ? { outcome: 'confirmed', confirmedAt: now.confirmedAt.toISOString() }
        : { outcome: 'pending' };
    },

    /**
     * The deadline for a confirmation passed (or the subprocessor refused): emails staff (STAFF_NOTIFICATION_EMAIL)
     * and records the escalation. If the confirmation arrived meanwhile, answers `confirmed` instead.
     */
    async escalateDeletion(
      input: ErasureRef & {
        deletionId: string;
        subprocessorId: string;
        why: 'deadline-passed' | 'refused';
        detail?: string;
      },
    ): Promise<{ status: 'confirmed'; confirmedAt: string } | { status: 'escalated' }> {
      const deletion = await deletionRequests.findById(db, input.deletionId);
      if (deletion?.confirmedAt) return { status: 'confirmed', confirmedAt: deletion.confirmedAt.toISOString() };
      if (deletion?.status === 'escalated') return { status: 'escalated' };
      const sub = await subprocessors.findById(db, input.subprocessorId);
      const mail = deletionEscalationEmail({
        subprocessorId: input.subprocessorId,
        subprocessorName: sub?.name ?? input.subprocessorId,
        deletionId: input.deletionId,
        customerId: input.customerId,
        categories: deletion?.categories ?? [],
        requestedAt: deletion?.requestedAt.toISOString() ?? 'never (the request itself failed)',
        why: input.why,
        detail: input.detail,
        erasureWorkflowId: input.workflowId,
      });
      // Through the outbox: one email per deletion (Message-ID from the deletion id), recorded before it leaves.
      const key = `deletion-escalation-${input.deletionId}`;
      let escalated = false;
      await outbox.sendEmail({
        key,
        operation: 'deletion-escalation',
        recipient: 'staff',
        mail: {
          to: deps.config.accessRequests.staffEmail,
          subject: mail.subject,
          text: mail.text,
          headers: { 'X-Deletion-Id': input.deletionId },
        },
        record: async (trx, { messageId }) => {
          const marked = deletion
            ? await deletionRequests.escalate(trx, input.deletionId, { why: input.why, messageId, to: 'staff' })
            : true;
          if (!marked) return;
          escalated = true;
          await auditErasure(trx, input, {
            action: 'subprocessor.deletion_escalated',
            subject: { type: 'subprocessor', id: input.subprocessorId },
            details: { deletionId: input.deletionId, why: input.why, messageId },
            idempotencyKey: auditKeyFor('subprocessor.deletion_escalated', key),
          });
        },
      });
      if (escalated) return { status: 'escalated' };
      const now = await deletionRequests.findById(db, input.deletionId);
      return now?.confirmedAt
        ? { status: 'confirmed', confirmedAt: now.confirmedAt.toISOString() }
        : { status: 'escalated' };
    },

    /**
     * Counts what is left of the scope: per planned table (rows under statutory retention reported apart), the export
     * archives holding a copy of an erased category (`export_archives`), and any table with `customer_id` and
     * `data_category` that the plan does not know. Verified when nothing is left.
     */
    async verifyErasure(input: ErasureRef & { categories: DataCategory[] }): Promise<VerificationResult> {
      const ctx = Context.current();
      return engine.verify(input, (table) => ctx.heartbeat(table));
    },

    /**
     * Termination only: removes the customer record and its subprocessor links once nothing else of the customer
     * remains; keeps the record (status terminated, with `retain_until`; links removed) while records under statutory
     * retention need their counterparty; keeps it while rows of categories outside the scope remain (deleting it
     * would cascade into them); waits (`held`) while any legal hold is active.
     */
    async closeCustomerRecord(input: ErasureRef): Promise<CustomerRecordOutcome> {
      return engine.closeCustomerRecord(input);
    },

    /** Records the results on the erasure and in the audit log (per-table counts, retained rows, receipts). */
    async completeErasure(
      input: ErasureRef & {
        categories: DataCategory[];
        extraTables: Record<string, number>;
        retained: Record<string, RetainedRows>;
        subprocessors: Record<string, SubprocessorDeletionReceipt>;
        verified: boolean;
        policyVersions?: Partial<Record<DataCategory, number>>;
      },
    ): Promise<{ tables: Record<string, number> }> {
      return engine.complete(input);
    },
  };
}

/**
 * Sent to staff (STAFF_NOTIFICATION_EMAIL) when a subprocessor did not confirm a deletion by its deadline or refused
 * it. Names ids only: whoever follows up looks the customer up in the service.
 */
export function deletionEscalationEmail(p: {
  subprocessorId: string;
  subprocessorName: string;
  deletionId: string;
  customerId: string;
  categories: string[];
  requestedAt: string;
  why: 'deadline-passed' | 'refused';
  detail?: string;
  erasureWorkflowId: string;
}): EmailContent {
  const what =
    p.why === 'deadline-passed'
      ? 'has not confirmed the deletion below by its deadline'
      : 'refused the deletion request below';
  return {
    subject: `Action needed: ${p.subprocessorName} ${p.why === 'deadline-passed' ? 'did not confirm' : 'refused'} a deletion`,
    text: [
      `The subprocessor ${p.subprocessorName} (${p.subprocessorId}) ${what}.`,
      '',
      `Deletion id:      ${p.deletionId}`,
      `Customer (tenant): ${p.customerId}`,
      `Categories:       ${p.categories.join(', ') || '(unknown)'}`,
      `Requested at:     ${p.requestedAt}`,
      `Erasure workflow: ${p.erasureWorkflowId}`,
      ...(p.detail ? ['', `Answer: ${p.detail}`] : []),
      '',
      'GDPR Art. 19 and the contract require the deletion at every recipient. Please follow up with the',
      'subprocessor and record the outcome; a late confirmation through the callback is still recorded.',
    ].join('\n'),
  };
}

/** The erasure workflow's activities. */
export type ErasureActivities = ReturnType<typeof createErasureActivities>;
