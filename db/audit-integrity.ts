/**
 * Verification of the audit log against what the database cannot forge: the MACs of the chain (keys the database never
 * holds) and the signed checkpoints and purge anchors in the checkpoint file (lib/audit-checkpoints.ts). One function,
 * used by `GET /v1/audit/verify`, `npm run cli -- audit verify`, the API's metrics and the scheduled verification
 * (activities/audit-integrity.ts), so that all four find the same breaks:
 *
 * - a forged event (written without the key): `mac_missing` / `mac_mismatch` / `unknown_mac_key`;
 * - a rewrite with recomputed hashes: `mac_mismatch` at the first rewritten event, or `checkpoint_mismatch` when the
 *   rewritten part is older than the keyed chain;
 * - a truncated tail: `truncated` (the head is older than the last signed checkpoint);
 * - a deleted prefix with a forged anchor: `unsigned_purge`;
 * - an edited checkpoint file: `checkpoint_invalid`;
 * - any other break of the chain: the reasons of {@link auditEvents.verify}.
 */
import type { Knex } from 'knex';
import {
  readCheckpoints,
  type CheckpointStore,
  type SignedCheckpoint,
  appendCheckpoint,
} from '../lib/audit-checkpoints';
import type { AuditKeyring } from '../lib/audit-keys';
import { GLOBAL_CHAIN } from '../lib/audit-hash';
import {
  auditEvents,
  auditLogSecurity,
  legacyThroughSeq,
  type AuditVerifyReport,
  type ChainBreakReason,
} from './repositories/audit-events';

/** Every reason verification can stop for. */
export type AuditIntegrityBreakReason =
  | ChainBreakReason
  /** The chain's head is older than a signed checkpoint: events at the end were removed. */
  | 'truncated'
  /** The event at a signed checkpoint's position has another hash: the chain was rewritten. */
  | 'checkpoint_mismatch'
  /** The chain starts at a purge anchor that no signed purge anchor in the checkpoint file confirms. */
  | 'unsigned_purge'
  /** A line of the checkpoint file does not verify with the signing key: the file was edited. */
  | 'checkpoint_invalid';

/** The verification report: the chain walk plus what the checkpoint file says. */
export interface AuditIntegrityReport extends Omit<AuditVerifyReport, 'firstBroken'> {
  firstBroken?: { id: string | null; seq: string | null; reason: AuditIntegrityBreakReason; detail: string };
  checkpoints: {
    path: string;
    /** False when no checkpoint was ever written (a new deployment) or the file is gone. */
    exists: boolean;
    /** Lines that verified (checkpoints and purge anchors). */
    count: number;
    latest: { seq: string; hash: string; at: string } | null;
    invalidLines: number;
    /** Lines signed by another key (e.g. before a key rotation). */
    unverifiable: number;
  };
}

/** What verification reads besides the database (default: this process's configuration). */
export interface AuditIntegrityOptions {
  customerId?: string;
  keyring?: AuditKeyring;
  checkpoints?: CheckpointStore;
}

function maxBySeq(lines: SignedCheckpoint[]): SignedCheckpoint | null {
  let best: SignedCheckpoint | null = null;
  for (const line of lines) if (!best || BigInt(line.seq) > BigInt(best.seq)) best = line;
  return best;
}

/**
 * Verifies the global chain (or one customer chain, where the checkpoints do not apply) with the keys and against the
 * checkpoint file; reports the first break found. Reads one consistent snapshot of the database.
 */
