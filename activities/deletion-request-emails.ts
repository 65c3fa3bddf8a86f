/**
 * Plain-text emails of the deletion-request process (workflows/deletion-request.ts).
 *
 * As for access requests, emails to the requester's own address (acknowledgement, refusal, closure) carry only what
 * the request itself said, so they disclose nothing; decisions, company names, links and the certificate go only to
 * the registered contact's address once identity is confirmed.
 */
import type { DeletionPartDecision } from '../lib/pure/deletion-parts';
import type { EmailContent } from './email-templates';

const SIGNATURE = ['', 'The Privacy Team'];
const formatInstant = (ms: number) =>
  new Date(ms)
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d{3}Z$/, ' UTC');

/** How a part reads in an email: "category orders", "contact <id>", "seller account <id>". */
export function describePart(d: Pick<DeletionPartDecision, 'kind' | 'target'>): string {
  return d.kind === 'category' ? `category ${d.target}` : `${d.kind.replace('_', ' ')} ${d.target}`;
}

/** To the requester, as soon as the request is recorded. */
export function deletionAcknowledgementEmail(p: { requestId: string; receivedOn: string }): EmailContent {
  return {
    subject: `We received your data deletion request (ref. ${p.requestId})`,
    text: [
      'Hello,',
      '',
      `we received a request to delete business data on ${p.receivedOn} (reference ${p.requestId}).`,
      '',
      'Before we act on it we check that it comes from a registered contact of the account concerned. If it does,',
      'the registered contact receives a one-time confirmation link by email; nothing is deleted before that. We',
      'answer within the time limit the applicable data protection law sets.',
      ...SIGNATURE,
    ].join('\n'),
  };
}

/** To the registered contact's address: the one-time identity confirmation link. */
export function deletionVerificationEmail(p: {
  requestId: string;
  contactName: string;
  companyName: string;
  link: string;
  expiresAtMs: number;
  parts: number;
}): EmailContent {
  return {
    subject: `Confirm your data deletion request for ${p.companyName}`,
    text: [
      `Hello ${p.contactName},`,
      '',
      `we received a request, made from this address, to delete business data we hold about ${p.companyName}`,
      `(reference ${p.requestId}, ${p.parts} part${p.parts === 1 ? '' : 's'}). To confirm that it was you, open this page and press its button:`,
      '',
      p.link,
      '',
      `The page works once and until ${formatInstant(p.expiresAtMs)}. If you did not make this request, ignore this`,
      'email: nothing is deleted without the confirmation, and the request closes on its own.',
      ...SIGNATURE,
    ].join('\n'),
  };
}

/** To the requester's address when it is not a registered contact. */
export function deletionRefusalEmail(p: { requestId: string; receivedOn: string }): EmailContent {
  return {
    subject: `Your data deletion request (ref. ${p.requestId})`,
    text: [
      'Hello,',
      '',
      `on ${p.receivedOn} we received a request to delete business data from this address (reference ${p.requestId}).`,
      '',
      'We can only act on such a request when it comes from the registered address of a contact of the account',
      'concerned, and we cannot act on it as made. If you are a registered contact, please make the request again from',
      'your registered address. If you disagree with this answer, you may complain to a data protection supervisory',
      'authority.',
      ...SIGNATURE,
    ].join('\n'),
  };
}

/** To the requester when the confirmation link was not used in time. */
export function deletionClosedUnverifiedEmail(p: { requestId: string; receivedOn: string }): EmailContent {
  return {
    subject: `Your data deletion request was closed (ref. ${p.requestId})`,
    text: [
      'Hello,',
      '',
      `the request to delete business data we received on ${p.receivedOn} (reference ${p.requestId}) was not`,
      'confirmed in time, so we closed it without deleting anything. You are welcome to make a new request.',
      ...SIGNATURE,
    ].join('\n'),
  };
}

