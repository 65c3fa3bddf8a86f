/**
 * The whole local stack in one process tree (`npm start`): a Temporal dev server with its Web UI (state in
 * .data/temporal.db), the application database migrated, an SMTP sink and a subprocessor simulator so every email and
 * subprocessor call can be seen without outside accounts, the worker and the API. Ctrl-C stops everything cleanly.
 *
 * TEMPORAL_ADDRESS set means "use that server, start none"; SMTP_URL set means "use that mail server".
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { createApp } from '../api/app';
import { startServer } from '../api/server';
import { createDb, ensureDatabase, migrateLatest, type Db } from '../db/connection';
import { staffTokens } from '../db/repositories/staff-tokens';
import { subprocessors } from '../db/repositories/subprocessors';
import { loadConfig, temporalAddress, type AppConfig } from '../lib/config';
import { createDataConverter } from '../lib/data-converter';
import { createLogger, installTemporalLogging, type Logger } from '../lib/logger';
import { createMailer } from '../lib/mailer';
import { ROLES, type Role } from '../lib/roles';
import { AesGcmPayloadCodec } from '../lib/payload-codec';
import { createSubprocessorClient } from '../lib/subprocessor-client';
import { temporalConnectionOptions } from '../lib/temporal-connection';
import { databaseTlsOptions, httpTlsOptions } from '../lib/tls-files';
import { ALL_SEARCH_ATTRIBUTES } from '../lib/pure/temporal-ids';
import { startSmtpSink } from '../test/fakes/smtp-sink';
import { startSubprocessorSimulator } from '../test/fakes/subprocessor-simulator';
import { ensureSchedules } from '../workers/schedules';
import { createWorker } from '../workers/worker';

const ROOT = path.join(__dirname, '..');
const DATA_DIR = path.join(ROOT, '.data');

/** Demo subprocessors served by the simulator, with the categories each holds. */
const DEMO_SUBPROCESSORS = [
  { id: 'crm', name: 'CRM platform (simulated)', categories: ['business_contact', 'communication_records'] },
  { id: 'analytics', name: 'Product analytics (simulated)', categories: ['orders', 'listings', 'api_access_logs'] },
  { id: 'warehouse', name: 'Fulfilment warehouse (simulated)', categories: ['orders', 'inventory'] },
];

/** Where the Web UI (in the browser) reaches the API's codec endpoints, which decrypt payloads for display. */
function codecEndpoint(config: AppConfig): string {
  const host = ['0.0.0.0', '::'].includes(config.http.host) ? '127.0.0.1' : config.http.host;
  return `${config.http.tls ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${config.http.port}/codec`;
}

/** Where the dev stack keeps its staff tokens between starts (git-ignored, readable by the owner only). */
const DEV_TOKENS_FILE = path.join(DATA_DIR, 'dev-tokens.json');

/**
 * One staff token per role for the local stack, so a new user can call the API at once. Reused across starts while
 * they still authenticate; created (and written to .data/dev-tokens.json, mode 600) otherwise.
 */
async function devTokens(db: Db): Promise<Record<Role, string>> {
  let saved: Partial<Record<Role, string>> = {};
  try {
    saved = JSON.parse(fs.readFileSync(DEV_TOKENS_FILE, 'utf8')) as Partial<Record<Role, string>>;
  } catch {
    // first start, or unreadable: make new ones
  }
  const tokens = {} as Record<Role, string>;
  for (const role of ROLES) {
    const known = saved[role];
    const valid = known ? (await staffTokens.authenticate(db, known))?.role === role : false;
    tokens[role] = valid && known ? known : (await staffTokens.create(db, { name: `dev-stack ${role}`, role })).token;
  }
  fs.writeFileSync(DEV_TOKENS_FILE, JSON.stringify(tokens, null, 2), { mode: 0o600 });
  return tokens;
}

