/**
 * What every CLI command shares: a database connection and a Temporal client from the validated configuration, who is
 * acting, and how results are printed (a table or summary for people, `--json` for scripts).
 */
import { Client, Connection } from '@temporalio/client';
import { createDb, type Db } from '../../db/connection';
import { loadConfig, type AppConfig } from '../../lib/config';
import { createDataConverter } from '../../lib/data-converter';
import { temporalConnectionOptions } from '../../lib/temporal-connection';
import { databaseTlsOptions } from '../../lib/tls-files';

/** Runs `fn` with a one-connection pool to DATABASE_URL (TLS as configured) and closes it afterwards. */
export async function withDb<T>(fn: (db: Db) => Promise<T>): Promise<T> {
  const config = loadConfig();
  const db = createDb(config.database.url, 1, databaseTlsOptions(config));
  try {
    return await fn(db);
  } finally {
    await db.destroy();
  }
}

/**
 * Runs `fn` with a Temporal client for TEMPORAL_ADDRESS (else the local dev server), with the payload keys of the
 * workers so query results are readable, and closes the connection afterwards.
 */
export async function withTemporal<T>(fn: (client: Client, config: AppConfig) => Promise<T>): Promise<T> {
  const config = loadConfig();
  const connection = await Connection.connect(temporalConnectionOptions(config));
  try {
    const client = new Client({
      connection,
      namespace: config.temporal.namespace,
      dataConverter: createDataConverter(config.payloadEncryption.keyring),
    });
    return await fn(client, config);
  } finally {
    await connection.close();
  }
}

/** Actor for changes made from the CLI: the operating-system user who ran it. */
export function cliActor(): string {
  return `cli:${process.env.USER ?? 'unknown'}`;
}

/** Prints `value` as JSON (for `--json`), or calls `human` to print it for people. */
export function output<T>(json: boolean | undefined, value: T, human: (value: T) => void): void {
  if (json) console.log(JSON.stringify(value, null, 2));
  else human(value);
}
