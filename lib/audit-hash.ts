/**
 * Hashing of the audit log: what an event's canonical content is, and how events are linked into chains. Pure
 * functions, shared by the repository (which writes and verifies the chains) and its tests.
 *
 * Chains. Every event is in the global chain; an event with a customer id is also in that customer's chain. Each
 * chain is a sequence 1, 2, 3, ... (positions after a retention purge continue from the purge's anchor) in which
 *
 *     contentHash = SHA-256( canonical content )                      (hex)
 *     hash        = SHA-256( prevHash || contentHash )                (hex of the 128 ASCII hex characters)
 *     prevHash    = hash of the previous event of the same chain, or the anchor's hash after a purge, or
 *                   {@link GENESIS_HASH} for the first event ever
 *
 * Canonical content is the RFC 8785 (JCS) serialisation of the event's own fields, exactly as they read back from the
 * database: the id, the instant (`occurredAt`, millisecond ISO 8601 in UTC: the column holds milliseconds only),
 * actor, action, subject, the customer/request/workflow ids (null when absent), the data category and the details,
 * plus a format version `v` so that the form can evolve without making old events unverifiable.
 *
 * Keyed links. The hashes above are unkeyed: anyone who can write rows can recompute them. Every event written since
 * the keyed chain (migration 20261202101000) also carries
 *
 *     mac = HMAC-SHA256( key[macKeyId], canonical { v, id, globalSeq, globalHash, customerSeq, customerHash } )  (hex)
 *
 * with a key from AUDIT_HMAC_KEYS that the database never holds (lib/audit-keys.ts). The global hash commits to the
 * content and to every earlier event, so a MAC that verifies proves the event and the chain up to it were written by a
 * holder of the key. Events from before the keyed chain carry no MAC and are covered by the first keyed event after
 * them and by the signed checkpoints (lib/audit-checkpoints.ts).
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { canonicalize } from 'json-canonicalize';

/** Version of the canonical form written into every event's content. */
export const AUDIT_CANONICAL_VERSION = 1;

/** `prevHash` of the first event of a chain that was never purged. */
export const GENESIS_HASH = '0'.repeat(64);

/** Name of the chain every event belongs to. */
export const GLOBAL_CHAIN = 'global';

/** A lower-case hex SHA-256 digest. */
export const HASH_PATTERN = /^[0-9a-f]{64}$/;

/** Name of a customer's chain, as stored in `audit_chain_anchors.chain` and reported by verification. */
export function customerChain(customerId: string): string {
  return `customer:${customerId}`;
}

/** The fields of an event that its content hash covers. */
export interface AuditContent {
  /** The event id (bigint as a decimal string). */
  id: string;
  occurredAt: Date;
  actor: string;
  action: string;
  subjectType: string;
  subjectId: string;
  customerId: string | null;
  requestId: string | null;
  workflowId: string | null;
  dataCategory: string;
  details: Record<string, unknown>;
}

/** Hex SHA-256 of a UTF-8 string. */
export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/**
 * The RFC 8785 canonical JSON of an event's content.
 * @throws RangeError when `occurredAt` is not a valid date.
 */
export function canonicalAuditContent(event: AuditContent): string {
  if (Number.isNaN(event.occurredAt.getTime())) throw new RangeError('occurredAt is not a valid date');
  return canonicalize({
    v: AUDIT_CANONICAL_VERSION,
    id: event.id,
    occurredAt: event.occurredAt.toISOString(),
    actor: event.actor,
    action: event.action,
    subjectType: event.subjectType,
    subjectId: event.subjectId,
    customerId: event.customerId,
    requestId: event.requestId,
    workflowId: event.workflowId,
    dataCategory: event.dataCategory,
    details: event.details,
  });
}

/** SHA-256 of an event's canonical content. */
export function auditContentHash(event: AuditContent): string {
  return sha256Hex(canonicalAuditContent(event));
}

/** The link hash of a chain position: SHA-256 over the previous hash followed by this event's content hash. */
export function chainLinkHash(prevHash: string, contentHash: string): string {
  if (!HASH_PATTERN.test(prevHash) || !HASH_PATTERN.test(contentHash)) {
    throw new RangeError('chain hashes must be 64 lower-case hex characters');
  }
  return sha256Hex(prevHash + contentHash);
}

/** What an event's MAC covers: its id and its links in both chains. */
export interface AuditMacInput {
  id: string;
  globalSeq: string;
  globalHash: string;
  customerSeq: string | null;
  customerHash: string | null;
}

/** Version of the MAC input's canonical form. */
export const AUDIT_MAC_VERSION = 1;

/** HMAC-SHA256 (hex) of an event's links under `key`. */
export function auditLinkMac(key: Buffer, input: AuditMacInput): string {
  return createHmac('sha256', key)
    .update(
      canonicalize({
        v: AUDIT_MAC_VERSION,
        id: input.id,
        globalSeq: input.globalSeq,
        globalHash: input.globalHash,
        customerSeq: input.customerSeq,
        customerHash: input.customerHash,
      }),
      'utf8',
    )
    .digest('hex');
}

/** Whether `mac` is the MAC of `input` under `key` (constant time). */
export function auditLinkMacMatches(key: Buffer, input: AuditMacInput, mac: string): boolean {
  return hexMacMatches(auditLinkMac(key, input), mac);
}

/** Whether a stored `mac` (anything, as read from a row) equals the `expected` hex MAC, in constant time. */
function hexMacMatches(expected: string, mac: string): boolean {
  const want = Buffer.from(expected, 'hex');
  const given = Buffer.from(HASH_PATTERN.test(mac) ? mac : '', 'hex');
  return given.length === want.length && timingSafeEqual(given, want);
}

/** Version of the intake MAC's canonical form. */
export const AUDIT_INTAKE_MAC_VERSION = 1;

/**
 * HMAC-SHA256 (hex) of an event waiting in the audit intake, under `key`: its idempotency key and the event exactly as
 * it will be appended (its links do not exist yet). A row altered before it is chained no longer matches.
 */
export function auditIntakeMac(key: Buffer, idempotencyKey: string, event: unknown): string {
  return createHmac('sha256', key)
    .update(canonicalize({ v: AUDIT_INTAKE_MAC_VERSION, intake: idempotencyKey, event }), 'utf8')
    .digest('hex');
}

/** Whether `mac` is the intake MAC of `idempotencyKey` and `event` under `key` (constant time). */
export function auditIntakeMacMatches(key: Buffer, idempotencyKey: string, event: unknown, mac: string): boolean {
  return hexMacMatches(auditIntakeMac(key, idempotencyKey, event), mac);
}
