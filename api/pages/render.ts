/**
 * Sending the customer pages, and their error pages: a person who opens an emailed link gets a page in the layout of
 * lib/page-layout.ts, with the status code that says what happened (404 not a link of ours, 410 used, expired or
 * closed, 503 try again), never a JSON body. Clients that ask for JSON (`Accept: application/json`) keep getting
 * problem+json from the app's error handler.
 */
import type { ErrorRequestHandler, Request, Response } from 'express';
import { e, pageContentSecurityPolicy, pageDocument, type Brand, type Html } from '../../lib/page-layout';
import type { Logger } from '../../lib/logger';
import { HttpProblem, ValidationProblem } from '../problem';

/** True when the client prefers JSON to HTML (API clients, scripts); browsers and mail scanners get pages. */
export function wantsJson(req: Request): boolean {
  return req.accepts(['text/html', 'application/json']) === 'application/json';
}

/** Sends a page: its own strict CSP, never cached (the page is about one link), answers vary with Accept. */
export function sendPage(res: Response, brand: Brand, status: number, html: Html): void {
  res
    .status(status)
    .set('Content-Security-Policy', pageContentSecurityPolicy(brand))
    .set('Cache-Control', 'no-store')
    .vary('Accept')
    .type('html')
    .send(html);
}

/** What a person is told for each refusal, by the problem's `reason` (api/use-cases/public-link-pages.ts). */
const REFUSALS: Record<string, { title: string; text: string }> = {
  not_ours: {
    title: 'This link is not valid',
    text:
      'We cannot read this link. Please open it again from the email, making sure the whole link is used: some ' +
      'email programs break long links over two lines.',
  },
  expired: {
    title: 'This link has expired',
    text: 'Links in our emails work for a limited time, and this one has run out.',
  },
  used: {
    title: 'This link has been used already',
    text: 'It can be used only once, and it was. There is nothing more to do with it.',
  },
  closed: {
    title: 'This request is closed',
    text: 'The request this link belongs to has ended, so the link no longer does anything.',
  },
  gone: {
    title: 'This link no longer works',
    text: 'What it pointed to has been deleted, or the request it belongs to was closed.',
  },
};

/** The error page of a problem. */
export function problemPage(brand: Brand, problem: HttpProblem): Html {
  const reason = typeof problem.extra.reason === 'string' ? problem.extra.reason : undefined;
  const known = reason ? REFUSALS[reason] : undefined;
  let title: string;
  let text: string;
  if (known) ({ title, text } = known);
  else if (problem.status === 503) {
    title = 'Please try again later';
    text = `${problem.detail ?? 'We could not record this just now'}. Nothing has changed; the link still works.`;
  } else if (problem instanceof ValidationProblem || problem.status === 404) ({ title, text } = REFUSALS.not_ours!);
  else {
    title = problem.title;
    text = problem.detail ?? '';
  }
  const help = brand.supportEmail
    ? `<p>If you need help, write to <a href="mailto:${e(brand.supportEmail)}">${e(brand.supportEmail)}</a> and ` +
      'quote the reference in the email.</p>'
    : '';
  return pageDocument({
    brand,
    title,
    notice: { tone: problem.status >= 500 ? 'warn' : 'bad', html: `<p>${e(text)}</p>` },
    body: help,
  });
}

/**
 * Error handler of the page routes: a problem becomes its page (same status) unless the client asked for JSON; any
 * other error is logged and answered with a 500 page.
 */
export function pageErrorHandler(deps: { brand: Brand; log: Logger }): ErrorRequestHandler {
  return (err: unknown, req, res, next) => {
    if (res.headersSent || wantsJson(req)) {
      next(err);
      return;
    }
    if (err instanceof HttpProblem) {
      sendPage(res, deps.brand, err.status, problemPage(deps.brand, err));
      return;
    }
    // Body-parser errors carry their own status (413 too large, 400 unreadable): the request was refused, not failed.
    const status = (err as { status?: unknown }).status;
    if (typeof status === 'number' && status >= 400 && status < 500) {
      const detail = status === 413 ? 'What was sent is too large.' : 'What was sent could not be read.';
      sendPage(res, deps.brand, status, problemPage(deps.brand, new HttpProblem(status, 'Request refused', detail)));
      return;
    }
    deps.log.error('page failed', { path: req.path, err: (err as Error).message });
    sendPage(
      res,
      deps.brand,
      500,
      problemPage(deps.brand, new HttpProblem(500, 'Something went wrong', 'Please try again later.')),
    );
  };
}
