import { createHmac, timingSafeEqual } from 'node:crypto';

/** Name of the header that carries the HMAC of a subprocessor protocol body. */
export const SIGNATURE_HEADER = 'X-Signature';
/** Name of the header that makes an outbound subprocessor call safe to repeat. */
export const IDEMPOTENCY_HEADER = 'Idempotency-Key';

/**
 * Signs a request body for subprocessor protocol v1: `sha256=<hex HMAC-SHA256 of the exact body bytes>`.
 * The body must be signed exactly as it is sent; re-serialising JSON on the receiving side would break the check.
 */
export function signBody(body: string | Buffer, secret: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/**
 * Checks a `X-Signature` header against the body in constant time. Returns false for a missing or malformed header
 * rather than throwing, so callers can answer 401 uniformly.
 */
export function verifySignature(body: string | Buffer, header: string | undefined, secret: string): boolean {
  if (!header || !header.startsWith('sha256=')) return false;
  const expected = Buffer.from(signBody(body, secret));
  const actual = Buffer.from(header);
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}
