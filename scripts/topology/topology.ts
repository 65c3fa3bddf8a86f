/**
 * The production topology on one machine, without Docker: a self-hosted Temporal Server on PostgreSQL
 * (scripts/topology/temporal-server.ts), the application database migrated, and the service as separate processes
 * exactly as deployed: the API (`api/main.ts`) and two workers (`workers/main.ts`) with NODE_ENV=production, sharing
 * nothing but PostgreSQL, Temporal and the export directory. An SMTP sink and the subprocessor simulator stand in for
 * the outside services, as in the dev stack. `npm run topology` runs it; test-topology/ proves it.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { Duration } from 'luxon';
import { escapeLiteral } from 'pg';
import { createDb, dropDatabase, ensureDatabase, migrateLatest, type Db } from '../../db/connection';
import { grantServiceRole } from '../../db/roles';
import { DEFAULT_NAMESPACE, DEFAULT_TASK_QUEUE } from '../../lib/pure/temporal-ids';
import { startSmtpSink, type SmtpSink } from '../../test/fakes/smtp-sink';
import type { SubprocessorSimulator } from '../../test/fakes/subprocessor-simulator';
import { bundleWorkflowsTo } from '../bundle-workflows';
import { startDemoSubprocessors } from '../demo-subprocessors';
import { startTemporalServer, type RunningTemporalServer, type TemporalServerRelease } from './temporal-server';

const ROOT = path.join(__dirname, '..', '..');

/** How to run the topology; every field has a default from {@link topologyOptionsFromEnv}. */
export interface TopologyOptions {
  /** Prefix of the three databases (`<name>_temporal`, `<name>_visibility`, `<name>_app`) and the run directory. */
  name: string;
  /** A PostgreSQL role that may create databases (path ignored). */
  postgresUrl: string;
  /** First of 15 consecutive ports plus one per worker (see {@link topologyPorts}). */
  portBase: number;
  /** Worker processes to run. */
  workers: number;
  namespace: string;
  /** How long Temporal keeps closed workflow histories (ISO 8601, at least one day). */
  namespaceRetention: string;
  release: TemporalServerRelease;
  /** Extra environment of the API and workers (e.g. short durations in the test). */
  env?: Record<string, string>;
  /** Drop the three databases when stopped (the test); kept by default, so a restart resumes. */
  dropDatabasesOnStop?: boolean;
}

/** One process of the service (the API or a worker), as a supervisor would see it. */
export interface ServiceProcess {
  name: string;
  process: ChildProcess;
  /** The Temporal worker identity the SDK gives it by default: `<pid>@<hostname>`. */
  pid: number;
  logFile: string;
  /** Resolves with the exit code (or signal name) once the process has ended. */
  exited: Promise<number | string>;
}

/** A running topology. */
export interface RunningTopology {
  options: TopologyOptions;
  ports: ReturnType<typeof topologyPorts>;
  runDir: string;
  temporal: RunningTemporalServer;
  appDatabaseUrl: string;
  /** The role the API and workers connect as (row rights only). */
  appRole: string;
  /** A connection to the application database (for seeding and checks). */
  db: Db;
  apiUrl: string;
  api: ServiceProcess;
  workers: ServiceProcess[];
  smtp: SmtpSink;
  sim: SubprocessorSimulator;
  exportDir: string;
  /** Stops the API, then the workers (they drain), then the stand-ins and the Temporal Server. */
  stop(): Promise<void>;
}

/** The ports of a topology, consecutive from `base`, all on 127.0.0.1. */
export function topologyPorts(base: number) {
  return {
    temporal: {
      frontend: base,
      frontendHttp: base + 1,
      history: base + 2,
      matching: base + 3,
      worker: base + 4,
      frontendMembership: base + 5,
      historyMembership: base + 6,
      matchingMembership: base + 7,
      workerMembership: base + 8,
      metrics: base + 9,
    },
    api: base + 10,
    smtp: base + 11,
    mailbox: base + 12,
    simulator: base + 13,
    /** The API's /metrics, then one SDK metrics port per worker (worker i: workerMetrics + i - 1). */
    apiMetrics: base + 14,
    workerMetrics: base + 15,
  };
}

