/**
 * Store for `certificates`: issues (signs and records) deletion certificates and finds them again. One certificate per
 * lifecycle request: issuing again for the same request, as a retried activity does, returns the certificate issued
 * first, unchanged, so a customer never holds two different certificates for one deletion.
 */
import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import {
  CERTIFICATE_SCHEMA,
  canonicalCertificate,
  signCertificate,
  type CertificateContent,
  type CertificateKind,
  type SignedCertificate,
} from '../../lib/certificate';
import type { AppConfig } from '../../lib/config';
import { auditEvents } from './audit-events';

type Db = Knex | Knex.Transaction;

/** Service name stated in every certificate. */
export const CERTIFICATE_ISSUER = 'data-lifecycle-orchestrator';

/** What the caller certifies; the store adds schema, id, issue instant and issuer. */
export type CertificateDraft = Omit<CertificateContent, 'schema' | 'id' | 'issuedAt' | 'issuer'>;

/** A stored certificate: the signed document plus bookkeeping. */
export interface StoredCertificate {
  id: string;
  kind: CertificateKind;
  customerId: string;
  requestId: string;
  issuedAt: Date;
  emailedAt: Date | null;
  signed: SignedCertificate;
}

interface CertificateRow {
  id: string;
  kind: CertificateKind;
  customer_id: string;
  request_id: string;
  canonical_content: string;
  digest_sha256: string;
  signature: string;
  key_id: string;
  issued_at: Date;
  emailed_at: Date | null;
}

function toStored(row: CertificateRow): StoredCertificate {
  return {
    id: row.id,
    kind: row.kind,
    customerId: row.customer_id,
    requestId: row.request_id,
    issuedAt: row.issued_at,
    emailedAt: row.emailed_at,
    signed: {
      certificate: JSON.parse(row.canonical_content) as CertificateContent,
      digest: { algorithm: 'SHA-256', value: row.digest_sha256 },
      signature: { algorithm: 'Ed25519', keyId: row.key_id, value: row.signature },
    },
  };
}

export const certificates = {
  /**
   * Signs `draft` with the configured key and records it, with a `certificate.issued` audit event, in one
   * transaction. Idempotent per request: when the request has a certificate already, that one is returned.
   * @param actor who issues it (a workflow: `workflow:<id>`).
   */
  async issue(
    db: Knex,
    settings: AppConfig['certificates'],
    draft: CertificateDraft,
    actor: string,
  ): Promise<StoredCertificate> {
    const existing = await this.findByRequest(db, draft.requestId);
    if (existing) return existing;
    const issuedAt = new Date();
    const content: CertificateContent = {
      schema: CERTIFICATE_SCHEMA,
      id: randomUUID(),
      issuedAt: issuedAt.toISOString(),
      issuer: {
        service: CERTIFICATE_ISSUER,
        codeVersion: settings.codeVersion,
        keyId: settings.signingKey.keyId,
        publicKeyUrl: settings.publicKeyUrl,
      },
      ...draft,
    };
    const signed = signCertificate(content, settings.signingKey);
    return db.transaction(async (trx) => {
      const inserted = await trx('certificates')
        .insert({
          id: content.id,
          kind: content.kind,
          customer_id: content.customerId,
          request_id: content.requestId,
          canonical_content: canonicalCertificate(signed.certificate),
          digest_sha256: signed.digest.value,
          signature: signed.signature.value,
          key_id: signed.signature.keyId,
          issued_at: issuedAt,
        })
        .onConflict('request_id')
        .ignore()
        .returning('id');
      if (inserted.length > 0) {
        await auditEvents.append(trx, {
          actor,
          action: 'certificate.issued',
          subjectType: 'certificate',
          subjectId: content.id,
          customerId: content.customerId,
          requestId: content.requestId,
          details: {
            kind: content.kind,
            digestSha256: signed.digest.value,
            keyId: signed.signature.keyId,
            verified: content.verification.verified,
            deletedRows: content.deleted.totalRows,
          },
        });
      }
      return (await this.findByRequest(trx, draft.requestId))!;
    });
  },

  async find(db: Db, id: string): Promise<StoredCertificate | undefined> {
    const row = await db<CertificateRow>('certificates').where({ id }).first();
    return row && toStored(row);
  },

  /** A customer's certificates, newest first (kept after the customer's data is gone). */
  async listForCustomer(db: Db, customerId: string): Promise<StoredCertificate[]> {
    const rows = await db<CertificateRow>('certificates')
      .where({ customer_id: customerId })
      .orderBy('issued_at', 'desc')
      .limit(500);
    return rows.map(toStored);
  },

  async findByRequest(db: Db, requestId: string): Promise<StoredCertificate | undefined> {
    const row = await db<CertificateRow>('certificates').where({ request_id: requestId }).first();
    return row && toStored(row);
  },

  /** Records that the certificate was mailed (first time only); returns false when it had been already. */
  async markEmailed(db: Db, id: string): Promise<boolean> {
    const n = await db('certificates').where({ id }).whereNull('emailed_at').update({ emailed_at: db.fn.now() });
    return n > 0;
  },
};
