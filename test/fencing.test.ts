/**
 * Fencing of stale attempts (docs/reliability.md), in process: two attempts of the same activity, in Temporal's mock
 * activity context with the attempt numbers and scheduled times Temporal gives a retry, against the real PostgreSQL.
 * The older attempt is frozen mid-way (a test hook that waits, as a worker under SIGSTOP past its heartbeat timeout),
 * the newer one runs to the end, then the older one wakes up. It must fail with `StaleAttemptError` and change
 * nothing: the delivered archive, its manifest, the checkpoints, the rows and the audit log stay as the newer attempt
 * left them. The fault suite (`npm run test:faults`) shows the same with real worker processes.
 */
import { createHash, randomUUID } from 'node:crypto';
import { readdir, readFile, rm, mkdtemp, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { MockActivityEnvironment } from '@temporalio/testing';
import {
  createErasureActivities,
  type EraseTablesResult,
  type ErasureRef,
  type ErasureSettings,
  type ErasureTestHooks,
} from '../activities/erasure';
import {
  createExportActivities,
  EXPORT_TABLES,
  type ExportHooks,
  type ExportInput,
  type ExportSummary,
} from '../activities/export';
import { summarize } from '../api/pending-activities';
import { createDb, type Db } from '../db/connection';
import { BATCH_TARGET_MS, nextBatchSize, stepDependencies } from '../db/erasure-engine';
import { activityLeases } from '../db/repositories/activity-leases';
import { auditEvents } from '../db/repositories/audit-events';
import { exportArchives } from '../db/repositories/export-archives';
import { loadConfig } from '../lib/config';
import { readEncryptedFile } from '../lib/export-encryption';

/** Keys of the archive files at rest (the development keys: derived from the payload keys). */
const ARCHIVE_KEYS = loadConfig({}).exports.encryption;
import { archiveDirectory, deliveredArchiveDirectory } from '../lib/export-archive';
import { SCOPE_CATEGORIES } from '../lib/pure/access-scope';
import type { DataCategory } from '../lib/pure/data-categories';
import { erasureSteps } from '../lib/pure/erasure-plan';
import { StaleAttemptError } from '../lib/pure/errors';
import { seedDemoCustomer } from '../scripts/seed-demo-customer';
import { expectedTableCsv } from './support/access-export';
import { testDataConverter } from './support/workflow-env';

let db: Db;
let exportDir: string;
let connection: Connection;
let client: Client;

beforeAll(async () => {
  db = createDb(process.env.TEST_DATABASE_URL!, 6);
  exportDir = await mkdtemp(path.join(os.tmpdir(), 'dlo-fencing-'));
  // The export reports progress through the client (fire-and-forget; there is no workflow here, which it tolerates).
  connection = await Connection.connect({ address: process.env.TEST_TEMPORAL_ADDRESS! });
  client = new Client({
    connection,
    namespace: process.env.TEST_TEMPORAL_NAMESPACE!,
    dataConverter: testDataConverter(),
  });
});
afterAll(async () => {
  await connection?.close();
  await db?.destroy();
  await rm(exportDir, { recursive: true, force: true });
});

/** A gate the frozen attempt waits at, and a promise that says it got there. */
function freezer() {
  let release!: () => void;
  let reached!: () => void;
  const opened = new Promise<void>((r) => (release = r));
  const arrived = new Promise<void>((r) => (reached = r));
  return { opened, arrived, release: () => release(), reached: () => reached() };
}

/** A mock context as Temporal gives attempt `n` of one activity: later attempts are scheduled later. */
function attemptContext(n: number, workflowId: string) {
  return new MockActivityEnvironment(
    {
      attempt: n,
      currentAttemptScheduledTimestampMs: 1_700_000_000_000 + n * 60_000,
      heartbeatTimeoutMs: 60_000,
      activityId: '1',
      workflowExecution: { workflowId, runId: randomUUID() },
    },
    { client },
  );
}

/** Every file under `dir`, with its SHA-256 and modification time. */
async function snapshot(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const name of (await readdir(dir)).sort()) {
    const file = path.join(dir, name);
    out[name] = `${createHash('sha256')
      .update(await readFile(file))
      .digest('hex')} ${(await stat(file)).mtimeMs}`;
  }
  return out;
}

