/**
 * End-state checks of the fault suite: what must hold after any fault, read from the places the outside world sees
 * (the audit log, the SMTP sink, the subprocessor simulator, the export archive), each answering figures a scenario
 * asserts and reports (docs/reliability.md "Fault suite").
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Knex } from 'knex';
import { EXPORT_TABLES, type ExportManifest } from '../../../activities/export';
import { auditEvents, type AuditVerifyReport } from '../../../db/repositories/audit-events';
import type { SmtpSink } from '../../fakes/smtp-sink';
import type { SubprocessorSimulator } from '../../fakes/subprocessor-simulator';
import { expectedTableCsv, readTarGz } from '../../support/access-export';

/** Keys occurring more than once, with their counts (empty when every key is unique). */
export function duplicates<T>(items: readonly T[], key: (item: T) => string): Record<string, number> {
  const counts = new Map<string, number>();
  for (const item of items) counts.set(key(item), (counts.get(key(item)) ?? 0) + 1);
  return Object.fromEntries([...counts].filter(([, n]) => n > 1));
}

/**
 * Verifies the global audit chain and every customer's chain with the repository's own verification. Answers the
 * reports that are not ok (empty: the audit log is intact) and how many events were checked.
 */
export async function auditChains(db: Knex): Promise<{ broken: AuditVerifyReport[]; checked: number }> {
  const reports = [await auditEvents.verify(db)];
  const customerIds = await db('audit_events').whereNotNull('customer_id').distinct().pluck('customer_id');
  for (const customerId of customerIds) reports.push(await auditEvents.verify(db, { customerId: String(customerId) }));
  return { broken: reports.filter((r) => !r.ok), checked: reports[0]!.checked };
}

/** Audit events of `action`, as stored (for counting per fact). */
export async function auditEventsOf(
  db: Knex,
  action: string,
): Promise<{ subject_id: string; customer_id: string | null; request_id: string | null; details: any }[]> {
  return db('audit_events')
    .where({ action })
    .orderBy('global_seq')
    .select('subject_id', 'customer_id', 'request_id', 'details');
}

/**
 * Audit events of `action` that occur more than once for the same fact (`factKey`, default subject and request):
 * empty when every fact was recorded once.
 */
export async function duplicateAuditEvents(
  db: Knex,
  action: string,
  factKey: (e: {
    subject_id: string;
    customer_id: string | null;
    request_id: string | null;
    details: any;
  }) => string = (e) => `${e.subject_id}|${e.request_id}`,
): Promise<{ events: number; duplicates: Record<string, number> }> {
  const events = await auditEventsOf(db, action);
  return { events: events.length, duplicates: duplicates(events, factKey) };
}

/** Emails the sink received, and the Message-IDs received more than once (empty: one email per Message-ID). */
export function emailsByMessageId(smtp: SmtpSink): { emails: number; duplicates: Record<string, number> } {
  const messages = smtp.messages();
  return { emails: messages.length, duplicates: duplicates(messages, (m) => m.messageId ?? `(no Message-ID) ${m.id}`) };
}

/**
 * Emails whose subject matches, per envelope recipient: e.g. welcome emails per customer's primary contact. Answers
 * the count and the recipients that got more than one.
 */
export function emailsPerRecipient(
  smtp: SmtpSink,
  subject: RegExp,
): { emails: number; recipients: number; duplicates: Record<string, number> } {
  const messages = smtp.messages().filter((m) => subject.test(m.subject));
  const recipients = new Set(messages.flatMap((m) => m.to));
  return {
    emails: messages.length,
    recipients: recipients.size,
    duplicates: duplicates(
      messages.flatMap((m) => m.to.map((to) => ({ to }))),
      (m) => m.to,
    ),
  };
}

/**
 * Calls the subprocessors received on `callPath` (e.g. `/v1/tenants`) per idempotency key: how many keys, how many
 * calls, and the keys that had more than one *effective* call (a 2xx that was not an "already done" answer): empty
 * when every key took effect once, however often it was retried.
 */
