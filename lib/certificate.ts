/**
 * Deletion certificates: what a contract termination or a deletion request erased, returned and kept, signed so that
 * anyone holding the public key can check that not one character changed since it was issued.
 *
 * Form: the content ({@link CertificateContent}) is serialised as canonical JSON (RFC 8785, json-canonicalize), its
 * SHA-256 digest is recorded, and the canonical bytes are signed with Ed25519 (lib/certificate-keys.ts). The signed
 * document ({@link SignedCertificate}) carries content, digest and signature; verification re-canonicalises the
 * content, so whitespace or key order in a stored or mailed copy do not matter, any changed value does.
 *
 * The content holds ids, counts, dates and hashes, never personal data: the certificate outlives the customer's data
 * and is mailed, stored and shown to auditors. This module does no I/O; the repository (db/repositories/
 * certificates.ts) stores what it signs.
 */
import { createHash, sign, verify, type KeyObject } from 'node:crypto';
import { canonicalize } from 'json-canonicalize';
import { publicKeyId, type CertificateSigningKey } from './certificate-keys';

/** Identifies the content format; a verifier refuses anything else. */
export const CERTIFICATE_SCHEMA = 'data-lifecycle/deletion-certificate/v1';

/** What the certificate certifies. */
export type CertificateKind = 'termination' | 'deletion_request';

/** Rows of one table kept after the deletion, why, and until when. */
export interface RetainedRecord {
  table: string;
  rows: number;
  /** The legal obligation (e.g. "tax law: invoiced order kept as an accounting record"). */
  reason: string;
  /** ISO 8601 instant after which the rows are deleted by the rolling retention sweep (the latest row's expiry). */
  until: string;
}

/** One subprocessor's deletion and its confirmation. */
export interface SubprocessorConfirmation {
  subprocessorId: string;
  deletionId: string;
  categories: string[];
  /** `escalated`: not confirmed within the configured deadline (or refused); staff were told to follow up. */
  status: 'confirmed' | 'escalated';
  confirmedAt?: string;
}

/** How data ends in one place. */
export interface DeletionMethod {
  place: string;
  method: string;
}

/** How copies outside the live tables end, with dates (SCC Clause 8.5: "delete existing copies"). */
export interface CopiesOutsideLiveTables {
  databaseBackups: { retention: string; goneBy: string; statement: string };
  temporalHistories: { namespace: string; retention: string; goneBy: string; statement: string };
  logs: { statement: string };
}

/** What a termination returned to the customer before the deletion. */
export interface ReturnedData {
  archiveId: string;
  /** SHA-256 of the export manifest (activities/export.ts), which lists each file with its own hash. */
  manifestSha256: string;
  rows: number;
  deliveredAt: string;
  /** How the return period ended. */
  closedBy: 'acknowledged' | 'grace-period-ended';
  closedAt: string;
}

/**
 * The certified facts. Sections a kind does not use are null (a deletion request has no contract end; a delete-only
 * termination returned nothing), never left out, so that every certificate of a schema has the same keys.
 */
export interface CertificateContent {
  schema: typeof CERTIFICATE_SCHEMA;
  id: string;
  kind: CertificateKind;
  issuedAt: string;
  issuer: { service: string; codeVersion: string; keyId: string; publicKeyUrl: string };
  customerId: string;
  requestId: string;
  /** The contract the termination ended (ids and dates only), or null. */
  contract: {
    contractId: string | null;
    endedAt: string | null;
    disposition: 'delete' | 'return_then_delete';
    dispositionSource: 'contract' | 'privacy_officer_override';
  } | null;
  returned: ReturnedData | null;
  /** Data categories in scope. */
  categories: string[];
  /** Parts of a deletion request that were refused, with the reason (and until when, for statutory retention). */
  refused: Array<{ part: string; reason: string; until?: string }>;
  /** Named instants of the process: requestedAt, effectiveAt, accessRevokedAt, approvedAt, erasureCompletedAt... */
  timeline: Record<string, string>;
  approval: { requestedBy: string; approvedBy: string; approvedAt: string } | null;
  /** Rows deleted per table (exact across retries and resumptions). */
  deleted: { tables: Record<string, number>; totalRows: number };
  deletionMethods: DeletionMethod[];
  subprocessors: SubprocessorConfirmation[];
  retained: RetainedRecord[];
  /** The final check over every customer-owned table: rows of the customer found beyond what is retained. */
  verification: {
    verified: boolean;
    checkedAt: string;
    tablesChecked: string[];
    remaining: Record<string, number>;
    exportArchivesOnDisk: number;
  };
  copiesOutsideLiveTables: CopiesOutsideLiveTables;
  /** Retention policy version per category in force, and the statutory rules applied. */
  policyVersions: { retentionPolicies: Record<string, number>; statutoryRules: string[] };
}