describe('an export attempt frozen past its heartbeat timeout', () => {
  it('wakes up after the retry delivered, fails with StaleAttemptError and changes nothing the retry delivered', async () => {
    const seed = await seedDemoCustomer(db, { operationalRows: 300, technicalRows: 40, communicationRows: 3 });
    const input: ExportInput = {
      requestId: randomUUID(),
      customerId: seed.customerId,
      workflowId: `access-request-${randomUUID()}`,
      archiveId: randomUUID(),
      scope: 'service_records',
    };
    const frozen = freezer();
    const hooks: ExportHooks = {
      afterBatch: async ({ attempt, rowsDone }) => {
        if (attempt !== 1 || rowsDone < 90) return;
        frozen.reached();
        await frozen.opened;
      },
    };
    const activities = createExportActivities({
      db,
      config: {
        exports: {
          dir: exportDir,
          batchRows: 30,
          parallelTables: 1,
          progressIntervalMs: 60_000,
          encryption: ARCHIVE_KEYS,
        },
      },
      exportHooks: hooks,
    });

    // Attempt 1 writes a few batches, checkpoints them, and freezes.
    const first = attemptContext(1, input.workflowId)
      .run((i: ExportInput) => activities.exportCustomerData(i), input)
      .then(
        () => undefined,
        (err: unknown) => err,
      );
    await frozen.arrived;
    const atFreeze = await exportArchives.findById(db, input.archiveId);
    expect(atFreeze?.rowsDone).toBeGreaterThanOrEqual(90);

    // Temporal's retry (attempt 2) takes over, resumes from that checkpoint and delivers.
    const summary: ExportSummary = await attemptContext(2, input.workflowId).run(
      (i: ExportInput) => activities.exportCustomerData(i),
      input,
    );
    const delivered = deliveredArchiveDirectory(exportDir, input.archiveId, summary.manifestSha256);
    const before = await snapshot(delivered);

    // Attempt 1 wakes up: its next write is refused, and it says why.
    frozen.release();
    const error = await first;
    expect(error).toBeInstanceOf(StaleAttemptError);
    expect((error as Error).name).toBe('StaleAttemptError');

    // Nothing it could have changed did change: same files, same manifest, one completion event, the record intact.
    expect(await snapshot(delivered)).toEqual(before);
    expect(await readdir(archiveDirectory(exportDir, input.archiveId))).toEqual([summary.manifestSha256]);
    const archive = await exportArchives.findById(db, input.archiveId);
    expect(archive).toMatchObject({ status: 'complete', manifestSha256: summary.manifestSha256, checkpoint: null });
    const completed = await auditEvents.list(db, { requestId: input.requestId, action: 'access.export_completed' });
    expect(completed).toHaveLength(1);
    expect(completed[0]!.details).toMatchObject({ attempt: 2, manifestSha256: summary.manifestSha256 });
    expect(await activityLeases.holder(db, `export:${input.archiveId}`)).toMatchObject({ attempt: 2 });

    // And the delivered files are exactly the database's rows, with the hashes the manifest records.
    // Encrypted at rest (lib/export-encryption.ts): read through the archive keys.
    const manifestBytes = await readEncryptedFile(path.join(delivered, 'manifest.json'), ARCHIVE_KEYS);
    const manifest = JSON.parse(manifestBytes.toString('utf8'));
    expect(createHash('sha256').update(manifestBytes).digest('hex')).toBe(summary.manifestSha256);
    for (const entry of manifest.tables) {
      const spec = EXPORT_TABLES.find((t) => t.table === entry.table)!;
      const file = await readEncryptedFile(path.join(delivered, entry.file), ARCHIVE_KEYS);
      const expected = await expectedTableCsv(db, spec, seed.customerId, SCOPE_CATEGORIES.service_records);
      expect([entry.table, file.equals(expected)]).toEqual([entry.table, true]);
      expect(entry.sha256).toBe(createHash('sha256').update(file).digest('hex'));
    }
    expect((await auditEvents.verify(db, { customerId: seed.customerId })).ok).toBe(true);
  });

  it('an attempt scheduled before the holder cannot claim the archive back', async () => {
    const archiveId = randomUUID();
    const key = `export:${archiveId}`;
    const who = { activityType: 'exportCustomerData', workflowId: 'w', activityId: '1' };
    await activityLeases.claim(db, key, { ...who, attempt: 2, scheduledMs: 2000 });
    await expect(activityLeases.claim(db, key, { ...who, attempt: 1, scheduledMs: 1000 })).rejects.toBeInstanceOf(
      StaleAttemptError,
    );
    expect(await activityLeases.holder(db, key)).toMatchObject({ attempt: 2 });
    // A later activity of the workflow (attempt 1 again, scheduled later still) does take over.
    await activityLeases.claim(db, key, { ...who, activityId: '2', attempt: 1, scheduledMs: 3000 });
    expect(await activityLeases.holder(db, key)).toMatchObject({ attempt: 1, activityId: '2' });
  });
});

