/**
 * Once per test run: a fresh PostgreSQL database with every migration, the workflow bundle, and a real Temporal dev
 * server (the pinned CLI) on a free port. Test files find them through TEST_* environment variables and each start
 * their own worker on their own task queue.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { createDb, ensureDatabase, migrateLatest } from '../db/connection';
import { resolveDatabaseServer, withDatabase, type DatabaseServer } from '../db/embedded-postgres';
import { ALL_SEARCH_ATTRIBUTES } from '../lib/pure/temporal-ids';
import { bundleWorkflowsTo } from '../scripts/bundle-workflows';

const ROOT = path.join(__dirname, '..');

export interface TestRunState {
  env: TestWorkflowEnvironment;
  databaseUrl: string;
  /** The server the run's database is on; stopped by the teardown when it is the embedded one. */
  databaseServer: DatabaseServer;
}

declare global {
  var __testRun: TestRunState | undefined;
}

export default async function globalSetup(): Promise<void> {
  const cli = execFileSync('bash', [path.join(ROOT, 'scripts', 'temporal-cli.sh')], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  }).trim();

  // TEST_DATABASE_SERVER_URL, else the default server if one answers, else an embedded PostgreSQL (data kept in
  // .data/test/postgres, so only the first run pays for initialising it).
  const databaseServer = await resolveDatabaseServer({
    configuredUrl: process.env.TEST_DATABASE_SERVER_URL || undefined,
    configuredVariable: 'TEST_DATABASE_SERVER_URL',
    defaultUrl: 'postgres://postgres@127.0.0.1:5432/postgres',
    dataDir: path.join(ROOT, '.data', 'test', 'postgres'),
    port: 0,
  });
  console.log(`\nTest database server: ${databaseServer.description}`);
  const databaseUrl = withDatabase(databaseServer.url, `dlo_test_${Date.now()}_${process.pid}`);
  await ensureDatabase(databaseUrl);
  const db = createDb(databaseUrl, 2);
  try {
    await migrateLatest(db);
  } finally {
    await db.destroy();
  }

  // Production workflows plus test-only probes (test/workflows), bundled once for every test file.
  // Every run starts with empty logs: the teardown reads all of them for personal data (test/support/log-canaries.ts).
  fs.rmSync(path.join(ROOT, '.data', 'test', 'logs'), { recursive: true, force: true });

  const bundle = await bundleWorkflowsTo(
    path.join(ROOT, '.data', 'test', `workflow-bundle-${process.pid}.js`),
    require.resolve('./workflows'),
  );

  const namespace = 'data-lifecycle-test';
  const env = await TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'existing-path', path: cli },
      namespace,
      searchAttributes: ALL_SEARCH_ATTRIBUTES,
    },
  });

  globalThis.__testRun = { env, databaseUrl, databaseServer };
  process.env.TEST_TEMPORAL_ADDRESS = env.address;
  process.env.TEST_TEMPORAL_NAMESPACE = namespace;
  process.env.TEST_DATABASE_URL = databaseUrl;
  process.env.TEST_WORKFLOW_BUNDLE = bundle;
}
