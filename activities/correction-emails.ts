/**
 * Plain-text emails of the correction process.
 *
 * Emails to the requester's own address (acknowledgement, refusal, closure) carry only what the request itself said
 * (reference, date received), so they disclose nothing about whether the customer or the contact exists. The outcome
 * and the change-of-address notices go to registered addresses only, and name what changed (kinds), not the values:
 * an email that leaks into the wrong mailbox tells little.
 */
import type { EmailContent } from './email-templates';

const SIGNATURE = ['', 'The Privacy Team'];
const formatInstant = (ms: number) =>
  new Date(ms)
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d{3}Z$/, ' UTC');

/** How a kind of change reads in an email. */
const KIND_WORDS: Record<string, string> = {
  'company.legalName': 'legal company name',
  'company.tradingName': 'trading name',
  'company.registrationNumber': 'company registration number',
  'company.address': 'company address',
  'contact.name': "a contact's name",
  'contact.email': "a contact's email address",
  'contact.phone': "a contact's phone number",
  'contact.role': "a contact's role",
  'contact.add': 'a new contact',
  'contact.remove': 'removal of a contact',
  'sellerAccount.marketplace': "a seller account's marketplace",
  'sellerAccount.accountId': "a seller account's identifier",
  'sellerAccount.region': "a seller account's region",
};

const STATE_WORDS: Record<string, string> = {
  applied: 'corrected',
  unchanged: 'already correct, nothing to change',
  rejected: 'not made',
  conflict: 'not made: the record was changed by someone else meanwhile; please check it and ask again if needed',
  invalid: 'not made: it no longer fits the record as it is now; please check it and ask again if needed',
};

/** To the requester, as soon as the request is recorded. */
export function correctionAcknowledgementEmail(p: { requestId: string; receivedOn: string }): EmailContent {
  return {
    subject: `We received your correction request (ref. ${p.requestId})`,
    text: [
      'Hello,',
      '',
      `we received a request to correct business data on ${p.receivedOn} (reference ${p.requestId}).`,
      '',
      'Before we act on it we check that it comes from a registered contact of the account concerned. If it does,',
      'the registered contact receives a one-time confirmation link by email. We answer within the time limit the',
      'applicable data protection law sets.',
      ...SIGNATURE,
    ].join('\n'),
  };
}

/** To the registered contact's address: the one-time identity confirmation link. */
export function correctionVerificationEmail(p: {
  requestId: string;
  contactName: string;
  companyName: string;
  link: string;
  expiresAtMs: number;
  changes: number;
}): EmailContent {
  return {
    subject: `Confirm your correction request for ${p.companyName}`,
    text: [
      `Hello ${p.contactName},`,
      '',
      `we received a request, made from this address, to correct ${p.changes} item(s) of the business data we hold`,
      `about ${p.companyName} (reference ${p.requestId}). To confirm that it was you, open this page and press its button:`,
      '',
      p.link,
      '',
      `The page works once and until ${formatInstant(p.expiresAtMs)}. If you did not make this request, ignore this`,
      'email: nothing is changed without the confirmation, and the request closes on its own.',
      ...SIGNATURE,
    ].join('\n'),
  };
}

