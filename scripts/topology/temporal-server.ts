/**
 * A self-hosted Temporal Server (1.29.1, the version the pinned CLI's dev server embeds) on PostgreSQL, set up the way
 * a production cluster is: its own persistence and visibility databases, their schema applied by `temporal-sql-tool`
 * from the release's schema files, a server configuration rendered from a template
 * (scripts/topology/temporal-server.template.yaml), the namespace registered with a retention period and the
 * service's search attributes added through the operator API. Used by `npm run topology` and its test.
 */
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time';
import { temporal } from '@temporalio/proto';
import { ensureDatabase } from '../../db/connection';
import { ALL_SEARCH_ATTRIBUTES } from '../../lib/pure/temporal-ids';

const run = promisify(execFile);
const ROOT = path.join(__dirname, '..', '..');
const TEMPLATE = path.join(__dirname, 'temporal-server.template.yaml');

/** Where the server binaries and the schema files of its release are (scripts/temporal-server.sh). */
export interface TemporalServerRelease {
  server: string;
  sqlTool: string;
  /** `schema/postgresql/v12` of the release: `temporal/versioned` and `visibility/versioned` below it. */
  schemaDir: string;
}

/**
 * The cached release, or undefined when it is not built yet and `build` is false. With `build`, builds it with
 * `go install` first (minutes, once per machine).
 */
export function temporalServerRelease(build: boolean): TemporalServerRelease | undefined {
  let dir: string;
  try {
    dir = execFileSync('bash', [path.join(ROOT, 'scripts', 'temporal-server.sh'), ...(build ? [] : ['--cached'])], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    }).trim();
  } catch (err) {
    if (!build && (err as { status?: number }).status === 3) return undefined;
    throw new Error('Temporal Server is not available (see the message above)', { cause: err });
  }
  return {
    server: path.join(dir, 'temporal-server'),
    sqlTool: path.join(dir, 'temporal-sql-tool'),
    schemaDir: path.join(dir, 'schema', 'postgresql', 'v12'),
  };
}

/** The ports one server process listens on (all on 127.0.0.1). */
export interface TemporalServerPorts {
  /** gRPC frontend: what clients and workers connect to. */
  frontend: number;
  frontendHttp: number;
  history: number;
  matching: number;
  worker: number;
  frontendMembership: number;
  historyMembership: number;
  matchingMembership: number;
  workerMembership: number;
  /** Prometheus metrics of the server (`/metrics`). */
  metrics: number;
}

/** How to set up and run one server. */
export interface TemporalServerOptions {
  release: TemporalServerRelease;
  /**
   * PostgreSQL server URL of a role that may create databases (the path is ignored); the server's own databases are
   * created on it, and the server connects with the same role.
   */
  postgresUrl: string;
  persistenceDatabase: string;
  visibilityDatabase: string;
  ports: TemporalServerPorts;
  /** Directory for the rendered configuration and the server's log file. */
  runDir: string;
  namespace: string;
  /** How long Temporal keeps the history of a closed workflow, in seconds. */
  namespaceRetentionSeconds: number;
  /** Fixed for the life of the cluster. Default 4. */
  historyShards?: number;
}

/** A running server. */
export interface RunningTemporalServer {
  address: string;
  metricsUrl: string;
  logFile: string;
  process: ChildProcess;
  /** Stops the server (SIGTERM, then SIGKILL after 20 s). */
  stop(): Promise<void>;
}

