/**
 * knex connection and migration settings. One function so that the API, the worker, the scripts and the tests all
 * talk to PostgreSQL the same way.
 */
import path from 'node:path';
import knex, { type Knex } from 'knex';
import { types } from 'pg';

// DATE columns are calendar dates, not instants: keep them as 'YYYY-MM-DD' strings instead of local-midnight Dates.
types.setTypeParser(types.builtins.DATE, (value: string) => value);

export type Db = Knex;

/** Where the timestamped migrations live (works from sources under tsx and from the compiled `dist/`). */
export const MIGRATIONS_DIRECTORY = path.join(__dirname, 'migrations');

/** Connection settings beyond the URL. */
export interface DbOptions {
  /**
   * CA bundle (PEM) the server certificate must chain to (DATABASE_SSL_CA_PATH). When set, the connection uses TLS and
   * verifies the certificate and the host name against it (libpq's `verify-full`); `sslmode`, `ssl` and `sslrootcert`
   * in the URL are superseded. Without it, `?sslmode=verify-full` (or `require`, which pg 8 treats the same) in the URL
   * verifies against the system CAs.
   */
  sslCa?: string | Buffer;
}

/** knex configuration for a PostgreSQL URL. */
export function knexConfig(url: string, poolMax = 10, options: DbOptions = {}): Knex.Config {
  return {
    client: 'pg',
    connection: connectionSettings(url, options),
    pool: { min: 0, max: poolMax },
    migrations: {
      directory: MIGRATIONS_DIRECTORY,
      tableName: 'knex_migrations',
      loadExtensions: ['.ts', '.js'],
    },
  };
}

/** The URL as is, or (with a CA) the URL without its TLS parameters plus an explicit, verifying `ssl` setting. */
function connectionSettings(url: string, options: DbOptions): string | Knex.PgConnectionConfig {
  if (options.sslCa === undefined) return url;
  const parsed = new URL(url);
  const mode = parsed.searchParams.get('sslmode');
  if (mode === 'disable' || mode === 'no-verify')
    throw new Error(`DATABASE_SSL_CA_PATH is set but DATABASE_URL asks for sslmode=${mode}: remove one of them`);
  if (parsed.searchParams.has('sslcert') || parsed.searchParams.has('sslkey'))
    throw new Error(
      'DATABASE_SSL_CA_PATH cannot be combined with sslcert/sslkey in DATABASE_URL: put sslrootcert in the URL instead',
    );
  // pg lets TLS parameters in the connection string override an explicit `ssl`, so they are taken out.
  for (const param of ['sslmode', 'ssl', 'sslrootcert']) parsed.searchParams.delete(param);
  return { connectionString: parsed.toString(), ssl: { ca: options.sslCa, rejectUnauthorized: true } };
}

/** Opens a pool. Call `destroy()` on the result when done. */
export function createDb(url: string, poolMax = 10, options: DbOptions = {}): Db {
  return knex(knexConfig(url, poolMax, options));
}

/**
 * Creates the database named in `url` if it does not exist yet, connecting to the server's `postgres` database to do
 * so. Returns true when it was created.
 */
export async function ensureDatabase(url: string): Promise<boolean> {
  const target = new URL(url);
  const name = decodeURIComponent(target.pathname.replace(/^\//, ''));
  if (!/^[A-Za-z0-9_]+$/.test(name))
    throw new Error(`DATABASE_URL names an unusual database "${name}": create it yourself`);
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const db = knex({ client: 'pg', connection: admin.toString(), pool: { min: 0, max: 1 } });
  try {
    const found = await db<{ datname: string }>('pg_database').where({ datname: name }).first('datname');
    if (found) return false;
    await db.raw(`create database "${name}"`);
    return true;
  } finally {
    await db.destroy();
  }
}

/** Drops a database (tests only: each run gets a fresh one). */
export async function dropDatabase(url: string): Promise<void> {
  const name = decodeURIComponent(new URL(url).pathname.replace(/^\//, ''));
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const db = knex({ client: 'pg', connection: admin.toString(), pool: { min: 0, max: 1 } });
  try {
    await db.raw(`drop database if exists "${name}" with (force)`);
  } finally {
    await db.destroy();
  }
}

/** Runs every pending migration; returns the names applied. */
export async function migrateLatest(db: Db): Promise<string[]> {
  const [, applied] = (await db.migrate.latest()) as [number, string[]];
  return applied;
}
