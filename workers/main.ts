/**
 * Production worker entry point: validate config, install logging, connect, run until SIGINT/SIGTERM.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Client } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { createDb } from '../db/connection';
import { loadConfig } from '../lib/config';
import { createDataConverter } from '../lib/data-converter';
import { createLogger, installTemporalLogging } from '../lib/logger';
import { createMailer } from '../lib/mailer';
import { installProcessGuards } from '../lib/process-guards';
import { createSubprocessorClient } from '../lib/subprocessor-client';
import { temporalConnectionOptions } from '../lib/temporal-connection';
import { databaseTlsOptions } from '../lib/tls-files';
import { auditChainGauge, subprocessorFailureCounter } from './metrics';
import { ensureSchedules } from './schedules';
import { createWorker } from './worker';

/**
 * The bundle `npm run build` writes (dist/workflow-bundle.js), found beside the compiled code when this runs from
 * dist/; used when WORKFLOW_BUNDLE_PATH is not set. Running from sources without one bundles at start-up.
 */
const DEFAULT_BUNDLE = path.join(__dirname, '..', 'workflow-bundle.js');

async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger({ service: 'worker', level: config.logLevel });
  installProcessGuards(logger);
  // The SDK's Runtime telemetry (and the counters of workers/metrics.ts) for Prometheus, on the worker's own port.
  const metricsAddress = `${config.metrics.host}:${config.metrics.workerPort}`;
  installTemporalLogging(logger, 'INFO', { prometheusBindAddress: metricsAddress });
  if (config.payloadEncryption.insecureDevKey)
    logger.warn('payloads are encrypted with the well-known development key: set PAYLOAD_KEYS for real data');
  const db = createDb(config.database.url, config.database.poolMax, databaseTlsOptions(config));
  const mailer = createMailer(config.smtp);
  const connection = await NativeConnection.connect(temporalConnectionOptions(config));
  const dataConverter = createDataConverter(config.payloadEncryption.keyring);
  const bundle = config.temporal.workflowBundlePath ?? (fs.existsSync(DEFAULT_BUNDLE) ? DEFAULT_BUNDLE : undefined);
  const worker = await createWorker({
    connection,
    namespace: config.temporal.namespace,
    taskQueue: config.temporal.taskQueue,
    workflowBundlePath: bundle,
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
  // The service's schedules (retention sweep, contract-end check), created or brought up to date at every start.
  const client = new Client({ connection, namespace: config.temporal.namespace, dataConverter });
  const schedules = await ensureSchedules(client, config);
  logger.info('schedules ensured', { ...schedules });
  logger.info('worker started', {
    taskQueue: config.temporal.taskQueue,
    namespace: config.temporal.namespace,
    bundle: bundle ?? 'sources',
    metrics: `http://${metricsAddress}/metrics`,
  });
  // The SDK's worker shuts down gracefully on SIGINT/SIGTERM by default (shutdownSignals), finishing in-flight tasks.
  await worker.run();
  await connection.close();
  mailer.close();
  await db.destroy();
  logger.info('worker stopped');
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
