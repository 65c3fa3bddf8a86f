/**
 * `npm run bench -- timers [--count N] [--concurrency C]`: what it costs to keep one durable retention workflow per
 * customer asleep on its timers.
 *
 * In a scratch Temporal dev server (the pinned CLI from scripts/temporal-cli.sh, a fresh SQLite state file in a
 * temporary directory) and a scratch PostgreSQL database (migrated, N customers with contracts ending in 2030), the
 * benchmark starts, in the same run:
 *
 * 0. warm-up (not measured): 200 no-op workflows;
 * 1. baseline: N no-op workflows (bench/timers-workflows/noop.ts, bundled on their own) on a worker of their own;
 * 2. measured: N per-customer retention workflows (`retention-<customerId>`, the production bundle) on the service's
 *    real worker, in a process of its own with the service's default configuration (real activities against
 *    PostgreSQL, the payload codec on; bench/timers-workflows/retention-worker.ts).
 *
 * A start counts once the workflow has settled: the no-op returned, the retention workflow read its context (a local
 * activity) and started its timer (workflow interceptors report both through a sink). Start rate = N / time from the
 * first start call to the last settle, C start calls in flight at a time. Also reported: the peak resident memory of
 * the retention worker's process (VmHWM) and the growth of the dev server's database files (SQLite file + WAL) over the
 * retention phase, per open workflow.
 *
 * Last line: `timers: ratio=<retention rate / no-op rate> target=<target> starts_per_s=... noop_starts_per_s=...
 * worker_peak_mb=... mem_target_mb=... db_bytes_per_workflow=...`. Method and figures: docs/benchmarks.md.
 */
import { execFileSync, fork, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import {
  bundleWorkflowCode,
  DefaultLogger,
  NativeConnection,
  Runtime,
  Worker,
  type InjectedSinks,
} from '@temporalio/worker';
import { Command } from 'commander';
import { createDb, dropDatabase, ensureDatabase, migrateLatest } from '../db/connection';
import { loadConfig } from '../lib/config';
import { createDataConverter, FAILURE_CONVERTER_PATH } from '../lib/data-converter';
import { retentionWorkflowId } from '../lib/pure/temporal-ids';
import { devServerSearchAttributeArgs, devServerStateFileArgs } from '../lib/temporal-dev-server';
import { WORKFLOWS_PATH } from '../workers/worker';
import type { RetentionWorkerMessage } from './timers-workflows/retention-worker';
import type { SettleSinks } from './timers-workflows/settle-interceptors';

/** Documented targets (docs/benchmarks.md): a retention start reads its context in a local activity inside its one
 * workflow task, so it should reach 0.7 of the no-op rate; its worker's peak memory at 10,000 stays under 600 MB. */
const TARGET = 0.7;
const MEMORY_TARGET_MB = 600;
const ROOT = path.join(__dirname, '..');
const NAMESPACE = 'bench';

const program = new Command()
  .name('timers')
  .option('--count <n>', 'workflows per phase', (v) => Number.parseInt(v, 10), 10_000)
  .option('--concurrency <n>', 'start calls in flight', (v) => Number.parseInt(v, 10), 100)
  .option('--keep', 'keep the scratch database and Temporal state for inspection', false)
  .parse(process.argv);
const opts = program.opts<{ count: number; concurrency: number; keep: boolean }>();
if (!(opts.count > 0) || !(opts.concurrency > 0)) {
  console.error('--count and --concurrency must be positive integers');
  process.exit(2);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Starts a dev server with a fresh state file and resolves once it answers. */
async function startDevServer(dir: string): Promise<{ child: ChildProcess; address: string; dbFile: string }> {
  const cli = execFileSync('bash', [path.join(ROOT, 'scripts', 'temporal-cli.sh')], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  }).trim();
  const port = await freePort();
  const dbFile = path.join(dir, 'temporal.db');
  const child = spawn(
    cli,
    [
      'server',
      'start-dev',
      '--ip',
      '127.0.0.1',
      '--port',
      String(port),
      '--headless',
      '--namespace',
      NAMESPACE,
      ...devServerStateFileArgs(dbFile),
      '--log-level',
      'error',
      ...devServerSearchAttributeArgs(),
    ],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  const address = `127.0.0.1:${port}`;
  for (let attempt = 0; attempt < 120; attempt++) {
    if (child.exitCode !== null) throw new Error(`Temporal dev server exited with code ${child.exitCode}`);
    try {
      const connection = await Connection.connect({ address, connectTimeout: 1000 });
      await connection.workflowService.describeNamespace({ namespace: NAMESPACE });
      await connection.close();
      return { child, address, dbFile };
    } catch {
      await sleep(500);
    }
  }
  child.kill('SIGTERM');
  throw new Error(`Temporal dev server did not answer on ${address}`);
}

/** Bytes of the SQLite state (main file, WAL and shared memory). */
function dbBytes(dbFile: string): number {
  return ['', '-wal', '-shm'].reduce((sum, suffix) => {
    try {
      return sum + fs.statSync(dbFile + suffix).size;
    } catch {
      return sum;
    }
  }, 0);
}

/** Calls `start(i)` for i in [0, n) with at most `concurrency` in flight. */
async function startAll(n: number, concurrency: number, start: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, n) }, async () => {
      while (next < n) await start(next++);
    }),
  );
}