/** Defaults, overridable by TOPOLOGY_* variables (README "Running in production"). */
export function topologyOptionsFromEnv(
  env: NodeJS.ProcessEnv,
  release: TemporalServerRelease,
): Omit<TopologyOptions, 'env' | 'dropDatabasesOnStop'> {
  const name = env.TOPOLOGY_NAME ?? 'dlo_topology';
  if (!/^[a-z][a-z0-9_]{0,40}$/.test(name))
    throw new Error(`TOPOLOGY_NAME must be a lower-case identifier such as dlo_topology; got "${name}"`);
  const portBase = Number(env.TOPOLOGY_PORT_BASE ?? 17233);
  // Temporal stores membership ports as smallint: all 14 must stay below 32768.
  if (!Number.isInteger(portBase) || portBase < 1024 || portBase > 32767 - 13)
    throw new Error(
      `TOPOLOGY_PORT_BASE must be a port from 1024 to 32754 (15 ports and one per worker from it are used), e.g. 17233`,
    );
  const workers = Number(env.TOPOLOGY_WORKERS ?? 2);
  if (!Number.isInteger(workers) || workers < 1 || workers > 16)
    throw new Error(`TOPOLOGY_WORKERS must be a whole number from 1 to 16, e.g. 2; got "${env.TOPOLOGY_WORKERS}"`);
  const namespaceRetention = env.TOPOLOGY_NAMESPACE_RETENTION ?? 'P14D';
  if (retentionSeconds(namespaceRetention) < 86_400)
    throw new Error(`TOPOLOGY_NAMESPACE_RETENTION must be an ISO 8601 duration of at least a day, e.g. P14D`);
  return {
    name,
    postgresUrl: env.TOPOLOGY_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
    portBase,
    workers,
    namespace: env.TEMPORAL_NAMESPACE ?? DEFAULT_NAMESPACE,
    namespaceRetention,
    release,
  };
}

function retentionSeconds(iso: string): number {
  const duration = Duration.fromISO(iso);
  return duration.isValid ? Math.floor(duration.as('seconds')) : NaN;
}

