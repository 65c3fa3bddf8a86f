/**
 * Activities of the correction process (workflows/correction.ts): notices to the requester, registered contacts and
 * staff; the identity check and verification link; the decision record; the apply (one transaction, optimistic
 * concurrency, re-validation); the propagation to subprocessors with one receipt each; the waiver; the completion.
 *
 * Every activity is idempotent: notices are keyed (`request_notifications.dedupe_key`, Message-ID derived from it),
 * state changes move only from the states they expect, outbound calls carry one idempotency key per subprocessor and
 * request. Each writes its audit event in the same transaction as its change; audit details carry ids, kinds and
 * hashes, never a value, an address or a reason's text.
 */
import { createHash } from 'node:crypto';
import { log } from '@temporalio/activity';
import type { Knex } from 'knex';
import { canonicalize } from 'json-canonicalize';
import { accessRequests } from '../db/repositories/access-requests';
import { reasonText } from '../db/repositories/request-texts';
import { auditEvents } from '../db/repositories/audit-events';
import { corrections, type CorrectionChange } from '../db/repositories/corrections';
import { contacts } from '../db/repositories/contacts';
import { issueVerificationLink, recordVerifiedIdentity } from './identity-verification';
import { lifecycleRequests } from '../db/repositories/lifecycle-requests';
import { publicLinks } from '../db/repositories/public-links';
import { subprocessors } from '../db/repositories/subprocessors';
import type { AppConfig } from '../lib/config';
import {
  planCorrection,
  valueHash,
  type ChangeRequest,
  type CorrectionSnapshot,
  type PlannedChange,
} from '../lib/correction-plan';
import type { CorrectionChangeState } from '../lib/pure/correction-messages';
import {
  RequestNotFoundError,
  SubprocessorRejectedError,
  SubprocessorUnavailableError,
  UnknownSubprocessorError,
} from '../lib/pure/errors';
import type { Mailer } from '../lib/mailer';
import { CorrectionRequestPayload } from '../lib/schemas/correction';
import type { SubprocessorClient } from '../lib/subprocessor-client';
import {
  correctionAcknowledgementEmail,
  correctionClosedUnverifiedEmail,
  correctionExtensionEmail,
  correctionOutcomeEmail,
  correctionRefusalEmail,
  correctionVerificationEmail,
  emailChangedNewAddressEmail,
  emailChangedOldAddressEmail,
  staffApprovalNeededEmail,
  staffCorrectionOverdueEmail,
  staffCorrectionReminderEmail,
  staffReceiptEscalationEmail,
} from './correction-emails';
import { auditKeyFor, createOutbox } from './outbox';
import { createRequestNotices } from './request-notices';

/** What the correction activities need. */
export interface CorrectionDeps {
  db: Knex;
  mailer: Mailer;
  subprocessorClient: SubprocessorClient;
  config: Pick<AppConfig, 'http' | 'accessRequests' | 'links'>;
}

/** Ids every activity of one request gets. */
export interface CorrectionStep {
  requestId: string;
  customerId: string;
  workflowId: string;
  /** The day the request was received, in the regime's zone (for the wording of notices). */
  receivedOn: string;
}

/** How one change ended up after the apply. */
export interface AppliedChange {
  changeId: string;
  state: CorrectionChangeState;
  rule?: string;
}

/** The system actor of the automatic steps. */
const ACTOR = 'system:correction';

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');

/** Path of the protocol v1 correction call. */
export const correctionPath = (tenantId: string) => `/v1/tenants/${encodeURIComponent(tenantId)}/corrections`;

/** The idempotency key of the correction call of a request to a subprocessor: the same on every attempt. */
export const correctionIdempotencyKey = (requestId: string, subprocessorId: string) =>
  `correction-${requestId}-${subprocessorId}`;

/** The stored change as the planner's input. */
function requestOf(c: CorrectionChange): ChangeRequest {
  return { index: c.position, kind: c.kind, targetId: c.targetId, value: c.newValue };
}

