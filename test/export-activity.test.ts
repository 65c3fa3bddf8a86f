/**
 * The export activity on its own, in Temporal's mock activity context (MockActivityEnvironment): attempt numbers and
 * heartbeats without a worker or a workflow, against the real PostgreSQL (the checkpoint lives there). Cheaper than
 * test/export-resume.test.ts, which shows the same resumption through Temporal's retry on the full stack.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { MockActivityEnvironment } from '@temporalio/testing';
import {
  createExportActivities,
  EXPORT_TABLES,
  type ExportHooks,
  type ExportInput,
  type ExportSummary,
} from '../activities/export';
import { createDb, type Db } from '../db/connection';
import { exportArchives } from '../db/repositories/export-archives';
import { seedDemoCustomer } from '../scripts/seed-demo-customer';
import type { ExportProgress } from '../lib/pure/access-request-messages';
import { deliveredArchiveDirectory } from '../lib/export-archive';
import { readEncryptedFile } from '../lib/export-encryption';
import { loadConfig } from '../lib/config';
import { TEST_ACTIVE_PAYLOAD_KEY_ID, TEST_PAYLOAD_KEYS } from './support/test-payload-keys';
import { SCOPE_CATEGORIES } from '../lib/pure/access-scope';
import { expectedTableCsv } from './support/access-export';
import { testDataConverter } from './support/workflow-env';

let db: Db;
let exportDir: string;
/** Keys the archive files are encrypted with (as the dev and test configuration derive them). */
const KEYRING = loadConfig({
  PAYLOAD_KEYS: TEST_PAYLOAD_KEYS,
  PAYLOAD_ACTIVE_KEY_ID: TEST_ACTIVE_PAYLOAD_KEY_ID,
}).exports.encryption;
let connection: Connection;
let client: Client;

beforeAll(async () => {
  db = createDb(process.env.TEST_DATABASE_URL!, 4);
  exportDir = await mkdtemp(path.join(os.tmpdir(), 'dlo-export-activity-'));
  // The activity reports progress to its workflow through the client; here there is none, and a failed report is
  // only logged (progress is informative), which this test relies on too.
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

/** The export activity with small batches and the given hooks. */
function exportActivity(hooks: ExportHooks) {
  const activities = createExportActivities({
    db,
    config: {
      exports: { dir: exportDir, batchRows: 30, parallelTables: 1, progressIntervalMs: 60_000, encryption: KEYRING },
    },
    exportHooks: hooks,
  });
  return (input: ExportInput) => activities.exportCustomerData(input);
}

/** Runs one attempt of the activity in a mock context; answers its outcome and the heartbeats it sent. */
async function attempt(run: ReturnType<typeof exportActivity>, input: Parameters<typeof run>[0], n: number) {
  const env = new MockActivityEnvironment({ attempt: n, heartbeatTimeoutMs: 60_000 }, { client });
  const heartbeats: ExportProgress[] = [];
  env.on('heartbeat', (d: ExportProgress) => heartbeats.push(d));
  const outcome = await env.run(run, input).then(
    (summary) => ({ summary: summary as ExportSummary, error: undefined }),
    (error: Error) => ({ summary: undefined, error }),
  );
  return { ...outcome, heartbeats };
}

describe('the export activity', () => {
  it('heartbeats its progress, and a later attempt resumes from the checkpoint the failed one saved; the archive is exact', async () => {
    const seed = await seedDemoCustomer(db, { operationalRows: 300, technicalRows: 40, communicationRows: 3 });
    const starts: Array<{ attempt: number; resumedRows: number }> = [];
    const run = exportActivity({
      onStart: ({ attempt, resumedRows }) => void starts.push({ attempt, resumedRows }),
      afterBatch: ({ attempt, rowsDone }) => {
        if (attempt === 1 && rowsDone >= 120) throw new Error(`injected crash after ${rowsDone} rows`);
      },
    });
    const input = {
      requestId: randomUUID(),
      customerId: seed.customerId,
      workflowId: `access-request-${randomUUID()}`,
      archiveId: randomUUID(),
      scope: 'service_records' as const,
    };

    const first = await attempt(run, input, 1);
    expect(first.error?.message).toMatch(/^injected crash after \d+ rows$/);
    expect(first.heartbeats.length).toBeGreaterThan(0);
    expect(first.heartbeats[0]).toEqual({
      table: expect.any(String),
      rowsDone: expect.any(Number),
      rowsTotal: expect.any(Number),
      estimated: expect.any(Boolean),
      // The attempt reports who is exporting: after a retry, the status query says which attempt runs.
      attempt: 1,
    });
    const saved = await exportArchives.findById(db, input.archiveId);
    expect(saved).toMatchObject({ status: 'running', checkpoint: expect.any(Object) });

    const second = await attempt(run, input, 2);
    expect(second.error).toBeUndefined();
    const summary = second.summary!;
    // The second attempt started where the first one's checkpoint stood, not from zero.
    expect(starts).toEqual([
      { attempt: 1, resumedRows: 0 },
      { attempt: 2, resumedRows: expect.any(Number) },
    ]);
    expect(starts[1]!.resumedRows).toBeGreaterThanOrEqual(120);
    // Its last heartbeat says everything is done.
    expect(second.heartbeats.at(-1)).toMatchObject({ rowsDone: summary.rows, rowsTotal: summary.rows });

    const categories = SCOPE_CATEGORIES.service_records;
    const dir = deliveredArchiveDirectory(exportDir, input.archiveId, summary.manifestSha256);
    for (const entry of summary.tables) {
      const spec = EXPORT_TABLES.find((t) => t.table === entry.table)!;
      const file = await readEncryptedFile(path.join(dir, `${entry.table}.csv`), KEYRING);
      expect([entry.table, file.equals(await expectedTableCsv(db, spec, seed.customerId, categories))]).toEqual([
        entry.table,
        true,
      ]);
    }
    const completed = await db('audit_events').where({
      subject_id: input.archiveId,
      action: 'access.export_completed',
    });
    expect(completed).toHaveLength(1);
    expect(completed[0].details).toMatchObject({ attempt: 2, rows: summary.rows });

    // An attempt that wakes up after the export completed answers the recorded result and writes nothing again.
    const late = await attempt(run, input, 3);
    expect(late.summary).toEqual(summary);
    expect(starts).toHaveLength(2);
    expect(
      await db('audit_events').where({ subject_id: input.archiveId, action: 'access.export_completed' }),
    ).toHaveLength(1);
  });
});
