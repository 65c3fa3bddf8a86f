/**
 * Activities of the deletion-request process (workflows/deletion-request.ts): notices to the requester, the registered
 * contact and staff; the identity check and the verification link (as for access requests); the decision on each part
 * against the contract and the law (lib/deletion-parts.ts); the signed certificate of what was deleted
 * (lib/certificate.ts through {@link issueDeletionCertificate}); closing the request.
 *
 * Every activity is idempotent: notices are keyed (`request_notifications.dedupe_key`), decisions are recorded once
 * (`deletion_request_parts`), the certificate is one per request. Audit details carry ids, dates, counts and rules.
 */
import { log } from '@temporalio/activity';
import type { Knex } from 'knex';
import { accessRequests } from '../db/repositories/access-requests';
import { reasonText } from '../db/repositories/request-texts';
import { auditEvents } from '../db/repositories/audit-events';
import { certificates, type StoredCertificate } from '../db/repositories/certificates';
import { deletionRequestParts } from '../db/repositories/deletion-request-parts';
import { contacts } from '../db/repositories/contacts';
import { isTerminal, lifecycleRequests } from '../db/repositories/lifecycle-requests';
import { publicLinks } from '../db/repositories/public-links';
import type { SubprocessorConfirmation } from '../lib/certificate';
import type { AppConfig } from '../lib/config';
import type { DataCategory } from '../lib/pure/data-categories';
import {
  decideDeletionParts,
  type DeletionFacts,
  type DeletionPart,
  type DeletionPartDecision,
} from '../lib/pure/deletion-parts';
import { tablesOf, type ErasureRecords } from '../lib/pure/erasure-plan';
import { RequestNotFoundError } from '../lib/pure/errors';
import type { Mailer } from '../lib/mailer';
import { addPeriod } from '../lib/pure/retention';
import { DeletionRequestPayload } from '../lib/schemas/deletion-request';
import { STATUTORY_RETENTION_RULES } from '../lib/pure/statutory-rules';
import { retainUntilExpression } from '../lib/statutory-retention';
import {
  deletionAcknowledgementEmail,
  deletionCertificateEmail,
  deletionClosedUnverifiedEmail,
  deletionDecisionEmail,
  deletionRefusalEmail,
  deletionStaffEscalationEmail,
  deletionStaffReminderEmail,
  deletionVerificationEmail,
  describePart,
  deletionExtensionEmail,
} from './deletion-request-emails';
import { createRequestNotices } from './request-notices';
import { issueVerificationLink } from './identity-verification';
import type { RetainedRows, SubprocessorDeletionReceipt } from './erasure';

/** What the deletion-request activities need. */
export interface DeletionRequestDeps {
  db: Knex;
  mailer: Mailer;
  config: Pick<AppConfig, 'http' | 'accessRequests' | 'links' | 'certificates' | 'statutoryRetention' | 'temporal'>;
}

/** Ids every activity of one request gets. */
export interface DeletionStep {
  requestId: string;
  customerId: string;
  workflowId: string;
  /** The day the request was received, in the regime's zone (for the wording of notices). */
  receivedOn: string;
}

/** What the erasure of the granted parts reported, as the certificate needs it (ids, counts, receipts). */
export interface DeletionErasureSummary {
  erasureWorkflowId: string;
  categories: DataCategory[];
  records?: ErasureRecords;
  tables: Record<string, number>;
  retained: Record<string, RetainedRows>;
  subprocessorDeletions: Array<SubprocessorDeletionReceipt & { subprocessorId: string; categories: DataCategory[] }>;
  verified: boolean;
  remaining: Record<string, number>;
}

const ACTOR = 'system:deletion-request';

/**
 * Issues the signed certificate of a deletion request: the one place deletion requests reach the certificate module
 * (db/repositories/certificates.ts signs and stores it, once per request).
 */
