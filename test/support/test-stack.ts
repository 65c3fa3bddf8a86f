/**
 * One test file's slice of the real stack: its own worker (own task queue) on the run's Temporal dev server, the API
 * on a free port, an SMTP sink and a subprocessor simulator, all wired exactly as the worker and API entry points wire
 * them. Logs go to a file per test file under .data/test/logs so test output stays readable.
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, type Worker } from '@temporalio/worker';
import winston from 'winston';
import type { ActivityDeps } from '../../activities';
import { createApp } from '../../api/app';
import type { RateLimits } from '../../api/auth';
import { createApiMetrics, startMetricsServer, type MetricsServer } from '../../api/metrics';
import { startServer, type RunningServer } from '../../api/server';
import { createDb, type Db } from '../../db/connection';
import { configureAuditLog } from '../../db/repositories/audit-events';
import { staffTokens } from '../../db/repositories/staff-tokens';
import { subprocessors } from '../../db/repositories/subprocessors';
import { createLogger, installTemporalLogging, type Logger } from '../../lib/logger';
import { loadConfig, type AppConfig } from '../../lib/config';
import { createDataConverter } from '../../lib/data-converter';
import { AesGcmPayloadCodec } from '../../lib/payload-codec';
import { createMailer } from '../../lib/mailer';
import { ROLES, type Role } from '../../lib/roles';
import { createSubprocessorClient } from '../../lib/subprocessor-client';
import { ensureSchedules, type EnsureSchedulesOptions } from '../../workers/schedules';
import { createWorker } from '../../workers/worker';
import { startSmtpSink, type SmtpSink } from '../fakes/smtp-sink';
import { startSubprocessorSimulator, type SubprocessorSimulator } from '../fakes/subprocessor-simulator';
import { RECORD_HISTORIES_ENV, saveTaskQueueHistories } from './histories';
import { TEST_ACTIVE_PAYLOAD_KEY_ID, TEST_PAYLOAD_KEYS } from './test-payload-keys';
import { TEST_OUTBOUND_ENV } from './test-outbound';

export interface TestStack {
  db: Db;
  client: Client;
  api: RunningServer;
  smtp: SmtpSink;
  sim: SubprocessorSimulator;
  taskQueue: string;
  log: Logger;
  /** Registers a subprocessor served by the simulator under a name unique to this test file; returns its id. */
  addSubprocessor(name: string, categories?: string[]): Promise<string>;
  /** The configuration the worker and API of this stack were built with. */
  config: AppConfig;
  /** A bearer token per role, created for this stack. */
  tokens: Record<Role, string>;
  /** The API's Prometheus metrics, served as the API entry point serves them (api/metrics.ts), on a free port. */
  metrics: MetricsServer;
  /**
   * Calls the API: JSON in, parsed JSON (or text) out, as a staff member of role `as` (default `support`; `null` sends
   * no token; an Authorization header in `headers` wins).
   */
  http(
    method: string,
    urlPath: string,
    body?: unknown,
    headers?: Record<string, string>,
    as?: Role | null,
  ): Promise<{ status: number; body: any; headers: Headers }>;
  stop(): Promise<void>;
}

function required(name: string): string {
  const value = process.env[name];
  if (!value)
    throw new Error(`${name} is not set: run the tests with \`npm test\` (jest globalSetup starts the servers)`);
  return value;
}

/**
 * Sends the Temporal runtime's logs (worker, workflow, activity) to the test file's log. The runtime is a process-wide
 * singleton that can be installed once; a later test file in the same jest worker keeps the first file's log.
 */
function routeTemporalLogs(log: Logger): void {
  try {
    installTemporalLogging(log, 'DEBUG');
  } catch {
    // already installed in this process
  }
}

export { TEST_ACTIVE_PAYLOAD_KEY_ID, TEST_PAYLOAD_KEYS };

