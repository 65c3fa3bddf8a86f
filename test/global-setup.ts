/**
 * Once per test run: a fresh PostgreSQL database with every migration, the workflow bundle, and a real Temporal dev
 * server (the pinned CLI) on a free port. Test files find them through TEST_* environment variables and each start
 * their own worker on their own task queue.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { createDb, migrateLatest } from '../db/connection';
import { resolveDatabaseServer, withDatabase, type DatabaseServer } from '../db/embedded-postgres';
import { grantServiceRole, provisionDatabaseRoles } from '../db/roles';
import { devServerSearchAttributeArgs } from '../lib/temporal-dev-server';
import { bundleWorkflowsTo } from '../scripts/bundle-workflows';

const ROOT = path.join(__dirname, '..');

export interface TestRunState {
  env: TestWorkflowEnvironment;
  /** The run's database as the server's superuser (teardown drops it, and the roles below). */
  databaseUrl: string;
  /** The run's owner and service roles (dropped after the database). */
  roles: string[];
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
  // Least privilege as in production (db/roles.ts): the run's own owner role migrates, the service (every test stack)
  // connects as the run's service role. Names carry the run's database name, so parallel runs never share a role.
  const database = `dlo_test_${Date.now()}_${process.pid}`;
  const databaseUrl = withDatabase(databaseServer.url, database);
  const roles = await provisionDatabaseRoles(databaseServer.url, {
    database,
    owner: `${database}_owner`,
    service: `${database}_app`,
  });
  const db = createDb(roles.ownerUrl, 2);
  try {
    await migrateLatest(db);
    await grantServiceRole(db, roles.service);
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
      // As every dev server of the service runs (lib/temporal-dev-server.ts).
      extraArgs: devServerSearchAttributeArgs(),
    },
  });

  globalThis.__testRun = { env, databaseUrl, roles: [roles.service, roles.owner], databaseServer };
  process.env.TEST_TEMPORAL_ADDRESS = env.address;
  process.env.TEST_TEMPORAL_NAMESPACE = namespace;
  process.env.TEST_DATABASE_URL = roles.serviceUrl;
  process.env.TEST_DATABASE_OWNER_URL = roles.ownerUrl;
  process.env.TEST_DATABASE_ADMIN_URL = databaseUrl;
  process.env.TEST_DATABASE_SERVICE_ROLE = roles.service;
  // One audit key and one checkpoint file per run, for every process of the run (test files, spawned CLIs): the
  // shared database's chain must be MACed with one key, and checkpoints of another run's database must not be read.
  process.env.AUDIT_HMAC_KEYS = `test-run:${Buffer.from(`audit key of ${database}`.padEnd(32, '.')).toString('base64')}`;
  process.env.AUDIT_CHECKPOINT_PATH = path.join(ROOT, '.data', 'test', `audit-checkpoints-${database}.jsonl`);
  process.env.TEST_WORKFLOW_BUNDLE = bundle;
}
