/**
 * The readable form of a deletion certificate: one self-contained HTML page (no scripts, no external resources) that
 * a customer or auditor can open, print or archive. It shows the same facts as the signed JSON and says how to verify
 * them; the JSON stays the authoritative form (the signature covers it, not this page).
 */
import escapeHtml from 'escape-html';
import type { CertificateContent, SignedCertificate } from './certificate';

const e = (value: unknown): string => escapeHtml(String(value));

function table(headers: string[], rows: unknown[][], empty: string): string {
  if (rows.length === 0) return `<p class="empty">${e(empty)}</p>`;
  const head = headers.map((h) => `<th>${e(h)}</th>`).join('');
  const body = rows.map((r) => `<tr>${r.map((c) => `<td>${e(c ?? '')}</td>`).join('')}</tr>`).join('\n');
  return `<table><thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table>`;
}

function facts(pairs: Array<[string, unknown]>): string {
  const rows = pairs
    .filter(([, v]) => v !== undefined && v !== null && v !== '')
    .map(([k, v]) => `<tr><th scope="row">${e(k)}</th><td>${e(v)}</td></tr>`)
    .join('\n');
  return `<table class="facts"><tbody>\n${rows}\n</tbody></table>`;
}

const TITLES: Record<CertificateContent['kind'], string> = {
  termination: 'Certificate of deletion on contract termination',
  deletion_request: 'Certificate of deletion on request',
};

/** Renders the signed certificate as a standalone HTML document. */
export function renderCertificateHtml(signed: SignedCertificate): string {
  const c = signed.certificate;
  const copies = c.copiesOutsideLiveTables;
  const sections = [
    facts([
      ['Certificate', c.id],
      ['Issued at', c.issuedAt],
      ['Customer', c.customerId],
      ['Request', c.requestId],
      ['Contract', c.contract?.contractId],
      ['Contract ended', c.contract?.endedAt],
      [
        'Disposition',
        c.contract ? `${c.contract.disposition} (${c.contract.dispositionSource.replaceAll('_', ' ')})` : null,
      ],
      ['Categories', c.categories.join(', ')],
      ['Verified', c.verification.verified ? 'yes: nothing of the customer remains beyond what is retained' : 'NO'],
    ]),
    '<h2>Timeline</h2>',
    table(
      ['Event', 'Instant'],
      Object.entries(c.timeline).map(([k, v]) => [k, v]),
      'No timeline recorded.',
    ),
    c.approval
      ? `<h2>Approval (four eyes)</h2>${facts([
          ['Requested by', c.approval.requestedBy],
          ['Approved by', c.approval.approvedBy],
          ['Approved at', c.approval.approvedAt],
        ])}`
      : '',
    '<h2>Data returned before deletion</h2>',
    c.returned
      ? facts([
          ['Archive', c.returned.archiveId],
          ['Manifest SHA-256', c.returned.manifestSha256],
          ['Rows', c.returned.rows],
          ['Delivered at', c.returned.deliveredAt],
          ['Return period ended by', c.returned.closedBy.replaceAll('-', ' ')],
          ['Return period ended at', c.returned.closedAt],
        ])
      : '<p class="empty">Nothing was returned (the disposition was delete).</p>',
    '<h2>Rows deleted per table</h2>',
    table(
      ['Table', 'Rows deleted'],
      [...Object.entries(c.deleted.tables), ['total', c.deleted.totalRows]],
      'No rows deleted.',
    ),
    '<h2>Subprocessors</h2>',
    table(
      ['Subprocessor', 'Deletion', 'Categories', 'Status', 'Confirmed at'],
      c.subprocessors.map((s) => [s.subprocessorId, s.deletionId, s.categories.join(', '), s.status, s.confirmedAt]),
      'No subprocessor held data in scope.',
    ),
    '<h2>Retained records</h2>',
    table(
      ['Table', 'Rows', 'Reason', 'Until'],
      c.retained.map((r) => [r.table, r.rows, r.reason, r.until]),
      'Nothing is retained.',
    ),
    c.refused.length > 0
      ? `<h2>Refused parts</h2>${table(
          ['Part', 'Reason', 'Until'],
          c.refused.map((r) => [r.part, r.reason, r.until]),
          '',
        )}`
      : '',
    '<h2>Deletion method per place</h2>',
    table(
      ['Place', 'Method'],
      c.deletionMethods.map((m) => [m.place, m.method]),
      '',
    ),
    '<h2>Copies outside the live tables</h2>',
    table(
      ['Place', 'How it ends', 'Gone by'],
      [
        [
          'Database backups',
          `${copies.databaseBackups.statement} (retention ${copies.databaseBackups.retention})`,
          copies.databaseBackups.goneBy,
        ],
        [
          `Temporal histories (namespace ${copies.temporalHistories.namespace})`,
          `${copies.temporalHistories.statement} (retention ${copies.temporalHistories.retention})`,
          copies.temporalHistories.goneBy,
        ],
        ['Logs', copies.logs.statement, ''],
      ],
      '',
    ),
    '<h2>Verification of the live tables</h2>',
    facts([
      ['Checked at', c.verification.checkedAt],
      ['Tables checked', c.verification.tablesChecked.join(', ')],
      ['Rows found beyond retained', Object.values(c.verification.remaining).reduce((a, b) => a + b, 0)],
      ['Export archives left on disk', c.verification.exportArchivesOnDisk],
    ]),
    '<h2>Policies and code</h2>',
    facts([
      [
        'Retention policy versions',
        Object.entries(c.policyVersions.retentionPolicies)
          .map(([k, v]) => `${k} v${v}`)
          .join(', '),
      ],
      ['Statutory rules applied', c.policyVersions.statutoryRules.join(', ')],
      ['Service', c.issuer.service],
      ['Code version', c.issuer.codeVersion],
    ]),
    '<h2>Signature</h2>',
    facts([
      ['Digest (SHA-256 of the canonical JSON)', signed.digest.value],
      ['Algorithm', signed.signature.algorithm],
      ['Key id', signed.signature.keyId],
      ['Public key', c.issuer.publicKeyUrl],
      ['Signature', signed.signature.value],
    ]),
    '<p class="note">This page renders the signed JSON document, which is authoritative. Verify it offline with ' +
      '<code>npm run cli -- certificate verify certificate.json --public-key key.pem</code>, using the public key ' +
      `published at ${e(c.issuer.publicKeyUrl)}.</p>`,
  ];
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${e(TITLES[c.kind])} ${e(c.id)}</title>
<style>
body { font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; color: #1a1a1a; }
table { border-collapse: collapse; margin: 0.5rem 0 1.5rem; width: 100%; }
th, td { border: 1px solid #ccc; padding: 0.3rem 0.5rem; text-align: left; vertical-align: top; }
td { font-family: ui-monospace, monospace; font-size: 0.9rem; word-break: break-all; }
.facts th { width: 16rem; }
.empty, .note { color: #555; }
</style>
</head>
<body>
<h1>${e(TITLES[c.kind])}</h1>
${sections.filter((s) => s !== '').join('\n')}
</body>
</html>
`;
}
