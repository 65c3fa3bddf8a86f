/**
 * The download page of an export link (`/download/{token}`): what the archive holds (one CSV file per table, with
 * the categories and rows of each, from the archive's manifest), its size and manifest hash, how long the link works,
 * and a button to the download itself, which stays at `/exports/{token}` (each download counted and audited there).
 */
import {
  dataTable,
  e,
  facts,
  formatBytes,
  formatCount,
  formatInstant,
  formatRemaining,
  pageDocument,
  type Brand,
  type Html,
} from '../../lib/page-layout';
import type { ExportLinkView } from '../use-cases/public-link-pages';

const SCOPES: Record<string, string> = {
  contact_information: 'contact information',
  service_records: 'service records',
  all: 'contact information and service records',
};

/** The page of GET `/download/{token}`. Viewing it downloads nothing and is not counted. */
export function downloadPage(brand: Brand, view: ExportLinkView, token: string): Html {
  const purpose =
    view.type === 'termination'
      ? `the data we return to ${view.companyName} on the termination of its contract`
      : `the copy of the data we hold about ${view.companyName} that you asked for`;
  const scope = SCOPES[view.scope] ?? view.scope.replaceAll('_', ' ');
  return pageDocument({
    brand,
    title: 'Your data export is ready',
    notice: {
      tone: 'info',
      html:
        `<p>This link works until <strong>${e(formatInstant(view.linkExpiresAt))}</strong> ` +
        `(${e(formatRemaining(view.linkExpiresAt))}), as often as you need. Then the archive is deleted.</p>`,
    },
    body:
      `<p>Here is ${e(purpose)}: ${e(scope)}, one CSV file per table in a compressed archive, with a ` +
      '<code>manifest.json</code> that lists each file with its SHA-256.</p>' +
      facts([
        ['Reference', view.requestId, { mono: true }],
        ['Files', `${view.tables.length} CSV files and manifest.json`],
        ['Records', formatCount(view.rows)],
        ['Size', `${formatBytes(view.bytes)} before compression`],
        ['Manifest SHA-256', view.manifestSha256, { mono: true }],
        ['Generated', view.generatedAt ? formatInstant(view.generatedAt) : undefined],
        [
          'Downloaded so far',
          view.downloads === 0 ? 'not yet' : `${view.downloads} time${view.downloads === 1 ? '' : 's'}`,
        ],
      ]) +
      `<p class="actions"><a class="button" href="/exports/${e(encodeURIComponent(token))}" download>` +
      `Download the archive (.tar.gz)</a></p>` +
      '<h2>What the archive holds</h2>' +
      dataTable({
        caption: 'Files in the archive',
        headers: ['File', 'Data categories', 'Records', 'Size'],
        rows: view.tables.map((t) => [
          t.file,
          t.categories.map((c) => c.replaceAll('_', ' ')).join(', '),
          formatCount(t.rows),
          formatBytes(t.bytes),
        ]),
        numeric: [2, 3],
        mono: [0],
        empty: 'The archive holds no tables.',
      }) +
      '<p class="muted">To check the archive, compare the SHA-256 of <code>manifest.json</code> with the one above, ' +
      'then each file with the hash the manifest lists for it.</p>',
  });
}
