/** What every CLI command shares: a database connection from the validated configuration, and who is acting. */
import { createDb, type Db } from '../../db/connection';
import { loadConfig } from '../../lib/config';
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

/** Actor for changes made from the CLI: the operating-system user who ran it. */
export function cliActor(): string {
  return `cli:${process.env.USER ?? 'unknown'}`;
}
