/**
 * Activities of the access-request process (workflows/access-request.ts): notices to the requester, the registered
 * contact and staff; the identity check and the verification link; the deadline records (clock start, extension); the
 * delivery link; the deletion of the archive. The export itself is in activities/export.ts.
 *
 * Every activity is idempotent: notices are keyed (`request_notifications.dedupe_key`, Message-ID derived from it),
 * links are recorded under ids the workflow chose, state changes are guarded. Each writes its audit event in the same
 * transaction as its change. Audit details carry ids, dates, counts and hashes; never an address or a reason's text.
 *
 * Where the requester's address comes from: the request's payload (`lifecycle_requests.payload.requesterEmail`),
 * which is cleared when identity is confirmed (from then on the registered contact, by id, is the addressee) or when
 * the request closes.
 */
import { createHash } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { log } from '@temporalio/activity';
import type { Knex } from 'knex';
import { accessRequests } from '../db/repositories/access-requests';
import { reasonText } from '../db/repositories/request-texts';
import { auditEvents } from '../db/repositories/audit-events';
import { exportArchives } from '../db/repositories/export-archives';
import { contacts } from '../db/repositories/contacts';
import { issueVerificationLink, recordVerifiedIdentity } from './identity-verification';
import { lifecycleRequests } from '../db/repositories/lifecycle-requests';
import { publicLinks } from '../db/repositories/public-links';
import type { AppConfig } from '../lib/config';
import { RequestNotFoundError } from '../lib/pure/errors';
import { archiveDirectory } from '../lib/export-archive';
import type { Mailer } from '../lib/mailer';
import { AccessRequestPayload } from '../lib/schemas/access-request';
import { signLinkToken } from '../lib/signed-links';
import {
  acknowledgementEmail,
  closedUnverifiedEmail,
  deliveryEmail,
  extensionEmail,
  refusalEmail,
  staffEscalationEmail,
  staffExportFailedEmail,
  staffReminderEmail,
  verificationEmail,
} from './access-request-emails';
import { createRequestNotices } from './request-notices';

/** What the access-request activities need. */
export interface AccessRequestDeps {
  db: Knex;
  mailer: Mailer;
  config: Pick<AppConfig, 'http' | 'accessRequests' | 'exports' | 'links'>;
}

/** Ids every activity of one request gets. */
export interface AccessStep {
  requestId: string;
  customerId: string;
  workflowId: string;
  /** The day the request was received, in the regime's zone (for the wording of notices). */
  receivedOn: string;
}

/** The system actor of the automatic steps. */
const ACTOR = 'system:access-request';

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');

