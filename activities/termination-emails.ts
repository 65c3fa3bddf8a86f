/**
 * Plain-text emails of the contract termination. Those to the primary contact name the company and carry the links;
 * those to staff name ids only (whoever follows up looks the customer up in the service).
 */
import type { EmailContent } from './email-templates';

const SIGNATURE = ['', 'The Privacy Team'];
const formatInstant = (ms: number) =>
  new Date(ms)
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d{3}Z$/, ' UTC');

/** To the primary contact: the returned data and how to acknowledge it. */
export function returnDeliveryEmail(p: {
  requestId: string;
  contactName: string;
  companyName: string;
  downloadLink: string;
  acknowledgeLink: string;
  graceEndsAtMs: number;
  rows: number;
  manifestSha256: string;
}): EmailContent {
  return {
    subject: `Your data on termination of the ${p.companyName} contract`,
    text: [
      `Hello ${p.contactName},`,
      '',
      `as your contract provides, we return the data we hold about ${p.companyName} before we delete it`,
      `(reference ${p.requestId}). Download it here (${p.rows} records; the archive's manifest has SHA-256`,
      `${p.manifestSha256}):`,
      '',
      p.downloadLink,
      '',
      'Once you have it, please acknowledge receipt here:',
      '',
      p.acknowledgeLink,
      '',
      `Without an acknowledgement, the deletion goes ahead after ${formatInstant(p.graceEndsAtMs)}, when both links`,
      'stop working. After the deletion you receive a signed deletion certificate.',
      ...SIGNATURE,
    ].join('\n'),
  };
}

/** To the primary contact, before the grace period ends without an acknowledgement. */
export function returnReminderEmail(p: {
  requestId: string;
  contactName: string;
  companyName: string;
  downloadLink: string;
  acknowledgeLink: string;
  graceEndsAtMs: number;
}): EmailContent {
  return {
    subject: `Reminder: your ${p.companyName} data will be deleted after ${formatInstant(p.graceEndsAtMs)}`,
    text: [
      `Hello ${p.contactName},`,
      '',
      `the data of ${p.companyName} returned on termination (reference ${p.requestId}) is still waiting for you:`,
      '',
      p.downloadLink,
      '',
      'Please acknowledge receipt here:',
      '',
      p.acknowledgeLink,
      '',
      `The deletion goes ahead after ${formatInstant(p.graceEndsAtMs)}.`,
      ...SIGNATURE,
    ].join('\n'),
  };
}

/** To staff: a termination waits for a privacy officer's approval of the erasure. */
export function approvalRequestEmail(p: { requestId: string; customerId: string; reminder: number }): EmailContent {
  return {
    subject: `${p.reminder > 0 ? 'Reminder: ' : ''}termination ${p.requestId} waits for erasure approval`,
    text: [
      `The termination ${p.requestId} of customer ${p.customerId} is ready for the irreversible erasure.`,
      'A privacy officer other than the person who started it approves or rejects it:',
      '',
      `  POST /v1/requests/${p.requestId}/approve`,
      `  POST /v1/requests/${p.requestId}/reject   {"reason": "..."}`,
    ].join('\n'),
  };
}

/** To the primary contact (from the address captured before the erasure): the signed certificate. */
export function certificateEmail(p: {
  requestId: string;
  certificateId: string;
  digest: string;
  /** The public page that checks a pasted certificate (`/certificates/verify`). */
  checkUrl: string;
}): EmailContent {
  return {
    subject: `Deletion certificate ${p.certificateId}`,
    text: [
      'Hello,',
      '',
      `your contract has ended and your data has been deleted as documented in the attached certificate`,
      `(reference ${p.requestId}, certificate ${p.certificateId}, SHA-256 ${p.digest}).`,
      '',
      'The JSON attachment is the signed certificate; the HTML attachment renders it. You can verify the signature',
      'with the public key published by the service (/.well-known/certificate-signing-key), or paste the JSON on',
      `this page, which checks it for you: ${p.checkUrl}`,
      '',
      'This address was kept, encrypted, only to send you this message and has now been deleted as well.',
      ...SIGNATURE,
    ].join('\n'),
  };
}
