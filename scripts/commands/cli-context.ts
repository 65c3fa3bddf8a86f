/**
 * What every CLI command shares: a database connection and a Temporal client from the validated configuration, who is
 * acting, and how results are printed (a table or summary for people, `--json` for scripts).
 */
import os from 'node:os';
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

/** Who runs this CLI process when `--actor` names them (set once by scripts/cli.ts before a command runs). */
let namedActor: string | undefined;

/** Rule for `--actor`: a name or an address, as it will appear in audit events. */
const ACTOR_NAME = /^[\p{L}\p{N}][\p{L}\p{N}._@+-]{0,99}$/u;

/**
 * Records the operator named by `--actor` for {@link cliActor}.
 * @throws Error naming the option and its rule when the name is not usable.
 */
export function setCliActor(name: string | undefined): void {
  if (name === undefined) return;
  if (!ACTOR_NAME.test(name.trim()))
    throw new Error(
      `--actor must be a name such as "alice" or "alice@example.com" (letters, digits, . _ @ + -; up to 100)`,
    );
  namedActor = name.trim();
}

/**
 * Actor for changes made from the CLI, as audit events record it: `cli:<name>` with the operator named by `--actor`,
 * else the operating-system account that runs the process (`os.userInfo()`, which does not trust `$USER`).
 * @throws Error when neither is known, so no change is ever audited as an anonymous `cli:unknown`.
 */
export function cliActor(): string {
  if (namedActor) return `cli:${namedActor}`;
  let user: string | undefined;
  try {
    user = os.userInfo().username;
  } catch {
    // no passwd entry for this uid (some containers)
  }
  if (!user) throw new Error('cannot tell who runs this command: name yourself with --actor <name>');
  return `cli:${user}`;
}

/** Prints `value` as JSON (for `--json`), or calls `human` to print it for people. */
export function output<T>(json: boolean | undefined, value: T, human: (value: T) => void): void {
  if (json) console.log(JSON.stringify(value, null, 2));
  else human(value);
}
