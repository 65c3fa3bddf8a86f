/**
 * Signed, expiring tokens for the links the service emails out (`/verify/{token}`, `/exports/{token}`).
 *
 * A token is `<payload>.<signature>`, both base64url: the payload is a small JSON object naming the purpose, the link
 * id, the expiry (epoch milliseconds) and the id of the key that signed it; the signature is HMAC-SHA256 over
 * `v1.<payload>` with that key. Nothing secret or personal is inside: the link id points at a `public_links` row, and
 * that row (not the token) is what makes a link single-use, counts its uses and revokes it (db/repositories/
 * public-links.ts). A token is deterministic for a given link, so an activity that is retried after sending an email
 * re-creates the very same link.
 *
 * Keys: an explicit LINK_SIGNING_KEY, or keys derived (HKDF-SHA256) from each payload encryption key, so rotating the
 * payload keys rotates link keys too while links signed with a retired key keep working until they expire.
 */
import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';

/** What a link is for (`acknowledge`: a termination's return); a token minted for one purpose is refused for others. */
export type LinkPurpose = 'verify' | 'export' | 'acknowledge';

/** Keys that sign and verify link tokens: the active one signs, any of them verifies. */
export interface LinkKeyring {
  activeKeyId: string;
  keys: ReadonlyMap<string, Buffer>;
}

/** What a valid token says. */
export interface LinkClaims {
  purpose: LinkPurpose;
  linkId: string;
  /** Epoch milliseconds after which the link is refused. */
  expiresAtMs: number;
}

/** Why a token was refused. Only `expired` is worth telling the holder apart from "not a link". */
export type LinkRefusal = 'malformed' | 'bad_signature' | 'wrong_purpose' | 'expired';

export type LinkCheck = { ok: true; claims: LinkClaims } | { ok: false; reason: LinkRefusal; claims?: LinkClaims };

/** Key id of an explicitly configured LINK_SIGNING_KEY. */
export const EXPLICIT_LINK_KEY_ID = 'link';
const VERSION = 'v1';
const MAX_TOKEN_LENGTH = 512;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Derives one link key per payload encryption key (HKDF-SHA256), keeping the payload keyring's ids. */
export function deriveLinkKeyring(payloadKeys: {
  activeKeyId: string;
  keys: ReadonlyMap<string, Buffer>;
}): LinkKeyring {
  const keys = new Map<string, Buffer>();
  for (const [id, key] of payloadKeys.keys) {
    keys.set(id, Buffer.from(hkdfSync('sha256', key, 'data-lifecycle', 'public-links/v1', 32)));
  }
  return { activeKeyId: payloadKeys.activeKeyId, keys };
}

/** A keyring with one explicitly configured secret (LINK_SIGNING_KEY). */
export function explicitLinkKeyring(secret: string): LinkKeyring {
  return { activeKeyId: EXPLICIT_LINK_KEY_ID, keys: new Map([[EXPLICIT_LINK_KEY_ID, Buffer.from(secret, 'utf8')]]) };
}

function sign(key: Buffer, payload: string): string {
  return createHmac('sha256', key).update(`${VERSION}.${payload}`).digest('base64url');
}

/** Mints the token of a link. Same inputs, same token. */
export function signLinkToken(keyring: LinkKeyring, claims: LinkClaims): string {
  const key = keyring.keys.get(keyring.activeKeyId);
  if (!key) throw new Error(`link keyring has no active key ${keyring.activeKeyId}`);
  if (!UUID.test(claims.linkId)) throw new Error('link id must be a lower-case UUID');
  const payload = Buffer.from(
    JSON.stringify({ k: keyring.activeKeyId, p: claims.purpose, i: claims.linkId, e: claims.expiresAtMs }),
    'utf8',
  ).toString('base64url');
  return `${payload}.${sign(key, payload)}`;
}

/**
 * Checks a token's shape, signature (constant time), purpose and expiry, in that order: an unsigned token is never
 * told whether it would have expired.
 */
export function verifyLinkToken(keyring: LinkKeyring, token: string, purpose: LinkPurpose, nowMs: number): LinkCheck {
  if (token.length > MAX_TOKEN_LENGTH) return { ok: false, reason: 'malformed' };
  const parts = token.split('.');
  if (parts.length !== 2 || !/^[A-Za-z0-9_-]+$/.test(parts[0]!) || !/^[A-Za-z0-9_-]{43}$/.test(parts[1]!))
    return { ok: false, reason: 'malformed' };
  const [payload, signature] = parts as [string, string];
  let decoded: unknown;
  try {
    decoded = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  } catch {
    return { ok: false, reason: 'malformed' };
  }
  const d = decoded as { k?: unknown; p?: unknown; i?: unknown; e?: unknown } | null;
  if (
    typeof d !== 'object' ||
    d === null ||
    typeof d.k !== 'string' ||
    (d.p !== 'verify' && d.p !== 'export' && d.p !== 'acknowledge') ||
    typeof d.i !== 'string' ||
    !UUID.test(d.i) ||
    typeof d.e !== 'number' ||
    !Number.isSafeInteger(d.e)
  )
    return { ok: false, reason: 'malformed' };
  const key = keyring.keys.get(d.k);
  if (!key) return { ok: false, reason: 'bad_signature' };
  const expected = Buffer.from(sign(key, payload));
  const actual = Buffer.from(signature);
  if (expected.length !== actual.length || !timingSafeEqual(expected, actual))
    return { ok: false, reason: 'bad_signature' };
  const claims: LinkClaims = { purpose: d.p, linkId: d.i, expiresAtMs: d.e };
  if (claims.purpose !== purpose) return { ok: false, reason: 'wrong_purpose' };
  if (nowMs >= claims.expiresAtMs) return { ok: false, reason: 'expired', claims };
  return { ok: true, claims };
}
