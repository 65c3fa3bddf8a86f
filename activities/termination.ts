/**
 * Activities of the contract termination (workflows/termination.ts): revoking access, returning the data (the export
 * itself is activities/export.ts), notices, approval requests, the final check that nothing of the customer remains,
 * and the deletion certificate. Each is idempotent: state is written with "already done" checks, notices once per
 * dedupe key, the certificate once per request.
 *
 * The certificate's recipient: the erasure deletes every contact, yet the certificate must reach the primary contact
 * afterwards. So before anything is erased, {@link captureCertificateRecipient} stores the primary contact's address
 * encrypted (AES-256-GCM under a key derived from the active payload key) in `termination_recipients`; the certificate
 * email decrypts it, and the row is deleted in the same step that records the email as sent. The workflow carries only
 * the request id, never the address.
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { log } from '@temporalio/activity';
import type { Knex } from 'knex';
import { DateTime, Duration } from 'luxon';
import { auditEvents } from '../db/repositories/audit-events';
import { certificates, type CertificateDraft } from '../db/repositories/certificates';
import { customers } from '../db/repositories/customers';
import { legalHolds } from '../db/repositories/legal-holds';
import { lifecycleRequests } from '../db/repositories/lifecycle-requests';
import { publicLinks } from '../db/repositories/public-links';
import { retentionPolicies } from '../db/repositories/retention-policies';
import type { ReturnedData, RetainedRecord, SubprocessorConfirmation } from '../lib/certificate';
import { renderCertificateHtml } from '../lib/certificate-html';
import type { AppConfig } from '../lib/config';
import type { DataCategory } from '../lib/pure/data-categories';
import { DATA_MAP } from '../lib/pure/data-map';
import { ERASURE_TABLES } from '../lib/pure/erasure-plan';
import { archiveDirectory } from '../lib/export-archive';
import type { Mailer } from '../lib/mailer';
import { signLinkToken } from '../lib/signed-links';
import { STATUTORY_RETENTION_RULES, TABLES_WITH_RETAIN_UNTIL } from '../lib/pure/statutory-rules';
import type { TerminationDisposition, TerminationStage } from '../lib/pure/termination-messages';
import { createRequestNotices } from './request-notices';
import type { RetainedRows, SubprocessorDeletionReceipt } from './erasure';
import { approvalRequestEmail, certificateEmail, returnDeliveryEmail, returnReminderEmail } from './termination-emails';

/** What the termination activities need. */
export interface TerminationDeps {
  db: Knex;
  mailer: Mailer;
  config: AppConfig;
}

/** Identifies the termination in every call. */
export interface TerminationStep {
  requestId: string;
  customerId: string;
  workflowId: string;
}

const ACTOR = 'system:termination';

/**
 * Tables that keep rows naming the customer after a termination, by design, and why (the data map's
 * `afterTermination: { kept }`): evidence of what was done (ids, counts, hashes; no personal data), and the encrypted
 * certificate address until the certificate is sent. Every other table of the map, and any table of the live schema
 * with a `customer_id` column that the map does not know, must hold nothing of the customer after the erasure beyond
 * statutorily retained rows (`verifyCustomerErased`).
 */
export const TERMINATION_EVIDENCE_TABLES: Readonly<Record<string, string>> = Object.fromEntries(
  DATA_MAP.flatMap((t) => (t.afterTermination === 'erased' ? [] : [[t.table, t.afterTermination.kept]])),
);

/** Result of {@link createTerminationActivities} `verifyCustomerErased`. */
export interface CustomerErasedCheck {
  verified: boolean;
  checkedAt: string;
  tablesChecked: string[];
  /** Rows of the customer found beyond statutorily retained ones, per table (only tables with any). */
  remaining: Record<string, number>;
  /** Rows under statutory retention found, per table. */
  retainedFound: Record<string, number>;
  /** Export archive directories of the customer still on disk. */
  exportArchivesOnDisk: number;
}

/** Everything the certificate of a termination states, as the workflow collected it (ids, counts, dates). */
export interface TerminationCertificateFacts extends TerminationStep {
  contract: { contractId: string | null; endedAt: string | null };
  disposition: TerminationDisposition;
  dispositionSource: 'contract' | 'privacy_officer_override';
  returned: ReturnedData | null;
  timeline: Record<string, string>;
  approval: { requestedBy: string; approvedBy: string; approvedAt: string };
  categories: DataCategory[];
  erasure: {
    tables: Record<string, number>;
    retained: Record<string, RetainedRows>;
    subprocessorDeletions: Array<SubprocessorDeletionReceipt & { subprocessorId: string; categories: DataCategory[] }>;
    policyVersions: Partial<Record<DataCategory, number>>;
  };
  verification: CustomerErasedCheck;
}

