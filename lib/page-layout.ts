/**
 * The one layout of every HTML page the service shows to people outside it: the customer pages reached from emails
 * (api/pages/) and the deletion certificate's rendering (lib/certificate-html.ts, also mailed as an attachment).
 *
 * Self-contained on purpose: one inline stylesheet, no scripts, no fonts or files from elsewhere (no CDN), so a page
 * works behind a strict Content-Security-Policy ({@link pageContentSecurityPolicy} allows exactly this stylesheet, by
 * its hash, and the configured logo), prints, and can be archived. Readable on a phone: viewport meta, one column,
 * fact tables that stack on narrow screens, buttons of touch size. Colours meet WCAG AA contrast.
 *
 * Everything interpolated goes through {@link e} (HTML escaping); helpers take plain values, and `Html` strings are
 * markup built by these helpers only.
 */
import { createHash } from 'node:crypto';
import escapeHtml from 'escape-html';

/** Who the pages speak for (BRAND_NAME, BRAND_LOGO_URL, BRAND_SUPPORT_EMAIL in lib/config.ts). */
export interface Brand {
  name: string;
  /** An https URL or a path on this host; absent: the name alone. */
  logoUrl?: string;
  /** Where people write with questions; absent: no footer line. */
  supportEmail?: string;
}

/** Markup produced by this module's helpers (never raw input). */
export type Html = string & { readonly __html?: true };

/** Escapes any value for HTML text and attribute values. */
export function e(value: unknown): Html {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return escapeHtml(value);
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  return escapeHtml(JSON.stringify(value) ?? '');
}

/** The page tone: sets the colour of the notice at the top. */
export type Tone = 'info' | 'ok' | 'warn' | 'bad';

const CSS = `
:root { color-scheme: light; --ink: #1a1a1a; --muted: #4d4d4d; --line: #cfd3d8; --bg: #f4f5f7; --accent: #0b57d0;
  --accent-dark: #0842a0; --ok: #0d652d; --warn: #7a4b00; --bad: #a50e0e; }
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body { margin: 0; font: 1rem/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  color: var(--ink); background: var(--bg); }
.site { background: #fff; border-bottom: 1px solid var(--line); }
.site-inner, main, .site-footer { max-width: 46rem; margin: 0 auto; padding: 1rem 1.25rem; }
.site-inner { display: flex; align-items: center; gap: 0.75rem; }
.site-inner img { height: 2.5rem; width: auto; max-width: 10rem; }
.brand-name { font-weight: 700; font-size: 1.1rem; }
main { background: #fff; margin-top: 1rem; border: 1px solid var(--line); border-radius: 0.5rem; }
h1 { font-size: 1.5rem; line-height: 1.25; margin: 0.25rem 0 1rem; }
h2 { font-size: 1.15rem; margin: 1.5rem 0 0.5rem; }
p { margin: 0.5rem 0 1rem; }
a { color: var(--accent); }
table { border-collapse: collapse; width: 100%; margin: 0.5rem 0 1rem; }
th, td { text-align: left; vertical-align: top; padding: 0.45rem 0.5rem; border-bottom: 1px solid var(--line); }
td { overflow-wrap: anywhere; }
thead th { border-bottom: 2px solid var(--ink); }
.facts th { width: 38%; font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.mono, code { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 0.9rem;
  overflow-wrap: anywhere; }
.scroll { overflow-x: auto; }
.button { display: inline-block; min-height: 2.75rem; padding: 0.7rem 1.3rem; border: 0; border-radius: 0.4rem;
  font: inherit; font-weight: 600; color: #fff; background: var(--accent); text-decoration: none; cursor: pointer; }
.button:hover { background: var(--accent-dark); }
a:focus-visible, .button:focus-visible, textarea:focus-visible, [tabindex]:focus-visible {
  outline: 3px solid #b06000; outline-offset: 2px; }
.actions { margin: 1.5rem 0 1rem; }
.notice { margin: 0 0 1.25rem; padding: 0.75rem 1rem; border-left: 0.3rem solid var(--accent); background: var(--bg); }
.notice.ok { border-color: var(--ok); }
.notice.warn { border-color: var(--warn); }
.notice.bad { border-color: var(--bad); }
.notice p { margin: 0.25rem 0; }
.notice > strong { display: block; }
.notice.ok > strong { color: var(--ok); }
.notice.warn > strong { color: var(--warn); }
.notice.bad > strong { color: var(--bad); }
.muted { color: var(--muted); }
.visually-hidden { position: absolute; width: 1px; height: 1px; margin: -1px; padding: 0; overflow: hidden;
  clip: rect(0 0 0 0); white-space: nowrap; border: 0; }
label { display: block; font-weight: 600; margin: 1rem 0 0.25rem; }
textarea { width: 100%; min-height: 12rem; font: 0.9rem/1.4 ui-monospace, SFMono-Regular, Menlo, monospace;
  padding: 0.5rem; border: 1px solid var(--muted); border-radius: 0.3rem; }
.site-footer { color: var(--muted); font-size: 0.9rem; }
@media (max-width: 32rem) {
  main { border-radius: 0; border-left: 0; border-right: 0; }
  .site-inner, main, .site-footer { padding: 0.9rem 1rem; }
  h1 { font-size: 1.3rem; }
  .facts th, .facts td { display: block; width: auto; border: 0; padding: 0.1rem 0; }
  .facts tr { display: block; padding: 0.45rem 0; border-bottom: 1px solid var(--line); }
  .button { display: block; width: 100%; text-align: center; }
}
@media print { body { background: #fff; } main { border: 0; } .actions { display: none; } }
`;

