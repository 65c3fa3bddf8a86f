/**
 * Stale attempts fenced out (docs/reliability.md, "Fencing stale attempts"), with real worker processes:
 *
 * 1. A worker stops itself (SIGSTOP, as a VM freeze) in the middle of an export range, past the 1-minute heartbeat
 *    timeout, while a second worker runs. Temporal retries the export on the second worker, which resumes from the
 *    checkpoint and delivers; meanwhile `GET /v1/requests/{id}` says "retrying after heartbeat timeout, attempt 2".
 *    Then the first worker is resumed (SIGCONT): its next write is refused. The delivered archive equals the database's
 *    rows with matching hashes, there is one archive directory, one `access.export_completed` event, one delivery
 *    email, and the audit chain is intact.
 * 2. A worker is killed (SIGKILL) right after an erasure batch committed, before it could heartbeat; a replacement
 *    worker resumes after the heartbeat timeout. Every row is deleted exactly once and counted once, one
 *    `erasure.tables_erased` event, audit chain intact.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { EXPORT_TABLES } from '../../db/export-engine';
import { configureAuditLog } from '../../db/repositories/audit-events';
import { loadConfig } from '../../lib/config';
import { archiveDirectory } from '../../lib/export-archive';
import { erasureScopeKey, erasureWorkflowId } from '../../lib/pure/temporal-ids';
import type { DataCategory } from '../../lib/pure/data-categories';
import { seedDemoCustomer } from '../../scripts/seed-demo-customer';
import { erasureWorkflow } from '../../workflows/erasure';
import { expectedTableCsv, linkToken, readTarGz } from '../support/access-export';
import { auditChains, duplicateAuditEvents } from './support/checks';
import { startFaultStack, type FaultStack } from './support/fault-stack';
import { reportFigures, secondsSince } from './support/figures';
import { resume, stopGracefully, waitForKilled, waitForStopped, waitUntil } from './support/processes';

const EXPORT_ROWS = 40_000;
const ERASURE_ROWS = 20_000;
let stack: FaultStack;

beforeAll(async () => {
  stack = await startFaultStack({
    name: 'stale-attempts',
    api: true,
    env: { EXPORT_BATCH_ROWS: '500', EXPORT_PARALLEL_TABLES: '1', ACCESS_REMINDER_OFFSETS: 'none' },
  });
  // Verify the audit chains with the services' keys (AUDIT_HMAC_KEYS, or those derived from their payload keys).
  const config = loadConfig(stack.serviceEnv);
  configureAuditLog({ keyring: config.audit.keyring, checkpoints: config.audit.checkpoints });
});
afterAll(async () => {
  await stack?.stop();
});

const requestRow = (id: string) => stack.db('lifecycle_requests').where({ id }).first();

test('a worker frozen mid-export past its heartbeat timeout wakes up after the retry delivered: the archive stays exact', async () => {
  const started = Date.now();
  const seeded = await seedDemoCustomer(stack.db, {
    operationalRows: EXPORT_ROWS,
    technicalRows: 100,
    communicationRows: 10,
  });
  const contact = await stack.db('contacts').where({ customer_id: seeded.customerId, role: 'primary' }).first('email');
  const email = String(contact.email).toLowerCase();

  // The first worker freezes itself in its 20th range: rows in its file, not yet in the checkpoint.
  const frozen = await stack.startWorker({ faultPoints: 'export.mid-range=stop@20' });
  const res = await stack.http('POST', `/v1/customers/${seeded.customerId}/access-requests`, {
    requesterEmail: email,
    scope: 'all',
  });
  expect(res.status).toBe(202);
  const requestId: string = res.body.requestId;
  const verification = await stack.smtp.waitFor(
    (m) => m.to.includes(email) && m.text.includes(requestId) && /^Confirm your data access/.test(m.subject),
    { timeoutMs: 120_000 },
  );
  expect((await stack.http('POST', '/verify', { token: linkToken(verification.text, 'verify') })).status).toBe(200);
  await waitForStopped(frozen, 300_000);
  const frozenAt = Date.now();
  const atFreeze = await stack.db('export_archives').where({ request_id: requestId }).first('rows_done');

  // A second worker; Temporal gives it the export once the frozen attempt's heartbeat timeout (1 minute) passes.
  await stack.startWorker();
  const retrying = await waitUntil(
    'the status saying the export retries after its heartbeat timeout',
    async () => {
      const status = await stack.http('GET', `/v1/requests/${requestId}`);
      const activity = (status.body.activities ?? []).find(
        (a: { activityType: string }) => a.activityType === 'exportCustomerData',
      );
      return activity?.summary === 'retrying after heartbeat timeout, attempt 2' ? activity : undefined;
    },
    { timeoutMs: 300_000, intervalMs: 500 },
  );
  const retryAfterSeconds = secondsSince(frozenAt);
  await waitUntil(
    'the export delivered by the retry',
    async () => ((await requestRow(requestId))?.stage === 'delivered' ? true : undefined),
    { timeoutMs: 300_000, intervalMs: 500 },
  );
  const archiveRow = await stack.db('export_archives').where({ request_id: requestId }).first();
  const root = archiveDirectory(stack.serviceEnv.EXPORT_DIR!, archiveRow.id);
  const dir = `${root}/${archiveRow.manifest_sha256}`;
  const manifestBefore = fs.readFileSync(`${dir}/manifest.json`);

  // The frozen worker wakes up and carries on where it was, until its next write is refused.
  resume(frozen);
  await waitUntil(
    'the woken attempt refused',
    () =>
      /export attempt was replaced by a newer one/.test(fs.readFileSync(frozen.logFile, 'utf8')) ? true : undefined,
    { timeoutMs: 120_000, intervalMs: 250 },
  );

  // What the emailed link serves: every file equal to the database's rows, with the manifest's hashes and counts.
  const delivery = await stack.smtp.waitFor(
    (m) => m.to.includes(email) && /^Your data export for .* is ready/.test(m.subject),
    { timeoutMs: 60_000 },
  );
  const download = await fetch(`${stack.api!.url}/exports/${linkToken(delivery.text, 'download')}`);
  expect(download.status).toBe(200);
  const files = readTarGz(Buffer.from(await download.arrayBuffer()));
  const prefix = `access-export-${requestId}`;
  const manifestText = files.get(`${prefix}/manifest.json`)!;
  const manifest = JSON.parse(manifestText.toString('utf8'));
  const mismatches: string[] = [];
  let exportRows = 0;
  for (const entry of manifest.tables) {
    const spec = EXPORT_TABLES.find((t) => t.table === entry.table)!;
    const file = files.get(`${prefix}/${entry.file}`)!;
    const expected = await expectedTableCsv(stack.db, spec, seeded.customerId, manifest.categories);
    if (!file.equals(expected) || createHash('sha256').update(file).digest('hex') !== entry.sha256) {
      mismatches.push(entry.table);
    }
    exportRows += entry.rows;
  }
  const entries = fs.readdirSync(root);
  const completed = await duplicateAuditEvents(stack.db, 'access.export_completed', (e) => String(e.request_id));
  const deliveryEmails = stack.smtp
    .messages()
    .filter((m) => m.to.includes(email) && /^Your data export for .* is ready/.test(m.subject));
  reportFigures('stale-export-attempt', {
    seconds: secondsSince(started),
    rowsCheckpointedAtFreeze: Number(atFreeze?.rows_done ?? 0),
    retryReportedAfterSeconds: retryAfterSeconds,
    statusWhileRetrying: retrying.summary,
    exportRows,
    archiveDirectoryEntries: entries.length,
    exportCompletedEvents: completed.events,
    deliveryEmails: deliveryEmails.length,
  });

  expect(retrying).toMatchObject({ attempt: 2, lastFailure: { timeout: 'heartbeat' } });
  // One directory left: the content-addressed archive (the attempts' files and anything of the woken one are gone),
  // its manifest untouched by the woken attempt, and the one served is the one recorded.
  expect(entries).toEqual([archiveRow.manifest_sha256]);
  expect(fs.readFileSync(`${dir}/manifest.json`).equals(manifestBefore)).toBe(true);
  expect(createHash('sha256').update(manifestText).digest('hex')).toBe(archiveRow.manifest_sha256);
  expect(manifest.requestId).toBe(requestId);
  expect(exportRows).toBe(Number(archiveRow.rows_done));
  expect(mismatches).toEqual([]);
  expect(completed).toEqual({ events: 1, duplicates: {} });
  const [event] = await stack.db('audit_events').where({ request_id: requestId, action: 'access.export_completed' });
  expect(event.details).toMatchObject({ attempt: 2, manifestSha256: archiveRow.manifest_sha256 });
  expect(new Set(deliveryEmails.map((m) => m.messageId)).size).toBe(1);
  expect(await auditChains(stack.db)).toMatchObject({ broken: [] });
});

test('a worker killed right after an erasure batch committed: every row deleted and counted exactly once', async () => {
  // Only this scenario's workers poll: the victim must be the one that takes the erasure.
  for (const w of stack.workers) if (!w.hasExited()) await stopGracefully(w);
  const started = Date.now();
  const { customerId } = await seedDemoCustomer(stack.db, {
    operationalRows: ERASURE_ROWS,
    technicalRows: 1000,
    communicationRows: 10,
  });
  const categories: DataCategory[] = ['orders', 'listings', 'inventory', 'workflow_records'];
  const tables = ['orders', 'listings', 'inventory_items', 'workflow_records'];
  const before: Record<string, number> = {};
  for (const t of tables) {
    before[t] = Number((await stack.db(t).where({ customer_id: customerId }).count<{ n: string }[]>({ n: '*' }))[0]!.n);
  }
  // Small fixed batches so that the kill lands mid-way; statutory retention off so that every row goes.
  const erasureEnv = { ERASURE_BATCH_SIZE: '500', ERASURE_BATCH_MAX_SIZE: '500', STATUTORY_RETENTION_ORDERS: 'none' };
  const victim = await stack.startWorker({ faultPoints: 'erasure.mid-batch=kill@6', env: erasureEnv });
  const workflowId = erasureWorkflowId(customerId, erasureScopeKey('retention', categories));
  const handle = await stack.client.workflow.start(erasureWorkflow, {
    taskQueue: stack.taskQueue,
    workflowId,
    args: [{ customerId, categories, reason: 'retention' }],
  });
  await waitForKilled(victim, 300_000);
  const killedAt = Date.now();
  const deletedAtKill = Number(
    (
      await stack
        .db('erasure_progress as p')
        .join('erasures as e', 'e.id', 'p.erasure_id')
        .where({ 'e.workflow_id': workflowId, 'p.action': 'delete' })
        .sum<{ n: string }[]>({ n: 'p.rows' })
    )[0]!.n ?? 0,
  );
  await stack.startWorker({ env: erasureEnv });
  const result = await handle.result();

  const remaining: Record<string, number> = {};
  for (const t of tables) {
    remaining[t] = Number(
      (await stack.db(t).where({ customer_id: customerId }).count<{ n: string }[]>({ n: '*' }))[0]!.n,
    );
  }
  const erased = await duplicateAuditEvents(stack.db, 'erasure.tables_erased', (e) => `${e.subject_id}`);
  reportFigures('erasure-killed-mid-batch', {
    seconds: secondsSince(started),
    rowsDeletedAtKill: deletedAtKill,
    resumedAfterSeconds: secondsSince(killedAt),
    rows: Object.values(before).reduce((a, b) => a + b, 0),
    tablesErasedEvents: erased.events,
  });

  expect(deletedAtKill).toBeGreaterThan(0);
  expect(result.verified).toBe(true);
  expect(result.tables).toEqual(before);
  expect(remaining).toEqual(Object.fromEntries(tables.map((t) => [t, 0])));
  expect(erased.duplicates).toEqual({});
  expect(await auditChains(stack.db)).toMatchObject({ broken: [] });
});
