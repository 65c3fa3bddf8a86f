/**
 * Identity verification shared by access and correction requests (and the link by deletion requests too): the
 * one-time link, recorded (single use, expiring with the request's verification window) and signed, which opens the
 * verification page (api/pages/) that confirms with a POST; and the record of a confirmed identity.
 */
import type { Knex } from 'knex';
import { accessRequests } from '../db/repositories/access-requests';
import { auditEvents } from '../db/repositories/audit-events';
import { lifecycleRequests } from '../db/repositories/lifecycle-requests';
import { publicLinks } from '../db/repositories/public-links';
import type { AppConfig } from '../lib/config';
import { RequestNotFoundError } from '../lib/pure/errors';
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

/** A confirmed identity as the workflow reports it (`dueOn` fixed now where the clock starts at confirmation). */
export interface VerifiedIdentityStep {
  requestId: string;
  customerId: string;
  workflowId: string;
  contactId: string;
  linkId: string;
  verifiedOn: string;
  dueOn: string;
  clockStartedOn: string | null;
}

/**
 * Records a confirmed identity in one transaction: the verified contact, the day the clock started (UK GDPR) and the
 * due date; the requester's address is dropped from the request (from now on notices go to the contact, by id); the
 * stage and the `<process>.identity_verified` audit event. A re-run finds it recorded and writes nothing.
 * @param auditCustomerId the customer id the audit event carries (null once the customer is gone).
 */
export async function recordVerifiedIdentity(
  db: Knex,
  step: VerifiedIdentityStep,
  e: { actor: string; action: string; auditCustomerId: string | null },
): Promise<void> {
  await db.transaction(async (trx) => {
    const request = await lifecycleRequests.findById(trx, step.requestId);
    if (!request) throw new RequestNotFoundError(step.requestId);
    if (request.payload === null && request.dueOn === step.dueOn) return; // recorded already
    await accessRequests.setDueOn(trx, step.requestId, step.dueOn);
    await lifecycleRequests.clearPayload(trx, step.requestId);
    await accessRequests.mergeOutcome(trx, step.requestId, {
      verifiedContactId: step.contactId,
      verifiedOn: step.verifiedOn,
      ...(step.clockStartedOn ? { clockStartedOn: step.clockStartedOn } : {}),
    });
    await lifecycleRequests.setStage(trx, step.requestId, 'identity-verified');
    await auditEvents.appendForRequest(
      trx,
      { ...step, customerId: e.auditCustomerId },
      {
        actor: e.actor,
        action: e.action,
        details: {
          contactId: step.contactId,
          linkId: step.linkId,
          verifiedOn: step.verifiedOn,
          clockStartedOn: step.clockStartedOn,
          dueOn: step.dueOn,
        },
      },
    );
  });
}
