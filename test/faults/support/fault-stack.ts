/**
 * The stack of one fault scenario, every part of it a real process the scenario can hurt: a private PostgreSQL
 * cluster (private-postgres.ts), a Temporal dev server on its own state file (temporal-dev-server.ts), worker
 * processes (`workers/main.ts`, with `FAULT_POINTS` armed per process) and, on request, the API process
 * (`api/main.ts`). The SMTP sink and the subprocessor simulator (test/fakes) run in the test's process, so the
 * scenario reads what they received; the demo subprocessors (`crm`, `analytics`, `warehouse`) are registered.
 * Logs of every process: `.data/faults/<name>/logs/`.
 */
import path from 'node:path';
import fs from 'node:fs';
import { Client, Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { createDb, ensureDatabase, migrateLatest, type Db } from '../../../db/connection';
import { configureAuditLog } from '../../../db/repositories/audit-events';
import { staffTokens } from '../../../db/repositories/staff-tokens';
import { loadConfig } from '../../../lib/config';
import { createDataConverter } from '../../../lib/data-converter';
import { parsePayloadKeys } from '../../../lib/payload-codec';
import { DEFAULT_NAMESPACE, DEFAULT_TASK_QUEUE } from '../../../lib/pure/temporal-ids';
import type { Role } from '../../../lib/roles';
import { startDemoSubprocessors } from '../../../scripts/demo-subprocessors';
import { startSmtpSink, type SmtpSink } from '../../fakes/smtp-sink';
import type { SubprocessorSimulator } from '../../fakes/subprocessor-simulator';
import { TEST_ACTIVE_PAYLOAD_KEY_ID, TEST_PAYLOAD_KEYS } from '../../support/test-payload-keys';
import { startPrivatePostgres, type PrivatePostgres } from './private-postgres';
import { ROOT, freePort, spawnService, stopGracefully, waitUntil, type ServiceProcess } from './processes';
import { startFaultTemporalServer, type FaultTemporalServer } from './temporal-dev-server';
import { TEST_OUTBOUND_ENV } from '../../support/test-outbound';

/** Options of {@link startFaultStack}. */
export interface FaultStackOptions {
  /** Names the log directory and the database; a slug. */
  name: string;
  /** Configuration of every worker and the API (e.g. short durations); a worker's own `env` wins. */
  env?: Record<string, string>;
  /** Start the API process as well (default false: scenarios that start workflows with the client need none). */
  api?: boolean;
  /** The workflow bundle the workers load (default: the fault suite's, FAULTS_WORKFLOW_BUNDLE; benchmarks pass theirs). */
  workflowBundle?: string;
  /** Where the stack keeps its state and logs (default `.data/faults/<name>`). */
  dir?: string;
}

/** Options of {@link FaultStack.startWorker}. */
export interface WorkerOptions {
  /** `FAULT_POINTS` of this worker process (lib/fault-points.ts), e.g. `email.after-accept=kill@2`. */
  faultPoints?: string;
  /** Extra environment of this worker. */
  env?: Record<string, string>;
  /** Wait until the worker polls the task queue (default true; false for a worker expected to die at once). */
  waitUntilPolling?: boolean;
}

export interface FaultStack {
  name: string;
  dir: string;
  logDir: string;
  postgres: PrivatePostgres;
  databaseUrl: string;
  /** The scenario's own connection to the application database (for seeding and the end-state checks). */
  db: Db;
  temporal: FaultTemporalServer;
  /** A client with the service's data converter; reconnects by itself after a dev server restart. */
  client: Client;
  taskQueue: string;
  smtp: SmtpSink;
  sim: SubprocessorSimulator;
  /** The environment every service process gets (before per-process additions). */
  serviceEnv: NodeJS.ProcessEnv;
  /** Worker processes started so far (dead ones included), in order. */
  workers: ServiceProcess[];
  /** Starts a worker process; resolves once it polls (unless told not to wait). */
  startWorker(opts?: WorkerOptions): Promise<ServiceProcess>;
  /** The API process and its URL, when started with `api: true` (or by {@link startApi}). */
  api?: { process: ServiceProcess; url: string };
  startApi(): Promise<{ process: ServiceProcess; url: string }>;
  /** A bearer token of `role` (created on first use). */
  token(role: Role): Promise<string>;
  /** Calls the API as `role` (default support): JSON in, parsed JSON out. */
  http(method: string, urlPath: string, body?: unknown, role?: Role): Promise<{ status: number; body: any }>;
  /** Stops everything (workers and API gracefully, then the servers) and deletes the private cluster. */
  stop(): Promise<void>;
}

/** The workflow bundle of the run (jest.faults global setup); each worker loads it instead of bundling. */
function workflowBundle(given?: string): string {
  const bundle = given ?? process.env.FAULTS_WORKFLOW_BUNDLE;
  if (!bundle || !fs.existsSync(bundle))
    throw new Error('FAULTS_WORKFLOW_BUNDLE is not set: run the fault suite with `npm run test:faults`');
  return bundle;
}

/** True when the process `pid` polls `taskQueue` for workflow and for activity tasks. */
async function polling(connection: Connection, namespace: string, taskQueue: string, pid: number) {
  for (const taskQueueType of [
    temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
    temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY,
  ]) {
    const { pollers } = await connection.workflowService.describeTaskQueue({
      namespace,
      taskQueue: { name: taskQueue },
      taskQueueType,
    });
    if (!(pollers ?? []).some((p) => Number(p.identity?.split('@')[0]) === pid)) return false;
  }
  return true;
}

/** Starts the stack of one scenario (no worker yet: the scenario starts them with its fault points). */
export async function startFaultStack(opts: FaultStackOptions): Promise<FaultStack> {
  const dir = opts.dir ?? path.join(ROOT, '.data', 'faults', opts.name);
  fs.rmSync(dir, { recursive: true, force: true });
  const logDir = path.join(dir, 'logs');
  fs.mkdirSync(logDir, { recursive: true });
  const cleanups: (() => unknown)[] = [];
  const cleanUp = async () => {
    for (const cleanup of cleanups.splice(0).reverse()) {
      try {
        await cleanup();
      } catch (err) {
        console.error(`fault stack ${opts.name}: while stopping: ${(err as Error).message}`);
      }
    }
  };

  try {
    const postgres = await startPrivatePostgres(opts.name);
    cleanups.push(() => postgres.destroy());
    const databaseUrl = postgres.url('data_lifecycle');
    await ensureDatabase(databaseUrl);
    const db = createDb(databaseUrl, 4);
    cleanups.push(() => db.destroy());
    await migrateLatest(db);

    const namespace = DEFAULT_NAMESPACE;
    const temporalServer = await startFaultTemporalServer({ dir, logDir, namespace });
    cleanups.push(() => temporalServer.stop());

    const smtp = await startSmtpSink({ mailDir: path.join(dir, 'mail') });
    cleanups.push(() => smtp.stop());
    const sim = await startDemoSubprocessors(db, { port: 0 });
    cleanups.push(() => sim.stop());

    const keyring = parsePayloadKeys(TEST_PAYLOAD_KEYS, TEST_ACTIVE_PAYLOAD_KEY_ID);
    const connection = await Connection.connect({ address: temporalServer.address });
    cleanups.push(() => connection.close());
    const client = new Client({ connection, namespace, dataConverter: createDataConverter(keyring) });

    const taskQueue = DEFAULT_TASK_QUEUE;
    const serviceEnv: NodeJS.ProcessEnv = {
      ...process.env,
      NODE_ENV: 'test',
      LOG_LEVEL: 'info',
      DATABASE_URL: databaseUrl,
      DATABASE_POOL_MAX: '5',
      TEMPORAL_ADDRESS: temporalServer.address,
      TEMPORAL_NAMESPACE: namespace,
      TEMPORAL_TASK_QUEUE: taskQueue,
      WORKFLOW_BUNDLE_PATH: workflowBundle(opts.workflowBundle),
      SMTP_URL: smtp.url,
      PAYLOAD_KEYS: TEST_PAYLOAD_KEYS,
      PAYLOAD_ACTIVE_KEY_ID: TEST_ACTIVE_PAYLOAD_KEY_ID,
      EXPORT_DIR: path.join(dir, 'exports'),
      SUBPROCESSOR_TIMEOUT_MS: '5000',
      // The simulator listens on plain http on 127.0.0.1, which the service refuses by default.
      ...TEST_OUTBOUND_ENV,
      HOST: '127.0.0.1',
      ...opts.env,
    };
    delete serviceEnv.FAULT_POINTS;
    // The end-state checks verify the audit chains with the services' keys (AUDIT_HMAC_KEYS, or derived ones).
    const serviceConfig = loadConfig(serviceEnv);
    configureAuditLog({ keyring: serviceConfig.audit.keyring, checkpoints: serviceConfig.audit.checkpoints });

    const workers: ServiceProcess[] = [];
    const tokens = new Map<Role, string>();
    const stack: FaultStack = {
      name: opts.name,
      dir,
      logDir,
      postgres,
      databaseUrl,
      db,
      temporal: temporalServer,
      client,
      taskQueue,
      smtp,
      sim,
      serviceEnv,
      workers,
      async startWorker(w = {}) {
        const env: NodeJS.ProcessEnv = {
          ...serviceEnv,
          // Each worker serves its SDK metrics on a port of its own (two on one machine would collide).
          WORKER_METRICS_PORT: String(await freePort()),
          ...w.env,
        };
        if (w.faultPoints) env.FAULT_POINTS = w.faultPoints;
        const worker = spawnService(`worker-${workers.length + 1}`, 'workers/main.ts', env, logDir);
        workers.push(worker);
        if (w.waitUntilPolling ?? true) {
          await waitUntil(
            `${worker.name} (pid ${worker.pid}) polling ${taskQueue}`,
            async () => {
              if (worker.hasExited()) throw new Error(`${worker.name} exited during start-up: see ${worker.logFile}`);
              return (await polling(connection, namespace, taskQueue, worker.pid)) ? true : undefined;
            },
            { timeoutMs: 180_000, intervalMs: 250 },
          );
        }
        return worker;
      },
      async startApi() {
        const port = await freePort();
        const url = `http://127.0.0.1:${port}`;
        const env = {
          ...serviceEnv,
          PORT: String(port),
          PUBLIC_BASE_URL: url,
          METRICS_PORT: String(await freePort()),
        };
        const apiProcess = spawnService('api', 'api/main.ts', env, logDir);
        stack.api = { process: apiProcess, url };
        await waitUntil(
          `the API answering ${url}/readyz`,
          async () => {
            if (apiProcess.hasExited()) throw new Error(`the API exited: see ${apiProcess.logFile}`);
            return (await fetch(`${url}/readyz`)).ok ? true : undefined;
          },
          { timeoutMs: 180_000, intervalMs: 250 },
        );
        return stack.api;
      },
      async token(role) {
        let token = tokens.get(role);
        if (!token) {
          token = (await staffTokens.create(db, { name: `fault suite ${role}`, role })).token;
          tokens.set(role, token);
        }
        return token;
      },
      async http(method, urlPath, body, role = 'support') {
        if (!stack.api) throw new Error('the API is not started (startFaultStack({ api: true }) or startApi())');
        const res = await fetch(`${stack.api.url}${urlPath}`, {
          method,
          headers: {
            Authorization: `Bearer ${await stack.token(role)}`,
            ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
          },
          body: body === undefined ? undefined : JSON.stringify(body),
        });
        const text = await res.text();
        let parsed: unknown = text;
        try {
          parsed = text ? JSON.parse(text) : null;
        } catch {
          // not JSON: keep the text
        }
        return { status: res.status, body: parsed };
      },
      stop: async () => {
        await Promise.all([
          ...(stack.api ? [stopGracefully(stack.api.process)] : []),
          ...workers.map((w) => stopGracefully(w)),
        ]);
        await cleanUp();
      },
    };
    if (opts.api) await stack.startApi();
    return stack;
  } catch (err) {
    await cleanUp();
    throw err;
  }
}
