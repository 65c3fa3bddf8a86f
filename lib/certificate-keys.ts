/**
 * The Ed25519 key that signs deletion certificates (lib/certificate.ts), and its public half as published at
 * `/.well-known/certificate-signing-key`.
 *
 * Production reads CERTIFICATE_SIGNING_KEY: a PKCS#8 private key, either as PEM (`-----BEGIN PRIVATE KEY-----`) or
 * as the base64 of its DER bytes (one line, easier in environment files), e.g.
 * `openssl genpkey -algorithm ed25519 | openssl pkey -outform DER | base64 -w0`. Outside production, without it, a
 * key is derived deterministically (HKDF-SHA256) from the active payload key, like the link keys: every process of
 * one dev stack signs with the same key, and certificates survive a restart of the stack.
 *
 * The key id is the first 16 hex digits of the SHA-256 of the public key's SPKI DER: a verifier can tell which key a
 * certificate names without trusting anything but the key it holds.
 */
import { createHash, createPrivateKey, createPublicKey, hkdfSync, type JsonWebKey, type KeyObject } from 'node:crypto';

/** The signing key and everything derived from it. */
export interface CertificateSigningKey {
  privateKey: KeyObject;
  publicKey: KeyObject;
  /** SHA-256 fingerprint of the public key (16 hex digits). */
  keyId: string;
  /** True when the key was derived for development rather than configured. */
  derivedForDevelopment: boolean;
}

/** Raised for a CERTIFICATE_SIGNING_KEY that is not a PKCS#8 Ed25519 private key. */
export class CertificateKeyError extends Error {
  override name = 'CertificateKeyError';
}

/** DER prefix of a PKCS#8 Ed25519 private key (RFC 8410): the 32-byte seed follows. */
const ED25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

function fromPrivateKey(privateKey: KeyObject, derivedForDevelopment: boolean): CertificateSigningKey {
  if (privateKey.asymmetricKeyType !== 'ed25519') {
    throw new CertificateKeyError(`must be an Ed25519 key, not ${privateKey.asymmetricKeyType ?? 'unknown'}`);
  }
  const publicKey = createPublicKey(privateKey);
  return { privateKey, publicKey, keyId: publicKeyId(publicKey), derivedForDevelopment };
}

/**
 * Parses a configured key (PEM or base64 DER, PKCS#8, Ed25519).
 * @throws CertificateKeyError saying what is wrong, never echoing the key.
 */
export function parseCertificateSigningKey(value: string): CertificateSigningKey {
  const text = value.trim();
  let privateKey: KeyObject;
  try {
    privateKey = text.startsWith('-----BEGIN')
      ? createPrivateKey({ key: text, format: 'pem' })
      : createPrivateKey({ key: Buffer.from(text, 'base64'), format: 'der', type: 'pkcs8' });
  } catch {
    throw new CertificateKeyError('must be a PKCS#8 private key, as PEM or as base64 of its DER bytes');
  }
  return fromPrivateKey(privateKey, false);
}

/** Derives the development signing key from a secret (the active payload key), always the same for the same secret. */
export function deriveDevelopmentSigningKey(secret: Buffer): CertificateSigningKey {
  const seed = Buffer.from(hkdfSync('sha256', secret, 'data-lifecycle', 'certificate-signing/v1', 32));
  const privateKey = createPrivateKey({
    key: Buffer.concat([ED25519_PKCS8_PREFIX, seed]),
    format: 'der',
    type: 'pkcs8',
  });
  return fromPrivateKey(privateKey, true);
}

/** The key id of a public key: 16 hex digits of the SHA-256 of its SPKI DER. */
export function publicKeyId(publicKey: KeyObject): string {
  return createHash('sha256')
    .update(publicKey.export({ format: 'der', type: 'spki' }))
    .digest('hex')
    .slice(0, 16);
}

/** The public key as PEM (SPKI), as published and as the CLI's `--public-key` reads it. */
export function publicKeyPem(publicKey: KeyObject): string {
  return publicKey.export({ format: 'pem', type: 'spki' }).toString();
}

/** The public key as a JWK (RFC 8037: kty OKP, crv Ed25519), with its key id and intended use. */
export function publicKeyJwk(publicKey: KeyObject): Record<string, string> {
  const jwk = publicKey.export({ format: 'jwk' }) as Record<string, string>;
  return { ...jwk, kid: publicKeyId(publicKey), use: 'sig', alg: 'EdDSA' };
}

/**
 * Reads a public key a verifier holds: PEM (SPKI) or a JWK as JSON.
 * @throws CertificateKeyError when it is neither or not Ed25519.
 */
export function parsePublicKey(text: string): KeyObject {
  let key: KeyObject;
  try {
    const trimmed = text.trim();
    key = trimmed.startsWith('{')
      ? createPublicKey({ key: JSON.parse(trimmed) as JsonWebKey, format: 'jwk' })
      : createPublicKey({ key: trimmed, format: 'pem' });
  } catch {
    throw new CertificateKeyError('the public key must be PEM (SPKI) or a JWK');
  }
  if (key.asymmetricKeyType !== 'ed25519') throw new CertificateKeyError('the public key must be an Ed25519 key');
  return key;
}
