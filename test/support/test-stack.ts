/**
 * One test file's slice of the real stack: its own worker (own task queue) on the run's Temporal dev server, the API
 * on a free port, an SMTP sink and a subprocessor simulator, all wired exactly as the worker and API entry points wire
 * them. Logs go to a file per test file under .data/test/logs so test output stays readable.
 */
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, type Worker } from '@temporalio/worker';
import winston from 'winston';
import { createApp } from '../../api/app';
import type { RateLimits } from '../../api/auth';
import { startServer, type RunningServer } from '../../api/server';
import { createDb, type Db } from '../../db/connection';
import { staffTokens } from '../../db/repositories/staff-tokens';
import { subprocessors } from '../../db/repositories/subprocessors';
import { createLogger, installTemporalLogging, type Logger } from '../../lib/logger';
import { createMailer } from '../../lib/mailer';
import { ROLES, type Role } from '../../lib/roles';
import { createSubprocessorClient } from '../../lib/subprocessor-client';
import { createWorker } from '../../workers/worker';
import { startSmtpSink, type SmtpSink } from '../fakes/smtp-sink';
import { startSubprocessorSimulator, type SubprocessorSimulator } from '../fakes/subprocessor-simulator';

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
  /** A bearer token per role, created for this stack. */
  tokens: Record<Role, string>;
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

/** Starts the stack; call `stop()` in afterAll. */
export async function startTestStack(opts: { name: string; limits?: Partial<RateLimits> }): Promise<TestStack> {
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

  const db = createDb(required('TEST_DATABASE_URL'), 5);
  const smtp = await startSmtpSink();
  const sim = await startSubprocessorSimulator({ defaultSecret: `secret-${suffix}` });
  const mailer = createMailer({ url: smtp.url, from: 'Privacy Team <privacy@example.com>' });

  const nativeConnection = await NativeConnection.connect({ address });
  const worker: Worker = await createWorker({
    connection: nativeConnection,
    namespace,
    taskQueue,
    workflowBundlePath: required('TEST_WORKFLOW_BUNDLE'),
    deps: {
      db,
      mailer,
      subprocessorClient: createSubprocessorClient({ timeoutMs: 2000 }),
      defaultPrivacyRegime: 'gdpr',
    },
  });
  const workerRun = worker.run();

  const connection = await Connection.connect({ address });
  const client = new Client({ connection, namespace });
  const api = await startServer(
    createApp({
      db,
      temporal: client,
      taskQueue,
      log,
      // Every test client shares 127.0.0.1: per-address limits would make test files throttle each other.
      limits: { apiPerMinute: 100_000, authFailuresPer15Minutes: 100_000, ...opts.limits },
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
    tokens,
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
      worker.shutdown();
      await workerRun;
      await nativeConnection.close();
      await connection.close();
      mailer.close();
      await sim.stop();
      await smtp.stop();
      await db.destroy();
      log.close();
    },
  };
}