export async function verifyAuditIntegrity(db: Knex, opts: AuditIntegrityOptions = {}): Promise<AuditIntegrityReport> {
  const security = auditLogSecurity();
  const store = opts.checkpoints ?? security.checkpoints;
  const keyring = opts.keyring ?? security.keyring;
  const file = readCheckpoints(store.path, store.signer);
  const latest = maxBySeq(file.valid.filter((l) => l.type === 'checkpoint'));
  const checkpoints: AuditIntegrityReport['checkpoints'] = {
    path: store.path,
    exists: file.exists,
    count: file.valid.length,
    latest: latest && { seq: latest.seq, hash: latest.hash, at: latest.at },
    invalidLines: file.invalid.length,
    unverifiable: file.unverifiable,
  };
  // The boundary of unkeyed events as the earliest signed line states it (the database's copy could be raised).
  const signedLegacy = file.valid.reduce<bigint | undefined>((min, l) => {
    const v = BigInt(l.legacyThroughSeq);
    return min === undefined || v < min ? v : min;
  }, undefined);

  const run = async (trx: Knex.Transaction): Promise<AuditIntegrityReport> => {
    const chain = await auditEvents.verify(trx, {
      customerId: opts.customerId,
      keyring,
      legacyThroughSeq: signedLegacy?.toString(),
    });
    const report: AuditIntegrityReport = { ...chain, checkpoints };
    if (!chain.ok || opts.customerId !== undefined) return report;
    const broken = (
      reason: AuditIntegrityBreakReason,
      detail: string,
      at: { id: string | null; seq: string | null },
    ): AuditIntegrityReport => ({ ...report, ok: false, firstBroken: { ...at, reason, detail } });

    const firstInvalid = file.invalid[0];
    if (firstInvalid) {
      return broken('checkpoint_invalid', `line ${firstInvalid.line} of the checkpoint file: ${firstInvalid.reason}`, {
        id: null,
        seq: null,
      });
    }

    // The chain starts at its latest purge anchor: a signed purge anchor must say the same.
    const anchor = chain.anchor;
    if (anchor) {
      const signed = file.valid.some(
        (l) => l.type === 'purge_anchor' && l.seq === anchor.seq && l.hash === anchor.hash,
      );
      const keyedSince = await trx('audit_keying').first<{ keyed_since: Date } | undefined>('keyed_since');
      const fromBeforeKeys = keyedSince !== undefined && anchor.purgedAt < keyedSince.keyed_since;
      if (!signed && !fromBeforeKeys) {
        return broken(
          'unsigned_purge',
          `the chain starts after position ${anchor.seq}, but no signed purge anchor in ${store.path} says so: events were deleted outside the purge`,
          { id: anchor.eventId, seq: anchor.seq },
        );
      }
    }

    // Every signed position still in the database must hold the signed hash, and none may be past the head.
    const headSeq = BigInt(chain.head?.seq ?? anchor?.seq ?? '0');
    const newest = maxBySeq(file.valid);
    if (newest && BigInt(newest.seq) > headSeq) {
      return broken(
        'truncated',
        `the chain ends at position ${headSeq.toString()}, but a checkpoint signed at ${newest.at} records position ${newest.seq}: events at the end were removed`,
        { id: newest.eventId, seq: newest.seq },
      );
    }
    const startSeq = BigInt(anchor?.seq ?? '0');
    const inDb = file.valid.filter((l) => l.type === 'checkpoint' && BigInt(l.seq) > startSeq);
    for (let i = 0; i < inDb.length; i += 1000) {
      const batch = inDb.slice(i, i + 1000);
      const rows = await trx<{ global_seq: string; global_hash: string }>('audit_events')
        .whereIn(
          'global_seq',
          batch.map((l) => l.seq),
        )
        .select('global_seq', 'global_hash');
      const hashes = new Map(rows.map((r) => [r.global_seq, r.global_hash]));
      for (const line of batch) {
        if (hashes.get(line.seq) !== line.hash) {
          return broken(
            'checkpoint_mismatch',
            `the event at position ${line.seq} does not have the hash the checkpoint signed at ${line.at} records: the chain was rewritten`,
            { id: line.eventId, seq: line.seq },
          );
        }
      }
    }
    return report;
  };
  if (db.isTransaction === true) return run(db as Knex.Transaction);
  return db.transaction(run, { isolationLevel: 'repeatable read', readOnly: true });
}

/**
 * Signs the global chain's current head into the checkpoint file, unless the newest checkpoint names it already.
 * Call after a verification found the chain intact.
 * @returns the line written, or null when nothing was written (no events, or the head is checkpointed already).
 */
export async function writeAuditCheckpoint(
  db: Knex,
  head: { id: string; seq: string; hash: string } | null,
  store: CheckpointStore = auditLogSecurity().checkpoints,
): Promise<SignedCheckpoint | null> {
  if (!head) return null;
  const file = readCheckpoints(store.path, store.signer);
  const latest = maxBySeq(file.valid.filter((l) => l.type === 'checkpoint'));
  if (latest && latest.seq === head.seq && latest.hash === head.hash) return null;
  return appendCheckpoint(store, {
    type: 'checkpoint',
    chain: GLOBAL_CHAIN,
    seq: head.seq,
    hash: head.hash,
    eventId: head.id,
    legacyThroughSeq: await legacyThroughSeq(db),
  });
}