/** To the verified contact: the decision on each part, with the reasons for what is refused. */
export function deletionDecisionEmail(p: {
  requestId: string;
  contactName: string;
  companyName: string;
  decisions: DeletionPartDecision[];
}): EmailContent {
  const granted = p.decisions.filter((d) => d.decision === 'granted');
  const refused = p.decisions.filter((d) => d.decision === 'refused');
  return {
    subject: `Your data deletion request for ${p.companyName}: our decision (ref. ${p.requestId})`,
    text: [
      `Hello ${p.contactName},`,
      '',
      `we checked each part of your deletion request (reference ${p.requestId}) against your contract and the law.`,
      '',
      granted.length > 0 ? 'We will delete:' : 'We cannot delete any part of the request:',
      ...granted.map((d) => `  - ${describePart(d)}: ${d.reason}`),
      ...(refused.length > 0 ? ['', 'We cannot delete:'] : []),
      ...refused.map((d) => `  - ${describePart(d)}: ${d.reason} [${d.rule}]`),
      '',
      ...(granted.length > 0
        ? ['Once the deletion is done here and at every subprocessor, you receive a signed certificate of it.']
        : []),
      'If you disagree with this answer, you may complain to a data protection supervisory authority.',
      ...SIGNATURE,
    ].join('\n'),
  };
}

/** To the verified contact: the signed certificate of what was deleted. */
export function deletionCertificateEmail(p: {
  requestId: string;
  contactName: string;
  companyName: string;
  certificateId: string;
  tables: Record<string, number>;
  subprocessors: number;
  publicKeyUrl: string;
  /** The public page that checks a pasted certificate (`/certificates/verify`). */
  checkUrl: string;
  signedJson: string;
}): EmailContent {
  return {
    subject: `Deletion certificate for ${p.companyName} (ref. ${p.requestId})`,
    text: [
      `Hello ${p.contactName},`,
      '',
      `the deletion you asked for (reference ${p.requestId}) is complete. Deleted records per table:`,
      ...Object.entries(p.tables).map(([table, rows]) => `  - ${table}: ${rows}`),
      `Subprocessors told to delete: ${p.subprocessors}.`,
      '',
      `Certificate ${p.certificateId} follows, signed with Ed25519. The public key to verify it is published at`,
      `${p.publicKeyUrl}; any change to the document makes the verification fail. To check it, paste it on`,
      `${p.checkUrl}`,
      '',
      p.signedJson,
      ...SIGNATURE,
    ].join('\n'),
  };
}

/** To staff: the due date of a deletion request approaches. */
export function deletionStaffReminderEmail(p: {
  requestId: string;
  customerId: string;
  dueOn: string;
  stage: string;
}): EmailContent {
  return {
    subject: `Reminder: deletion request ${p.requestId} is due on ${p.dueOn}`,
    text: [
      `Deletion request ${p.requestId} (customer ${p.customerId}) is due on ${p.dueOn}; it is at stage "${p.stage}".`,
      ...SIGNATURE,
    ].join('\n'),
  };
}

/** To staff: the due date of a deletion request has passed. */
export function deletionStaffEscalationEmail(p: {
  requestId: string;
  customerId: string;
  dueOn: string;
  stage: string;
}): EmailContent {
  return {
    subject: `Overdue: deletion request ${p.requestId} was due on ${p.dueOn}`,
    text: [
      `Deletion request ${p.requestId} (customer ${p.customerId}) was due on ${p.dueOn} and is at stage "${p.stage}".`,
      'Please make sure the requester is answered without further delay.',
      ...SIGNATURE,
    ].join('\n'),
  };
}

/** To the verified contact: the deadline is extended, with the reason (GDPR Art. 12(3), CCPA 1798.130). */
export function deletionExtensionEmail(p: {
  requestId: string;
  receivedOn: string;
  previousDueOn: string;
  dueOn: string;
  reason: string;
}): EmailContent {
  return {
    subject: `More time is needed for your data deletion request (ref. ${p.requestId})`,
    text: [
      'Hello,',
      '',
      `about your request of ${p.receivedOn} to delete business data (reference ${p.requestId}): we need more time to`,
      `answer it completely. Instead of ${p.previousDueOn} we will answer by ${p.dueOn} at the latest.`,
      '',
      'The reason:',
      p.reason,
      '',
      'If you disagree, you may complain to a data protection supervisory authority.',
      ...SIGNATURE,
    ].join('\n'),
  };
}
