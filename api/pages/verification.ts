/**
 * The identity confirmation pages of `/verify`: the page the emailed link opens (what is being confirmed, and a
 * button that POSTs the token in the form body), and the page after confirming.
 */
import { e, facts, formatInstant, maskEmail, pageDocument, type Brand, type Html } from '../../lib/page-layout';
import type { VerificationLinkView } from '../use-cases/public-link-pages';

/** How each request type is named to the person confirming it, and what confirming lets us do. */
const REQUEST_WORDS: Record<string, { name: string; what: (company: string) => string; next: string }> = {
  access: {
    name: 'Data access request',
    what: (c) => `a copy of the data we hold about ${c}`,
    next: 'We then prepare the export and email a download link to the same address.',
  },
  correction: {
    name: 'Correction request',
    what: (c) => `a correction of the data we hold about ${c}`,
    next: 'We then make the corrections (some need a second person’s approval) and tell you the outcome.',
  },
  deletion: {
    name: 'Deletion request',
    what: (c) => `the deletion of data we hold about ${c}`,
    next: 'We then decide each part of the request and tell you the outcome, with a certificate of what was deleted.',
  },
};

const wordsFor = (type: string) =>
  REQUEST_WORDS[type] ?? { name: 'Request', what: (c: string) => `a request about ${c}`, next: '' };

/** The page of GET `/verify/{token}`: what would be confirmed, and the confirm button. Changes nothing. */
export function verificationPage(brand: Brand, view: VerificationLinkView, token: string): Html {
  const words = wordsFor(view.type);
  const masked = view.contactEmail ? maskEmail(view.contactEmail) : undefined;
  return pageDocument({
    brand,
    title: `Confirm your ${words.name.toLowerCase()}`,
    body:
      `<p>Someone using your address asked ${e(brand.name)} for ${e(words.what(view.companyName))}. Before we act ` +
      'on it, we need to know it was you. Please check the details and confirm.</p>' +
      facts([
        ['Request', words.name],
        ['Company', view.companyName],
        ['Registered address', masked],
        ['Reference', view.requestId, { mono: true }],
        ['Received', formatInstant(view.receivedAt)],
        ['We answer by', view.dueOn ?? 'a date counted from when you confirm'],
        ['This link works until', formatInstant(view.linkExpiresAt)],
      ]) +
      // The token travels in the body, not the URL: the action is a fixed path, and nothing changes until this POST.
      `<form class="actions" method="post" action="/verify">` +
      `<input type="hidden" name="token" value="${e(token)}">` +
      `<button class="button" type="submit">Yes, I made this request: confirm it</button></form>` +
      `<p>${e(words.next)}</p>` +
      '<p class="muted">If you did not make this request, do nothing: it closes unconfirmed when the link expires, ' +
      'and nothing is disclosed or changed.</p>',
  });
}

/** The page after a confirmation. */
export function verifiedPage(brand: Brand, answer: { requestId: string; type: string; dueOn: string }): Html {
  const words = wordsFor(answer.type);
  const promise =
    answer.type === 'access'
      ? `We will send the data by ${answer.dueOn} at the latest.`
      : `We will answer your ${answer.type} request by ${answer.dueOn} at the latest.`;
  return pageDocument({
    brand,
    title: 'Thank you: your request is confirmed',
    notice: {
      tone: 'ok',
      html: `<strong>Confirmed</strong><p>${e(promise)}</p>`,
    },
    body:
      facts([
        ['Request', words.name],
        ['Reference', answer.requestId, { mono: true }],
        ['We answer by', answer.dueOn],
      ]) +
      `<p>${e(words.next)}</p>` +
      '<p class="muted">You can close this page. The link has been used and does nothing more.</p>',
  });
}