export async function issueDeletionCertificate(
  deps: Pick<DeletionRequestDeps, 'db' | 'config'>,
  p: {
    step: DeletionStep;
    decisions: DeletionPartDecision[];
    erasure: DeletionErasureSummary;
    receivedAt: Date;
    verifiedOn: string | null;
  },
): Promise<StoredCertificate> {
  const { config } = deps;
  const now = Date.now();
  const tables = p.erasure.tables;
  const subprocessors: SubprocessorConfirmation[] = p.erasure.subprocessorDeletions.map((d) => ({
    subprocessorId: d.subprocessorId,
    deletionId: d.deletionId,
    categories: d.categories,
    status: d.status,
    ...(d.confirmedAt ? { confirmedAt: d.confirmedAt } : {}),
  }));
  const decidedAt = p.decisions.length > 0 ? new Date(now).toISOString() : undefined;
  return certificates.issue(
    deps.db,
    config.certificates,
    {
      kind: 'deletion_request',
      customerId: p.step.customerId,
      requestId: p.step.requestId,
      contract: null,
      returned: null,
      categories: p.erasure.categories,
      refused: p.decisions
        .filter((d) => d.decision === 'refused')
        .map((d) => ({
          part: `${d.kind}:${d.target}`,
          reason: `${d.rule}: ${d.reason}`,
          ...(d.retainUntil ? { until: d.retainUntil } : {}),
        })),
      timeline: {
        requestedAt: p.receivedAt.toISOString(),
        ...(p.verifiedOn ? { identityVerifiedOn: p.verifiedOn } : {}),
        ...(decidedAt ? { decidedAt } : {}),
        erasureCompletedAt: new Date(now).toISOString(),
      },
      approval: null,
      deleted: { tables, totalRows: Object.values(tables).reduce((a, b) => a + b, 0) },
      deletionMethods: [
        ...Object.keys(tables).map((table) => ({
          place: `PostgreSQL table ${table}`,
          method: 'DELETE in batches, each committed with its checkpoint (workflows/erasure.ts)',
        })),
        ...(tables.export_archives
          ? [{ place: 'export archive files', method: 'directory removed under EXPORT_DIR; download links revoked' }]
          : []),
        ...subprocessors.map((s) => ({
          place: `subprocessor ${s.subprocessorId}`,
          method: 'deletion request (protocol v1), confirmed synchronously or by signed callback',
        })),
      ],
      subprocessors,
      retained: Object.entries(p.erasure.retained).map(([table, r]) => ({
        table,
        rows: r.rows,
        reason: r.reason,
        until: r.until,
      })),
      verification: {
        verified: p.erasure.verified,
        checkedAt: new Date(now).toISOString(),
        tablesChecked: tablesOf(p.erasure.categories, p.erasure.records),
        remaining: p.erasure.remaining,
        exportArchivesOnDisk: p.erasure.remaining.export_archives ?? 0,
      },
      copiesOutsideLiveTables: {
        databaseBackups: {
          retention: config.certificates.backupRetention,
          goneBy: new Date(addPeriod(now, config.certificates.backupRetention)).toISOString(),
          statement: 'deleted rows leave the database backups when the backup retention has passed',
        },
        temporalHistories: {
          namespace: config.temporal.namespace,
          retention: config.certificates.temporalNamespaceRetention,
          goneBy: new Date(addPeriod(now, config.certificates.temporalNamespaceRetention)).toISOString(),
          statement: 'workflow histories hold ids, counts and encrypted payloads only, and are removed then',
        },
        logs: { statement: 'logs hold no personal data by design (redacted, scanned in tests)' },
      },
      policyVersions: {
        retentionPolicies: {},
        statutoryRules: STATUTORY_RETENTION_RULES.filter((r) => config.statutoryRetention[r.period]).map((r) => r.id),
      },
    },
    `workflow:${p.step.workflowId}`,
  );
}