/** `'sha256-...'` of the stylesheet: the only style a page's CSP allows. */
const STYLE_HASH = `'sha256-${createHash('sha256').update(CSS).digest('base64')}'`;

/**
 * The Content-Security-Policy of a page: nothing runs, nothing loads from elsewhere except the logo, forms post only
 * here, and no other site may frame the page.
 */
export function pageContentSecurityPolicy(brand: Brand): string {
  let logoSource = '';
  if (brand.logoUrl && !brand.logoUrl.startsWith('/')) logoSource = ` ${new URL(brand.logoUrl).origin}`;
  return [
    "default-src 'none'",
    `style-src ${STYLE_HASH}`,
    // data: only for the empty icon, which keeps browsers from asking for /favicon.ico (a 401 on this API).
    `img-src 'self' data:${logoSource}`,
    "form-action 'self'",
    "base-uri 'none'",
    "frame-ancestors 'self'",
  ].join('; ');
}

/** A whole page: the brand header, the content in `<main>`, the support line. */
export function pageDocument(p: {
  brand: Brand;
  /** Page title (also the `<h1>` unless `heading` is given). */
  title: string;
  heading?: string;
  /** A notice shown first: tone and markup. */
  notice?: { tone: Tone; html: Html };
  /** The content after the heading and notice. */
  body: Html;
  /** Leaves the logo out (a page opened from a mail attachment should load nothing). */
  offline?: boolean;
}): Html {
  const { brand } = p;
  const logo = brand.logoUrl && !p.offline ? `<img src="${e(brand.logoUrl)}" alt="">` : '';
  const notice = p.notice ? `<div class="notice ${p.notice.tone}">${p.notice.html}</div>` : '';
  const footer = brand.supportEmail
    ? `<footer class="site-footer"><p>Questions? Write to <a href="mailto:${e(brand.supportEmail)}">` +
      `${e(brand.supportEmail)}</a>.</p></footer>`
    : '';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex, nofollow">
<meta name="referrer" content="no-referrer">
<link rel="icon" href="data:,">
<title>${e(p.title)} · ${e(brand.name)}</title>
<style>${CSS}</style>
</head>
<body>
<header class="site"><div class="site-inner">${logo}<span class="brand-name">${e(brand.name)}</span></div></header>
<main>
<h1>${e(p.heading ?? p.title)}</h1>
${notice}
${p.body}
</main>
${footer}
</body>
</html>
`;
}

/** A two-column table of facts; pairs whose value is undefined, null or '' are left out. `mono` values are ids. */
export function facts(pairs: Array<[string, unknown, { mono?: boolean }?]>): Html {
  const rows = pairs
    .filter(([, v]) => v !== undefined && v !== null && v !== '')
    .map(([k, v, o]) => `<tr><th scope="row">${e(k)}</th><td${o?.mono ? ' class="mono"' : ''}>${e(v)}</td></tr>`)
    .join('\n');
  return `<table class="facts"><tbody>\n${rows}\n</tbody></table>`;
}

/**
 * A data table with a caption for screen readers; `num` columns align right. Wrapped in a region that scrolls
 * sideways on narrow screens (keyboard-focusable, so it can be scrolled without a mouse).
 */
export function dataTable(p: {
  caption: string;
  headers: string[];
  rows: unknown[][];
  numeric?: number[];
  mono?: number[];
  empty: string;
  /** Keeps the caption for screen readers only (when a heading right above says the same). */
  hideCaption?: boolean;
}): Html {
  if (p.rows.length === 0) return `<p class="muted">${e(p.empty)}</p>`;
  const cls = (i: number) => {
    const c = [p.numeric?.includes(i) ? 'num' : '', p.mono?.includes(i) ? 'mono' : ''].filter(Boolean).join(' ');
    return c ? ` class="${c}"` : '';
  };
  const head = p.headers
    .map((h, i) => `<th scope="col"${p.numeric?.includes(i) ? ' class="num"' : ''}>${e(h)}</th>`)
    .join('');
  const body = p.rows.map((r) => `<tr>${r.map((c, i) => `<td${cls(i)}>${e(c ?? '')}</td>`).join('')}</tr>`).join('\n');
  return (
    `<div class="scroll" role="region" aria-label="${e(p.caption)}" tabindex="0">` +
    `<table><caption class="${p.hideCaption ? 'visually-hidden' : 'muted'}">${e(p.caption)}</caption><thead><tr>${head}</tr></thead><tbody>\n${body}\n` +
    `</tbody></table></div>`
  );
}

/** `2026-12-02 14:05 UTC`. */
export function formatInstant(at: Date | number | string): string {
  return new Date(at)
    .toISOString()
    .replace('T', ' ')
    .replace(/:\d{2}\.\d{3}Z$/, ' UTC');
}

/** `1.4 MB`, `812 KB`, `90 bytes` (decimal units, as download sizes are usually given). */
export function formatBytes(bytes: number): string {
  if (bytes < 1000) return `${bytes} bytes`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = -1;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${value >= 100 ? Math.round(value) : value.toFixed(1)} ${units[unit]}`;
}

/** `12,345`. */
export const formatCount = (n: number): string => n.toLocaleString('en-US');

/** `in 6 days`, `in 3 hours`, `in 5 minutes`, `in less than a minute` (from `now` to `at`). */
export function formatRemaining(at: Date, now = Date.now()): string {
  const ms = at.getTime() - now;
  if (ms <= 60_000) return 'in less than a minute';
  const units: Array<[number, string]> = [
    [86_400_000, 'day'],
    [3_600_000, 'hour'],
    [60_000, 'minute'],
  ];
  for (const [size, name] of units) {
    const n = Math.floor(ms / size);
    if (n >= 1) return `in ${n} ${name}${n === 1 ? '' : 's'}`;
  }
  return 'in less than a minute';
}

/**
 * An address shown without giving it away to whoever holds the link: the first one or two characters of the local
 * part, then `***`, then the domain (`ja***@acme.example`). The domain is the company's, which the page names anyway.
 */
export function maskEmail(address: string): string {
  const at = address.lastIndexOf('@');
  if (at < 1) return '***';
  const local = address.slice(0, at);
  const keep = local.length <= 3 ? 1 : 2;
  return `${local.slice(0, keep)}***${address.slice(at)}`;
}