function databaseUrl(serverUrl: string, database: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${database}`;
  return url.toString();
}

/**
 * Creates the persistence and visibility databases if missing, then applies the release's schema with
 * `temporal-sql-tool`: `setup-schema -v 0.0` (the version table; a no-op on a database already past 0.0) and
 * `update-schema` up to the newest version in the release's `versioned` directory. Safe to run at every start.
 */
export async function setupTemporalSchema(opts: TemporalServerOptions): Promise<void> {
  const server = new URL(opts.postgresUrl);
  for (const [database, schema] of [
    [opts.persistenceDatabase, 'temporal'],
    [opts.visibilityDatabase, 'visibility'],
  ] as const) {
    await ensureDatabase(databaseUrl(opts.postgresUrl, database));
    const common = [
      '--plugin',
      'postgres12',
      '--endpoint',
      server.hostname,
      '--port',
      server.port || '5432',
      '--user',
      decodeURIComponent(server.username),
      '--database',
      database,
    ];
    // The password goes by environment, not argv, so that it does not show in the process list.
    const env = { ...process.env, SQL_PASSWORD: decodeURIComponent(server.password) };
    await run(opts.release.sqlTool, [...common, 'setup-schema', '-v', '0.0'], { env });
    await run(
      opts.release.sqlTool,
      [...common, 'update-schema', '--schema-dir', path.join(opts.release.schemaDir, schema, 'versioned')],
      { env },
    );
  }
}

/** The server configuration: the template with every `${NAME}` replaced (strings as quoted YAML scalars). */
export function renderServerConfig(opts: TemporalServerOptions): string {
  const server = new URL(opts.postgresUrl);
  const values: Record<string, string | number> = {
    LOG_LEVEL: 'warn',
    NUM_HISTORY_SHARDS: opts.historyShards ?? 4,
    PERSISTENCE_DATABASE: opts.persistenceDatabase,
    VISIBILITY_DATABASE: opts.visibilityDatabase,
    DATABASE_ADDRESS: `${server.hostname}:${server.port || '5432'}`,
    DATABASE_USER: decodeURIComponent(server.username),
    DATABASE_PASSWORD: decodeURIComponent(server.password),
    METRICS_PORT: opts.ports.metrics,
    FRONTEND_PORT: opts.ports.frontend,
    FRONTEND_HTTP_PORT: opts.ports.frontendHttp,
    FRONTEND_MEMBERSHIP_PORT: opts.ports.frontendMembership,
    HISTORY_PORT: opts.ports.history,
    HISTORY_MEMBERSHIP_PORT: opts.ports.historyMembership,
    MATCHING_PORT: opts.ports.matching,
    MATCHING_MEMBERSHIP_PORT: opts.ports.matchingMembership,
    WORKER_PORT: opts.ports.worker,
    WORKER_MEMBERSHIP_PORT: opts.ports.workerMembership,
  };
  return fs.readFileSync(TEMPLATE, 'utf8').replace(/\$\{([A-Z_]+)\}/g, (_, name: string) => {
    const value = values[name];
    if (value === undefined) throw new Error(`temporal-server.template.yaml uses \${${name}}, which has no value`);
    // A JSON string is a valid YAML scalar: quotes, colons or an empty password cannot break the document.
    return typeof value === 'number' ? String(value) : JSON.stringify(value);
  });
}

/** Retries `attempt` every 500 ms until it resolves or `timeoutMs` passes (then throws its last error). */
async function retry<T>(what: string, timeoutMs: number, attempt: () => Promise<T>): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await attempt();
    } catch (err) {
      if (Date.now() > until)
        throw new Error(`${what} failed for ${timeoutMs / 1000} s: ${(err as Error).message}`, { cause: err });
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

/**
 * Registers the namespace with its retention period (or brings an existing one to that period) and adds the service's
 * custom search attributes that are missing, then waits until the frontend serves both (it caches namespaces and
 * search attributes and refreshes them every few seconds).
 */
export async function registerNamespace(
  connection: Connection,
  namespace: string,
  retentionSeconds: number,
): Promise<void> {
  const retention = msToTs(retentionSeconds * 1000);
  try {
    await connection.workflowService.registerNamespace({ namespace, workflowExecutionRetentionPeriod: retention });
  } catch (err) {
    if ((err as { code?: number }).code !== 6 /* ALREADY_EXISTS */) throw err;
    await connection.workflowService.updateNamespace({
      namespace,
      config: { workflowExecutionRetentionTtl: retention },
    });
  }
  const existing = await retry('reading the search attributes', 30_000, () =>
    connection.operatorService.listSearchAttributes({ namespace }),
  );
  const missing = ALL_SEARCH_ATTRIBUTES.filter((key) => !(key.name in (existing.customAttributes ?? {})));
  if (missing.length > 0) {
    await connection.operatorService.addSearchAttributes({
      namespace,
      searchAttributes: Object.fromEntries(
        missing.map((key) => [key.name, temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD]),
      ),
    });
  }
  const query = ALL_SEARCH_ATTRIBUTES.map((key) => `${key.name} = 'ready-check'`).join(' AND ');
  await retry(`using namespace ${namespace} and its search attributes`, 60_000, () =>
    connection.workflowService.countWorkflowExecutions({ namespace, query }),
  );
}

/**
 * Sets up the schema, renders the configuration into `runDir/config/topology.yaml`, starts the server (all four
 * services in one process, output in `runDir/temporal-server.log`), waits until its frontend answers and registers
 * the namespace. Rejects if the server exits during start-up, naming its log.
 */
export async function startTemporalServer(opts: TemporalServerOptions): Promise<RunningTemporalServer> {
  await setupTemporalSchema(opts);
  const configDir = path.join(opts.runDir, 'config');
  fs.mkdirSync(configDir, { recursive: true });
  fs.writeFileSync(path.join(configDir, 'topology.yaml'), renderServerConfig(opts), { mode: 0o600 });
  const logFile = path.join(opts.runDir, 'temporal-server.log');
  const log = fs.openSync(logFile, 'a');
  // --allow-no-auth: this local server trusts its loopback clients; production adds an authorizer and mTLS (README).
  const child = spawn(
    opts.release.server,
    ['--root', opts.runDir, '--config', 'config', '--env', 'topology', '--allow-no-auth', 'start'],
    { stdio: ['ignore', log, log], detached: true },
  );
  fs.closeSync(log);
  process.once('exit', () => child.kill('SIGKILL'));
  const address = `127.0.0.1:${opts.ports.frontend}`;
  const exited = new Promise<never>((_, reject) =>
    child.once('exit', (code) => reject(new Error(`Temporal Server exited with code ${code}: see ${logFile}`))),
  );
  const stop = (): Promise<void> =>
    new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      const kill = setTimeout(() => child.kill('SIGKILL'), 20_000);
      child.once('exit', () => {
        clearTimeout(kill);
        resolve();
      });
      child.kill('SIGTERM');
    });
  try {
    const ready = (async () => {
      const connection = await retry(`connecting to Temporal Server at ${address}`, 90_000, async () => {
        const c = await Connection.connect({ address, connectTimeout: 1000 });
        await c.workflowService.getSystemInfo({});
        return c;
      });
      try {
        await registerNamespace(connection, opts.namespace, opts.namespaceRetentionSeconds);
      } finally {
        await connection.close();
      }
    })();
    await Promise.race([ready, exited]);
  } catch (err) {
    await stop();
    throw err;
  }
  exited.catch(() => undefined);
  return { address, metricsUrl: `http://127.0.0.1:${opts.ports.metrics}/metrics`, logFile, process: child, stop };
}