describe('an erasure attempt frozen past its heartbeat timeout', () => {
  it('wakes up after the retry finished, has its next batch refused, and nothing is deleted or counted twice', async () => {
    const { customerId } = await seedDemoCustomer(db, {
      operationalRows: 400,
      technicalRows: 100,
      communicationRows: 10,
    });
    const categories: DataCategory[] = ['listings', 'inventory', 'workflow_records'];
    const tables = ['listings', 'inventory_items', 'workflow_records'];
    const before: Record<string, number> = {};
    for (const t of tables) before[t] = Number((await db(t).where({ customer_id: customerId }).count('* as n'))[0]!.n);

    const frozen = freezer();
    const hooks: ErasureTestHooks = {
      afterBatch: async ({ attempt, batchesThisAttempt }) => {
        if (attempt !== 1 || batchesThisAttempt !== 2) return;
        frozen.reached();
        await frozen.opened;
      },
    };
    const config = loadConfig({
      ...process.env,
      DATABASE_URL: process.env.TEST_DATABASE_URL!,
      EXPORT_DIR: exportDir,
      ERASURE_BATCH_SIZE: '25',
      ERASURE_BATCH_MAX_SIZE: '25',
    });
    const activities = createErasureActivities({
      db,
      config,
      mailer: { send: () => Promise.reject(new Error('no mail here')), close: () => undefined },
      subprocessorClient: { post: () => Promise.reject(new Error('no subprocessors here')) },
      erasureTestHooks: hooks,
    });
    const ref: ErasureRef = {
      erasureId: randomUUID(),
      workflowId: `erasure-${customerId}`,
      customerId,
      reason: 'retention',
    };
    const settings: ErasureSettings = await attemptContext(1, ref.workflowId).run(
      (i: Parameters<typeof activities.beginErasure>[0]) => activities.beginErasure(i),
      {
        ...ref,
        categories,
      },
    );
    const call = { ...ref, categories, batchSize: 25, retention: settings.retention };

    const first = attemptContext(1, ref.workflowId)
      .run((i: typeof call) => activities.eraseTables(i), call)
      .then(
        () => undefined,
        (err: unknown) => err,
      );
    await frozen.arrived;
    const result: EraseTablesResult = await attemptContext(2, ref.workflowId).run(
      (i: typeof call) => activities.eraseTables(i),
      call,
    );
    expect(result.tables).toEqual(before);
    const progressAfter = await db('erasure_progress').where({ erasure_id: ref.erasureId }).orderBy('step_key');

    frozen.release();
    const error = await first;
    expect(error).toBeInstanceOf(StaleAttemptError);

    // Rows deleted exactly once: all gone, counted once, checkpoints as the retry left them, one closing event.
    for (const t of tables)
      expect([t, Number((await db(t).where({ customer_id: customerId }).count('* as n'))[0]!.n)]).toEqual([t, 0]);
    expect(await db('erasure_progress').where({ erasure_id: ref.erasureId }).orderBy('step_key')).toEqual(
      progressAfter,
    );
    const deleted: { table_name: string; rows: string }[] = await db('erasure_progress')
      .where({ erasure_id: ref.erasureId, action: 'delete' })
      .groupBy('table_name')
      .select('table_name', db.raw('sum(rows)::bigint as rows'));
    expect(
      Object.fromEntries(deleted.map((r: { table_name: string; rows: string }) => [r.table_name, Number(r.rows)])),
    ).toEqual(before);
    const erased = await auditEvents.list(db, { customerId, action: 'erasure.tables_erased' });
    expect(erased).toHaveLength(1);
    expect(erased[0]!.details).toMatchObject({ tables: before });
    expect((await auditEvents.verify(db, { customerId })).ok).toBe(true);
    expect((await auditEvents.verify(db)).ok).toBe(true);
  });
});

describe('erasure batches and steps', () => {
  it('size batches toward the time budget: at most doubling, shrinking when slow, within the maximum', () => {
    expect(nextBatchSize(5000, BATCH_TARGET_MS / 10, 200_000)).toBe(10_000); // fast: doubles, no more
    expect(nextBatchSize(5000, BATCH_TARGET_MS, 200_000)).toBe(5000); // on budget: stays
    expect(nextBatchSize(40_000, 2 * BATCH_TARGET_MS, 200_000)).toBe(20_000); // twice the budget: halves
    expect(nextBatchSize(40_000, 100 * BATCH_TARGET_MS, 200_000)).toBe(5000); // far over: an eighth at once
    expect(nextBatchSize(150_000, BATCH_TARGET_MS / 10, 200_000)).toBe(200_000); // capped
    expect(nextBatchSize(50, 0, 50)).toBe(50); // fixed batches when the maximum is the size
  });

  it('run steps side by side only on tables without a foreign key between them', () => {
    const steps = erasureSteps(['orders', 'listings', 'seller_accounts'], []);
    const related = new Set(['orders>seller_accounts', 'listings>seller_accounts']);
    const waits = stepDependencies(steps, related);
    const keyOf = (i: number) => steps[i]!.key;
    const deps = Object.fromEntries(steps.map((s, i) => [s.key, waits[i]!.map(keyOf)]));
    expect(deps['listings:listings:delete']).not.toContain('orders:orders:delete');
    expect(deps['seller_accounts:seller_accounts:delete']).toEqual(
      expect.arrayContaining(['orders:orders:delete', 'listings:listings:delete']),
    );
  });
});

describe('the status of a pending activity', () => {
  it('says when it retries after a heartbeat timeout, and which attempt runs', () => {
    expect(summarize({ attempt: 1, state: 'started', lastFailure: null })).toBe('running');
    expect(summarize({ attempt: 2, state: 'scheduled', lastFailure: { message: 'x', timeout: 'heartbeat' } })).toBe(
      'retrying after heartbeat timeout, attempt 2',
    );
    expect(summarize({ attempt: 3, state: 'started', lastFailure: { message: 'disk full' } })).toBe(
      'retrying after failure: disk full, attempt 3',
    );
  });
});