interface PhaseResult {
  seconds: number;
  startsPerSecond: number;
  startCallsPerSecond: number;
  peakRssMb: number;
  baselineRssMb: number;
}

/** Runs one phase: a worker on its own queue, N starts, until all N settled. */
async function phase(opts: {
  label: string;
  connection: NativeConnection;
  client: Client;
  taskQueue: string;
  bundlePath: string;
  activities?: object;
  /** Sticky cache size of the phase's worker (undefined: the SDK's default). */
  maxCachedWorkflows?: number;
  count: number;
  concurrency: number;
  start: (client: Client, taskQueue: string, i: number) => Promise<unknown>;
}): Promise<PhaseResult> {
  const settled = new Set<string>();
  let settle: () => void = () => undefined;
  const allSettled = new Promise<void>((resolve) => (settle = resolve));
  const sinks: InjectedSinks<SettleSinks> = {
    bench: {
      settled: {
        fn(info) {
          settled.add(info.workflowId);
          if (settled.size >= opts.count) settle();
        },
        callDuringReplay: false,
      },
    },
  };
  const worker = await Worker.create({
    connection: opts.connection,
    namespace: NAMESPACE,
    taskQueue: opts.taskQueue,
    workflowBundle: { codePath: opts.bundlePath },
    activities: opts.activities,
    maxCachedWorkflows: opts.maxCachedWorkflows,
    sinks,
    dataConverter: opts.client.options.dataConverter,
  });
  const running = worker.run();
  const baselineRss = process.memoryUsage().rss;
  let peakRss = baselineRss;
  const sampler = setInterval(() => {
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
  }, 100);
  const progress = setInterval(() => {
    process.stdout.write(`  ${opts.label}: ${settled.size}/${opts.count} settled\n`);
  }, 5000);

  const t0 = performance.now();
  await startAll(opts.count, opts.concurrency, (i) => opts.start(opts.client, opts.taskQueue, i));
  const startCallsSeconds = (performance.now() - t0) / 1000;
  await allSettled;
  const seconds = (performance.now() - t0) / 1000;
  clearInterval(sampler);
  clearInterval(progress);
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
  worker.shutdown();
  await running;
  return {
    seconds,
    startsPerSecond: opts.count / seconds,
    startCallsPerSecond: opts.count / startCallsSeconds,
    peakRssMb: peakRss / 2 ** 20,
    baselineRssMb: baselineRss / 2 ** 20,
  };
}

/** Peak and current resident memory of a process, from /proc/<pid>/status (MB). */
function processMemoryMb(pid: number): { peak: number; current: number } {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { peak: kb('VmHWM') / 1024, current: kb('VmRSS') / 1024 };
}

/**
 * The measured phase: the retention worker runs in a child process of its own (bench/timers-workflows/
 * retention-worker.ts: the service's worker factory and default configuration), so its peak memory (VmHWM) is the
 * worker's alone; this process makes the start calls and counts the settles the child reports.
 */
