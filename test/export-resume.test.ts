/**
 * The export survives a crash: the activity is failed mid-way (a test-only hook throws after N rows on the first
 * attempt), Temporal retries it, and the retry continues from the checkpoint instead of starting over. The archive is
 * still exactly what the database holds. Also, without Temporal: bytes written after the last checkpoint (a crash
 * between writing and checkpointing) are discarded and written again, so the files are byte-identical to an
 * uninterrupted export.
 */
import { createHash, randomUUID } from 'node:crypto';
import { appendFile, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { EXPORT_TABLES, runExport, type ExportCheckpoint } from '../activities/export';
import { encryptingAppender, readEncryptedFile } from '../lib/export-encryption';
import { auditEvents } from '../db/repositories/audit-events';
import { seedDemoCustomer } from '../scripts/seed-demo-customer';
import { deliveredArchiveDirectory } from '../lib/export-archive';
import { SCOPE_CATEGORIES } from '../lib/pure/access-scope';
import { confirmVerification, expectedTableCsv, linkToken } from './support/access-export';
import { eventually } from './support/polling';
import { startTestStack, type TestStack } from './support/test-stack';

const FAIL_AFTER_ROWS = 250;
let stack: TestStack;
let exportDir: string;
/** Requests whose first export attempt is to fail, and what the hooks saw. */
const faulty = new Set<string>();
const starts: { requestId: string; attempt: number; resumedRows: number; resumedTables: string[] }[] = [];
const failures: { requestId: string; rowsDone: number; table: string }[] = [];

beforeAll(async () => {
  exportDir = await mkdtemp(path.join(os.tmpdir(), 'dlo-export-resume-'));
  stack = await startTestStack({
    name: 'export-resume',
    env: { EXPORT_DIR: exportDir, EXPORT_BATCH_ROWS: '40', ACCESS_REMINDER_OFFSETS: 'none' },
    activityHooks: {
      exportHooks: {
        onStart: (info) => void starts.push(info),
        afterBatch: ({ requestId, attempt, table, rowsDone }) => {
          if (faulty.has(requestId) && attempt === 1 && rowsDone >= FAIL_AFTER_ROWS) {
            failures.push({ requestId, rowsDone, table });
            throw new Error(`injected crash after ${rowsDone} rows`);
          }
        },
      },
    },
  });
});
afterAll(async () => {
  await stack?.stop();
  await rm(exportDir, { recursive: true, force: true });
});

async function expectExact(dir: string, customerId: string, scope: 'all' | 'service_records') {
  const manifest = JSON.parse(
    (await readEncryptedFile(path.join(dir, 'manifest.json'), stack.config.exports.encryption)).toString('utf8'),
  );
  const categories = SCOPE_CATEGORIES[scope];
  for (const entry of manifest.tables) {
    const spec = EXPORT_TABLES.find((t) => t.table === entry.table)!;
    const file = await readEncryptedFile(path.join(dir, entry.file), stack.config.exports.encryption);
    expect([entry.table, file.equals(await expectedTableCsv(stack.db, spec, customerId, categories))]).toEqual([
      entry.table,
      true,
    ]);
    expect(entry.sha256).toBe(createHash('sha256').update(file).digest('hex'));
  }
  return manifest;
}

describe('an export failed mid-way', () => {
  it('continues from its checkpoint on the retry, and the archive is still exact', async () => {
    const seed = await seedDemoCustomer(stack.db, { operationalRows: 600, technicalRows: 100, communicationRows: 5 });
    const primary = await stack.db('contacts').where({ customer_id: seed.customerId, role: 'primary' }).first();
    const res = await stack.http('POST', `/v1/customers/${seed.customerId}/access-requests`, {
      requesterEmail: primary.email,
      scope: 'all',
    });
    const { requestId } = res.body;
    faulty.add(requestId);
    const verification = await stack.smtp.waitFor(
      (m) => m.to.includes(primary.email) && m.subject.startsWith('Confirm your data access request'),
    );
    expect((await confirmVerification(stack, linkToken(verification.text, 'verify'))).status).toBe(200);
    const delivery = await stack.smtp.waitFor(
      (m) => m.to.includes(primary.email) && m.subject.includes('is ready') && m.text.includes(requestId),
    );

    // The first attempt died after FAIL_AFTER_ROWS rows; the second started from the checkpoint, not from zero.
    const mine = starts.filter((s) => s.requestId === requestId);
    expect(mine.map((s) => s.attempt)).toEqual([1, 2]);
    expect(mine[0]!.resumedRows).toBe(0);
    const failure = failures.find((f) => f.requestId === requestId)!;
    expect(failure.rowsDone).toBeGreaterThanOrEqual(FAIL_AFTER_ROWS);
    // Resumed with at least the rows done when it failed (a table written beside it may have finished its batch).
    expect(mine[1]!.resumedRows).toBeGreaterThanOrEqual(failure.rowsDone);

    const archive = await stack.db('export_archives').where({ request_id: requestId }).first();
    const manifest = await expectExact(
      deliveredArchiveDirectory(exportDir, archive.id, archive.manifest_sha256),
      seed.customerId,
      'all',
    );
    expect(manifest.totals.rows).toBe(600 + 100 + 5 + 1 + 3 + 3 + 1);
    expect(mine[1]!.resumedRows).toBeLessThan(manifest.totals.rows);
    expect(delivery.text).toContain(archive.manifest_sha256);
    const [completed] = await auditEvents.list(stack.db, { requestId, action: 'access.export_completed' });
    expect(completed!.details).toMatchObject({ attempt: 2, rows: manifest.totals.rows });
    const status = await eventually(
      () => stack.http('GET', `/v1/requests/${requestId}`),
      (r) => r.body.stage === 'delivered',
    );
    expect(status.body.progress.progress).toMatchObject({
      rowsDone: manifest.totals.rows,
      rowsTotal: manifest.totals.rows,
    });
  });
});

describe('runExport', () => {
  it('discards bytes written after the last checkpoint and writes them again: byte-identical to one uninterrupted run', async () => {
    const seed = await seedDemoCustomer(stack.db, { operationalRows: 400, technicalRows: 50, communicationRows: 3 });
    const common = {
      db: stack.db,
      exportDir,
      requestId: randomUUID(),
      customerId: seed.customerId,
      scope: 'service_records' as const,
      batchRows: 30,
      now: () => new Date('2026-11-28T12:00:00Z'),
      encryption: stack.config.exports.encryption,
    };
    // One run straight through, two tables at a time.
    const whole = randomUUID();
    const straight = await runExport({ ...common, archiveId: whole, parallelTables: 2 });

    const interrupted = randomUUID();
    let saved: ExportCheckpoint | null = null;
    let batches = 0;
    await expect(
      runExport({
        ...common,
        archiveId: interrupted,
        onCheckpoint(checkpoint) {
          saved = JSON.parse(JSON.stringify(checkpoint));
          return Promise.resolve();
        },
        hooks: {
          afterBatch: () => {
            if (++batches === 5) throw new Error('crash');
          },
        },
      }),
    ).rejects.toThrow('crash');
    const checkpoint = saved as ExportCheckpoint | null;
    const [table, state] = Object.entries(checkpoint!.current)[0]!;
    expect(state.rows).toBeGreaterThan(0);
    // A crash after writing a batch but before checkpointing it: the file holds more than the checkpoint says (a whole
    // encrypted record the checkpoint never saw, then the start of one cut off mid-write).
    const file = path.join(exportDir, interrupted, checkpoint!.files[table]!);
    await pipeline(
      Readable.from([Buffer.from('999999,a row that the checkpoint never saw\n')]),
      encryptingAppender(file, stack.config.exports.encryption),
    );
    await appendFile(file, Buffer.from([0, 0, 0, 40, 1, 2, 3]));
    const resumed = await runExport({ ...common, archiveId: interrupted, checkpoint });

    expect(resumed.manifestSha256).toBe(straight.manifestSha256);
    expect(resumed.manifest.tables).toEqual(straight.manifest.tables);
    expect(resumed.directory).toBe(deliveredArchiveDirectory(exportDir, interrupted, straight.manifestSha256));
    await expectExact(resumed.directory, seed.customerId, 'service_records');
  });
});
