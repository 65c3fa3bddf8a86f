/** Production API entry point: validate config, connect, listen, stop cleanly on SIGINT/SIGTERM. */
import { Client, Connection } from '@temporalio/client';
import { createDb } from '../db/connection';
import { loadConfig, temporalAddress } from '../lib/config';
import { createLogger } from '../lib/logger';
import { createApp } from './app';
import { startServer } from './server';

async function main(): Promise<void> {
  const config = loadConfig();
  const log = createLogger({ service: 'api', level: config.logLevel });
  const db = createDb(config.database.url, config.database.poolMax);
  const connection = await Connection.connect({ address: temporalAddress(config) });
  const temporal = new Client({ connection, namespace: config.temporal.namespace });
  const app = createApp({ db, temporal, taskQueue: config.temporal.taskQueue, log });
  const running = await startServer(app, config.http.port, config.http.host);
  log.info('api listening', { url: running.url, docs: `${running.url}/docs` });
  const stop = async (): Promise<void> => {
    await running.stop();
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