async function retentionPhase(opts: {
  client: Client;
  env: Record<string, string>;
  count: number;
  concurrency: number;
  start: (client: Client, taskQueue: string, i: number) => Promise<unknown>;
}): Promise<PhaseResult & { maxCachedWorkflows: number }> {
  const child = fork(require.resolve('./timers-workflows/retention-worker'), [], {
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, ...opts.env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  let settled = 0;
  let onSettled: () => void = () => undefined;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const ready = new Promise<number>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`the retention worker exited (code ${code}) before it was ready`)));
    child.on('message', (message: RetentionWorkerMessage) => {
      if ('ready' in message) resolve(message.maxCachedWorkflows);
      else {
        settled = message.settled;
        if (settled >= opts.count) onSettled();
      }
    });
  });
  const maxCachedWorkflows = await ready;
  const allSettled = new Promise<void>((resolve) => (onSettled = resolve));
  const baselineRssMb = processMemoryMb(child.pid!).current;
  const progress = setInterval(() => {
    process.stdout.write(`  retention: ${settled}/${opts.count} settled\n`);
  }, 5000);
  const t0 = performance.now();
  await startAll(opts.count, opts.concurrency, (i) => opts.start(opts.client, opts.env.TEMPORAL_TASK_QUEUE!, i));
  const startCallsSeconds = (performance.now() - t0) / 1000;
  await allSettled;
  const seconds = (performance.now() - t0) / 1000;
  clearInterval(progress);
  const peakRssMb = processMemoryMb(child.pid!).peak;
  child.disconnect();
  await exited;
  return {
    seconds,
    startsPerSecond: opts.count / seconds,
    startCallsPerSecond: opts.count / startCallsSeconds,
    peakRssMb,
    baselineRssMb,
    maxCachedWorkflows,
  };
}

