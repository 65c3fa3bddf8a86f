/**
 * The keys that make the audit chain tamper-evident without trusting the database: an HMAC keyring (AUDIT_HMAC_KEYS)
 * that MACs every event's chain links, and the Ed25519 key that signs checkpoints of the chain head and purge anchors
 * (AUDIT_CHECKPOINT_SIGNING_KEY, else the certificate signing key). Neither is ever written to the database, so a
 * person who can only change rows (the database owner, a stolen service credential) cannot produce a chain that
 * verifies.
 *
 * AUDIT_HMAC_KEYS is `keyId:base64,...` (32 bytes each, `openssl rand -base64 32`); the active key (AUDIT_HMAC_ACTIVE_KEY_ID,
 * or the only one listed) MACs new events, every listed key verifies, so a rotation lists old and new keys. Outside
 * production, without it, one key per payload key is derived (HKDF-SHA256, info `audit-hmac/v1`) with the id
 * `dev-derived-<payload key id>`: the name says it protects nothing.
 */
import { hkdfSync } from 'node:crypto';

/** Keys that MAC audit events: the active one writes, any of them verifies. */
export interface AuditKeyring {
  activeKeyId: string;
  keys: ReadonlyMap<string, Buffer>;
  /** True when the keys were derived for development rather than configured. */
  derivedForDevelopment: boolean;
}

/** Raised for an AUDIT_HMAC_KEYS / AUDIT_HMAC_ACTIVE_KEY_ID that does not parse; names the variable. */
export class AuditKeyError extends Error {
  override name = 'AuditKeyError';
  constructor(
    readonly variable: 'AUDIT_HMAC_KEYS' | 'AUDIT_HMAC_ACTIVE_KEY_ID',
    message: string,
  ) {
    super(message);
  }
}

const KEY_ID_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;
const MIN_KEY_BYTES = 32;

/** Prefix of the ids of development keys, so a report or a row shows at once that no real key was used. */
export const DEV_AUDIT_KEY_PREFIX = 'dev-derived-';

/**
 * Parses `keyId:base64[,keyId:base64...]`.
 * @throws AuditKeyError naming the variable and the rule (never echoing a key).
 */
export function parseAuditKeys(spec: string, activeKeyId?: string): AuditKeyring {
  const keys = new Map<string, Buffer>();
  const entries = spec
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
  if (entries.length === 0) throw new AuditKeyError('AUDIT_HMAC_KEYS', 'must list at least one keyId:base64key');
  entries.forEach((entry, i) => {
    const colon = entry.indexOf(':');
    const id = colon === -1 ? '' : entry.slice(0, colon).trim();
    const material = colon === -1 ? '' : entry.slice(colon + 1).trim();
    if (!KEY_ID_PATTERN.test(id))
      throw new AuditKeyError(
        'AUDIT_HMAC_KEYS',
        `entry ${i + 1} must be keyId:base64key with a key id of 1-64 letters, digits, dots, dashes or underscores`,
      );
    if (id.startsWith(DEV_AUDIT_KEY_PREFIX))
      throw new AuditKeyError('AUDIT_HMAC_KEYS', `key id "${id}" is reserved for derived development keys`);
    if (keys.has(id)) throw new AuditKeyError('AUDIT_HMAC_KEYS', `key id "${id}" is listed twice`);
    if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(material))
      throw new AuditKeyError('AUDIT_HMAC_KEYS', `key "${id}" is not base64`);
    const key = Buffer.from(material, 'base64');
    if (key.length < MIN_KEY_BYTES)
      throw new AuditKeyError(
        'AUDIT_HMAC_KEYS',
        `key "${id}" must decode to at least ${MIN_KEY_BYTES} bytes, got ${key.length}; generate one with \`openssl rand -base64 32\``,
      );
    keys.set(id, key);
  });
  const active = activeKeyId?.trim() || (keys.size === 1 ? [...keys.keys()][0]! : undefined);
  if (!active)
    throw new AuditKeyError(
      'AUDIT_HMAC_ACTIVE_KEY_ID',
      `is required when AUDIT_HMAC_KEYS lists several keys (one of: ${[...keys.keys()].join(', ')})`,
    );
  if (!keys.has(active))
    throw new AuditKeyError(
      'AUDIT_HMAC_ACTIVE_KEY_ID',
      `"${active}" is not a key id listed in AUDIT_HMAC_KEYS (${[...keys.keys()].join(', ')})`,
    );
  return { activeKeyId: active, keys, derivedForDevelopment: false };
}

/** Development keys: one per payload key (HKDF-SHA256), ids `dev-derived-<payload key id>`. */
export function deriveDevelopmentAuditKeys(payloadKeys: {
  activeKeyId: string;
  keys: ReadonlyMap<string, Buffer>;
}): AuditKeyring {
  const keys = new Map<string, Buffer>();
  for (const [id, key] of payloadKeys.keys) {
    keys.set(
      `${DEV_AUDIT_KEY_PREFIX}${id}`,
      Buffer.from(hkdfSync('sha256', key, 'data-lifecycle', 'audit-hmac/v1', 32)),
    );
  }
  return { activeKeyId: `${DEV_AUDIT_KEY_PREFIX}${payloadKeys.activeKeyId}`, keys, derivedForDevelopment: true };
}
