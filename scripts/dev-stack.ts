/**
 * The whole local stack in one process tree (`npm start`): a Temporal dev server with its Web UI (state in
 * .data/temporal.db), the application database migrated (on an embedded PostgreSQL when none is configured or
 * answering), an SMTP sink with an inbox page and a subprocessor simulator so every email and subprocessor call can be
 * seen without outside accounts, the worker and the API, and their Prometheus metrics. Ctrl-C stops everything cleanly.
 *
 * TEMPORAL_ADDRESS set means "use that server, start none"; SMTP_URL set means "use that mail server"; DATABASE_URL set
 * means "use that database". Every port it opens comes from a variable (README "Trying it"), is checked before anything
 * starts (a port in use stops start-up with the variable to change), and is printed. DEV_STACK_DATA_DIR moves its state
 * (default .data/), so that two stacks can run side by side from one clone.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { createApp } from '../api/app';
import { createApiMetrics, startMetricsServer } from '../api/metrics';
import { startServer } from '../api/server';
import { createDb, ensureDatabase, migrateLatest } from '../db/connection';
import { answersAt, resolveDatabaseServer, withDatabase, type DatabaseServer } from '../db/embedded-postgres';
import { grantServiceRole, provisionDatabaseRoles } from '../db/roles';
import { loadConfig, temporalAddress, type AppConfig } from '../lib/config';
import { createDataConverter } from '../lib/data-converter';
import { createLogger, installTemporalLogging, type Logger } from '../lib/logger';
import { createMailer } from '../lib/mailer';
import { ROLES } from '../lib/roles';
import { AesGcmPayloadCodec } from '../lib/payload-codec';
import { createSubprocessorClient } from '../lib/subprocessor-client';
import { temporalConnectionOptions } from '../lib/temporal-connection';
import { databaseTlsOptions, httpTlsOptions } from '../lib/tls-files';
import { devServerSearchAttributeArgs, devServerStateFileArgs } from '../lib/temporal-dev-server';
import { startSmtpSink } from '../test/fakes/smtp-sink';
import { auditChainGauge, subprocessorFailureCounter } from '../workers/metrics';
import { ensureRetentionLifecycles } from '../workers/retention-lifecycles';
import { ensureSchedules } from '../workers/schedules';
import { assertPortsFree, devStackPorts } from './dev-stack-ports';
import { createWorker } from '../workers/worker';
import { DEMO_SUBPROCESSORS, startDemoSubprocessors } from './demo-subprocessors';
import { devTokens } from './dev-tokens';

const ROOT = path.join(__dirname, '..');
/** The stack's state: Temporal's SQLite file, the embedded database, mail, dev tokens (DEV_STACK_DATA_DIR). */
const DATA_DIR = path.resolve(ROOT, process.env.DEV_STACK_DATA_DIR ?? '.data');

/** Where a PostgreSQL server is looked for when DATABASE_URL is unset (the default of lib/config.ts). */
const DEFAULT_DATABASE_SERVER = 'postgres://postgres@127.0.0.1:5432/postgres';

/** Where the Web UI (in the browser) reaches the API's codec endpoints, which decrypt payloads for display. */
function codecEndpoint(config: AppConfig): string {
  const host = ['0.0.0.0', '::'].includes(config.http.host) ? '127.0.0.1' : config.http.host;
  return `${config.http.tls ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${config.http.port}/codec`;
}

/** Where the dev stack keeps its staff tokens between starts (git-ignored, readable by the owner only). */
const DEV_TOKENS_FILE = path.join(DATA_DIR, 'dev-tokens.json');

/** Where the dev stack keeps the passwords of its database roles (git-ignored, readable by the owner only). */
const DATABASE_ROLES_FILE = path.join(DATA_DIR, 'database-roles.json');

/**
 * Least privilege in the dev stack too (README "Security"): unless MIGRATION_DATABASE_URL says which owner role to
 * migrate with, DATABASE_URL is taken as an administrator's connection that creates two roles for its database,
 * `<database>_owner` (owns the schema, runs migrations) and `<database>_app` (the worker, the API and the CLI), and
 * the stack continues with DATABASE_URL pointing at the service's role. A server where that user may not create roles
 * keeps the single configured connection, and says so.
 * @returns a line for the log saying which roles are used.
 */