/** To the requester's address when it is not a registered contact. */
export function correctionRefusalEmail(p: { requestId: string; receivedOn: string }): EmailContent {
  return {
    subject: `Your correction request (ref. ${p.requestId})`,
    text: [
      'Hello,',
      '',
      `on ${p.receivedOn} we received a request to correct business data from this address (reference ${p.requestId}).`,
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
export function correctionClosedUnverifiedEmail(p: { requestId: string; receivedOn: string }): EmailContent {
  return {
    subject: `Your correction request was closed (ref. ${p.requestId})`,
    text: [
      'Hello,',
      '',
      `the correction request we received on ${p.receivedOn} (reference ${p.requestId}) was not confirmed in time, so`,
      'we closed it without changing anything. You are welcome to make a new request.',
      ...SIGNATURE,
    ].join('\n'),
  };
}

/** To the requester: more time, with the reasons. */
export function correctionExtensionEmail(p: {
  requestId: string;
  receivedOn: string;
  previousDueOn: string;
  dueOn: string;
  reason: string;
}): EmailContent {
  return {
    subject: `More time is needed for your correction request (ref. ${p.requestId})`,
    text: [
      'Hello,',
      '',
      `about your correction request of ${p.receivedOn} (reference ${p.requestId}): we need more time to answer it`,
      `completely. Instead of ${p.previousDueOn} we will answer by ${p.dueOn} at the latest.`,
      '',
      'The reason:',
      p.reason,
      '',
      'If you disagree, you may complain to a data protection supervisory authority.',
      ...SIGNATURE,
    ].join('\n'),
  };
}

/** To the verified contact: what was corrected, what was not and why, and who else is being told. */
export function correctionOutcomeEmail(p: {
  requestId: string;
  contactName: string;
  companyName: string;
  changes: { index: number; kind: string; state: string }[];
  rejectionReason?: string;
  recipients: string[];
}): EmailContent {
  return {
    subject: `Your correction request for ${p.companyName} (ref. ${p.requestId})`,
    text: [
      `Hello ${p.contactName},`,
      '',
      `this is the outcome of your correction request ${p.requestId}:`,
      '',
      ...p.changes.map((c) => `  ${c.index + 1}. ${KIND_WORDS[c.kind] ?? c.kind}: ${STATE_WORDS[c.state] ?? c.state}`),
      ...(p.rejectionReason ? ['', 'Why some changes were not made:', p.rejectionReason] : []),
      '',
      p.recipients.length > 0
        ? `We are passing the corrections on to those we share this data with: ${p.recipients.join(', ')}.`
        : 'None of the corrected data is shared with anyone else.',
      '',
      'If you disagree with this answer, you may complain to a data protection supervisory authority.',
      ...SIGNATURE,
    ].join('\n'),
  };
}

/** To the old address of a contact whose email was changed: an account-takeover safeguard. */
export function emailChangedOldAddressEmail(p: {
  requestId: string;
  contactName: string;
  companyName: string;
}): EmailContent {
  return {
    subject: `The email address of your contact record at ${p.companyName} was changed`,
    text: [
      `Hello ${p.contactName},`,
      '',
      `at the confirmed request ${p.requestId}, the email address of your contact record for ${p.companyName} was`,
      'changed, and we will no longer write to this address about the account.',
      '',
      'If you did not expect this, contact us at once by replying to this email: someone may be trying to take over',
      'the account.',
      ...SIGNATURE,
    ].join('\n'),
  };
}

/** To the new address of a contact whose email was changed. */
export function emailChangedNewAddressEmail(p: {
  requestId: string;
  contactName: string;
  companyName: string;
}): EmailContent {
  return {
    subject: `This address is now registered for ${p.companyName}`,
    text: [
      `Hello ${p.contactName},`,
      '',
      `at the confirmed request ${p.requestId}, this address is now the registered email address of your contact`,
      `record for ${p.companyName}. If you did not expect this, reply to this email.`,
      ...SIGNATURE,
    ].join('\n'),
  };
}

/** To staff: sensitive changes wait for a privacy officer (who must not be the one who filed the request). */
export function staffApprovalNeededEmail(p: { requestId: string; customerId: string; changes: number }): EmailContent {
  return {
    subject: `Approval needed: correction request ${p.requestId}`,
    text: [
      `Correction request ${p.requestId} (customer ${p.customerId}) has ${p.changes} sensitive change(s) waiting for a`,
      `privacy officer: POST /v1/requests/${p.requestId}/approve, or /reject with a reason. The staff member who filed`,
      'the request cannot decide it.',
    ].join('\n'),
  };
}

/** To staff: the due date approaches. */
export function staffCorrectionReminderEmail(p: {
  requestId: string;
  customerId: string;
  dueOn: string;
  stage: string;
}): EmailContent {
  return {
    subject: `Reminder: correction request ${p.requestId} is due on ${p.dueOn}`,
    text: [
      `Correction request ${p.requestId} (customer ${p.customerId}) must be answered by ${p.dueOn}.`,
      `It is at stage "${p.stage}". If more time is needed, extend it (POST /v1/requests/${p.requestId}/extend) while`,
      'the original period lasts.',
    ].join('\n'),
  };
}

/** To staff: the due date has passed without an answer. */
export function staffCorrectionOverdueEmail(p: {
  requestId: string;
  customerId: string;
  dueOn: string;
  stage: string;
}): EmailContent {
  return {
    subject: `OVERDUE: correction request ${p.requestId} was due on ${p.dueOn}`,
    text: [
      `Correction request ${p.requestId} (customer ${p.customerId}) was due on ${p.dueOn} and has not been answered.`,
      `It is at stage "${p.stage}". This is a breach of the legal deadline: act now and record what happened.`,
    ].join('\n'),
  };
}

/** To staff: a subprocessor keeps failing (or refused) to take a correction. */
export function staffReceiptEscalationEmail(p: {
  requestId: string;
  customerId: string;
  subprocessorId: string;
  cause: 'keeps_failing' | 'rejected';
  attempts: number;
  lastError: string | null;
}): EmailContent {
  const what =
    p.cause === 'rejected'
      ? 'refused the correction (a permanent error); it will not be retried'
      : `has not accepted the correction after ${p.attempts} attempt(s); it is still being retried`;
  return {
    subject: `Correction ${p.requestId}: subprocessor ${p.subprocessorId} has not confirmed`,
    text: [
      `Subprocessor ${p.subprocessorId} ${what} (correction request ${p.requestId}, customer ${p.customerId}).`,
      ...(p.lastError ? [`Last error: ${p.lastError}`] : []),
      '',
      'The request completes only when every subprocessor has confirmed. If it has been told another way, a privacy',
      `officer can waive its receipt with a reason: POST /v1/requests/${p.requestId}/receipts/${p.subprocessorId}/waive`,
    ].join('\n'),
  };
}
