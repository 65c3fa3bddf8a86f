/**
 * The acknowledgement pages of a termination's return (`/acknowledge`): what the customer acknowledges (the returned
 * archive and what happens next), a button that POSTs the token in the form body, and the page after acknowledging.
 */
import {
  e,
  facts,
  formatCount,
  formatInstant,
  maskEmail,
  pageDocument,
  type Brand,
  type Html,
} from '../../lib/page-layout';
import type { AcknowledgeLinkView } from '../use-cases/public-link-pages';

/** The page of GET `/acknowledge/{token}`. Changes nothing. */
export function acknowledgementPage(brand: Brand, view: AcknowledgeLinkView, token: string): Html {
  return pageDocument({
    brand,
    title: 'Acknowledge receipt of your data',
    body:
      `<p>Your contract with ${e(brand.name)} has ended, and as it provides we returned the data we hold about ` +
      `${e(view.companyName)} before deleting it. By confirming, you acknowledge that you received it: the ` +
      'deletion then goes ahead without waiting for the end of the return period.</p>' +
      facts([
        ['Company', view.companyName],
        ['Sent to', view.contactEmail ? maskEmail(view.contactEmail) : undefined],
        ['Reference', view.requestId, { mono: true }],
        [
          'Returned',
          view.archive ? `${formatCount(view.archive.rows)} records in ${view.archive.files} files` : undefined,
        ],
        ['Manifest SHA-256', view.archive?.manifestSha256, { mono: true }],
        ['Return period ends', formatInstant(view.linkExpiresAt)],
      ]) +
      `<form class="actions" method="post" action="/acknowledge">` +
      `<input type="hidden" name="token" value="${e(token)}">` +
      `<button class="button" type="submit">I received the data: acknowledge</button></form>` +
      '<p class="muted">Not downloaded yet? Use the download link in the same email first. Without an ' +
      `acknowledgement the deletion goes ahead after ${e(formatInstant(view.linkExpiresAt))}, and both links stop ` +
      'working then. After the deletion you receive a signed deletion certificate.</p>',
  });
}

/** The page after acknowledging. */
export function acknowledgedPage(brand: Brand, answer: { requestId: string; acknowledgedAt: string }): Html {
  return pageDocument({
    brand,
    title: 'Thank you: receipt acknowledged',
    notice: {
      tone: 'ok',
      html:
        '<strong>Acknowledged</strong><p>The deletion now goes ahead. You will receive a deletion certificate ' +
        'once it is done.</p>',
    },
    body: facts([
      ['Reference', answer.requestId, { mono: true }],
      ['Acknowledged at', formatInstant(answer.acknowledgedAt)],
    ]),
  });
}