async function useLeastPrivilegeRoles(): Promise<string> {
  if (process.env.MIGRATION_DATABASE_URL) return 'database roles: MIGRATION_DATABASE_URL migrates, DATABASE_URL runs';
  const adminUrl = process.env.DATABASE_URL!;
  const database = decodeURIComponent(new URL(adminUrl).pathname.slice(1)) || 'data_lifecycle';
  let saved: { ownerPassword?: string; servicePassword?: string } = {};
  try {
    saved = JSON.parse(fs.readFileSync(DATABASE_ROLES_FILE, 'utf8')) as typeof saved;
  } catch {
    // first start: new passwords
  }
  try {
    const roles = await provisionDatabaseRoles(adminUrl, {
      database,
      owner: `${database}_owner`,
      service: `${database}_app`,
      ownerPassword: saved.ownerPassword ?? randomBytes(18).toString('base64url'),
      servicePassword: saved.servicePassword ?? randomBytes(18).toString('base64url'),
    });
    fs.mkdirSync(DATA_DIR, { recursive: true });
    fs.writeFileSync(
      DATABASE_ROLES_FILE,
      JSON.stringify(
        { ownerPassword: new URL(roles.ownerUrl).password, servicePassword: new URL(roles.serviceUrl).password },
        null,
        2,
      ),
      { mode: 0o600 },
    );
    process.env.MIGRATION_DATABASE_URL = roles.ownerUrl;
    process.env.DATABASE_URL = roles.serviceUrl;
    process.env.DEV_STACK_SERVICE_ROLE = roles.service;
    return `database roles: ${roles.owner} migrates, ${roles.service} runs the service (passwords in ${path.relative(ROOT, DATABASE_ROLES_FILE)})`;
  } catch (err) {
    return `database roles: could not create them (${(err as Error).message}); the service connects with DATABASE_URL as given`;
  }
}

/** Starts `temporal server start-dev` and resolves once it answers. */
async function startTemporal(
  config: AppConfig,
  log: Logger,
  ports: { http: number; metrics: number },
): Promise<ChildProcess> {
  const cli = process.env.TEMPORAL_CLI;
  if (!cli)
    throw new Error('TEMPORAL_CLI is not set: start the stack with `npm start`, which finds or installs the CLI');
  fs.mkdirSync(DATA_DIR, { recursive: true });
  const args = [
    'server',
    'start-dev',
    '--ip',
    '127.0.0.1',
    '--port',
    String(config.temporal.port),
    '--ui-port',
    String(config.temporal.uiPort),
    '--http-port',
    String(ports.http),
    // Otherwise random: a fixed port can be scraped (the server's own Prometheus metrics).
    '--metrics-port',
    String(ports.metrics),
    '--namespace',
    config.temporal.namespace,
    ...devServerStateFileArgs(path.join(DATA_DIR, 'temporal.db')),
    '--log-level',
    'error',
    '--ui-codec-endpoint',
    codecEndpoint(config),
    ...devServerSearchAttributeArgs(),
  ];
  // Its own process group: Ctrl-C reaches only us, and we stop the server last, after the worker has drained.
  const child = spawn(cli, args, { stdio: ['ignore', 'inherit', 'inherit'], detached: true });
  process.once('exit', () => child.kill('SIGTERM'));
  const exited = new Promise<never>((_, reject) =>
    child.once('exit', (code) =>
      reject(
        new Error(
          `Temporal dev server exited with code ${code} (is port ${config.temporal.port} or ${config.temporal.uiPort} in use? ` +
            'set TEMPORAL_PORT and TEMPORAL_UI_PORT)',
        ),
      ),
    ),
  );
  const address = temporalAddress(config);
  const ready = (async () => {
    for (let attempt = 0; attempt < 120; attempt++) {
      try {
        const connection = await Connection.connect({ address, connectTimeout: 1000 });
        await connection.workflowService.describeNamespace({ namespace: config.temporal.namespace });
        await connection.close();
        return;
      } catch {
        await new Promise((r) => setTimeout(r, 500));
      }
    }
    throw new Error(`Temporal dev server did not answer on ${address} within 60 s`);
  })();
  await Promise.race([ready, exited]);
  child.removeAllListeners('exit');
  log.info('temporal dev server ready', { address });
  return child;
}

