/** Production API entry point: validate config, connect, listen, stop cleanly on SIGINT/SIGTERM. */
import { Client, Connection } from '@temporalio/client';
import { createDb } from '../db/connection';
import { loadConfig } from '../lib/config';
import { createDataConverter } from '../lib/data-converter';
import { createLogger } from '../lib/logger';
import { AesGcmPayloadCodec } from '../lib/payload-codec';
import { installProcessGuards } from '../lib/process-guards';
import { temporalConnectionOptions } from '../lib/temporal-connection';
import { databaseTlsOptions, httpTlsOptions } from '../lib/tls-files';
import { createApp } from './app';
import { createApiMetrics, startMetricsServer } from './metrics';
import { startServer } from './server';

async function main(): Promise<void> {
  const config = loadConfig();
  const log = createLogger({ service: 'api', level: config.logLevel });
  installProcessGuards(log);
  if (config.payloadEncryption.insecureDevKey)
    log.warn('payloads are encrypted with the well-known development key: set PAYLOAD_KEYS for real data');
  const db = createDb(config.database.url, config.database.poolMax, databaseTlsOptions(config));
  const connection = await Connection.connect(temporalConnectionOptions(config));
  const temporal = new Client({
    connection,
    namespace: config.temporal.namespace,
    dataConverter: createDataConverter(config.payloadEncryption.keyring),
  });
  const metrics = createApiMetrics({ db, processMetrics: true });
  const app = createApp({
    db,
    metrics,
    temporal,
    taskQueue: config.temporal.taskQueue,
    log,
    config,
    codec: { codec: new AesGcmPayloadCodec(config.payloadEncryption.keyring), corsOrigins: config.codec.corsOrigins },
  });
  const running = await startServer(app, config.http.port, config.http.host, httpTlsOptions(config));
  const metricsServer = await startMetricsServer(metrics.registry, config.metrics.apiPort, config.metrics.host);
  log.info('api listening', { url: running.url, docs: `${running.url}/docs`, metrics: `${metricsServer.url}/metrics` });
  const stop = async (): Promise<void> => {
    await running.stop();
    await metricsServer.stop();
    await connection.close();
    await db.destroy();
    log.info('api stopped');
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