/** The certificate as stored, mailed and verified. */
export interface SignedCertificate {
  certificate: CertificateContent;
  digest: { algorithm: 'SHA-256'; value: string };
  signature: { algorithm: 'Ed25519'; keyId: string; value: string };
}

/** The bytes that are hashed and signed. */
export function canonicalCertificate(content: CertificateContent): string {
  return canonicalize(content);
}

/** Hex SHA-256 of the canonical content. */
export function certificateDigest(canonical: string): string {
  return createHash('sha256').update(canonical, 'utf8').digest('hex');
}

/** Signs content with the configured key. Same content and key, same document (Ed25519 is deterministic). */
export function signCertificate(content: CertificateContent, key: CertificateSigningKey): SignedCertificate {
  const canonical = canonicalCertificate(content);
  return {
    certificate: JSON.parse(canonical) as CertificateContent,
    digest: { algorithm: 'SHA-256', value: certificateDigest(canonical) },
    signature: {
      algorithm: 'Ed25519',
      keyId: key.keyId,
      value: sign(null, Buffer.from(canonical, 'utf8'), key.privateKey).toString('base64'),
    },
  };
}

/** The outcome of a verification: each check, and a sentence per failed one. */
export interface CertificateVerification {
  valid: boolean;
  certificateId: string | null;
  checks: { format: boolean; digest: boolean; signature: boolean; keyId: boolean };
  problems: string[];
}

/**
 * Verifies a document (anything: it may come from a file or a request body) against a public key: format, digest of
 * the canonical content, Ed25519 signature over it, and that the key id it names is the key's. Never throws.
 */
export function verifyCertificate(document: unknown, publicKey: KeyObject): CertificateVerification {
  const checks = { format: false, digest: false, signature: false, keyId: false };
  const problems: string[] = [];
  const doc = document as Partial<SignedCertificate> | null;
  const content = doc?.certificate;
  const id = typeof content?.id === 'string' ? content.id : null;
  if (
    typeof doc !== 'object' ||
    doc === null ||
    typeof content !== 'object' ||
    content === null ||
    content.schema !== CERTIFICATE_SCHEMA ||
    doc.digest?.algorithm !== 'SHA-256' ||
    typeof doc.digest.value !== 'string' ||
    doc.signature?.algorithm !== 'Ed25519' ||
    typeof doc.signature.value !== 'string' ||
    typeof doc.signature.keyId !== 'string'
  ) {
    problems.push(`not a signed certificate of schema ${CERTIFICATE_SCHEMA}`);
    return { valid: false, certificateId: id, checks, problems };
  }
  checks.format = true;
  let canonical: string;
  try {
    canonical = canonicalize(content);
  } catch {
    problems.push('the content cannot be canonicalised');
    return { valid: false, certificateId: id, checks, problems };
  }
  checks.digest = certificateDigest(canonical) === doc.digest.value;
  if (!checks.digest) problems.push('the digest does not match the content: the content was changed');
  try {
    checks.signature = verify(
      null,
      Buffer.from(canonical, 'utf8'),
      publicKey,
      Buffer.from(doc.signature.value, 'base64'),
    );
  } catch {
    checks.signature = false;
  }
  if (!checks.signature) problems.push('the signature does not verify with this public key over the content');
  checks.keyId = doc.signature.keyId === publicKeyId(publicKey);
  if (!checks.keyId) problems.push(`the certificate names key ${doc.signature.keyId}, not this public key`);
  return {
    valid: checks.format && checks.digest && checks.signature && checks.keyId,
    certificateId: id,
    checks,
    problems,
  };
}