/** Builds the correction activities. */
export function createCorrectionActivities(deps: CorrectionDeps) {
  const { db, config } = deps;

  // Emails sent once each, recorded and audited with the writes they go with (activities/request-notices.ts).
  const { notify, auditCustomer, notifyStaffOfDeadline } = createRequestNotices(deps, {
    actor: ACTOR,
    communicationKind: 'correction',
  });
  // Subprocessor calls recorded before they leave, completed once (activities/outbox.ts).
  const outbox = createOutbox(deps);

  /** The address named in the request, while the request still keeps it. */
  async function requesterAddress(requestId: string): Promise<string | undefined> {
    const request = await lifecycleRequests.findById(db, requestId);
    if (!request) throw new RequestNotFoundError(requestId);
    const parsed = CorrectionRequestPayload.safeParse(request.payload);
    return parsed.success ? parsed.data.requesterEmail : undefined;
  }

  const contactOf = (customerId: string, contactId: string) => contacts.withCompany(db, customerId, contactId);

  /** Records a change of state of some changes with one audit event. */
  async function moveChanges(
    step: CorrectionStep,
    trx: Knex.Transaction,
    changeIds: string[],
    state: CorrectionChangeState,
    from: CorrectionChangeState[],
    action: string,
    extra: { rule?: string; actor?: string; details?: Record<string, unknown> } = {},
  ): Promise<void> {
    const moved = await corrections.setState(trx, changeIds, state, { from, rule: extra.rule });
    if (moved === 0) return; // recorded already by an earlier attempt
    await auditEvents.append(trx, {
      actor: extra.actor ?? ACTOR,
      action,
      subjectType: 'lifecycle_request',
      subjectId: step.requestId,
      customerId: await auditCustomer(step.customerId),
      requestId: step.requestId,
      workflowId: step.workflowId,
      details: { changeIds, state, ...(extra.rule ? { rule: extra.rule } : {}), ...extra.details },
    });
  }

  /** Closes a request that ends without applying anything (refused, unverified). */
  async function close(
    trx: Knex.Transaction,
    step: CorrectionStep,
    c: { status: 'completed' | 'cancelled'; stage: string; reason: string; rule: string; result: string },
  ): Promise<void> {
    const pending = (await corrections.changes(trx, step.requestId))
      .filter((ch) => ch.state === 'pending')
      .map((ch) => ch.id);
    await corrections.setState(trx, pending, 'rejected', { from: ['pending'], rule: c.rule });
    await accessRequests.close(trx, step.requestId, {
      status: c.status,
      stage: c.stage,
      reason: c.reason,
      outcome: { result: c.result, rule: c.rule },
    });
  }

  return {
    /** Confirms receipt to the address the request came from (discloses nothing: see the email). */
    async sendCorrectionAcknowledgement(step: CorrectionStep): Promise<void> {
      const to = await requesterAddress(step.requestId);
      if (!to) return;
      await notify(step, {
        kind: 'acknowledgement',
        dedupeKey: `correction-ack-${step.requestId}`,
        recipient: 'requester',
        to,
        mail: correctionAcknowledgementEmail(step),
        action: 'correction.acknowledged',
      });
    },

    /** Whether the requester's address is a registered contact of the customer (ids and a flag only). */
    async checkCorrectionRequester(step: CorrectionStep): Promise<{ registered: boolean; contactId?: string }> {
      const email = await requesterAddress(step.requestId);
      if (!email) return { registered: false };
      const contactId = await contacts.registeredContactId(db, step.customerId, email);
      return contactId ? { registered: true, contactId } : { registered: false };
    },

    /**
     * Records the single-use verification link and emails it to the contact's registered address, read here from the
     * contacts table: never an address the request introduces.
     */
    async sendCorrectionVerification(
      step: CorrectionStep & { contactId: string; linkId: string; expiresAtMs: number },
    ): Promise<void> {
      const contact = await contactOf(step.customerId, step.contactId);
      if (!contact) throw new RequestNotFoundError(step.requestId);
      const changes = await corrections.changes(db, step.requestId);
      const link = await issueVerificationLink(db, config, step);
      await notify(step, {
        kind: 'verification',
        dedupeKey: `correction-verify-${step.requestId}-${step.linkId}`,
        recipient: 'contact',
        contactId: step.contactId,
        to: contact.email,
        mail: correctionVerificationEmail({
          requestId: step.requestId,
          contactName: contact.name,
          companyName: contact.companyName,
          link,
          expiresAtMs: step.expiresAtMs,
          changes: changes.length,
        }),
        action: 'correction.verification_sent',
        details: { linkId: step.linkId, expiresAt: new Date(step.expiresAtMs).toISOString() },
        alsoIn: (trx) => lifecycleRequests.setStage(trx, step.requestId, 'awaiting-verification'),
      });
    },

    /** Refuses a request whose address is not a registered contact; nothing is changed. */
    async refuseCorrectionRequest(step: CorrectionStep): Promise<void> {
      const to = await requesterAddress(step.requestId);
      if (!to) return; // already closed
      await notify(step, {
        kind: 'refusal',
        dedupeKey: `correction-refusal-${step.requestId}`,
        recipient: 'requester',
        to,
        mail: correctionRefusalEmail(step),
        action: 'correction.refused',
        details: { rule: 'requester_not_registered_contact' },
        alsoIn: (trx) =>
          close(trx, step, {
            status: 'completed',
            stage: 'refused',
            reason: 'the requester is not a registered contact of the customer',
            rule: 'requester_not_registered_contact',
            result: 'refused',
          }),
      });
    },

    /** Closes a request whose identity was not confirmed in time: the requester is told, the link revoked. */
    async closeUnverifiedCorrectionRequest(step: CorrectionStep & { waitedMs: number }): Promise<void> {
      const to = await requesterAddress(step.requestId);
      if (!to) return; // already closed
      await notify(step, {
        kind: 'closed-unverified',
        dedupeKey: `correction-closed-${step.requestId}`,
        recipient: 'requester',
        to,
        mail: correctionClosedUnverifiedEmail(step),
        action: 'correction.closed_unverified',
        details: { rule: 'identity_not_confirmed', waitedMs: step.waitedMs },
        alsoIn: async (trx) => {
          await publicLinks.revokeUnused(trx, step.requestId, 'verify');
          await close(trx, step, {
            status: 'cancelled',
            stage: 'closed-unverified',
            reason: `identity not confirmed within ${Math.round(step.waitedMs / 1000)} s of the verification email`,
            rule: 'identity_not_confirmed',
            result: 'closed_unverified',
          });
        },
      });
    },

    /** Records the confirmed identity; the requester's address is dropped from the request. */
    async recordCorrectionIdentityVerified(
      step: CorrectionStep & {
        contactId: string;
        linkId: string;
        verifiedOn: string;
        dueOn: string;
        clockStartedOn: string | null;
      },
    ): Promise<void> {
      await recordVerifiedIdentity(db, step, {
        actor: ACTOR,
        action: 'correction.identity_verified',
        auditCustomerId: await auditCustomer(step.customerId),
      });
    },

    /** Records a granted extension and tells the requester (the verified contact once known), with the reason. */
    async recordCorrectionExtension(
      input: CorrectionStep & {
        previousDueOn: string;
        dueOn: string;
        reason?: string;
        reasonId?: string;
        actor: string;
        contactId?: string;
      },
    ): Promise<void> {
      // The reason's words come from the database by id (free text never travels in a Temporal payload).
      const step = { ...input, reason: await reasonText(db, input.requestId, input) };
      const contact = step.contactId ? await contactOf(step.customerId, step.contactId) : undefined;
      const to = contact?.email ?? (await requesterAddress(step.requestId));
      const record = async (trx: Knex.Transaction) => {
        await accessRequests.insertExtension(trx, {
          requestId: step.requestId,
          actor: step.actor,
          reason: step.reason,
          previousDueOn: step.previousDueOn,
          dueOn: step.dueOn,
        });
        await accessRequests.setDueOn(trx, step.requestId, step.dueOn);
      };
      const details = { previousDueOn: step.previousDueOn, dueOn: step.dueOn, reasonSha256: sha256(step.reason) };
      if (!to) {
        await db.transaction(record);
        return;
      }
      await notify(step, {
        kind: 'extension',
        dedupeKey: `correction-extension-${step.requestId}`,
        recipient: contact ? 'contact' : 'requester',
        contactId: contact ? step.contactId : undefined,
        to,
        mail: correctionExtensionEmail(step),
        action: 'correction.deadline_extended',
        actor: step.actor,
        details,
        alsoIn: record,
      });
    },

    /** Reminds staff that the due date approaches (one email per due date and reminder instant). */
    async sendCorrectionDeadlineReminder(
      step: CorrectionStep & { dueOn: string; stage: string; reminderAtMs: number },
    ): Promise<void> {
      await notifyStaffOfDeadline(step, {
        process: 'correction',
        staffEmail: config.accessRequests.staffEmail,
        mail: staffCorrectionReminderEmail(step),
      });
    },

    /** Tells staff that the due date has passed without an answer. */
    async escalateOverdueCorrectionRequest(step: CorrectionStep & { dueOn: string; stage: string }): Promise<void> {
      await notifyStaffOfDeadline(step, {
        process: 'correction',
        staffEmail: config.accessRequests.staffEmail,
        mail: staffCorrectionOverdueEmail(step),
      });
    },

    /** Marks the sensitive changes as waiting for a decision and tells staff a privacy officer is needed. */
    async awaitCorrectionApproval(step: CorrectionStep & { changeIds: string[] }): Promise<void> {
      await notify(step, {
        kind: 'approval-needed',
        dedupeKey: `correction-approval-${step.requestId}`,
        recipient: 'staff',
        to: config.accessRequests.staffEmail,
        mail: staffApprovalNeededEmail({ ...step, changes: step.changeIds.length }),
        action: 'correction.approval_requested',
        details: { changeIds: step.changeIds },
        alsoIn: async (trx) => {
          await corrections.setState(trx, step.changeIds, 'awaiting_approval', { from: ['pending'] });
          await lifecycleRequests.setStage(trx, step.requestId, 'awaiting-approval');
        },
      });
    },

    /** Records the privacy officer's decision (or that none came in time) on the sensitive changes. */
    async recordCorrectionDecision(
      step: CorrectionStep & { decision: 'approved' | 'rejected' | 'expired'; actor?: string; changeIds: string[] },
    ): Promise<void> {
      await db.transaction(async (trx) => {
        const approved = step.decision === 'approved';
        await moveChanges(
          step,
          trx,
          step.changeIds,
          approved ? 'approved' : 'rejected',
          ['awaiting_approval'],
          `correction.${step.decision}`,
          {
            rule: approved ? undefined : step.decision === 'rejected' ? 'approval_rejected' : 'no_decision_in_time',
            actor: step.actor,
          },
        );
        await accessRequests.mergeOutcome(trx, step.requestId, {
          decision: { decision: step.decision, actor: step.actor ?? null },
        });
      });
    },

    /**
     * Applies the pending and approved changes in one transaction. The target rows are locked and their versions
     * compared with those seen at validation; when one differs, every change is re-validated against the rows as they
     * are now (lib/correction-plan.ts): a field changed meanwhile is not overwritten (`conflict`), a change that broke
     * a rule meanwhile is not made (`invalid`), one whose value is now current is `unchanged`; the rest is applied,
     * touching only the corrected columns so no concurrent edit of another column is lost.
     * A retry after the commit finds nothing left to apply and answers the recorded states.
     */
    async applyCorrection(
      step: CorrectionStep,
    ): Promise<{ changes: AppliedChange[]; revalidated: boolean; categories: string[] }> {
      const customerId = await auditCustomer(step.customerId);
      const revalidated = await db.transaction(async (trx) => {
        const all = await corrections.changes(trx, step.requestId);
        const toApply = all.filter((c) => c.state === 'pending' || c.state === 'approved');
        if (toApply.length === 0) return undefined;
        const registrationNumbers = toApply
          .filter((c) => c.kind === 'company.registrationNumber')
          .map((c) => c.newValue as string);
        const snapshot = await corrections.snapshot(trx, step.customerId, registrationNumbers, { lock: true });
        if (!snapshot) {
          await moveChanges(
            step,
            trx,
            toApply.map((c) => c.id),
            'invalid',
            ['pending', 'approved'],
            'correction.changes_not_applied',
            { rule: 'customer_not_found' },
          );
          return false;
        }
        const stale = toApply.some((c) => c.rowVersion !== null && c.rowVersion !== versionOf(snapshot, c));
        const outcomes = new Map<string, { state: CorrectionChangeState; rule: string }>();
        let candidates = toApply;
        let planned: PlannedChange[];
        for (;;) {
          const plan = planCorrection(snapshot, candidates.map(requestOf));
          const dropped = new Map<number, { state: CorrectionChangeState; rule: string }>();
          for (const e of plan.errors)
            if (!dropped.has(e.index)) dropped.set(e.index, { state: 'invalid', rule: e.rule });
          for (const p of plan.planned) {
            const change = candidates.find((c) => c.position === p.index)!;
            if (dropped.has(p.index)) continue;
            if (p.unchanged) dropped.set(p.index, { state: 'unchanged', rule: 'already_current' });
            else if (change.kind !== 'contact.add' && valueHash(change.id, p.oldValue) !== change.beforeSha256)
              dropped.set(p.index, { state: 'conflict', rule: 'changed_since_validation' });
            else if (p.sensitive && change.state !== 'approved')
              dropped.set(p.index, { state: 'conflict', rule: 'needs_approval' });
          }
          if (dropped.size === 0) {
            planned = plan.planned;
            break;
          }
          for (const c of candidates) {
            const d = dropped.get(c.position);
            if (d) outcomes.set(c.id, d);
          }
          candidates = candidates.filter((c) => !dropped.has(c.position));
        }

        for (const p of planned) {
          const change = candidates.find((c) => c.position === p.index)!;
          await write(trx, step.customerId, change, p.value);
          const after = p.kind === 'contact.remove' ? null : p.value;
          await corrections.setState(trx, [change.id], 'applied', { from: ['pending', 'approved'], applied: true });
          if (stale)
            await corrections.rebase(trx, change.id, versionOf(snapshot, change), valueHash(change.id, p.oldValue));
          await auditEvents.appendForRequest(
            trx,
            { ...step, customerId },
            {
              actor: ACTOR,
              action: 'correction.change_applied',
              subject: {
                type:
                  p.targetTable === 'customers'
                    ? 'customer'
                    : p.targetTable === 'contacts'
                      ? 'contact'
                      : 'seller_account',
                id: p.targetId,
              },
              details: {
                changeId: change.id,
                kind: p.kind,
                column: p.column,
                beforeSha256: valueHash(change.id, p.kind === 'contact.add' ? null : p.oldValue),
                afterSha256: valueHash(change.id, after),
                revalidated: stale,
              },
            },
          );
        }
        for (const [changeId, outcome] of outcomes) {
          await moveChanges(
            step,
            trx,
            [changeId],
            outcome.state,
            ['pending', 'approved'],
            'correction.change_not_applied',
            {
              rule: outcome.rule,
              details: { revalidated: stale },
            },
          );
        }
        await accessRequests.mergeOutcome(trx, step.requestId, { revalidated: stale });
        await lifecycleRequests.setStage(trx, step.requestId, 'applied');
        return stale;
      });

      const all = await corrections.changes(db, step.requestId);
      const request = await lifecycleRequests.findById(db, step.requestId);
      const categories = [...new Set(all.filter((c) => c.state === 'applied').map((c) => c.dataCategory))].sort();
      if (revalidated) log.info('correction re-validated before apply', { requestId: step.requestId });
      return {
        changes: all.map((c) => ({ changeId: c.id, state: c.state, ...(c.stateRule ? { rule: c.stateRule } : {}) })),
        revalidated: revalidated ?? Boolean(request?.outcome?.revalidated),
        categories,
      };
    },

    /**
     * Tells the requester the outcome, and, for every applied change of a contact's email, both the old and the new
     * address. The old address is then no longer kept.
     */
    async notifyCorrectionOutcome(
      step: CorrectionStep & { contactId: string; decision: string | null; rejectionReason?: string },
    ): Promise<void> {
      const changes = await corrections.changes(db, step.requestId);
      const recipients = await recipientsOf(step.customerId, [
        ...new Set(changes.filter((c) => c.state === 'applied').map((c) => c.dataCategory)),
      ]);
      const customer = await db<{ id: string; company_name: string }>('customers')
        .where({ id: step.customerId })
        .first('company_name');
      const companyName = customer?.company_name ?? '';

      for (const change of changes.filter((c) => c.kind === 'contact.email' && c.state === 'applied')) {
        const contact = await contactOf(step.customerId, change.targetId);
        const oldAddress = typeof change.previousValue === 'string' ? change.previousValue : undefined;
        if (contact && oldAddress) {
          await notify(step, {
            kind: 'email-changed-old-address',
            dedupeKey: `correction-email-old-${change.id}`,
            recipient: 'contact',
            contactId: change.targetId,
            to: oldAddress,
            mail: emailChangedOldAddressEmail({ requestId: step.requestId, contactName: contact.name, companyName }),
            action: 'correction.email_change_notified',
            details: { changeId: change.id, address: 'old' },
          });
        }
        if (contact) {
          await notify(step, {
            kind: 'email-changed-new-address',
            dedupeKey: `correction-email-new-${change.id}`,
            recipient: 'contact',
            contactId: change.targetId,
            to: contact.email,
            mail: emailChangedNewAddressEmail({ requestId: step.requestId, contactName: contact.name, companyName }),
            action: 'correction.email_change_notified',
            details: { changeId: change.id, address: 'new' },
          });
        }
      }

      // The requester is the verified contact; if this request removed it, the primary contact is told instead.
      const requester =
        (await contactOf(step.customerId, step.contactId)) ??
        (await db('contacts as c')
          .join('customers as k', 'k.id', 'c.customer_id')
          .where({ 'c.customer_id': step.customerId, 'c.role': 'primary' })
          .first('c.id as id', 'c.email as email', 'c.name as name', 'k.company_name as companyName'));
      if (requester) {
        const requesterId = (requester as { id?: string }).id ?? step.contactId;
        await notify(step, {
          kind: 'outcome',
          dedupeKey: `correction-outcome-${step.requestId}`,
          recipient: 'contact',
          contactId: requesterId,
          to: requester.email,
          mail: correctionOutcomeEmail({
            requestId: step.requestId,
            contactName: requester.name,
            companyName: requester.companyName,
            changes: changes.map((c) => ({ index: c.position, kind: c.kind, state: c.state })),
            rejectionReason: step.rejectionReason,
            recipients: recipients.map((r) => r.name),
          }),
          action: 'correction.outcome_sent',
          details: {
            decision: step.decision,
            applied: changes.filter((c) => c.state === 'applied').length,
            recipients: recipients.map((r) => r.subprocessorId),
          },
          alsoIn: (trx) => lifecycleRequests.setStage(trx, step.requestId, 'notified'),
        });
      }
      await corrections.clearPreviousValues(db, step.requestId);
    },

    /** The active subprocessors of the customer holding one of `categories`, each with a receipt to collect. */
    async listCorrectionRecipients(
      step: CorrectionStep & { categories: string[] },
    ): Promise<{ subprocessorId: string; categories: string[] }[]> {
      const recipients = await recipientsOf(step.customerId, step.categories);
      await db.transaction(async (trx) => {
        for (const r of recipients)
          await corrections.ensureReceipt(trx, {
            requestId: step.requestId,
            subprocessorId: r.subprocessorId,
            customerId: step.customerId,
            categories: r.categories,
            idempotencyKey: correctionIdempotencyKey(step.requestId, r.subprocessorId),
          });
        await lifecycleRequests.setStage(trx, step.requestId, 'propagating');
      });
      return recipients.map(({ subprocessorId, categories }) => ({ subprocessorId, categories }));
    },

    /**
     * Sends the correction to one subprocessor (protocol v1, signed, one idempotency key per request and subprocessor)
     * with the applied changes of the categories it holds, read from the database. The attempt is counted before the
     * call leaves; a 409 "already done" keeps the original receipt.
     * @throws SubprocessorUnavailableError (retried with backoff) or SubprocessorRejectedError (permanent).
     */
    async propagateCorrection(
      step: CorrectionStep & { subprocessorId: string },
    ): Promise<{ status: 'delivered' | 'waived'; alreadyDone: boolean }> {
      const receipt = await corrections.receipt(db, step.requestId, step.subprocessorId);
      if (!receipt) throw new RequestNotFoundError(step.requestId);
      if (receipt.status === 'delivered') return { status: 'delivered', alreadyDone: Boolean(receipt.alreadyDone) };
      if (receipt.status === 'waived') return { status: 'waived', alreadyDone: false };
      const sub = await subprocessors.findById(db, step.subprocessorId);
      if (!sub) throw new UnknownSubprocessorError(step.subprocessorId);
      const changes = (await corrections.changes(db, step.requestId)).filter(
        (c) => c.state === 'applied' && receipt.categories.includes(c.dataCategory),
      );
      const body = { correctionId: step.requestId, tenantId: step.customerId, fields: protocolFields(changes) };
      await corrections.countAttempt(db, step.requestId, step.subprocessorId);
      const customerId = await auditCustomer(step.customerId);
      let answer: { status: number; alreadyDone: boolean };
      try {
        answer = await outbox.callSubprocessor({
          key: receipt.idempotencyKey,
          subprocessor: sub,
          path: correctionPath(step.customerId),
          operation: 'correction',
          body,
          // Completed earlier: the receipt row says what was answered first (a later 409 never replaces it).
          recorded: async (r) => {
            const kept = await corrections.receipt(db, step.requestId, step.subprocessorId);
            return { status: kept?.httpStatus ?? r.status, alreadyDone: Boolean(kept?.alreadyDone ?? r.alreadyDone) };
          },
          record: async (trx, r) => {
            const marked = await corrections.markDelivered(trx, step.requestId, step.subprocessorId, {
              httpStatus: r.status,
              alreadyDone: r.alreadyDone,
            });
            if (!marked) return { status: r.status, alreadyDone: r.alreadyDone };
            await auditEvents.appendForRequest(
              trx,
              { ...step, customerId },
              {
                actor: ACTOR,
                action: 'correction.receipt_received',
                subject: { type: 'subprocessor', id: step.subprocessorId },
                details: {
                  status: r.status,
                  alreadyDone: r.alreadyDone,
                  idempotencyKey: receipt.idempotencyKey,
                  changeIds: changes.map((c) => c.id),
                  bodySha256: sha256(canonicalize(body)),
                },
                idempotencyKey: auditKeyFor('correction.receipt_received', receipt.idempotencyKey),
              },
            );
            return { status: r.status, alreadyDone: r.alreadyDone };
          },
        });
      } catch (err) {
        if (err instanceof SubprocessorRejectedError || err instanceof SubprocessorUnavailableError) {
          const reason =
            err instanceof SubprocessorRejectedError ? `HTTP ${err.status}` : err.message.replace(/:.*$/s, '');
          await corrections.recordFailure(
            db,
            step.requestId,
            step.subprocessorId,
            reason,
            err instanceof SubprocessorRejectedError,
          );
        }
        throw err;
      }
      log.info('correction delivered to subprocessor', {
        requestId: step.requestId,
        subprocessorId: step.subprocessorId,
        status: answer.status,
      });
      return { status: 'delivered', alreadyDone: answer.alreadyDone };
    },

    /** Tells staff that a subprocessor keeps failing (or refused) to take the correction. */
    async escalateCorrectionReceipt(
      step: CorrectionStep & { subprocessorId: string; cause: 'keeps_failing' | 'rejected' },
    ): Promise<void> {
      const receipt = await corrections.receipt(db, step.requestId, step.subprocessorId);
      await notify(step, {
        kind: 'receipt-escalation',
        dedupeKey: `correction-receipt-escalation-${step.requestId}-${step.subprocessorId}`,
        recipient: 'staff',
        to: config.accessRequests.staffEmail,
        mail: staffReceiptEscalationEmail({
          ...step,
          attempts: receipt?.attempts ?? 0,
          lastError: receipt?.lastError ?? null,
        }),
        action: 'correction.receipt_escalated',
        details: { subprocessorId: step.subprocessorId, cause: step.cause, attempts: receipt?.attempts ?? 0 },
        alsoIn: (trx) => corrections.markEscalated(trx, step.requestId, step.subprocessorId),
      });
    },

    /** Records a privacy officer's waiver of a receipt not (yet) in; answers what the receipt is now. */
    async recordCorrectionReceiptWaived(
      input: CorrectionStep & { subprocessorId: string; reason?: string; reasonId?: string; actor: string },
    ): Promise<{ status: 'waived' | 'delivered' }> {
      // The reason's words come from the database by id (free text never travels in a Temporal payload).
      const step = { ...input, reason: await reasonText(db, input.requestId, input) };
      const customerId = await auditCustomer(step.customerId);
      return db.transaction(async (trx) => {
        const waived = await corrections.waive(trx, step.requestId, step.subprocessorId, step.actor, step.reason);
        const receipt = await corrections.receipt(trx, step.requestId, step.subprocessorId);
        if (!waived) return { status: receipt?.status === 'delivered' ? 'delivered' : 'waived' };
        await auditEvents.appendForRequest(
          trx,
          { ...step, customerId },
          {
            actor: step.actor,
            action: 'correction.receipt_waived',
            subject: { type: 'subprocessor', id: step.subprocessorId },
            details: { reasonSha256: sha256(step.reason), attempts: receipt?.attempts ?? 0 },
          },
        );
        return { status: 'waived' };
      });
    },

    /** Completes the request with its evidence: each change's state, the decision, each receipt. */
    async completeCorrectionRequest(step: CorrectionStep & { respondedOn: string }): Promise<void> {
      const request = await lifecycleRequests.findById(db, step.requestId);
      if (!request) throw new RequestNotFoundError(step.requestId);
      if (request.status === 'completed') return;
      const changes = await corrections.changes(db, step.requestId);
      const receipts = await corrections.receipts(db, step.requestId);
      const applied = changes.filter((c) => c.state === 'applied').length;
      const customerId = await auditCustomer(step.customerId);
      await db.transaction(async (trx) => {
        await lifecycleRequests.complete(trx, step.requestId, {
          ...(request.outcome ?? {}),
          result: applied > 0 ? 'corrected' : 'nothing_applied',
          respondedOn: step.respondedOn,
          changes: changes.map((c) => ({
            changeId: c.id,
            index: c.position,
            change: c.kind,
            sensitive: c.sensitive,
            state: c.state,
            ...(c.stateRule ? { rule: c.stateRule } : {}),
          })),
          receipts: receipts.map((r) => ({
            subprocessorId: r.subprocessorId,
            categories: r.categories,
            status: r.status,
            httpStatus: r.httpStatus,
            alreadyDone: r.alreadyDone,
            attempts: r.attempts,
            idempotencyKey: r.idempotencyKey,
            escalated: r.escalatedAt !== null,
            answeredAt: r.answeredAt,
            waivedBy: r.waivedBy,
            waivedAt: r.waivedAt,
          })),
        });
        await auditEvents.appendForRequest(
          trx,
          { ...step, customerId },
          {
            actor: ACTOR,
            action: 'correction.completed',
            details: {
              applied,
              receipts: Object.fromEntries(receipts.map((r) => [r.subprocessorId, r.status])),
              respondedOn: step.respondedOn,
              dueOn: request.dueOn,
            },
          },
        );
      });
    },
  };

  /** Active subprocessors of the customer that hold one of `categories`, with the categories they hold of those. */
  async function recipientsOf(
    customerId: string,
    categories: string[],
  ): Promise<{ subprocessorId: string; name: string; categories: string[] }[]> {
    if (categories.length === 0) return [];
    const rows = await db('customer_subprocessors as cs')
      .join('subprocessors as s', 's.id', 'cs.subprocessor_id')
      .where({ 'cs.customer_id': customerId, 's.active': true })
      .whereRaw('s.categories && ?::text[]', [categories])
      .orderBy('s.id')
      .select<{ id: string; name: string; categories: string[] }[]>('s.id', 's.name', 's.categories');
    return rows.map((r) => ({
      subprocessorId: r.id,
      name: r.name,
      categories: r.categories.filter((c) => categories.includes(c)).sort(),
    }));
  }
}