async function main(): Promise<void> {
  const n = opts.count;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dlo-bench-timers-'));
  const databaseUrl = new URL(process.env.TEST_DATABASE_SERVER_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres');
  databaseUrl.pathname = `/dlo_bench_timers_${Date.now()}_${process.pid}`;
  const dbUrl = databaseUrl.toString();
  Runtime.install({ logger: new DefaultLogger('WARN') });

  console.log(`timers: count=${n} concurrency=${opts.concurrency} state=${dir}`);
  await ensureDatabase(dbUrl);
  const db = createDb(dbUrl, 10);
  let server: Awaited<ReturnType<typeof startDevServer>> | undefined;
  try {
    await migrateLatest(db);
    // N customers with contracts ending in 2030: their retention workflows sleep (until the daily re-check).
    await db.raw(
      `insert into customers (id, company_name, registration_number, country, privacy_regime, status)
       select gen_random_uuid(), 'Bench ' || g, 'BENCH-' || g, 'DE', 'gdpr', 'active' from generate_series(1, ?) g`,
      [n],
    );
    await db.raw(
      `insert into contracts (id, customer_id, starts_on, ends_on, termination_disposition)
       select gen_random_uuid(), id, date '2026-01-01', date '2030-12-31', 'delete' from customers`,
    );
    const customerIds = (await db('customers').orderBy('id').pluck('id')) as string[];

    server = await startDevServer(dir);
    const config = loadConfig({
      ...process.env,
      NODE_ENV: 'development',
      LOG_LEVEL: 'warn',
      DATABASE_URL: dbUrl,
      TEMPORAL_ADDRESS: server.address,
      TEMPORAL_NAMESPACE: NAMESPACE,
      TEMPORAL_TASK_QUEUE: 'bench-retention',
    });
    const dataConverter = createDataConverter(config.payloadEncryption.keyring);
    const interceptors = [require.resolve('./timers-workflows/settle-interceptors')];
    const bundle = async (workflowsPath: string, file: string) => {
      const { code } = await bundleWorkflowCode({
        workflowsPath,
        workflowInterceptorModules: interceptors,
        failureConverterPath: FAILURE_CONVERTER_PATH,
        logger: new DefaultLogger('WARN'),
      });
      const out = path.join(dir, file);
      fs.writeFileSync(out, code);
      return out;
    };
    const noopBundle = await bundle(require.resolve('./timers-workflows/noop'), 'noop-bundle.js');
    const retentionBundle = await bundle(WORKFLOWS_PATH, 'retention-bundle.js');

    const connection = await NativeConnection.connect({ address: server.address });
    const client = new Client({ connection, namespace: NAMESPACE, dataConverter });

    // Warm-up (not measured): JIT, connections and the server's first task queue, so neither phase pays for them.
    await phase({
      label: 'warm-up',
      connection,
      client,
      taskQueue: 'bench-warm-up',
      bundlePath: noopBundle,
      count: Math.min(200, n),
      concurrency: opts.concurrency,
      start: (c, taskQueue, i) =>
        c.workflow.start('noopWorkflow', {
          taskQueue,
          workflowId: `warm-up-${i}`,
          args: [{ customerId: customerIds[i]! }],
        }),
    });
    const noop = await phase({
      label: 'no-op',
      connection,
      client,
      taskQueue: 'bench-noop',
      bundlePath: noopBundle,
      count: n,
      concurrency: opts.concurrency,
      start: (c, taskQueue, i) =>
        c.workflow.start('noopWorkflow', {
          taskQueue,
          workflowId: `noop-${i}`,
          args: [{ customerId: customerIds[i]! }],
        }),
    });
    console.log(
      `  no-op: ${noop.startsPerSecond.toFixed(1)} settled starts/s (${noop.startCallsPerSecond.toFixed(1)} start calls/s), ${noop.seconds.toFixed(1)} s`,
    );

    await sleep(1000);
    const dbBefore = dbBytes(server.dbFile);
    const retention = await retentionPhase({
      client,
      env: {
        DATABASE_URL: dbUrl,
        TEMPORAL_ADDRESS: server.address,
        TEMPORAL_NAMESPACE: NAMESPACE,
        TEMPORAL_TASK_QUEUE: 'bench-retention',
        BENCH_RETENTION_BUNDLE: retentionBundle,
      },
      count: n,
      concurrency: opts.concurrency,
      start: (c, taskQueue, i) =>
        c.workflow.start('retentionWorkflow', {
          taskQueue,
          workflowId: retentionWorkflowId(customerIds[i]!),
          args: [{ customerId: customerIds[i]! }],
        }),
    });
    await sleep(1000);
    const dbAfter = dbBytes(server.dbFile);
    const running = await client.workflow.count(`WorkflowType = 'retentionWorkflow' AND ExecutionStatus = 'Running'`);
    console.log(
      `  retention: ${retention.startsPerSecond.toFixed(1)} settled starts/s (${retention.startCallsPerSecond.toFixed(1)} start calls/s), ${retention.seconds.toFixed(1)} s, ${running.count} running`,
    );
    console.log(
      `  retention worker process RSS (sticky cache ${retention.maxCachedWorkflows}): ` +
        `${retention.baselineRssMb.toFixed(0)} MB before, ${retention.peakRssMb.toFixed(0)} MB peak; dev server state ${(dbBefore / 2 ** 20).toFixed(1)} -> ${(dbAfter / 2 ** 20).toFixed(1)} MB`,
    );
    await connection.close();

    const ratio = retention.startsPerSecond / noop.startsPerSecond;
    console.log(
      `timers: ratio=${ratio.toFixed(2)} target=${TARGET} starts_per_s=${retention.startsPerSecond.toFixed(1)} ` +
        `noop_starts_per_s=${noop.startsPerSecond.toFixed(1)} worker_peak_mb=${retention.peakRssMb.toFixed(0)} ` +
        `mem_target_mb=${MEMORY_TARGET_MB} db_bytes_per_workflow=${Math.round((dbAfter - dbBefore) / n)}`,
    );
  } finally {
    if (server) {
      const child = server.child;
      await new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      });
    }
    await db.destroy();
    if (!opts.keep) {
      await dropDatabase(dbUrl);
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