const sealKey = (secret: Buffer) => Buffer.from(hkdfSync('sha256', secret, 'data-lifecycle', 'termination/v1', 32));

/** Builds the termination activities. */
export function createTerminationActivities(deps: TerminationDeps) {
  const { db, config } = deps;
  const keyring = config.payloadEncryption.keyring;

  function seal(text: string): { keyId: string; ciphertext: string } {
    const keyId = keyring.activeKeyId;
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', sealKey(keyring.keys.get(keyId)!), iv);
    const body = Buffer.concat([cipher.update(text, 'utf8'), cipher.final()]);
    return { keyId, ciphertext: Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64') };
  }

  function unseal(keyId: string, ciphertext: string): string {
    const key = keyring.keys.get(keyId);
    if (!key) throw new Error(`payload key ${keyId} is no longer configured`);
    const raw = Buffer.from(ciphertext, 'base64');
    const decipher = createDecipheriv('aes-256-gcm', sealKey(key), raw.subarray(0, 12));
    decipher.setAuthTag(raw.subarray(12, 28));
    return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
  }

  // Emails sent once each, recorded and audited with the writes they go with (activities/request-notices.ts).
  const { notify, auditCustomer } = createRequestNotices(deps, { actor: ACTOR });

  async function audit(
    step: TerminationStep,
    action: string,
    details: Record<string, unknown>,
    trx: Knex | Knex.Transaction = db,
    actor = ACTOR,
  ): Promise<void> {
    await auditEvents.append(trx, {
      actor,
      action,
      subjectType: 'lifecycle_request',
      subjectId: step.requestId,
      customerId: await auditCustomer(step.customerId),
      requestId: step.requestId,
      workflowId: step.workflowId,
      details,
    });
  }

  async function primaryContact(customerId: string) {
    return db('contacts as c')
      .join('customers as k', 'k.id', 'c.customer_id')
      .where({ 'c.customer_id': customerId, 'c.role': 'primary' })
      .first<{ id: string; email: string; name: string; companyName: string } | undefined>(
        'c.id as id',
        'c.email as email',
        'c.name as name',
        'k.company_name as companyName',
      );
  }

  /** The two links of a return, re-minted identically on every call (tokens are deterministic per link). */
  function returnLinks(p: { exportLinkId: string; ackLinkId: string; expiresAtMs: number }) {
    const base = config.http.publicBaseUrl;
    const claims = { expiresAtMs: p.expiresAtMs };
    return {
      download: `${base}/download/${signLinkToken(config.links.keyring, { purpose: 'export', linkId: p.exportLinkId, ...claims })}`,
      acknowledge: `${base}/acknowledge/${signLinkToken(config.links.keyring, { purpose: 'acknowledge', linkId: p.ackLinkId, ...claims })}`,
    };
  }

  return {
    /** Records the stage on the request (for `GET /v1/requests/{id}` when the workflow cannot be asked). */
    async reportTerminationStage(step: TerminationStep & { stage: TerminationStage }): Promise<void> {
      await lifecycleRequests.setStage(db, step.requestId, step.stage);
    },

    /** Cancelled before the effective date: the request ends `cancelled`; nothing was touched. */
    async recordTerminationCancelled(step: TerminationStep & { actor: string }): Promise<void> {
      await db.transaction(async (trx) => {
        const n = await trx('lifecycle_requests')
          .where({ id: step.requestId })
          .whereNotIn('status', ['completed', 'failed', 'cancelled'])
          .update({
            status: 'cancelled',
            stage: 'cancelled',
            outcome: JSON.stringify({ result: 'cancelled' }),
            completed_at: trx.fn.now(),
            updated_at: trx.fn.now(),
          });
        if (n > 0) await audit(step, 'termination.cancelled', {}, trx, step.actor);
      });
    },

    /**
     * At the effective date: the customer becomes `terminating`, its API access and every seller account are marked
     * revoked (once: a retry keeps the first instant). Returns the contract the termination ends.
     */
    async revokeCustomerAccess(
      step: TerminationStep & { effectiveAt: string },
    ): Promise<{ revokedAt: string; sellerAccounts: number; contractId: string | null }> {
      return db.transaction(async (trx) => {
        const customer = await trx('customers')
          .where({ id: step.customerId })
          .forUpdate()
          .first<{ status: string; access_revoked_at: Date | null } | undefined>('status', 'access_revoked_at');
        const contract = await trx('contracts')
          .where({ customer_id: step.customerId })
          .orderBy('created_at', 'desc')
          .first<{ id: string } | undefined>('id');
        if (!customer) return { revokedAt: new Date().toISOString(), sellerAccounts: 0, contractId: null };
        if (customer.access_revoked_at) {
          return {
            revokedAt: customer.access_revoked_at.toISOString(),
            sellerAccounts: 0,
            contractId: contract?.id ?? null,
          };
        }
        const [{ now }] = (await trx.raw<{ rows: [{ now: Date }] }>('select now() as now')).rows;
        await trx('customers')
          .where({ id: step.customerId })
          .update({ status: 'terminating', access_revoked_at: now, updated_at: now });
        const sellerAccounts = await trx('seller_accounts')
          .where({ customer_id: step.customerId })
          .whereNull('access_revoked_at')
          .update({ access_revoked_at: now, updated_at: now });
        await audit(
          step,
          'termination.access_revoked',
          { sellerAccounts, apiAccess: true, previousStatus: customer.status, effectiveAt: step.effectiveAt },
          trx,
        );
        return { revokedAt: now.toISOString(), sellerAccounts, contractId: contract?.id ?? null };
      });
    },

    /** Stores the primary contact's address encrypted for the certificate email (see the module comment). */
    async captureCertificateRecipient(step: TerminationStep): Promise<{ captured: boolean }> {
      const existing = await db('termination_recipients')
        .where({ request_id: step.requestId })
        .first<{ request_id: string } | undefined>('request_id');
      if (existing) return { captured: true };
      const contact = await primaryContact(step.customerId);
      if (!contact) return { captured: false };
      const sealed = seal(contact.email);
      await db.transaction(async (trx) => {
        const inserted = await trx('termination_recipients')
          .insert({
            request_id: step.requestId,
            customer_id: step.customerId,
            key_id: sealed.keyId,
            ciphertext: sealed.ciphertext,
            contact_id: contact.id,
          })
          .onConflict('request_id')
          .ignore()
          .returning('request_id');
        if (inserted.length > 0) {
          await audit(step, 'termination.recipient_captured', { contactId: contact.id, keyId: sealed.keyId }, trx);
        }
      });
      return { captured: true };
    },

    /** Mails the primary contact the download link of the returned export and the acknowledgement link. */
    async deliverTerminationReturn(
      step: TerminationStep & { archiveId: string; exportLinkId: string; ackLinkId: string; expiresAtMs: number },
    ): Promise<{ deliveredAt: string }> {
      const contact = await primaryContact(step.customerId);
      const archive = await db('export_archives')
        .where({ id: step.archiveId })
        .first<{ rows_done: string; manifest_sha256: string } | undefined>('rows_done', 'manifest_sha256');
      if (!contact || !archive) throw new Error('the customer or its export is gone before the return was delivered');
      const expiresAt = new Date(step.expiresAtMs);
      for (const [id, purpose, maxUses] of [
        [step.exportLinkId, 'export', null],
        [step.ackLinkId, 'acknowledge', 1],
      ] as const) {
        await publicLinks.insertIfAbsent(db, {
          id,
          purpose,
          requestId: step.requestId,
          customerId: step.customerId,
          contactId: contact.id,
          archiveId: step.archiveId,
          expiresAt,
          maxUses,
        });
      }
      const links = returnLinks(step);
      await notify(step, {
        kind: 'termination-return',
        dedupeKey: `termination-return-${step.requestId}`,
        recipient: 'contact',
        to: contact.email,
        contactId: contact.id,
        mail: returnDeliveryEmail({
          requestId: step.requestId,
          contactName: contact.name,
          companyName: contact.companyName,
          downloadLink: links.download,
          acknowledgeLink: links.acknowledge,
          graceEndsAtMs: step.expiresAtMs,
          rows: Number(archive.rows_done),
          manifestSha256: archive.manifest_sha256,
        }),
        action: 'termination.return_delivered',
        details: { archiveId: step.archiveId, manifestSha256: archive.manifest_sha256, expiresAt },
      });
      return { deliveredAt: new Date().toISOString() };
    },

    /** Reminds the primary contact before the grace period ends (once per reminder instant). */
    async sendReturnReminder(
      step: TerminationStep & { exportLinkId: string; ackLinkId: string; expiresAtMs: number; reminderAtMs: number },
    ): Promise<void> {
      const contact = await primaryContact(step.customerId);
      if (!contact) return;
      const links = returnLinks(step);
      await notify(step, {
        kind: 'termination-return-reminder',
        dedupeKey: `termination-return-reminder-${step.requestId}-${step.reminderAtMs}`,
        recipient: 'contact',
        to: contact.email,
        contactId: contact.id,
        mail: returnReminderEmail({
          requestId: step.requestId,
          contactName: contact.name,
          companyName: contact.companyName,
          downloadLink: links.download,
          acknowledgeLink: links.acknowledge,
          graceEndsAtMs: step.expiresAtMs,
        }),
        action: 'termination.return_reminder_sent',
        details: { reminderAt: new Date(step.reminderAtMs).toISOString() },
      });
    },

    /** The return period ended (acknowledged, or the grace period passed); an unused acknowledgement link is revoked. */
    async recordReturnClosed(
      step: TerminationStep & { closedBy: 'acknowledged' | 'grace-period-ended'; acknowledgedBy?: string },
    ): Promise<void> {
      await db.transaction(async (trx) => {
        const revoked = await publicLinks.revokeUnused(trx, step.requestId, 'acknowledge');
        await audit(
          step,
          'termination.return_closed',
          { closedBy: step.closedBy, acknowledgedBy: step.acknowledgedBy ?? null, revokedLinks: revoked },
          trx,
        );
      });
    },

    /** Asks staff for the erasure approval (and reminds them, `reminder` > 0). */
    async requestTerminationApproval(step: TerminationStep & { reminder: number }): Promise<void> {
      await notify(step, {
        kind: step.reminder > 0 ? 'approval-reminder' : 'approval-request',
        dedupeKey: `termination-approval-${step.requestId}-${step.reminder}`,
        recipient: 'staff',
        to: config.accessRequests.staffEmail,
        mail: approvalRequestEmail({ requestId: step.requestId, customerId: step.customerId, reminder: step.reminder }),
        action: step.reminder > 0 ? 'termination.approval_reminded' : 'termination.approval_requested',
        details: { reminder: step.reminder },
      });
    },

    /** The erasure was refused: the request ends `failed` with the reason; the data stays until staff decide anew. */
    async recordTerminationRejected(step: TerminationStep & { actor: string }): Promise<void> {
      await db.transaction(async (trx) => {
        const closed = await lifecycleRequests.fail(trx, step.requestId, 'erasure approval refused', {
          result: 'rejected',
        });
        if (!closed) return; // a re-run: recorded already
        await audit(step, 'termination.rejected', { decidedBy: step.actor }, trx);
      });
    },

    /** Active legal holds on the customer (any category): the termination waits while there is one. */
    async activeLegalHolds(step: TerminationStep): Promise<{ count: number }> {
      const holds = await legalHolds.listForCustomer(db, step.customerId, { activeOnly: true });
      return { count: holds.length };
    },

    /** The retention policy version in force per category (recorded in the erasure and the certificate). */
    async currentPolicyVersions(): Promise<Partial<Record<DataCategory, number>>> {
      const list = await retentionPolicies.list(db, config.retention.policySet);
      return Object.fromEntries(list.map((p) => [p.category, p.version]));
    },

    /**
     * The final check, over the live schema: every table with a `customer_id` column (and `customers` itself),
     * except the evidence tables, must hold no row of the customer beyond rows under statutory retention; and no
     * export archive directory the customer ever had may remain on disk.
     */
    async verifyCustomerErased(step: TerminationStep): Promise<CustomerErasedCheck> {
      const { rows } = await db.raw<{ rows: { table_name: string }[] }>(
        `select distinct table_name from information_schema.columns
          where table_schema = current_schema() and column_name = 'customer_id'`,
      );
      // The map's erased tables, and any live table naming customers that the map does not know (a new table is
      // checked before anyone remembers to map it).
      const owners = new Map<string, string>();
      for (const t of DATA_MAP) {
        if (t.afterTermination === 'erased' && t.owner.column !== 'request_id') owners.set(t.table, t.owner.column);
      }
      for (const r of rows) {
        if (!DATA_MAP.some((t) => t.table === r.table_name)) owners.set(r.table_name, 'customer_id');
      }
      const tables = [...owners.keys()].sort();
      const remaining: Record<string, number> = {};
      const retainedFound: Record<string, number> = {};
      for (const table of tables) {
        const column = owners.get(table)!;
        const retainable = TABLES_WITH_RETAIN_UNTIL.includes(table);
        const rows = await db(table)
          .where(column, step.customerId)
          .select(
            db.raw('count(*)::int as total'),
            retainable
              ? db.raw('(count(*) filter (where retain_until > now()))::int as kept')
              : db.raw('0::int as kept'),
          );
        const { total, kept } = (rows as unknown as { total: number; kept: number }[])[0]!;
        if (total - kept > 0) remaining[table] = total - kept;
        if (kept > 0) retainedFound[table] = kept;
      }
      // Every archive the customer ever had is named in the audit log (ids only), even after its row is gone.
      const started = await auditEvents.list(db, { customerId: step.customerId, action: 'access.export_started' });
      const archiveIds = [...new Set(started.map((e) => e.subjectId))];
      const onDisk = archiveIds.filter((id) => existsSync(archiveDirectory(config.exports.dir, id))).length;
      return {
        verified: Object.keys(remaining).length === 0 && onDisk === 0,
        checkedAt: new Date().toISOString(),
        tablesChecked: tables,
        remaining,
        retainedFound,
        exportArchivesOnDisk: onDisk,
      };
    },

    /** Issues (signs and stores) the termination's certificate; a retry returns the one issued first. */
    async issueTerminationCertificate(
      facts: TerminationCertificateFacts,
    ): Promise<{ certificateId: string; digest: string }> {
      const now = DateTime.utc();
      const plus = (iso: string): string => now.plus(Duration.fromISO(iso)).toISO() ?? iso;
      const retained: RetainedRecord[] = Object.entries(facts.erasure.retained).map(([table, r]) => ({
        table,
        rows: r.rows,
        reason: r.reason,
        until: r.until,
      }));
      const subprocessors: SubprocessorConfirmation[] = facts.erasure.subprocessorDeletions.map((d) => ({
        subprocessorId: d.subprocessorId,
        deletionId: d.deletionId,
        categories: d.categories,
        status: d.status,
        ...(d.confirmedAt ? { confirmedAt: d.confirmedAt } : {}),
      }));
      const draft: CertificateDraft = {
        kind: 'termination',
        customerId: facts.customerId,
        requestId: facts.requestId,
        contract: {
          contractId: facts.contract.contractId,
          endedAt: facts.contract.endedAt,
          disposition: facts.disposition,
          dispositionSource: facts.dispositionSource,
        },
        returned: facts.returned,
        categories: facts.categories,
        refused: [],
        timeline: facts.timeline,
        approval: facts.approval,
        deleted: {
          tables: facts.erasure.tables,
          totalRows: Object.values(facts.erasure.tables).reduce((a, b) => a + b, 0),
        },
        deletionMethods: deletionMethods(),
        subprocessors,
        retained,
        verification: {
          verified: facts.verification.verified,
          checkedAt: facts.verification.checkedAt,
          tablesChecked: facts.verification.tablesChecked,
          remaining: facts.verification.remaining,
          exportArchivesOnDisk: facts.verification.exportArchivesOnDisk,
        },
        copiesOutsideLiveTables: {
          databaseBackups: {
            retention: config.certificates.backupRetention,
            goneBy: plus(config.certificates.backupRetention),
            statement:
              'backups taken before the erasure still hold the rows; they are never restored into service and are ' +
              'destroyed when the backup retention passes',
          },
          temporalHistories: {
            namespace: config.temporal.namespace,
            retention: config.certificates.temporalNamespaceRetention,
            goneBy: plus(config.certificates.temporalNamespaceRetention),
            statement:
              'workflow histories hold ids, counts and hashes in payloads encrypted with AES-256-GCM; the namespace ' +
              'deletes closed histories when its retention passes',
          },
          logs: {
            statement:
              'logs hold no personal data by design (ids only; every log line is redacted and test runs scan for it)',
          },
        },
        policyVersions: {
          retentionPolicies: facts.erasure.policyVersions,
          statutoryRules: STATUTORY_RETENTION_RULES.filter((r) => config.statutoryRetention[r.period] !== null).map(
            (r) => r.id,
          ),
        },
      };
      const stored = await certificates.issue(db, config.certificates, draft, `workflow:${facts.workflowId}`);
      return { certificateId: stored.id, digest: stored.signed.digest.value };
    },

    /**
     * Mails the certificate (JSON attached, HTML alternative) to the address captured before the erasure, then
     * deletes that address. Without one (no primary contact was on file), staff receive it to forward.
     */
    async sendTerminationCertificate(step: TerminationStep & { certificateId: string }): Promise<void> {
      const stored = await certificates.find(db, step.certificateId);
      if (!stored) throw new Error(`certificate ${step.certificateId} not found`);
      const recipient = await db('termination_recipients')
        .where({ request_id: step.requestId })
        .first<{ key_id: string; ciphertext: string; contact_id: string } | undefined>(
          'key_id',
          'ciphertext',
          'contact_id',
        );
      if (!recipient && stored.emailedAt) return;
      const json = JSON.stringify(stored.signed, null, 2);
      const html = renderCertificateHtml(stored.signed, { brand: config.brand, offline: true });
      await notify(step, {
        kind: 'certificate',
        dedupeKey: `termination-certificate-${step.requestId}`,
        recipient: recipient ? 'contact' : 'staff',
        to: recipient ? unseal(recipient.key_id, recipient.ciphertext) : config.accessRequests.staffEmail,
        ...(recipient ? { contactId: recipient.contact_id } : {}),
        mail: certificateEmail({
          requestId: step.requestId,
          certificateId: stored.id,
          digest: stored.signed.digest.value,
          checkUrl: `${config.http.publicBaseUrl}/certificates/verify`,
        }),
        extra: {
          html,
          attachments: [
            { filename: `certificate-${stored.id}.json`, content: json, contentType: 'application/json' },
            { filename: `certificate-${stored.id}.html`, content: html, contentType: 'text/html' },
          ],
        },
        action: 'termination.certificate_sent',
        details: { certificateId: stored.id, digestSha256: stored.signed.digest.value },
      });
      await db.transaction(async (trx) => {
        await certificates.markEmailed(trx, stored.id);
        const deleted = await trx('termination_recipients').where({ request_id: step.requestId }).delete();
        if (deleted > 0) await audit(step, 'termination.recipient_deleted', { certificateId: stored.id }, trx);
      });
    },

    /** The end: the request completes with its outcome; a customer record kept for retained invoices is `terminated`. */
    async completeTermination(
      step: TerminationStep & { certificateId: string; verified: boolean; deletedRows: number },
    ): Promise<void> {
      await db.transaction(async (trx) => {
        const customer = await trx('customers').where({ id: step.customerId }).first<{ id: string } | undefined>('id');
        if (customer) await customers.setStatus(trx, step.customerId, 'terminated');
        const request = await lifecycleRequests.findById(trx, step.requestId);
        if (request?.status === 'completed') return;
        await lifecycleRequests.complete(trx, step.requestId, {
          result: 'terminated',
          certificateId: step.certificateId,
          verified: step.verified,
          deletedRows: step.deletedRows,
          customerRecord: customer ? 'retained' : 'deleted',
        });
        await audit(
          step,
          'termination.completed',
          { certificateId: step.certificateId, verified: step.verified, deletedRows: step.deletedRows },
          trx,
        );
      });
      log.info('termination completed', { requestId: step.requestId, certificateId: step.certificateId });
    },
  };
}

/** How data ends in each place, as every termination certificate states it. */
function deletionMethods(): Array<{ place: string; method: string }> {
  const methods = ERASURE_TABLES.map((t) => ({
    place: `table ${t.table}`,
    method:
      'DELETE by customer and data category in batches of one transaction each, in dependency order, counted by ' +
      'the same statement' +
      (t.files ? '; the archive directory under EXPORT_DIR is removed before its row' : ''),
  }));
  methods.push(
    {
      place: 'table customers',
      method:
        'row deleted once nothing else of the customer remains, else kept as the ' +
        'counterparty of retained records until they expire',
    },
    { place: 'table customer_subprocessors', method: 'rows deleted with the customer record' },
    {
      place: 'subprocessors',
      method:
        'deletion request (protocol v1, signed, idempotent) and confirmation, ' +
        'synchronous or by signed callback; unconfirmed ones are escalated to staff',
    },
    {
      place: 'table termination_recipients',
      method:
        'the primary contact address, kept encrypted only to send this ' +
        'certificate, deleted right after it was sent',
    },
    ...Object.entries(TERMINATION_EVIDENCE_TABLES)
      .filter(([t]) => t !== 'termination_recipients')
      .map(([t, why]) => ({ place: `table ${t}`, method: `kept: ${why}` })),
  );
  return methods;
}

/** The activities the termination workflow proxies (besides the export machinery of activities/export.ts). */
export type TerminationActivities = ReturnType<typeof createTerminationActivities>;