/** The version the snapshot holds of a change's target row (undefined for a contact that does not exist). */
function versionOf(snapshot: CorrectionSnapshot, c: CorrectionChange): string | null {
  if (c.targetTable === 'customers') return snapshot.customer.version;
  if (c.targetTable === 'contacts') return snapshot.contacts.find((x) => x.id === c.targetId)?.version ?? null;
  return snapshot.sellerAccounts.find((x) => x.id === c.targetId)?.version ?? null;
}

/** Writes one change (only its own column; a new contact as a new row; a removed contact deleted). */
async function write(trx: Knex.Transaction, customerId: string, c: CorrectionChange, value: unknown): Promise<void> {
  if (c.kind === 'contact.add') {
    const v = value as { name: string; email: string; phone: string | null; role: string };
    await trx('contacts')
      .insert({ id: c.targetId, customer_id: customerId, name: v.name, email: v.email, phone: v.phone, role: v.role })
      .onConflict('id')
      .ignore();
    return;
  }
  if (c.kind === 'contact.remove') {
    await trx('contacts').where({ id: c.targetId, customer_id: customerId }).delete();
    return;
  }
  const where = c.targetTable === 'customers' ? { id: customerId } : { id: c.targetId, customer_id: customerId };
  await trx(c.targetTable)
    .where(where)
    .update({ [c.targetColumn!]: value, updated_at: trx.fn.now() });
}