export function effectiveCallsPerKey(
  sim: SubprocessorSimulator,
  callPath: string,
): { keys: number; calls: number; effectiveDuplicates: Record<string, number>; missingKey: number } {
  const calls = sim.calls({ path: callPath });
  const effective = calls.filter((c) => c.status >= 200 && c.status < 300);
  return {
    keys: new Set(calls.map((c) => c.idempotencyKey)).size,
    calls: calls.length,
    effectiveDuplicates: duplicates(effective, (c) => `${c.subprocessorId}|${c.idempotencyKey}`),
    missingKey: calls.filter((c) => !c.idempotencyKey).length,
  };
}

/**
 * Downloads the archive an emailed link serves (`/exports/<token>`: the files are encrypted at rest, so the served
 * archive is what the customer gets) and compares it with the database: each table file must be byte for byte what
 * `SELECT *` of the customer's rows gives (COPY CSV, key order), with the manifest's SHA-256 and row count. Answers
 * one line per table; `mismatches` lists the tables that differ.
 */
export async function exportMatchesDatabase(
  db: Knex,
  apiUrl: string,
  downloadToken: string,
): Promise<{
  manifest: ExportManifest;
  manifestSha256: string;
  tables: { table: string; rows: number; sha256: string; matches: boolean }[];
  mismatches: string[];
}> {
  const res = await fetch(`${apiUrl}/exports/${downloadToken}`);
  if (res.status !== 200) throw new Error(`the download link answered ${res.status}`);
  const files = readTarGz(Buffer.from(await res.arrayBuffer()));
  const manifestName = [...files.keys()].find((name) => name.endsWith('/manifest.json'));
  if (!manifestName) throw new Error('the served archive has no manifest.json');
  const prefix = manifestName.slice(0, -'manifest.json'.length);
  const manifestText = files.get(manifestName)!;
  const manifest = JSON.parse(manifestText.toString('utf8')) as ExportManifest;
  const tables = [];
  for (const entry of manifest.tables) {
    const spec = EXPORT_TABLES.find((t) => t.table === entry.table);
    if (!spec) throw new Error(`manifest names an unknown table ${entry.table}`);
    const file = files.get(`${prefix}${entry.file}`) ?? Buffer.alloc(0);
    const expected = await expectedTableCsv(db, spec, manifest.customerId, manifest.categories);
    const sha256 = createHash('sha256').update(file).digest('hex');
    // COPY's header line is not a row.
    const rows = Math.max(
      0,
      file
        .toString('utf8')
        .split('\n')
        .filter((l) => l !== '').length - 1,
    );
    tables.push({
      table: entry.table,
      rows,
      sha256,
      matches: file.equals(expected) && sha256 === entry.sha256 && rows === entry.rows,
    });
  }
  return {
    manifest,
    manifestSha256: createHash('sha256').update(manifestText).digest('hex'),
    tables,
    mismatches: tables.filter((t) => !t.matches).map((t) => t.table),
  };
}

/**
 * The archive directories under `exportDir` whose manifest names `requestId` (walks three levels, so it does not
 * depend on how archives are laid out: one directory per archive, per attempt or per content hash).
 */
export function archiveDirsOf(exportDir: string, requestId: string): string[] {
  const found: string[] = [];
  const walk = (dir: string, depth: number) => {
    if (!fs.existsSync(dir)) return;
    const manifest = path.join(dir, 'manifest.json');
    if (fs.existsSync(manifest)) {
      try {
        if ((JSON.parse(fs.readFileSync(manifest, 'utf8')) as ExportManifest).requestId === requestId) found.push(dir);
      } catch {
        // a manifest being written: not an archive yet
      }
    }
    if (depth === 0) return;
    for (const entry of fs.readdirSync(dir, { withFileTypes: true }))
      if (entry.isDirectory()) walk(path.join(dir, entry.name), depth - 1);
  };
  walk(exportDir, 3);
  return found;
}