async function main(): Promise<void> {
  // The local Web UI has no way to send a staff token to the codec endpoint; the dev API listens on loopback only.
  process.env.CODEC_AUTH ??= 'none';
  // Retention timers without the production spread of up to 6 hours, so that a demo's expiry happens when it says.
  process.env.RETENTION_JITTER_MAX ??= 'PT0S';
  // The demo subprocessors are simulated on http://127.0.0.1: allowed here, explicitly, and nowhere by default
  // (lib/outbound-destinations.ts; production refuses SUBPROCESSOR_ALLOW_HTTP=true).
  process.env.SUBPROCESSOR_ALLOW_HTTP ??= 'true';
  process.env.SUBPROCESSOR_ALLOWED_HOSTS ??= '127.0.0.1,localhost';
  const ports = devStackPorts(process.env, loadConfig());
  // Before anything starts: a port in use stops start-up with the variable that moves it. The embedded database's port
  // matters only when no server is configured or answering.
  const needsEmbedded = !process.env.DATABASE_URL && !(await answersAt(DEFAULT_DATABASE_SERVER));
  await assertPortsFree(ports.filter((p) => needsEmbedded || !p.embeddedDatabaseOnly));

  const stops: (() => Promise<unknown> | void)[] = [];
  // The database server: DATABASE_URL, else the default address if a server answers there, else an embedded one.
  const databaseServer: DatabaseServer = await resolveDatabaseServer({
    configuredUrl: process.env.DATABASE_URL || undefined,
    configuredVariable: 'DATABASE_URL',
    defaultUrl: DEFAULT_DATABASE_SERVER,
    dataDir: path.join(DATA_DIR, 'postgres'),
    port: ports.find((p) => p.variable === 'EMBEDDED_POSTGRES_PORT')?.port ?? 5433,
  });
  stops.push(() => databaseServer.stop());
  if (databaseServer.kind !== 'configured')
    process.env.DATABASE_URL = withDatabase(databaseServer.url, 'data_lifecycle');
  // The audit log's signed checkpoints belong to this stack's database: kept with the rest of its state.
  process.env.AUDIT_CHECKPOINT_PATH ??= path.join(DATA_DIR, 'audit-checkpoints.jsonl');
  const roleNote = await useLeastPrivilegeRoles();

  const config = loadConfig();
  const log = createLogger({ service: 'dev-stack', level: config.logLevel, pretty: true });
  log.info(`database server: ${databaseServer.description}`);
  log.info(roleNote);
  installTemporalLogging(log, 'WARN', {
    prometheusBindAddress: `${config.metrics.host}:${config.metrics.workerPort}`,
  });

  let temporal: ChildProcess | undefined;
  if (!config.temporal.address) {
    const port = (variable: string) => ports.find((p) => p.variable === variable)!.port;
    temporal = await startTemporal(config, log, {
      http: port('TEMPORAL_HTTP_PORT'),
      metrics: port('TEMPORAL_METRICS_PORT'),
    });
    const child = temporal;
    stops.unshift(
      () =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null) return resolve();
          child.once('exit', () => resolve());
          child.kill('SIGTERM');
        }),
    );
  }

  if (await ensureDatabase(config.database.migrationUrl))
    log.info('database created', { database: new URL(config.database.migrationUrl).pathname.slice(1) });
  // Migrations as the owner role; everything else (worker, API, CLI) as the service's role.
  const ownerDb = createDb(config.database.migrationUrl, 1, databaseTlsOptions(config));
  try {
    const applied = await migrateLatest(ownerDb);
    log.info('migrations applied', { count: applied.length });
    if (process.env.DEV_STACK_SERVICE_ROLE) await grantServiceRole(ownerDb, process.env.DEV_STACK_SERVICE_ROLE);
  } finally {
    await ownerDb.destroy();
  }
  const db = createDb(config.database.url, config.database.poolMax, databaseTlsOptions(config));

  let smtpUrl = config.smtp.url;
  let mailboxUrl: string | undefined;
  if (!process.env.SMTP_URL) {
    const sink = await startSmtpSink({
      port: ports.find((p) => p.variable === 'SMTP_SINK_PORT')!.port,
      httpPort: ports.find((p) => p.variable === 'MAILBOX_PORT')!.port,
      mailDir: path.join(DATA_DIR, 'mail'),
    });
    smtpUrl = sink.url;
    mailboxUrl = sink.httpUrl;
    stops.unshift(() => sink.stop());
  }

  const simPort = ports.find((p) => p.variable === 'SUBPROCESSOR_SIM_PORT')!.port;
  const sim = await startDemoSubprocessors(db, { port: simPort, log: (line) => log.debug(line) });
  stops.unshift(() => sim.stop());

  const mailer = createMailer({ url: smtpUrl, from: config.smtp.from });
  const dataConverter = createDataConverter(config.payloadEncryption.keyring);
  const nativeConnection = await NativeConnection.connect(temporalConnectionOptions(config));
  const worker = await createWorker({
    connection: nativeConnection,
    namespace: config.temporal.namespace,
    taskQueue: config.temporal.taskQueue,
    workflowBundlePath: config.temporal.workflowBundlePath,
    dataConverter,
    deps: {
      db,
      mailer,
      subprocessorClient: createSubprocessorClient({
        timeoutMs: config.subprocessors.timeoutMs,
        outbound: config.subprocessors.outbound,
        onFailure: subprocessorFailureCounter(),
      }),
      config,
      onAuditVerified: auditChainGauge(),
    },
  });
  const workerRun = worker.run();

  const connection = await Connection.connect(temporalConnectionOptions(config));
  const client = new Client({ connection, namespace: config.temporal.namespace, dataConverter });
  // Where the worker starts, so are the schedules: retention sweep, contract-end check (idempotent).
  const schedules = await ensureSchedules(client, config);
  log.info('schedules ensured', { ...schedules });
  // Customers written straight into the database (npm run seed) get the lifecycle onboarding would have started.
  const lifecycles = await ensureRetentionLifecycles(db, client, config.temporal.taskQueue);
  log.info('retention lifecycles ensured', lifecycles);
  const apiMetrics = createApiMetrics({ db, processMetrics: true });
  const metricsServer = await startMetricsServer(apiMetrics.registry, config.metrics.apiPort, config.metrics.host);
  const api = await startServer(
    createApp({
      db,
      metrics: apiMetrics,
      temporal: client,
      taskQueue: config.temporal.taskQueue,
      log,
      config,
      codec: { codec: new AesGcmPayloadCodec(config.payloadEncryption.keyring), corsOrigins: config.codec.corsOrigins },
    }),
    config.http.port,
    config.http.host,
    httpTlsOptions(config),
  );

  // Reverse order of start: stop taking requests first, then let the worker finish, then the servers behind them.
  stops.unshift(
    () => api.stop(),
    () => metricsServer.stop(),
    async () => {
      // The SDK runtime also reacts to SIGINT/SIGTERM by shutting workers down; ask only if it has not yet.
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await workerRun;
    },
    () => nativeConnection.close(),
    () => connection.close(),
    () => mailer.close(),
    () => db.destroy(),
  );

  const tokens = await devTokens(db, DEV_TOKENS_FILE);
  const ui = `http://127.0.0.1:${config.temporal.uiPort}/namespaces/${config.temporal.namespace}/workflows`;
  const temporalMetricsPort = ports.find((p) => p.variable === 'TEMPORAL_METRICS_PORT')?.port;
  const databaseUrl = new URL(config.database.url);
  if (databaseUrl.password) databaseUrl.password = '***';
  console.log(
    [
      '',
      'Data lifecycle service is up:',
      `  API             ${api.url}`,
      `  API docs        ${api.url}/docs   (OpenAPI: ${api.url}/openapi.json)`,
      `  Staff console   ${api.url}/console/   (sign in with a staff token below)`,
      temporal
        ? `  Temporal UI     ${ui}   (gRPC ${temporalAddress(config)})`
        : `  Temporal        ${temporalAddress(config)} (namespace ${config.temporal.namespace})`,
      mailboxUrl
        ? `  Mailbox         ${mailboxUrl}/   (SMTP sink ${smtpUrl}; .eml files in ${path.relative(ROOT, DATA_DIR)}/mail)`
        : `  SMTP            ${smtpUrl}`,
      `  Subprocessors   ${sim.url}/_calls   (simulated: ${DEMO_SUBPROCESSORS.map((s) => s.id).join(', ')})`,
      `  API metrics     ${metricsServer.url}/metrics`,
      `  Worker metrics  http://${config.metrics.host}:${config.metrics.workerPort}/metrics   (Temporal SDK)`,
      ...(temporal
        ? [`  Server metrics  http://127.0.0.1:${temporalMetricsPort}/metrics   (Temporal dev server)`]
        : []),
      `  Database        ${databaseServer.kind === 'embedded' ? 'embedded PostgreSQL' : 'PostgreSQL'} ${databaseUrl.toString()}`,
      '',
      `Retention jitter: ${config.retention.jitterMaxMs === 0 ? 'none (RETENTION_JITTER_MAX=PT0S in the dev stack)' : `up to ${config.retention.jitterMaxMs} ms`}`,
      `Staff tokens for trying the API (development only, kept in ${path.relative(ROOT, DEV_TOKENS_FILE)}):`,
      ...ROLES.map((role) => `  ${role.padEnd(15)} ${tokens[role]}`),
      '',
      process.env.DEV_STACK_SERVICE_ROLE || databaseServer.kind === 'embedded'
        ? `Ops CLI against this stack: DATABASE_URL=${config.database.url} npm run cli -- requests list`
        : 'Ops CLI: npm run cli -- requests list',
      'Try: bash scripts/demo-onboarding.sh    Stop: Ctrl-C',
      '',
    ].join('\n'),
  );

  let stopping = false;
  const stop = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    log.info('stopping', { signal });
    for (const fn of stops) {
      try {
        await fn();
      } catch (err) {
        log.warn('error while stopping', { err: (err as Error).message });
      }
    }
    log.info('stopped');
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
  temporal?.once('exit', (code) => {
    if (!stopping) {
      log.error('Temporal dev server exited unexpectedly', { code });
      void stop('temporal-exit');
    }
  });
}

main().catch((err: unknown) => {
  console.error(`Could not start the stack: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