/**
 * The protocol body's `fields`: the new values of the applied changes, grouped by what they change. Company fields by
 * name; contacts and seller accounts by id with the operation.
 */
function protocolFields(changes: CorrectionChange[]): Record<string, unknown> {
  const company: Record<string, unknown> = {};
  const contacts = new Map<string, Record<string, unknown>>();
  const accounts = new Map<string, Record<string, unknown>>();
  for (const c of changes) {
    const [group, field] = c.kind.split('.') as [string, string];
    if (group === 'company') company[field] = c.newValue;
    else if (group === 'contact') {
      const entry = contacts.get(c.targetId) ?? { contactId: c.targetId, op: 'update' };
      if (field === 'add') Object.assign(entry, { op: 'add' }, c.newValue as object);
      else if (field === 'remove') entry.op = 'remove';
      else entry[field] = c.newValue;
      contacts.set(c.targetId, entry);
    } else {
      const entry = accounts.get(c.targetId) ?? { sellerAccountId: c.targetId };
      entry[field] = c.newValue;
      accounts.set(c.targetId, entry);
    }
  }
  return {
    ...(Object.keys(company).length > 0 ? { company } : {}),
    ...(contacts.size > 0 ? { contacts: [...contacts.values()] } : {}),
    ...(accounts.size > 0 ? { sellerAccounts: [...accounts.values()] } : {}),
  };
}

/** The activity interface the correction workflow proxies (import it with `import type`). */
export type CorrectionActivities = ReturnType<typeof createCorrectionActivities>;