/** Starts the stack; call `stop()` in afterAll. */
export async function startTestStack(opts: {
  name: string;
  limits?: Partial<RateLimits>;
  /** Environment overrides for the service configuration, e.g. short durations. */
  env?: Record<string, string>;
  /**
   * Opt-in: ensure the service's schedules (retention sweep, contract-end check) as the worker entry points do, with
   * these options (e.g. restricted to the test's customers); deleted again by `stop()`. Off by default, so that no test
   * gets a sweep of every customer's data unless it asks.
   */
  schedules?: EnsureSchedulesOptions;
  /** Test-only activity hooks (e.g. failure injection in the erasure); merged into the worker's activity deps. */
  activityHooks?: Pick<ActivityDeps, 'erasureTestHooks' | 'exportHooks'>;
  /**
   * Another database than the run's (a test that tampers with the audit chain gets one of its own). Unless `env` names
   * an AUDIT_CHECKPOINT_PATH, the stack then signs its audit checkpoints into a file of its own, removed by `stop()`.
   */
  databaseUrl?: string;
}): Promise<TestStack> {
  const address = required('TEST_TEMPORAL_ADDRESS');
  const namespace = required('TEST_TEMPORAL_NAMESPACE');
  const suffix = randomUUID().slice(0, 8);
  const taskQueue = `test-${opts.name}-${suffix}`;
  const log = createLogger({
    service: `test-${opts.name}`,
    level: 'debug',
    transports: [
      new winston.transports.File({
        filename: path.join(__dirname, '..', '..', '.data', 'test', 'logs', `${opts.name}.log`),
      }),
    ],
  });

  routeTemporalLogs(log);
  // A database of the stack's own holds a chain of its own, so it gets a checkpoint file of its own too: the run's file
  // signs positions of the run's chain, which this one's verification would read as a truncation of it.
  const ownCheckpoints =
    opts.databaseUrl !== undefined && opts.env?.AUDIT_CHECKPOINT_PATH === undefined
      ? path.join(__dirname, '..', '..', '.data', 'test', `audit-checkpoints-${opts.name}-${suffix}.jsonl`)
      : undefined;
  // The service's own configuration, as a deployment would have it, with this run's servers and the test's overrides.
  const config = loadConfig({
    ...process.env,
    NODE_ENV: 'test',
    DATABASE_URL: opts.databaseUrl ?? required('TEST_DATABASE_URL'),
    TEMPORAL_ADDRESS: address,
    TEMPORAL_NAMESPACE: namespace,
    TEMPORAL_TASK_QUEUE: taskQueue,
    PAYLOAD_KEYS: TEST_PAYLOAD_KEYS,
    PAYLOAD_ACTIVE_KEY_ID: TEST_ACTIVE_PAYLOAD_KEY_ID,
    // The fake subprocessors run on http://127.0.0.1: allowed here, explicitly (off by default everywhere else).
    ...TEST_OUTBOUND_ENV,
    ...(ownCheckpoints ? { AUDIT_CHECKPOINT_PATH: ownCheckpoints } : {}),
    ...opts.env,
  });
  const dataConverter = createDataConverter(config.payloadEncryption.keyring);

  const db = createDb(opts.databaseUrl ?? required('TEST_DATABASE_URL'), 5);
  // The audit log's keys and checkpoint file of this stack's configuration, for the worker and API in this process.
  configureAuditLog({ keyring: config.audit.keyring, checkpoints: config.audit.checkpoints });
  const smtp = await startSmtpSink();
  const sim = await startSubprocessorSimulator({ defaultSecret: `secret-${suffix}` });
  const mailer = createMailer({ url: smtp.url, from: 'Privacy Team <privacy@example.com>' });

  const nativeConnection = await NativeConnection.connect({ address });
  const worker: Worker = await createWorker({
    connection: nativeConnection,
    namespace,
    taskQueue,
    workflowBundlePath: required('TEST_WORKFLOW_BUNDLE'),
    dataConverter,
    deps: {
      db,
      mailer,
      subprocessorClient: createSubprocessorClient({ timeoutMs: 2000, outbound: config.subprocessors.outbound }),
      config,
      ...opts.activityHooks,
    },
  });
  const workerRun = worker.run();

  const connection = await Connection.connect({ address });
  const client = new Client({ connection, namespace, dataConverter });
  // The contract-end check starts terminations: unless a test names its customers, it checks none of the shared
  // database's customers (other test files seed contracts that ended). The start reconciler likewise starts only the
  // requests a test names.
  const schedules = opts.schedules
    ? await ensureSchedules(client, config, {
        contractEndCheck: { customerIds: [] },
        startReconciler: { requestIds: [] },
        ...opts.schedules,
      })
    : undefined;
  // The audit chain is verified at every scrape: tests look at the state they just made.
  const apiMetrics = createApiMetrics({ db, auditVerifyIntervalMs: 0 });
  const metrics = await startMetricsServer(apiMetrics.registry, 0, '127.0.0.1');
  const api = await startServer(
    createApp({
      db,
      metrics: apiMetrics,
      temporal: client,
      taskQueue,
      log,
      config,
      // Every test client shares 127.0.0.1: per-address limits would make test files throttle each other.
      limits: {
        apiPerMinute: 100_000,
        authFailuresPer15Minutes: 100_000,
        authFailuresPerTokenPrefix: 100_000,
        ...opts.limits,
      },
      codec: { codec: new AesGcmPayloadCodec(config.payloadEncryption.keyring), corsOrigins: config.codec.corsOrigins },
    }),
    0,
  );
  const tokens = Object.fromEntries(
    await Promise.all(
      ROLES.map(async (role) => [role, (await staffTokens.create(db, { name: `test ${role} ${suffix}`, role })).token]),
    ),
  ) as Record<Role, string>;

  return {
    db,
    client,
    api,
    smtp,
    sim,
    taskQueue,
    log,
    config,
    tokens,
    metrics,
    async addSubprocessor(name, categories = ['business_contact', 'orders']) {
      const id = `${name}-${suffix}`;
      await subprocessors.upsert(db, {
        id,
        name: `${name} (simulated)`,
        baseUrl: sim.baseUrlFor(id),
        signingSecret: `secret-${suffix}`,
        categories,
      });
      return id;
    },
    async http(method, urlPath, body, headers = {}, as = 'support') {
      const res = await fetch(`${api.url}${urlPath}`, {
        method,
        headers: {
          ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
          ...(as ? { Authorization: `Bearer ${tokens[as]}` } : {}),
          ...headers,
        },
        body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
      });
      const text = await res.text();
      let parsed: unknown = text;
      try {
        parsed = text ? JSON.parse(text) : null;
      } catch {
        // not JSON: keep the text
      }
      return { status: res.status, body: parsed, headers: res.headers };
    },
    async stop() {
      await api.stop();
      await metrics.stop();
      if (schedules) {
        await client.schedule.getHandle(schedules.retentionSweep.scheduleId).delete();
        await client.schedule.getHandle(schedules.contractEndCheck.scheduleId).delete();
        await client.schedule.getHandle(schedules.startReconciler.scheduleId).delete();
        await client.schedule.getHandle(schedules.auditVerify.scheduleId).delete();
      }
      worker.shutdown();
      await workerRun;
      // `npm run histories:record`: keep this stack's histories for the replay fixtures (test/support/histories.ts).
      const recordDir = process.env[RECORD_HISTORIES_ENV];
      if (recordDir) await saveTaskQueueHistories(client, taskQueue, opts.name, recordDir);
      await nativeConnection.close();
      await connection.close();
      mailer.close();
      await sim.stop();
      await smtp.stop();
      await db.destroy();
      if (ownCheckpoints) fs.rmSync(ownCheckpoints, { force: true });
      log.close();
    },
  };
}
