/**
 * The readable form of a deletion certificate: one self-contained HTML page (no scripts, no external resources) that
 * a customer or auditor can open, print or archive. It shows the same facts as the signed JSON and says how to verify
 * them; the JSON stays the authoritative form (the signature covers it, not this page).
 */
import type { CertificateContent, CertificateVerification, SignedCertificate } from './certificate';
import { dataTable, e, facts as factTable, pageDocument, type Brand, type Html } from './page-layout';

function table(caption: string, headers: string[], rows: unknown[][], empty: string, numeric: number[] = []): Html {
  return dataTable({ caption, headers, rows, empty: empty || 'None.', numeric, hideCaption: true });
}

function facts(pairs: Array<[string, unknown]>): Html {
  return factTable(pairs.map(([k, v]) => [k, v, { mono: typeof v === 'string' && /^[0-9a-f-]{32,}$/i.test(v) }]));
}

/** The brand of a certificate rendered without configuration (tests, tools). */
const NEUTRAL_BRAND: Brand = { name: 'Deletion certificate' };

const TITLES: Record<CertificateContent['kind'], string> = {
  termination: 'Certificate of deletion on contract termination',
  deletion_request: 'Certificate of deletion on request',
};

/** Options of {@link renderCertificateHtml}. */
export interface CertificateHtmlOptions {
  /** The page header and support line (lib/config.ts `brand`). */
  brand?: Brand;
  /** A verification of this document (digest, signature, key id) to show at the top. */
  verification?: CertificateVerification;
  /** Loads nothing (no logo): for the copy mailed as an attachment. */
  offline?: boolean;
}

/** The verification result as a notice: valid, or each check that failed. */
function verificationNotice(v: CertificateVerification): { tone: 'ok' | 'bad'; html: Html } {
  if (v.valid)
    return {
      tone: 'ok',
      html:
        '<strong>Signature verified</strong><p>The digest matches the content and the signature is valid for the ' +
        'published key: this is the certificate as issued.</p>',
    };
  const failed = Object.entries(v.checks)
    .filter(([, ok]) => !ok)
    .map(([name]) => name);
  return {
    tone: 'bad',
    html:
      '<strong>Not verified: do not rely on this certificate</strong>' +
      `<p>Failed checks: ${e(failed.join(', '))}.</p>` +
      (v.problems.length ? `<ul>${v.problems.map((p) => `<li>${e(p)}</li>`).join('')}</ul>` : ''),
  };
}

/** Renders the signed certificate as a standalone HTML page in the layout of the customer pages. */
export function renderCertificateHtml(signed: SignedCertificate, opts: CertificateHtmlOptions = {}): string {
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
      'Timeline',
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
      : '<p class="muted">Nothing was returned (the disposition was delete).</p>',
    '<h2>Rows deleted per table</h2>',
    table(
      'Rows deleted per table',
      ['Table', 'Rows deleted'],
      [...Object.entries(c.deleted.tables), ['total', c.deleted.totalRows]],
      'No rows deleted.',
      [1],
    ),
    '<h2>Subprocessors</h2>',
    table(
      'Subprocessors',
      ['Subprocessor', 'Deletion', 'Categories', 'Status', 'Confirmed at'],
      c.subprocessors.map((s) => [s.subprocessorId, s.deletionId, s.categories.join(', '), s.status, s.confirmedAt]),
      'No subprocessor held data in scope.',
    ),
    '<h2>Retained records</h2>',
    table(
      'Retained records',
      ['Table', 'Rows', 'Reason', 'Until'],
      c.retained.map((r) => [r.table, r.rows, r.reason, r.until]),
      'Nothing is retained.',
    ),
    c.refused.length > 0
      ? `<h2>Refused parts</h2>${table(
          'Refused parts',
          ['Part', 'Reason', 'Until'],
          c.refused.map((r) => [r.part, r.reason, r.until]),
          '',
        )}`
      : '',
    '<h2>Deletion method per place</h2>',
    table(
      'Deletion method per place',
      ['Place', 'Method'],
      c.deletionMethods.map((m) => [m.place, m.method]),
      '',
    ),
    '<h2>Copies outside the live tables</h2>',
    table(
      'Copies outside the live tables',
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
    '<p class="muted">This page renders the signed JSON document, which is authoritative. Verify it offline with ' +
      '<code>npm run cli -- certificate verify certificate.json --public-key key.pem</code>, using the public key ' +
      `published at ${e(c.issuer.publicKeyUrl)}.</p>`,
  ];
  return pageDocument({
    brand: opts.brand ?? NEUTRAL_BRAND,
    title: `${TITLES[c.kind]} ${c.id}`,
    heading: TITLES[c.kind],
    ...(opts.verification ? { notice: verificationNotice(opts.verification) } : {}),
    body: sections.filter((s) => s !== '').join('\n'),
    offline: opts.offline,
  });
}
