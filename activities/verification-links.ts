/**
 * The one-time identity verification link of access, correction and deletion requests: recorded (single use, expiring
 * with the request's verification window) and signed. The link opens the verification page (api/pages/), which
 * confirms with a POST.
 */
import type { Knex } from 'knex';
import { publicLinks } from '../db/repositories/public-links';
import type { AppConfig } from '../lib/config';
import { signLinkToken } from '../lib/signed-links';

/** The request, the verified contact-to-be, and the link the workflow chose (its id and expiry). */
export interface VerificationLinkStep {
  requestId: string;
  customerId: string;
  contactId: string;
  linkId: string;
  expiresAtMs: number;
}

/**
 * Records the link `linkId` unless recorded (a retried activity reuses it) and answers its URL.
 * @returns `<PUBLIC_BASE_URL>/verify/<signed token>`.
 */
export async function issueVerificationLink(
  db: Knex,
  config: Pick<AppConfig, 'links' | 'http'>,
  step: VerificationLinkStep,
): Promise<string> {
  await publicLinks.insertIfAbsent(db, {
    id: step.linkId,
    purpose: 'verify',
    requestId: step.requestId,
    customerId: step.customerId,
    contactId: step.contactId,
    archiveId: null,
    expiresAt: new Date(step.expiresAtMs),
    maxUses: 1,
  });
  const token = signLinkToken(config.links.keyring, {
    purpose: 'verify',
    linkId: step.linkId,
    expiresAtMs: step.expiresAtMs,
  });
  return `${config.http.publicBaseUrl}/verify/${token}`;
}