/** Starts `temporal server start-dev` and resolves once it answers. */
async function startTemporal(config: AppConfig, log: Logger): Promise<ChildProcess> {
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
    '--namespace',
    config.temporal.namespace,
    '--db-filename',
    path.join(DATA_DIR, 'temporal.db'),
    '--sqlite-pragma',
    'journal_mode=WAL',
    '--sqlite-pragma',
    'synchronous=OFF',
    '--log-level',
    'error',
    '--ui-codec-endpoint',
    codecEndpoint(config),
    ...ALL_SEARCH_ATTRIBUTES.flatMap((key) => ['--search-attribute', `${key.name}=Keyword`]),
  ];
  // Its own process group: Ctrl-C reaches only us, and we stop the server last, after the worker has drained.
  const child = spawn(cli, args, { stdio: ['ignore', 'inherit', 'inherit'], detached: true });
  process.once('exit', () => child.kill('SIGTERM'));
  const exited = new Promise<never>((_, reject) =>
    child.once('exit', (code) =>
      reject(
        new Error(
          `Temporal dev server exited with code ${code} (is port ${config.temporal.port} or ${config.temporal.uiPort} in use? set TEMPORAL_PORT)`,
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
  const config = loadConfig();
  const log = createLogger({ service: 'dev-stack', level: config.logLevel, pretty: true });
  installTemporalLogging(log, 'WARN');
  const stops: (() => Promise<unknown> | void)[] = [];

  let temporal: ChildProcess | undefined;
  if (!config.temporal.address) {
    temporal = await startTemporal(config, log);
    const child = temporal;
    stops.push(
      () =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null) return resolve();
          child.once('exit', () => resolve());
          child.kill('SIGTERM');
        }),
    );
  }

  if (await ensureDatabase(config.database.url))
    log.info('database created', { database: new URL(config.database.url).pathname.slice(1) });
  const db = createDb(config.database.url, config.database.poolMax, databaseTlsOptions(config));
  const applied = await migrateLatest(db);
  log.info('migrations applied', { count: applied.length });

  let smtpUrl = config.smtp.url;
  let mailboxUrl: string | undefined;
  if (!process.env.SMTP_URL) {
    const sink = await startSmtpSink({
      port: Number(new URL(config.smtp.url).port),
      httpPort: Number(process.env.MAILBOX_PORT ?? 8025),
      mailDir: path.join(DATA_DIR, 'mail'),
    });
    smtpUrl = sink.url;
    mailboxUrl = sink.httpUrl;
    stops.push(() => sink.stop());
  }

  const simPort = Number(process.env.SUBPROCESSOR_SIM_PORT ?? 4010);
  const secrets = Object.fromEntries(DEMO_SUBPROCESSORS.map((s) => [s.id, `dev-secret-${s.id}`]));
  const sim = await startSubprocessorSimulator({ port: simPort, secrets, log: (line) => log.debug(line) });
  stops.push(() => sim.stop());
  for (const s of DEMO_SUBPROCESSORS) {
    await subprocessors.upsert(db, { ...s, baseUrl: sim.baseUrlFor(s.id), signingSecret: secrets[s.id]! });
  }

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
      subprocessorClient: createSubprocessorClient({ timeoutMs: config.subprocessors.timeoutMs }),
      config,
    },
  });
  const workerRun = worker.run();

  const connection = await Connection.connect(temporalConnectionOptions(config));
  const client = new Client({ connection, namespace: config.temporal.namespace, dataConverter });
  // Where the worker starts, so is the rolling retention sweep's schedule (idempotent).
  const schedules = await ensureSchedules(client, config);
  log.info('schedules ensured', { retentionSweep: schedules.retentionSweep });
  const api = await startServer(
    createApp({
      db,
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

  const tokens = await devTokens(db);
  const ui = `http://127.0.0.1:${config.temporal.uiPort}/namespaces/${config.temporal.namespace}/workflows`;
  console.log(
    [
      '',
      'Data lifecycle service is up:',
      `  API            ${api.url}`,
      `  API docs       ${api.url}/docs   (OpenAPI: ${api.url}/openapi.json)`,
      temporal
        ? `  Temporal UI    ${ui}`
        : `  Temporal       ${temporalAddress(config)} (namespace ${config.temporal.namespace})`,
      mailboxUrl
        ? `  Mailbox        ${mailboxUrl}/messages   (SMTP sink ${smtpUrl}; .eml files in .data/mail)`
        : `  SMTP           ${smtpUrl}`,
      `  Subprocessors  ${sim.url}/_calls   (simulated: ${DEMO_SUBPROCESSORS.map((s) => s.id).join(', ')})`,
      '',
      `Staff tokens for trying the API (development only, kept in ${path.relative(ROOT, DEV_TOKENS_FILE)}):`,
      ...ROLES.map((role) => `  ${role.padEnd(15)} ${tokens[role]}`),
      '',
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