function databaseUrl(serverUrl: string, database: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${database}`;
  return url.toString();
}

/**
 * Payload keys of the topology: PAYLOAD_KEYS from the environment, else a key generated on the first start and kept
 * in the run directory (mode 600), so the histories stay readable across restarts. NODE_ENV=production refuses the
 * public development key, as a real deployment does.
 */
function payloadKeys(runDir: string, variable = 'PAYLOAD_KEYS', fileName = 'payload-keys'): string {
  if (process.env[variable]) return process.env[variable];
  const file = path.join(runDir, fileName);
  if (!fs.existsSync(file)) fs.writeFileSync(file, `topology-1:${randomBytes(32).toString('base64')}`, { mode: 0o600 });
  return fs.readFileSync(file, 'utf8').trim();
}

/** The audit chain's HMAC keys (production requires them): AUDIT_HMAC_KEYS, else generated once per run directory. */
function auditHmacKeys(runDir: string): string {
  if (process.env.AUDIT_HMAC_KEYS) return process.env.AUDIT_HMAC_KEYS;
  const file = path.join(runDir, 'audit-hmac-keys');
  if (!fs.existsSync(file)) fs.writeFileSync(file, `audit-1:${randomBytes(32).toString('base64')}`, { mode: 0o600 });
  return fs.readFileSync(file, 'utf8').trim();
}

/**
 * The key that signs deletion certificates (production requires one): CERTIFICATE_SIGNING_KEY from the environment,
 * else an Ed25519 key generated on the first start and kept in the run directory (mode 600), like the payload keys.
 */
function certificateSigningKey(runDir: string): string {
  if (process.env.CERTIFICATE_SIGNING_KEY) return process.env.CERTIFICATE_SIGNING_KEY;
  const file = path.join(runDir, 'certificate-signing-key.pem');
  if (!fs.existsSync(file)) {
    const { privateKey } = generateKeyPairSync('ed25519');
    fs.writeFileSync(file, privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(), { mode: 0o600 });
  }
  return fs.readFileSync(file, 'utf8');
}

/**
 * A self-signed certificate for 127.0.0.1 (made with openssl on the first start, kept in the run directory): the
 * simulated subprocessors serve HTTPS with it, because NODE_ENV=production calls subprocessors over https only; the
 * service processes trust it through NODE_EXTRA_CA_CERTS, and SUBPROCESSOR_ALLOWED_HOSTS allows the loopback address.
 */
function simulatorTls(runDir: string): { cert: string; key: string; certPath: string } {
  const certPath = path.join(runDir, 'simulator-cert.pem');
  const keyPath = path.join(runDir, 'simulator-key.pem');
  if (!fs.existsSync(certPath) || !fs.existsSync(keyPath)) {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-keyout',
        keyPath,
        '-out',
        certPath,
        '-days',
        '3650',
        '-subj',
        '/CN=subprocessor-simulator',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
      ],
      { stdio: 'ignore' },
    );
    fs.chmodSync(keyPath, 0o600);
  }
  return { cert: fs.readFileSync(certPath, 'utf8'), key: fs.readFileSync(keyPath, 'utf8'), certPath };
}

/**
 * The runtime role of the service, `<name>_runtime`: LOGIN, no superuser, no CREATEDB, no DDL; SELECT, INSERT,
 * UPDATE, DELETE on the application's tables and their sequences (granted again at every start, after the migrations,
 * so new tables are covered). Its password is generated once and kept in the run directory.
 */
async function ensureAppRole(db: Db, name: string, runDir: string) {
  const role = `${name}_runtime`;
  const file = path.join(runDir, 'runtime-role-password');
  if (!fs.existsSync(file)) fs.writeFileSync(file, randomBytes(24).toString('base64url'), { mode: 0o600 });
  const password = fs.readFileSync(file, 'utf8').trim();
  const exists = await db<{ rolname: string }>('pg_roles').where({ rolname: role }).first('rolname');
  // Utility statements take no bind parameters: the password (base64url, generated here) goes in as a literal.
  await db.raw(
    `${exists ? 'alter' : 'create'} role ?? login nosuperuser nocreatedb nocreaterole password ${escapeLiteral(password)}`,
    [role],
  );
  const [database] = (await db.raw<{ rows: { db: string }[] }>('select current_database() as db')).rows;
  await db.raw('grant connect on database ?? to ??', [database!.db, role]);
  // Before PostgreSQL 15 every role may create tables in public: not in this database.
  await db.raw('revoke create on schema public from public');
  await db.raw('grant usage on schema public to ??', [role]);
  await db.raw('grant select, insert, update, delete on all tables in schema public to ??', [role]);
  await db.raw('grant usage, select on all sequences in schema public to ??', [role]);
  return {
    name: role,
    url(databaseUrl: string) {
      const url = new URL(databaseUrl);
      url.username = role;
      url.password = password;
      return url.toString();
    },
  };
}

/** Drops a role made by {@link ensureAppRole} (after its database is gone, nothing else refers to it). */
async function dropRole(serverUrl: string, role: string): Promise<void> {
  const admin = createDb(databaseUrl(serverUrl, 'postgres'), 1);
  try {
    await admin.raw('drop role if exists ??', [role]);
  } finally {
    await admin.destroy();
  }
}

/** Spawns `node --import tsx <entry>` (one process, so a signal reaches the service itself), output to its log. */
function startService(name: string, entry: string, env: NodeJS.ProcessEnv, logDir: string): ServiceProcess {
  const logFile = path.join(logDir, `${name}.log`);
  const log = fs.openSync(logFile, 'a');
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, entry)], {
    cwd: ROOT,
    env,
    stdio: ['ignore', log, log],
    // Its own process group: Ctrl-C reaches only the launcher, which stops the processes in order.
    detached: true,
  });
  fs.closeSync(log);
  process.once('exit', () => child.kill('SIGKILL'));
  const exited = new Promise<number | string>((resolve) =>
    child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')),
  );
  return { name, process: child, pid: child.pid!, logFile, exited };
}

/** Sends SIGTERM and waits for the exit; SIGKILL after `graceMs`. */
async function stopService(service: ServiceProcess, graceMs = 30_000): Promise<void> {
  if (service.process.exitCode !== null || service.process.signalCode !== null) return;
  const kill = setTimeout(() => service.process.kill('SIGKILL'), graceMs);
  service.process.kill('SIGTERM');
  await service.exited;
  clearTimeout(kill);
}

/** Polls `check` every 250 ms until it returns true; fails after `timeoutMs`, or as soon as one of `services` exits. */
async function waitFor(what: string, timeoutMs: number, services: ServiceProcess[], check: () => Promise<boolean>) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const dead = services.find((s) => s.process.exitCode !== null || s.process.signalCode !== null);
    if (dead) throw new Error(`${dead.name} exited during start-up: see ${dead.logFile}`);
    if (await check().catch(() => false)) return;
    if (Date.now() > until) throw new Error(`${what} not within ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** True when every one of `pids` polls the task queue for workflow tasks and for activity tasks. */
async function workersPolling(connection: Connection, namespace: string, taskQueue: string, pids: number[]) {
  for (const taskQueueType of [
    temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
    temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY,
  ]) {
    const { pollers } = await connection.workflowService.describeTaskQueue({
      namespace,
      taskQueue: { name: taskQueue },
      taskQueueType,
    });
    const polling = new Set((pollers ?? []).map((p) => Number(p.identity?.split('@')[0])));
    if (!pids.every((pid) => polling.has(pid))) return false;
  }
  return true;
}

/**
 * Starts the topology and resolves once the API is ready and every worker polls its task queue. On a failure during
 * start-up, whatever was started is stopped again.
 */
export async function startTopology(options: TopologyOptions): Promise<RunningTopology> {
  const ports = topologyPorts(options.portBase);
  const runDir = path.join(ROOT, '.data', 'topology', options.name);
  const logDir = path.join(runDir, 'logs');
  fs.mkdirSync(logDir, { recursive: true });
  const stops: (() => Promise<unknown> | void)[] = [];
  const stopAll = async () => {
    for (const stop of stops.splice(0).reverse()) {
      try {
        await stop();
      } catch (err) {
        console.error(`while stopping the topology: ${(err as Error).message}`);
      }
    }
  };

  try {
    // Registered before the start: a server that fails to start still has its databases dropped.
    const started: { server?: RunningTemporalServer } = {};
    stops.push(async () => {
      await started.server?.stop();
      if (options.dropDatabasesOnStop) {
        await dropDatabase(databaseUrl(options.postgresUrl, `${options.name}_temporal`));
        await dropDatabase(databaseUrl(options.postgresUrl, `${options.name}_visibility`));
      }
    });
    const server = await startTemporalServer({
      release: options.release,
      postgresUrl: options.postgresUrl,
      persistenceDatabase: `${options.name}_temporal`,
      visibilityDatabase: `${options.name}_visibility`,
      ports: ports.temporal,
      runDir,
      namespace: options.namespace,
      namespaceRetentionSeconds: retentionSeconds(options.namespaceRetention),
    });
    started.server = server;

    // Dropped after the database that holds its grants (stops run in reverse order).
    stops.push(async () => {
      if (options.dropDatabasesOnStop) await dropRole(options.postgresUrl, `${options.name}_runtime`);
    });
    const appDatabaseUrl = databaseUrl(options.postgresUrl, `${options.name}_app`);
    await ensureDatabase(appDatabaseUrl);
    const db = createDb(appDatabaseUrl, 5);
    stops.push(async () => {
      await db.destroy();
      if (options.dropDatabasesOnStop) await dropDatabase(appDatabaseUrl);
    });
    await migrateLatest(db);
    // The API and workers connect as a role that may read and write rows and nothing else, as in docker-compose.yml.
    const appRole = await ensureAppRole(db, options.name, runDir);
    // ...minus what it must not have: UPDATE/DELETE of audit rows, writes to anchors and migrations (db/roles.ts).
    await grantServiceRole(db, appRole.name);

    const smtp = await startSmtpSink({ port: ports.smtp, httpPort: ports.mailbox, mailDir: path.join(runDir, 'mail') });
    stops.push(() => smtp.stop());
    const simTls = simulatorTls(runDir);
    const sim = await startDemoSubprocessors(db, { port: ports.simulator, tls: simTls });
    stops.push(() => sim.stop());

    // Bundled once here, as `npm run build` does for a deployment: the workers start without bundling each.
    const bundle = await bundleWorkflowsTo(path.join(runDir, 'workflow-bundle.js'));
    const apiUrl = `http://127.0.0.1:${ports.api}`;
    const exportDir = path.join(runDir, 'exports');
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      NODE_ENV: 'production',
      LOG_LEVEL: 'info',
      DATABASE_URL: appRole.url(appDatabaseUrl),
      TEMPORAL_ADDRESS: server.address,
      TEMPORAL_NAMESPACE: options.namespace,
      TEMPORAL_TASK_QUEUE: DEFAULT_TASK_QUEUE,
      WORKFLOW_BUNDLE_PATH: bundle,
      SMTP_URL: smtp.url,
      PAYLOAD_KEYS: payloadKeys(runDir),
      // Export archives at rest: a key of their own, kept like the payload keys.
      EXPORT_ENCRYPTION_KEYS: payloadKeys(runDir, 'EXPORT_ENCRYPTION_KEYS', 'export-encryption-keys'),
      // The API listens on loopback only; a real deployment puts a TLS-terminating proxy (or TLS_CERT_PATH) in front.
      TLS_TERMINATED_UPSTREAM: 'true',
      CERTIFICATE_SIGNING_KEY: certificateSigningKey(runDir),
      AUDIT_HMAC_KEYS: auditHmacKeys(runDir),
      AUDIT_CHECKPOINT_PATH: path.join(runDir, 'audit-checkpoints.jsonl'),
      METRICS_PORT: String(ports.apiMetrics),
      HOST: '127.0.0.1',
      PORT: String(ports.api),
      PUBLIC_BASE_URL: apiUrl,
      EXPORT_DIR: exportDir,
      // The simulator: https with the run's own certificate, on loopback (allowed explicitly, as a deployment would
      // list a subprocessor on its private network).
      NODE_EXTRA_CA_CERTS: simTls.certPath,
      SUBPROCESSOR_ALLOWED_HOSTS: '127.0.0.1',
      ...options.env,
    };

    const workers: ServiceProcess[] = [];
    for (let i = 1; i <= options.workers; i++) {
      // Each worker process exposes its own SDK metrics, so each needs its own port.
      const workerEnv = { ...env, WORKER_METRICS_PORT: String(ports.workerMetrics + i - 1) };
      const worker = startService(`worker-${i}`, 'workers/main.ts', workerEnv, logDir);
      workers.push(worker);
      stops.push(() => stopService(worker));
    }
    // Stopped first (stops run in reverse): no new requests while the workers drain.
    const api = startService('api', 'api/main.ts', env, logDir);
    stops.push(() => stopService(api));

    const services = [api, ...workers];
    await waitFor('the API answering /readyz', 120_000, services, async () => (await fetch(`${apiUrl}/readyz`)).ok);
    const connection = await Connection.connect({ address: server.address });
    try {
      const pids = workers.map((w) => w.pid);
      await waitFor(`${workers.length} workers polling`, 120_000, services, () =>
        workersPolling(connection, options.namespace, DEFAULT_TASK_QUEUE, pids),
      );
    } finally {
      await connection.close();
    }

    return {
      options,
      ports,
      runDir,
      temporal: server,
      appDatabaseUrl,
      appRole: appRole.name,
      db,
      apiUrl,
      api,
      workers,
      smtp,
      sim,
      exportDir,
      stop: stopAll,
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
