/**
 * A Temporal dev server (the pinned CLI, `$TEMPORAL_CLI`) on a SQLite state file of its own, on a fixed port, so the
 * fault suite can kill it with SIGKILL and start it again on the same file and port: workers and clients reconnect,
 * and every workflow, timer and task is still there (the WAL journal keeps what was committed; `synchronous=OFF`
 * loses nothing when only the process dies, the kernel still holds the writes).
 */
import fs from 'node:fs';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { devServerSearchAttributeArgs, devServerStateFileArgs } from '../../../lib/temporal-dev-server';
import { freePort, killHard, spawnProcess, stopGracefully, waitUntil, type ServiceProcess } from './processes';

/** A dev server the suite controls. */
export interface FaultTemporalServer {
  /** `127.0.0.1:<port>`, the same across restarts. */
  address: string;
  namespace: string;
  /** The SQLite state file. */
  dbFile: string;
  /** The current server process (a new one after each restart). */
  process(): ServiceProcess;
  /** SIGKILL, as a crashed host or an OOM kill: nothing flushed. */
  kill(): Promise<void>;
  /** Starts the server again on the same state file and port; resolves once the namespace answers. */
  start(): Promise<void>;
  /** Graceful stop (end of the test). */
  stop(): Promise<void>;
}

/** The CLI the suite runs: `$TEMPORAL_CLI` (scripts/test-faults.sh sets it from scripts/temporal-cli.sh). */
export function temporalCli(): string {
  const cli = process.env.TEMPORAL_CLI;
  if (!cli || !fs.existsSync(cli))
    throw new Error('TEMPORAL_CLI is not set to the Temporal CLI: run the fault suite with `npm run test:faults`');
  return cli;
}

/** Starts a dev server with its state in `<dir>/temporal.db`. */
export async function startFaultTemporalServer(opts: {
  dir: string;
  logDir: string;
  namespace: string;
}): Promise<FaultTemporalServer> {
  fs.mkdirSync(opts.dir, { recursive: true });
  const dbFile = path.join(opts.dir, 'temporal.db');
  const port = await freePort();
  const address = `127.0.0.1:${port}`;
  const args = [
    'server',
    'start-dev',
    '--ip',
    '127.0.0.1',
    '--port',
    String(port),
    '--headless',
    ...devServerStateFileArgs(dbFile),
    '--namespace',
    opts.namespace,
    '--log-level',
    'warn',
    ...devServerSearchAttributeArgs(),
  ];
  let current: ServiceProcess | undefined;
  let starts = 0;

  async function start(): Promise<void> {
    starts += 1;
    const proc = spawnProcess(`temporal-${starts}`, temporalCli(), args, { env: process.env, logDir: opts.logDir });
    current = proc;
    await waitUntil(
      `Temporal dev server at ${address} answering`,
      async () => {
        if (proc.hasExited()) throw new Error(`the dev server exited: see ${proc.logFile}`);
        const connection = await Connection.connect({ address, connectTimeout: 1000 });
        try {
          await connection.workflowService.describeNamespace({ namespace: opts.namespace });
          return true;
        } finally {
          await connection.close();
        }
      },
      { timeoutMs: 120_000, intervalMs: 250 },
    );
  }

  await start();
  return {
    address,
    namespace: opts.namespace,
    dbFile,
    process: () => current!,
    async kill() {
      if (current) await killHard(current);
    },
    start,
    async stop() {
      if (current) await stopGracefully(current, 10_000);
    },
  };
}