/** Builds the access-request activities. */
export function createAccessRequestActivities(deps: AccessRequestDeps) {
  const { db, config } = deps;

  // Emails sent once each, recorded and audited with the writes they go with (activities/request-notices.ts).
  const { notify, auditCustomer, notifyStaffOfDeadline } = createRequestNotices(deps, { actor: ACTOR });

  /** The address named in the request, while the request still keeps it. */
  async function requesterAddress(requestId: string): Promise<string | undefined> {
    const request = await lifecycleRequests.findById(db, requestId);
    if (!request) throw new RequestNotFoundError(requestId);
    const parsed = AccessRequestPayload.safeParse(request.payload);
    return parsed.success ? parsed.data.requesterEmail : undefined;
  }

  const contactOf = (customerId: string, contactId: string) => contacts.withCompany(db, customerId, contactId);

  return {
    /** Confirms receipt to the address the request came from (same wording for every request: see the emails). */
    async sendAccessAcknowledgement(step: AccessStep): Promise<void> {
      const to = await requesterAddress(step.requestId);
      if (!to) return; // closed already: nothing to acknowledge
      await notify(step, {
        kind: 'acknowledgement',
        dedupeKey: `access-ack-${step.requestId}`,
        recipient: 'requester',
        to,
        mail: acknowledgementEmail(step),
        action: 'access.acknowledged',
      });
    },

    /**
     * Whether the requester's address is a registered contact of the customer. Answers ids and a flag only; an unknown
     * customer and an unknown address give the same answer.
     */
    async checkAccessRequester(step: AccessStep): Promise<{ registered: boolean; contactId?: string }> {
      const email = await requesterAddress(step.requestId);
      if (!email) return { registered: false };
      const contactId = await contacts.registeredContactId(db, step.customerId, email);
      return contactId ? { registered: true, contactId } : { registered: false };
    },

    /**
     * Records the single-use verification link `linkId` (valid until `expiresAtMs`) and emails it to the contact's
     * registered address, which is read here from the contacts table: never an address taken from the request.
     */
    async sendIdentityVerification(
      step: AccessStep & { contactId: string; linkId: string; expiresAtMs: number },
    ): Promise<void> {
      const contact = await contactOf(step.customerId, step.contactId);
      if (!contact) throw new RequestNotFoundError(step.requestId);
      const link = await issueVerificationLink(db, config, step);
      await notify(step, {
        kind: 'verification',
        dedupeKey: `access-verify-${step.requestId}-${step.linkId}`,
        recipient: 'contact',
        contactId: step.contactId,
        to: contact.email,
        mail: verificationEmail({
          requestId: step.requestId,
          contactName: contact.name,
          companyName: contact.companyName,
          link,
          expiresAtMs: step.expiresAtMs,
        }),
        action: 'access.verification_sent',
        details: { linkId: step.linkId, expiresAt: new Date(step.expiresAtMs).toISOString() },
        alsoIn: (trx) => lifecycleRequests.setStage(trx, step.requestId, 'awaiting-verification'),
      });
    },

    /**
     * Refuses a request whose address is not a registered contact: the refusal goes to that address (it discloses
     * nothing, see the email), the request is closed as answered with the reason recorded for staff.
     */
    async refuseAccessRequest(step: AccessStep): Promise<void> {
      const to = await requesterAddress(step.requestId);
      const customerKnown = (await auditCustomer(step.customerId)) !== null;
      const reason = customerKnown
        ? 'the requester is not a registered contact of the customer'
        : 'no customer with this id: the requester cannot be a registered contact';
      const close = (trx: Knex.Transaction) =>
        accessRequests.close(trx, step.requestId, {
          status: 'completed',
          stage: 'refused',
          reason,
          outcome: { result: 'refused', rule: 'requester_not_registered_contact', customerKnown },
        });
      if (!to) return; // already closed
      await notify(step, {
        kind: 'refusal',
        dedupeKey: `access-refusal-${step.requestId}`,
        recipient: 'requester',
        to,
        mail: refusalEmail(step),
        action: 'access.refused',
        details: { rule: 'requester_not_registered_contact', customerKnown },
        alsoIn: close,
      });
    },

    /**
     * Records the confirmed identity: the verified contact, the day the clock started (UK GDPR) and the due date; the
     * requester's address is dropped from the request (from now on notices go to the contact, by id).
     */
    async recordIdentityVerified(
      step: AccessStep & {
        contactId: string;
        linkId: string;
        verifiedOn: string;
        dueOn: string;
        clockStartedOn: string | null;
      },
    ): Promise<void> {
      await recordVerifiedIdentity(db, step, {
        actor: ACTOR,
        action: 'access.identity_verified',
        auditCustomerId: await auditCustomer(step.customerId),
      });
    },

    /** Closes a request whose identity was not confirmed in time: the requester is told, the link revoked. */
    async closeUnverifiedAccessRequest(step: AccessStep & { waitedMs: number }): Promise<void> {
      const reason = `identity not confirmed within ${Math.round(step.waitedMs / 1000)} s of the verification email`;
      const close = async (trx: Knex.Transaction) => {
        await publicLinks.revokeUnused(trx, step.requestId, 'verify');
        await accessRequests.close(trx, step.requestId, {
          status: 'cancelled',
          stage: 'closed-unverified',
          reason,
          outcome: { result: 'closed_unverified', rule: 'identity_not_confirmed' },
        });
      };
      const to = await requesterAddress(step.requestId);
      if (!to) return; // already closed
      await notify(step, {
        kind: 'closed-unverified',
        dedupeKey: `access-closed-${step.requestId}`,
        recipient: 'requester',
        to,
        mail: closedUnverifiedEmail(step),
        action: 'access.closed_unverified',
        details: { rule: 'identity_not_confirmed', waitedMs: step.waitedMs },
        alsoIn: close,
      });
    },

    /**
     * Records an extension decided by staff: the new due date, the reason (kept in `request_extensions`, hashed in the
     * audit log) and the notice to the requester: the verified contact when identity is confirmed, otherwise the
     * address the request came from.
     */
    async recordDeadlineExtension(
      input: AccessStep & {
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
      let to: string | undefined;
      if (step.contactId) to = (await contactOf(step.customerId, step.contactId))?.email;
      to ??= await requesterAddress(step.requestId);
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
        // Nobody left to tell (should not happen while a request runs): record it and say so in the audit log.
        const customerId = await auditCustomer(step.customerId);
        await db.transaction(async (trx) => {
          await record(trx);
          await auditEvents.appendForRequest(
            trx,
            { ...step, customerId },
            { actor: step.actor, action: 'access.deadline_extended', details: { ...details, notice: 'no_recipient' } },
          );
        });
        return;
      }
      await notify(step, {
        kind: 'extension',
        dedupeKey: `access-extension-${step.requestId}`,
        recipient: step.contactId ? 'contact' : 'requester',
        contactId: step.contactId,
        to,
        mail: extensionEmail(step),
        action: 'access.deadline_extended',
        actor: step.actor,
        details,
        alsoIn: record,
      });
    },

    /** Reminds staff that the due date approaches (one email per due date and reminder instant). */
    async sendDeadlineReminder(
      step: AccessStep & { dueOn: string; stage: string; reminderAtMs: number },
    ): Promise<void> {
      await notifyStaffOfDeadline(step, {
        process: 'access',
        staffEmail: config.accessRequests.staffEmail,
        mail: staffReminderEmail(step),
      });
    },

    /** Tells staff that the due date has passed without an answer. */
    async escalateOverdueAccessRequest(step: AccessStep & { dueOn: string; stage: string }): Promise<void> {
      await notifyStaffOfDeadline(step, {
        process: 'access',
        staffEmail: config.accessRequests.staffEmail,
        mail: staffEscalationEmail(step),
      });
    },

    /**
     * Records the download link `linkId` of the archive (valid until `expiresAtMs`, any number of downloads, each
     * audited by the API) and emails it to the verified contact's registered address.
     */
    async deliverExport(
      step: AccessStep & { contactId: string; archiveId: string; linkId: string; expiresAtMs: number },
    ): Promise<void> {
      const contact = await contactOf(step.customerId, step.contactId);
      if (!contact) throw new RequestNotFoundError(step.requestId);
      const archive = await exportArchives.findById(db, step.archiveId);
      if (!archive || archive.status !== 'complete') throw new Error(`archive ${step.archiveId} is not complete`);
      await publicLinks.insertIfAbsent(db, {
        id: step.linkId,
        purpose: 'export',
        requestId: step.requestId,
        customerId: step.customerId,
        contactId: step.contactId,
        archiveId: step.archiveId,
        expiresAt: new Date(step.expiresAtMs),
        maxUses: null,
      });
      const token = signLinkToken(config.links.keyring, {
        purpose: 'export',
        linkId: step.linkId,
        expiresAtMs: step.expiresAtMs,
      });
      const expiresAt = new Date(step.expiresAtMs).toISOString();
      await notify(step, {
        kind: 'delivery',
        dedupeKey: `access-delivery-${step.requestId}-${step.linkId}`,
        recipient: 'contact',
        contactId: step.contactId,
        to: contact.email,
        mail: deliveryEmail({
          requestId: step.requestId,
          contactName: contact.name,
          companyName: contact.companyName,
          link: `${config.http.publicBaseUrl}/download/${token}`,
          expiresAtMs: step.expiresAtMs,
          tables: (archive.tables ?? []).map((t) => ({ table: t.table, rows: t.rows })),
          manifestSha256: archive.manifestSha256!,
        }),
        action: 'access.export_delivered',
        details: { archiveId: step.archiveId, linkId: step.linkId, expiresAt, manifestSha256: archive.manifestSha256 },
        alsoIn: async (trx) => {
          await accessRequests.mergeOutcome(trx, step.requestId, {
            result: 'delivered',
            archiveId: step.archiveId,
            rows: archive.rowsDone,
            manifestSha256: archive.manifestSha256,
            linkExpiresAt: expiresAt,
          });
          await lifecycleRequests.setStage(trx, step.requestId, 'delivered');
        },
      });
    },

    /** Deletes the archive's files when its link has expired; its links are revoked (the link answers 410). */
    async deleteExportArchive(step: AccessStep & { archiveId: string }): Promise<void> {
      await rm(archiveDirectory(config.exports.dir, step.archiveId), { recursive: true, force: true });
      const customerId = await auditCustomer(step.customerId);
      await db.transaction(async (trx) => {
        const marked = await exportArchives.markDeleted(trx, step.archiveId);
        const revoked = await publicLinks.revokeForArchive(trx, step.archiveId);
        if (!marked) return;
        await auditEvents.appendForRequest(
          trx,
          { ...step, customerId },
          {
            actor: ACTOR,
            action: 'access.archive_deleted',
            details: { revokedLinks: revoked },
            subject: { type: 'export_archive', id: step.archiveId },
          },
        );
      });
      log.info('export archive deleted', { archiveId: step.archiveId });
    },

    /** Completes a delivered request once its archive is gone. */
    async completeAccessRequest(step: AccessStep & { archiveId: string; respondedOn: string }): Promise<void> {
      const request = await lifecycleRequests.findById(db, step.requestId);
      if (!request) throw new RequestNotFoundError(step.requestId);
      if (request.status === 'completed') return;
      const customerId = await auditCustomer(step.customerId);
      await db.transaction(async (trx) => {
        await lifecycleRequests.complete(trx, step.requestId, {
          ...(request.outcome ?? {}),
          result: 'delivered',
          respondedOn: step.respondedOn,
          archiveDeleted: true,
        });
        await auditEvents.appendForRequest(
          trx,
          { ...step, customerId },
          {
            actor: ACTOR,
            action: 'access.completed',
            details: { archiveId: step.archiveId, respondedOn: step.respondedOn, dueOn: request.dueOn },
          },
        );
      });
    },

    /** Records that the export failed for good and tells staff. */
    async failAccessRequest(step: AccessStep & { reason: string }): Promise<void> {
      await notify(step, {
        kind: 'export-failed',
        dedupeKey: `access-failed-${step.requestId}`,
        recipient: 'staff',
        to: config.accessRequests.staffEmail,
        mail: staffExportFailedEmail(step),
        action: 'access.failed',
        details: { reasonSha256: sha256(step.reason) },
        alsoIn: (trx) =>
          accessRequests.close(trx, step.requestId, {
            status: 'failed',
            stage: 'failed',
            reason: step.reason,
            outcome: { result: 'failed' },
          }),
      });
    },
  };
}

/** The access-request workflow's quick activities (notices, records, links). */
export type AccessRequestActivities = ReturnType<typeof createAccessRequestActivities>;
