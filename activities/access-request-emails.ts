/**
 * Plain-text emails of the access-request process.
 *
 * Emails to the requester's own address (acknowledgement, refusal, closure, and an extension notice before identity is
 * verified) carry only what the request itself said (reference, date received): they read the same whether or not
 * the customer exists and whether or not the address is one of its contacts, so they disclose nothing. Company names,
 * due dates and links go only to a registered contact's address.
 */
import type { EmailContent } from './email-templates';

const SIGNATURE = ['', 'The Privacy Team'];
const formatInstant = (ms: number) =>
  new Date(ms)
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d{3}Z$/, ' UTC');

/** To the requester, as soon as the request is recorded. */
export function acknowledgementEmail(p: { requestId: string; receivedOn: string }): EmailContent {
  return {
    subject: `We received your data access request (ref. ${p.requestId})`,
    text: [
      'Hello,',
      '',
      `we received a request for access to business data on ${p.receivedOn} (reference ${p.requestId}).`,
      '',
      'Before we can act on it we check that it comes from a registered contact of the account concerned. If it does,',
      'the registered contact receives a one-time confirmation link by email; otherwise you will hear from us about how',
      'we can proceed. We answer within the time limit the applicable data protection law sets.',
      ...SIGNATURE,
    ].join('\n'),
  };
}

/** To the registered contact's address: the one-time identity confirmation link. */
export function verificationEmail(p: {
  requestId: string;
  contactName: string;
  companyName: string;
  link: string;
  expiresAtMs: number;
}): EmailContent {
  return {
    subject: `Confirm your data access request for ${p.companyName}`,
    text: [
      `Hello ${p.contactName},`,
      '',
      `we received a request, made from this address, for a copy of the business data we hold about ${p.companyName}`,
      `(reference ${p.requestId}). To confirm that it was you, open this page and press its button:`,
      '',
      p.link,
      '',
      `The page works once and until ${formatInstant(p.expiresAtMs)}. If you did not make this request, ignore this`,
      'email: nothing is disclosed without the confirmation, and the request closes on its own.',
      ...SIGNATURE,
    ].join('\n'),
  };
}

/** To the requester's address when it is not a registered contact (of that customer, or of any customer at all). */
export function refusalEmail(p: { requestId: string; receivedOn: string }): EmailContent {
  return {
    subject: `Your data access request (ref. ${p.requestId})`,
    text: [
      'Hello,',
      '',
      `on ${p.receivedOn} we received a request for access to business data from this address (reference ${p.requestId}).`,
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
export function closedUnverifiedEmail(p: { requestId: string; receivedOn: string }): EmailContent {
  return {
    subject: `Your data access request was closed (ref. ${p.requestId})`,
    text: [
      'Hello,',
      '',
      `the request for access to business data we received on ${p.receivedOn} (reference ${p.requestId}) was not`,
      'confirmed in time, so we closed it without disclosing anything. You are welcome to make a new request.',
      ...SIGNATURE,
    ].join('\n'),
  };
}

/** To the requester (the verified contact once identity is confirmed): more time, with the reasons. */
export function extensionEmail(p: {
  requestId: string;
  receivedOn: string;
  previousDueOn: string;
  dueOn: string;
  reason: string;
}): EmailContent {
  return {
    subject: `More time is needed for your data access request (ref. ${p.requestId})`,
    text: [
      'Hello,',
      '',
      `about your request for access to business data of ${p.receivedOn} (reference ${p.requestId}): we need more time`,
      `to answer it completely. Instead of ${p.previousDueOn} we will answer by ${p.dueOn} at the latest.`,
      '',
      'The reason:',
      p.reason,
      '',
      'If you disagree, you may complain to a data protection supervisory authority.',
      ...SIGNATURE,
    ].join('\n'),
  };
}

/** To the verified contact: the signed, expiring download link of the archive. */
export function deliveryEmail(p: {
  requestId: string;
  contactName: string;
  companyName: string;
  link: string;
  expiresAtMs: number;
  tables: { table: string; rows: number }[];
  manifestSha256: string;
}): EmailContent {
  return {
    subject: `Your data export for ${p.companyName} is ready`,
    text: [
      `Hello ${p.contactName},`,
      '',
      `the copy of the business data we hold about ${p.companyName} (request ${p.requestId}) is ready. Its page shows`,
      'what the archive holds and has the download button:',
      '',
      p.link,
      '',
      `The link works until ${formatInstant(p.expiresAtMs)}; then the archive is deleted. It is a .tar.gz with one CSV`,
      'file per table and a manifest.json listing row counts and a SHA-256 checksum for every file:',
      '',
      ...p.tables.map((t) => `  ${t.table}: ${t.rows} rows`),
      '',
      `SHA-256 of manifest.json: ${p.manifestSha256}`,
      ...SIGNATURE,
    ].join('\n'),
  };
}

/** To staff: a reminder that a request's due date approaches. */
export function staffReminderEmail(p: {
  requestId: string;
  customerId: string;
  dueOn: string;
  stage: string;
}): EmailContent {
  return {
    subject: `Reminder: access request ${p.requestId} is due on ${p.dueOn}`,
    text: [
      `Access request ${p.requestId} (customer ${p.customerId}) must be answered by ${p.dueOn}.`,
      `It is at stage "${p.stage}". If more time is needed, extend it (POST /v1/requests/${p.requestId}/extend) while`,
      'the original period lasts.',
    ].join('\n'),
  };
}

/** To staff: a request's due date has passed without an answer. */
export function staffEscalationEmail(p: {
  requestId: string;
  customerId: string;
  dueOn: string;
  stage: string;
}): EmailContent {
  return {
    subject: `OVERDUE: access request ${p.requestId} was due on ${p.dueOn}`,
    text: [
      `Access request ${p.requestId} (customer ${p.customerId}) was due on ${p.dueOn} and has not been answered.`,
      `It is at stage "${p.stage}". This is a breach of the legal deadline: act now and record what happened.`,
    ].join('\n'),
  };
}

/** To staff: the export failed permanently. */
export function staffExportFailedEmail(p: { requestId: string; customerId: string; reason: string }): EmailContent {
  return {
    subject: `Access request ${p.requestId}: export failed`,
    text: [
      `The export of access request ${p.requestId} (customer ${p.customerId}) failed and will not be retried:`,
      p.reason,
    ].join('\n'),
  };
}
