/**
 * A private PostgreSQL cluster for one fault scenario: Debian's server binaries (`/usr/lib/postgresql/<v>/bin`), a
 * data directory in a temporary directory, a free port on 127.0.0.1, trust authentication, the Unix socket in the data
 * directory. The suite stops it (`pg_ctl stop -m immediate`: connections drop as in a crash) and starts it again on the
 * same data; the machine's shared server on 5432 is never touched. Run as root, the binaries run as the `postgres`
 * user (initdb refuses root).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './processes';

/** A running (or stopped) private cluster. */
export interface PrivatePostgres {
  port: number;
  /** URL of `database` on this cluster (user postgres, no password). */
  url(database: string): string;
  /** Stops the server; `immediate` (default) aborts every connection and skips the shutdown checkpoint, like a crash. */
  stop(mode?: 'immediate' | 'fast'): void;
  /** Starts it again on the same data directory and port; returns once it accepts connections. */
  start(): void;
  /** Stops it (if running) and deletes its data directory. */
  destroy(): void;
  /** The postmaster's process id while it runs (its `postmaster.pid`), for benchmarks that count its CPU. */
  serverPid(): number | undefined;
}

/** The directory of the newest PostgreSQL server binaries Debian installed. */
export function postgresBinDir(): string {
  const root = '/usr/lib/postgresql';
  const versions = fs.existsSync(root)
    ? fs
        .readdirSync(root)
        .filter((v) => fs.existsSync(path.join(root, v, 'bin', 'initdb')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (versions.length === 0)
    throw new Error('no PostgreSQL server binaries in /usr/lib/postgresql/*/bin: apt-get install postgresql');
  return path.join(root, versions[0]!, 'bin');
}

/** Initialises and starts a cluster in a new temporary directory. */
export async function startPrivatePostgres(name: string): Promise<PrivatePostgres> {
  const bin = postgresBinDir();
  const asRoot = process.getuid?.() === 0;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `dlo-faults-pg-${name}-`));
  const dataDir = path.join(dir, 'data');
  const logFile = path.join(dir, 'postgres.log');
  if (asRoot) execFileSync('chown', ['postgres:postgres', dir]);
  const run = (tool: string, args: string[]) => {
    const [command, fullArgs] = asRoot
      ? ['runuser', ['-u', 'postgres', '--', path.join(bin, tool), ...args]]
      : [path.join(bin, tool), args];
    execFileSync(command, fullArgs, { stdio: ['ignore', 'pipe', 'pipe'], cwd: dir });
  };
  run('initdb', ['-D', dataDir, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--no-sync', '--no-instructions']);
  const port = await freePort();
  const options = [
    `-p ${port}`,
    `-k ${dataDir}`,
    '-c listen_addresses=127.0.0.1',
    // Test data: durability against a power cut is not what is tested here (a crash of the server process is).
    '-c fsync=off',
    '-c full_page_writes=off',
    '-c max_connections=200',
  ].join(' ');
  let running = false;
  const cluster: PrivatePostgres = {
    port,
    url: (database) => `postgres://postgres@127.0.0.1:${port}/${database}`,
    start() {
      run('pg_ctl', ['-D', dataDir, '-l', logFile, '-o', options, '-w', '-t', '120', 'start']);
      running = true;
    },
    stop(mode = 'immediate') {
      if (!running) return;
      run('pg_ctl', ['-D', dataDir, '-m', mode, '-w', '-t', '120', 'stop']);
      running = false;
    },
    serverPid() {
      try {
        const pid = Number.parseInt(fs.readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]!, 10);
        return Number.isInteger(pid) && pid > 0 ? pid : undefined;
      } catch {
        return undefined;
      }
    },
    destroy() {
      try {
        cluster.stop('immediate');
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    },
  };
  cluster.start();
  process.once('exit', () => {
    if (running) cluster.destroy();
  });
  return cluster;
}