/** Builds the deletion-request activities. */
export function createDeletionRequestActivities(deps: DeletionRequestDeps) {
  const { db, config } = deps;

  // Emails sent once each, recorded and audited with the writes they go with (activities/request-notices.ts).
  const { notify, auditCustomer, notifyStaffOfDeadline } = createRequestNotices(deps, { actor: ACTOR });

  async function requesterAddress(requestId: string): Promise<string | undefined> {
    const request = await lifecycleRequests.findById(db, requestId);
    if (!request) throw new RequestNotFoundError(requestId);
    const parsed = DeletionRequestPayload.safeParse(request.payload);
    return parsed.success ? parsed.data.requesterEmail : undefined;
  }

  const contactOf = (customerId: string, contactId: string) => contacts.withCompany(db, customerId, contactId);

  /** What the decision rules look at, read now. */
  async function gatherFacts(customerId: string, parts: DeletionPart[]): Promise<DeletionFacts> {
    const [holds, contacts, sellerAccountIds] = await Promise.all([
      db('legal_holds')
        .where({ customer_id: customerId })
        .whereNull('released_at')
        .select<{ id: string; categories: DataCategory[] | null }[]>('id', 'categories'),
      db('contacts').where({ customer_id: customerId }).select<{ id: string; role: string }[]>('id', 'role'),
      db('seller_accounts').where({ customer_id: customerId }).pluck<string[]>('id'),
    ]);
    const statutory: DeletionFacts['statutory'] = {};
    for (const rule of STATUTORY_RETENTION_RULES) {
      const period = config.statutoryRetention[rule.period];
      if (!period || !parts.some((p) => 'category' in p && p.category === rule.category)) continue;
      const [row] = await db(rule.table)
        .where({ customer_id: customerId, data_category: rule.category })
        .select<{ rows: number; kept: number; until: string | null }[]>(
          db.raw('count(*)::int as rows'),
          db.raw('(count(*) filter (where status = any(?)))::int as kept', [[...rule.statuses]]),
          db.raw(
            `to_char(max(case when status = any(?) then ${retainUntilExpression(db, rule, period).toQuery()} end)
               at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as until`,
            [[...rule.statuses]],
          ),
        );
      statutory[rule.category] = {
        rows: row?.rows ?? 0,
        kept: row?.kept ?? 0,
        until: row?.until ?? null,
        reason: rule.reason,
      };
    }
    return { holds, contacts, sellerAccountIds, statutory };
  }

  return {
    /** Confirms receipt to the address the request came from (discloses nothing). */
    async sendDeletionAcknowledgement(step: DeletionStep): Promise<void> {
      const to = await requesterAddress(step.requestId);
      if (!to) return;
      await notify(step, {
        kind: 'acknowledgement',
        dedupeKey: `deletion-ack-${step.requestId}`,
        recipient: 'requester',
        to,
        mail: deletionAcknowledgementEmail(step),
        action: 'deletion.acknowledged',
      });
    },

    /** Whether the requester's address is a registered contact of the (not terminated) customer; ids only. */
    async checkDeletionRequester(step: DeletionStep): Promise<{ registered: boolean; contactId?: string }> {
      const email = await requesterAddress(step.requestId);
      if (!email) return { registered: false };
      const contactId = await contacts.registeredContactId(db, step.customerId, email);
      return contactId ? { registered: true, contactId } : { registered: false };
    },

    /** Records the single-use verification link and emails it to the contact's registered address. */
    async sendDeletionVerification(
      step: DeletionStep & { contactId: string; linkId: string; expiresAtMs: number; parts: number },
    ): Promise<void> {
      const contact = await contactOf(step.customerId, step.contactId);
      if (!contact) throw new RequestNotFoundError(step.requestId);
      const link = await issueVerificationLink(db, config, step);
      await notify(step, {
        kind: 'verification',
        dedupeKey: `deletion-verify-${step.requestId}-${step.linkId}`,
        recipient: 'contact',
        contactId: step.contactId,
        to: contact.email,
        mail: deletionVerificationEmail({
          requestId: step.requestId,
          contactName: contact.name,
          companyName: contact.companyName,
          link,
          expiresAtMs: step.expiresAtMs,
          parts: step.parts,
        }),
        action: 'deletion.verification_sent',
        details: { linkId: step.linkId, expiresAt: new Date(step.expiresAtMs).toISOString() },
        alsoIn: (trx) => lifecycleRequests.setStage(trx, step.requestId, 'awaiting-verification'),
      });
    },

    /** Refuses a request whose address is not a registered contact; nothing is deleted. */
    async refuseDeletionRequest(step: DeletionStep): Promise<void> {
      const to = await requesterAddress(step.requestId);
      if (!to) return;
      const customerKnown = (await auditCustomer(step.customerId)) !== null;
      await notify(step, {
        kind: 'refusal',
        dedupeKey: `deletion-refusal-${step.requestId}`,
        recipient: 'requester',
        to,
        mail: deletionRefusalEmail(step),
        action: 'deletion.refused',
        details: { rule: 'requester_not_registered_contact', customerKnown },
        alsoIn: (trx) =>
          accessRequests.close(trx, step.requestId, {
            status: 'completed',
            stage: 'refused',
            reason: 'the requester is not a registered contact of the customer',
            outcome: { result: 'refused', rule: 'requester_not_registered_contact', deleted: false },
          }),
      });
    },

    /** Closes a request whose identity was not confirmed in time; nothing is deleted, the link is revoked. */
    async closeUnverifiedDeletionRequest(step: DeletionStep & { waitedMs: number }): Promise<void> {
      const to = await requesterAddress(step.requestId);
      if (!to) return;
      await notify(step, {
        kind: 'closed-unverified',
        dedupeKey: `deletion-closed-${step.requestId}`,
        recipient: 'requester',
        to,
        mail: deletionClosedUnverifiedEmail(step),
        action: 'deletion.closed_unverified',
        details: { rule: 'identity_not_confirmed', waitedMs: step.waitedMs },
        alsoIn: async (trx) => {
          await publicLinks.revokeUnused(trx, step.requestId, 'verify');
          await accessRequests.close(trx, step.requestId, {
            status: 'cancelled',
            stage: 'closed-unverified',
            reason: `identity not confirmed within ${Math.round(step.waitedMs / 1000)} s of the verification email`,
            outcome: { result: 'closed_unverified', rule: 'identity_not_confirmed', deleted: false },
          });
        },
      });
    },

    /**
     * Records the confirmed identity and due date. Unlike an access request, the requester's address stays with the
     * request until it closes: it is the verified contact's registered address, and the certificate must reach it even
     * when the request deletes that contact.
     */
    async recordDeletionIdentityVerified(
      step: DeletionStep & { contactId: string; linkId: string; verifiedOn: string; dueOn: string },
    ): Promise<void> {
      const customerId = await auditCustomer(step.customerId);
      await db.transaction(async (trx) => {
        const request = await lifecycleRequests.findById(trx, step.requestId);
        if (!request) throw new RequestNotFoundError(step.requestId);
        if (request.outcome?.verifiedOn !== undefined || isTerminal(request.status)) return; // recorded already
        await accessRequests.setDueOn(trx, step.requestId, step.dueOn);
        await accessRequests.mergeOutcome(trx, step.requestId, {
          verifiedContactId: step.contactId,
          verifiedOn: step.verifiedOn,
        });
        await lifecycleRequests.setStage(trx, step.requestId, 'identity-verified');
        await auditEvents.appendForRequest(
          trx,
          { ...step, customerId },
          {
            actor: ACTOR,
            action: 'deletion.identity_verified',
            details: { contactId: step.contactId, linkId: step.linkId, verifiedOn: step.verifiedOn, dueOn: step.dueOn },
          },
        );
      });
    },

    /**
     * Decides each part against the contract and the law (lib/deletion-parts.ts) and records the decisions with an
     * audit event. A repeated call answers the decisions recorded first.
     */
    async decideDeletionParts(step: DeletionStep & { parts: DeletionPart[] }): Promise<DeletionPartDecision[]> {
      const recorded = await deletionRequestParts.list(db, step.requestId);
      if (recorded.length > 0 && recorded.every((p) => p.decision !== 'pending')) {
        return recorded.map((p) => ({
          position: p.position,
          kind: p.kind,
          target: p.target,
          decision: p.decision as 'granted' | 'refused',
          ...(p.rule ? { rule: p.rule } : {}),
          reason: p.reason ?? '',
          ...(p.retainUntil ? { retainUntil: p.retainUntil.toISOString() } : {}),
          ...(p.details ? { details: p.details } : {}),
        }));
      }
      const decisions = decideDeletionParts(step.parts, await gatherFacts(step.customerId, step.parts));
      const customerId = await auditCustomer(step.customerId);
      await db.transaction(async (trx) => {
        if ((await deletionRequestParts.decide(trx, step.requestId, decisions)) === 0) return;
        await lifecycleRequests.setStage(trx, step.requestId, 'decided');
        await auditEvents.appendForRequest(
          trx,
          { ...step, customerId },
          {
            actor: ACTOR,
            action: 'deletion.decided',
            details: {
              parts: decisions.map((d) => ({
                part: `${d.kind}:${d.target}`,
                decision: d.decision,
                rule: d.rule ?? null,
                retainUntil: d.retainUntil ?? null,
              })),
            },
          },
        );
      });
      return decisions;
    },

    /** Tells the verified contact the decision on each part (what will be deleted, what is refused and why). */
    async sendDeletionDecision(
      step: DeletionStep & { contactId: string; decisions: DeletionPartDecision[] },
    ): Promise<void> {
      const contact = await contactOf(step.customerId, step.contactId);
      if (!contact) throw new RequestNotFoundError(step.requestId);
      await notify(step, {
        kind: 'decision',
        dedupeKey: `deletion-decision-${step.requestId}`,
        recipient: 'contact',
        contactId: step.contactId,
        to: contact.email,
        mail: deletionDecisionEmail({
          requestId: step.requestId,
          contactName: contact.name,
          companyName: contact.companyName,
          decisions: step.decisions,
        }),
        action: 'deletion.decision_sent',
        details: {
          granted: step.decisions.filter((d) => d.decision === 'granted').length,
          refused: step.decisions.filter((d) => d.decision === 'refused').length,
        },
      });
    },

    /**
     * Issues the signed certificate of what was deleted and emails it to the verified contact: at the registered
     * address, or, when the request deleted that very contact, at the address the request came from (which is that
     * contact's registered address, matched at verification, kept with the request until it closes).
     */
    async certifyDeletion(
      step: DeletionStep & {
        contactId: string;
        decisions: DeletionPartDecision[];
        erasure: DeletionErasureSummary;
        verifiedOn: string | null;
      },
    ): Promise<{ certificateId: string; digestSha256: string }> {
      const request = await lifecycleRequests.findById(db, step.requestId);
      if (!request) throw new RequestNotFoundError(step.requestId);
      const contact = await contactOf(step.customerId, step.contactId);
      const company = await db('customers')
        .where({ id: step.customerId })
        .first<{ company_name: string } | undefined>('company_name');
      const address = contact?.email ?? (await requesterAddress(step.requestId));
      const recipient = address
        ? { email: address, name: contact?.name ?? 'registered contact', companyName: company?.company_name ?? '' }
        : null;
      const issued = await issueDeletionCertificate(deps, {
        step,
        decisions: step.decisions,
        erasure: step.erasure,
        receivedAt: request.receivedAt,
        verifiedOn: step.verifiedOn,
      });
      if (recipient) {
        await notify(step, {
          kind: 'certificate',
          dedupeKey: `deletion-certificate-${step.requestId}`,
          recipient: 'contact',
          to: recipient.email,
          mail: deletionCertificateEmail({
            requestId: step.requestId,
            contactName: recipient.name,
            companyName: recipient.companyName,
            certificateId: issued.id,
            tables: step.erasure.tables,
            subprocessors: step.erasure.subprocessorDeletions.length,
            publicKeyUrl: config.certificates.publicKeyUrl,
            checkUrl: `${config.http.publicBaseUrl}/certificates/verify`,
            signedJson: JSON.stringify(issued.signed, null, 2),
          }),
          action: 'deletion.certificate_sent',
          details: { certificateId: issued.id, digestSha256: issued.signed.digest.value },
          alsoIn: async (trx) => {
            await certificates.markEmailed(trx, issued.id);
          },
        });
      }
      return { certificateId: issued.id, digestSha256: issued.signed.digest.value };
    },

    /** Closes the request: decisions, what the erasure deleted, the certificate; the granted parts marked erased. */
    async completeDeletionRequest(
      step: DeletionStep & {
        respondedOn: string;
        decisions: DeletionPartDecision[];
        erasure: Pick<DeletionErasureSummary, 'erasureWorkflowId' | 'tables' | 'verified'> | null;
        certificateId: string | null;
      },
    ): Promise<void> {
      const request = await lifecycleRequests.findById(db, step.requestId);
      if (!request) throw new RequestNotFoundError(step.requestId);
      if (request.status === 'completed') return;
      const customerId = await auditCustomer(step.customerId);
      const granted = step.decisions.filter((d) => d.decision === 'granted').length;
      const outcome = {
        ...(request.outcome ?? {}),
        result: granted === 0 ? 'nothing_deleted' : granted === step.decisions.length ? 'deleted' : 'partially_deleted',
        respondedOn: step.respondedOn,
        parts: step.decisions.map((d) => ({
          part: describePart(d),
          kind: d.kind,
          target: d.target,
          decision: d.decision,
          rule: d.rule ?? null,
          reason: d.reason,
          retainUntil: d.retainUntil ?? null,
        })),
        erasure: step.erasure,
        certificateId: step.certificateId,
      };
      await db.transaction(async (trx) => {
        if (step.erasure) await deletionRequestParts.markErased(trx, step.requestId, step.erasure.erasureWorkflowId);
        await lifecycleRequests.complete(trx, step.requestId, outcome);
        await lifecycleRequests.clearPayload(trx, step.requestId);
        await auditEvents.appendForRequest(
          trx,
          { ...step, customerId },
          {
            actor: ACTOR,
            action: 'deletion.completed',
            details: {
              result: outcome.result,
              respondedOn: step.respondedOn,
              dueOn: request.dueOn,
              tables: step.erasure?.tables ?? {},
              certificateId: step.certificateId,
            },
          },
        );
      });
      log.info('deletion request completed', { requestId: step.requestId, result: outcome.result });
    },

    /** Records that the erasure of the granted parts failed for good (staff follow up from the audit log). */
    async failDeletionRequest(step: DeletionStep & { reason: string }): Promise<void> {
      const customerId = await auditCustomer(step.customerId);
      await db.transaction(async (trx) => {
        if (!(await lifecycleRequests.fail(trx, step.requestId, step.reason, { result: 'failed' }))) return; // a re-run
        await lifecycleRequests.clearPayload(trx, step.requestId);
        await auditEvents.appendForRequest(
          trx,
          { ...step, customerId },
          { actor: ACTOR, action: 'deletion.failed', details: { reason: step.reason.slice(0, 500) } },
        );
      });
    },

    /** Reminds staff that the due date approaches (one email per due date and reminder instant). */
    async remindDeletionDeadline(step: DeletionStep & { dueOn: string; stage: string; reminderAtMs: number }) {
      await notifyStaffOfDeadline(step, {
        process: 'deletion',
        staffEmail: config.accessRequests.staffEmail,
        mail: deletionStaffReminderEmail(step),
      });
    },

    /** Tells staff that the due date has passed without an answer. */
    async escalateOverdueDeletionRequest(step: DeletionStep & { dueOn: string; stage: string }) {
      await notifyStaffOfDeadline(step, {
        process: 'deletion',
        staffEmail: config.accessRequests.staffEmail,
        mail: deletionStaffEscalationEmail(step),
      });
    },

    /**
     * Records a deadline extension decided by staff (the shared clock, workflows/deadline-clock.ts): the extension and
     * the new due date, and the notice to the verified contact with the reason, in one transaction.
     */
    async recordDeletionExtension(
      input: DeletionStep & {
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
      const to =
        (step.contactId ? (await contactOf(step.customerId, step.contactId))?.email : undefined) ??
        (await requesterAddress(step.requestId));
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
      const details = { previousDueOn: step.previousDueOn, dueOn: step.dueOn, extendedBy: step.actor };
      if (!to) {
        // Nobody left to tell (should not happen while a request runs): record it and say so in the audit log.
        const customerId = await auditCustomer(step.customerId);
        await db.transaction(async (trx) => {
          await record(trx);
          await auditEvents.appendForRequest(
            trx,
            { ...step, customerId },
            {
              actor: step.actor,
              action: 'deletion.deadline_extended',
              details: { ...details, notice: 'no_recipient' },
            },
          );
        });
        return;
      }
      await notify(step, {
        kind: 'extension',
        dedupeKey: `deletion-extension-${step.requestId}`,
        recipient: step.contactId ? 'contact' : 'requester',
        contactId: step.contactId,
        to,
        mail: deletionExtensionEmail(step),
        action: 'deletion.deadline_extended',
        details,
        alsoIn: record,
      });
    },
  };
}

/** The activity interface of the deletion-request workflow (import it with `import type`). */
export type DeletionRequestActivities = ReturnType<typeof createDeletionRequestActivities>;
