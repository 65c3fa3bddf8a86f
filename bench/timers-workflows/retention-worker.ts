/**
 * The retention worker of the timers benchmark (bench/timers.ts), in a process of its own so that its memory is the
 * worker's alone: built by the service's own factory (workers/worker.ts) with the service's default configuration
 * (only the addresses and the task queue come from the benchmark), on the production workflows bundled with the
 * settle interceptors. Tells its parent over IPC when it is ready and how many workflows have settled.
 */
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { createDb } from '../../db/connection';
import { loadConfig } from '../../lib/config';
import { createDataConverter } from '../../lib/data-converter';
import { createMailer } from '../../lib/mailer';
import { createSubprocessorClient } from '../../lib/subprocessor-client';
import { createWorker } from '../../workers/worker';

/** Messages to the parent. */
export type RetentionWorkerMessage = { ready: true; maxCachedWorkflows: number } | { settled: number };

async function main(): Promise<void> {
  const send = (message: RetentionWorkerMessage) => {
    if (process.connected) process.send?.(message);
  };
  const config = loadConfig({ ...process.env, NODE_ENV: 'development', LOG_LEVEL: 'warn' });
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const db = createDb(config.database.url, config.database.poolMax);
  const mailer = createMailer(config.smtp);
  const connection = await NativeConnection.connect({ address: config.temporal.address! });
  const settled = new Set<string>();
  const worker = await createWorker({
    connection,
    namespace: config.temporal.namespace,
    taskQueue: config.temporal.taskQueue,
    workflowBundlePath: process.env.BENCH_RETENTION_BUNDLE!,
    dataConverter: createDataConverter(config.payloadEncryption.keyring),
    deps: {
      db,
      mailer,
      subprocessorClient: createSubprocessorClient({
        timeoutMs: config.subprocessors.timeoutMs,
        outbound: config.subprocessors.outbound,
      }),
      config,
    },
    sinks: {
      bench: {
        settled: {
          fn(info) {
            settled.add(info.workflowId);
          },
          callDuringReplay: false,
        },
      },
    },
  });
  const report = setInterval(() => send({ settled: settled.size }), 100);
  process.once('disconnect', () => {
    clearInterval(report);
    worker.shutdown();
  });
  send({ ready: true, maxCachedWorkflows: config.temporal.maxCachedWorkflows });
  await worker.run();
  clearInterval(report);
  await connection.close();
  mailer.close();
  await db.destroy();
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
