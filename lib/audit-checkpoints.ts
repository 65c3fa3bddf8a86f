/**
 * Signed checkpoints of the audit chain, kept outside the database (AUDIT_CHECKPOINT_PATH): one JSON line per
 * checkpoint, appended to a file opened with O_APPEND (mode 0600), never rewritten. Two kinds:
 *
 * - `checkpoint`: the global chain's head (position, hash, event id) at a moment, written by the scheduled
 *   verification after the chain verified. A later head that is shorter, or whose event at that position has another
 *   hash, means the tail was cut or the chain rewritten.
 * - `purge_anchor`: the last event a retention purge is about to delete (position, hash, event id, cutoff), written
 *   before the purge. Verification accepts a purge anchor in the database only when the file holds a signed one with
 *   the same position and hash, so a purge nobody signed is a break.
 *
 * Each line is the RFC 8785 canonical JSON of its fields plus `sig`: an Ed25519 signature (base64) over the canonical
 * JSON without `sig`, with the key `keyId` names (AUDIT_CHECKPOINT_SIGNING_KEY, else the certificate signing key).
 * Every line repeats `legacyThroughSeq` (the last position allowed without a MAC), so moving that boundary in the
 * database is detected too. What the file cannot prove is its own deletion: ship it to storage the host cannot rewrite
 * (README "Security").
 */
import fs from 'node:fs';
import path from 'node:path';
import { sign, verify, type KeyObject } from 'node:crypto';
import { canonicalize } from 'json-canonicalize';

/** The key that signs checkpoints (an Ed25519 key pair with its id; see lib/certificate-keys.ts). */
export interface CheckpointSigner {
  privateKey: KeyObject;
  publicKey: KeyObject;
  keyId: string;
}

/** Where checkpoints go and who signs them. */
export interface CheckpointStore {
  path: string;
  signer: CheckpointSigner;
}

/** What a checkpoint line states, before it is signed. */
export interface CheckpointFields {
  type: 'checkpoint' | 'purge_anchor';
  chain: 'global';
  /** Global chain position (decimal string). */
  seq: string;
  hash: string;
  eventId: string;
  /** Last global position allowed to lack a MAC (audit_keying.legacy_through_seq). */
  legacyThroughSeq: string;
  /** Purge anchors: the cutoff of the purge. */
  cutoff?: string;
}

/** A signed line as written. */
export interface SignedCheckpoint extends CheckpointFields {
  v: 1;
  at: string;
  keyId: string;
  sig: string;
}

/** What reading the file found. */
export interface CheckpointFile {
  path: string;
  /** False when the file does not exist (yet). */
  exists: boolean;
  /** Lines whose signature verified with the configured key, in file order. */
  valid: SignedCheckpoint[];
  /** Lines signed with the configured key id whose signature does not verify, or that do not parse: tampering. */
  invalid: { line: number; reason: string }[];
  /** Lines signed by another key (e.g. before a key rotation): reported, not trusted. */
  unverifiable: number;
}

function signedBytes(line: Omit<SignedCheckpoint, 'sig'>): Buffer {
  return Buffer.from(canonicalize(line), 'utf8');
}

/**
 * Signs `fields` and appends them as one line (O_APPEND, created 0600, fsynced before returning).
 * @returns the line as written.
 */
export function appendCheckpoint(store: CheckpointStore, fields: CheckpointFields, now = new Date()): SignedCheckpoint {
  const unsigned: Omit<SignedCheckpoint, 'sig'> = {
    v: 1,
    ...fields,
    at: now.toISOString(),
    keyId: store.signer.keyId,
  };
  const line: SignedCheckpoint = {
    ...unsigned,
    sig: sign(null, signedBytes(unsigned), store.signer.privateKey).toString('base64'),
  };
  fs.mkdirSync(path.dirname(store.path), { recursive: true });
  const fd = fs.openSync(store.path, fs.constants.O_WRONLY | fs.constants.O_APPEND | fs.constants.O_CREAT, 0o600);
  try {
    fs.writeSync(fd, `${canonicalize(line)}\n`);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  return line;
}

const FIELD_PATTERNS: Record<string, RegExp> = {
  seq: /^[0-9]{1,19}$/,
  hash: /^[0-9a-f]{64}$/,
  eventId: /^[0-9]{1,19}$/,
  legacyThroughSeq: /^[0-9]{1,19}$/,
};

/** Reads and checks every line of the checkpoint file against the signer's public key. */
export function readCheckpoints(
  filePath: string,
  signer: Pick<CheckpointSigner, 'publicKey' | 'keyId'>,
): CheckpointFile {
  const result: CheckpointFile = { path: filePath, exists: false, valid: [], invalid: [], unverifiable: 0 };
  let text: string;
  try {
    text = fs.readFileSync(filePath, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return result;
    throw err;
  }
  result.exists = true;
  const lines = text.split('\n');
  lines.forEach((raw, i) => {
    if (raw.trim() === '') return;
    const bad = (reason: string) => result.invalid.push({ line: i + 1, reason });
    let parsed: SignedCheckpoint;
    try {
      parsed = JSON.parse(raw) as SignedCheckpoint;
    } catch {
      return bad('not JSON');
    }
    if (typeof parsed !== 'object' || parsed === null || typeof parsed.sig !== 'string') return bad('no signature');
    if (parsed.keyId !== signer.keyId) {
      result.unverifiable += 1;
      return;
    }
    const { sig, ...unsigned } = parsed;
    let ok: boolean;
    try {
      ok = verify(null, signedBytes(unsigned), signer.publicKey, Buffer.from(sig, 'base64'));
    } catch {
      ok = false;
    }
    if (!ok) return bad('signature does not verify');
    if (parsed.type !== 'checkpoint' && parsed.type !== 'purge_anchor')
      return bad(`unknown type ${String(parsed.type)}`);
    for (const [field, pattern] of Object.entries(FIELD_PATTERNS)) {
      if (!pattern.test(String((parsed as unknown as Record<string, unknown>)[field]))) return bad(`bad ${field}`);
    }
    result.valid.push(parsed);
  });
  return result;
}
