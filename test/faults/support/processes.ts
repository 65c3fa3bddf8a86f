/**
 * Child processes of the fault suite (Temporal dev server, workers, the API), and what the suite does to them: wait
 * until one stopped itself at a fault point (state `T` in `/proc/<pid>/stat`) or killed itself (exit by SIGKILL), send
 * SIGCONT or SIGKILL, wait for the exit. Linux only (`/proc`), like the CI machine.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';

/** How a process ended: its exit code, or the signal that ended it. */
export interface ProcessExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A process the suite started, with its log file and a promise of its end. */
export interface ServiceProcess {
  name: string;
  pid: number;
  process: ChildProcess;
  /** stdout and stderr of the process (appended). */
  logFile: string;
  exited: Promise<ProcessExit>;
  /** True once the process has ended. */
  hasExited(): boolean;
}

/** A free TCP port on 127.0.0.1 (asked of the kernel; free when this returns, not reserved). */
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

/** Spawns `command args` with its output appended to `<logDir>/<name>.log`. */
export function spawnProcess(
  name: string,
  command: string,
  args: string[],
  opts: { env: NodeJS.ProcessEnv; logDir: string; cwd?: string },
): ServiceProcess {
  fs.mkdirSync(opts.logDir, { recursive: true });
  const logFile = path.join(opts.logDir, `${name}.log`);
  const log = fs.openSync(logFile, 'a');
  const child = spawn(command, args, { cwd: opts.cwd, env: opts.env, stdio: ['ignore', log, log] });
  fs.closeSync(log);
  if (child.pid === undefined) throw new Error(`${name}: could not start ${command}`);
  let ended = false;
  const exited = new Promise<ProcessExit>((resolve) =>
    child.once('exit', (code, signal) => {
      ended = true;
      resolve({ code, signal });
    }),
  );
  // A test that fails half-way must not leave its processes behind (jest ends the worker process).
  const reap = () => {
    if (!ended) child.kill('SIGKILL');
  };
  process.once('exit', reap);
  void exited.then(() => process.removeListener('exit', reap));
  return { name, pid: child.pid, process: child, logFile, exited, hasExited: () => ended };
}

/** The repository root. */
export const ROOT = path.join(__dirname, '..', '..', '..');

/** Spawns a TypeScript entry point of the service (`node --import tsx <entry>`: one process, so signals reach it). */
export function spawnService(name: string, entry: string, env: NodeJS.ProcessEnv, logDir: string): ServiceProcess {
  return spawnProcess(name, process.execPath, ['--import', 'tsx', path.join(ROOT, entry)], { env, logDir, cwd: ROOT });
}

/**
 * The fields of `/proc/<pid>/stat` after the command name, or undefined when there is no such process. The command
 * name (field 2) is in parentheses and may contain spaces, so the fields are split after the last `)`: index 0 is the
 * state (field 3), 1 the parent's pid, 11 and 12 the process's user and system time, 13 and 14 those of its children
 * that it has waited for (clock ticks).
 */
export function procStatFields(pid: number): string[] | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/**
 * The scheduler state of a process from `/proc/<pid>/stat` (`R` running, `S` sleeping, `T` stopped, `Z` zombie, ...),
 * or undefined when there is no such process.
 */
export function processState(pid: number): string | undefined {
  return procStatFields(pid)?.[0];
}

/** Polls `check` every `intervalMs` until it returns a value other than undefined; fails after `timeoutMs`. */
export async function waitUntil<T>(
  what: string,
  check: () => Promise<T | undefined> | T | undefined,
  opts: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<T> {
  const { timeoutMs = 120_000, intervalMs = 100 } = opts;
  const until = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > until)
      throw new Error(
        `${what}: not within ${Math.round(timeoutMs / 1000)} s` +
          (lastError ? ` (last error: ${(lastError as Error).message})` : ''),
      );
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/**
 * Waits until `service` stopped itself (a `stop` fault point: SIGSTOP, state `T`). Fails at once if it exited instead.
 */
export async function waitForStopped(service: ServiceProcess, timeoutMs = 120_000): Promise<void> {
  await waitUntil(
    `${service.name} (pid ${service.pid}) stopped at its fault point`,
    () => {
      if (service.hasExited()) throw new Error(`${service.name} exited instead of stopping: see ${service.logFile}`);
      const state = processState(service.pid);
      return state === 'T' || state === 't' ? true : undefined;
    },
    { timeoutMs },
  );
}

/** Waits until `service` has exited; answers how. */
export async function waitForExit(service: ServiceProcess, timeoutMs = 120_000): Promise<ProcessExit> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${service.name} (pid ${service.pid}) did not exit within ${timeoutMs / 1000} s`)),
      timeoutMs,
    );
  });
  try {
    return await Promise.race([service.exited, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Waits until `service` killed itself at a fault point (a `kill` fault point: exit by SIGKILL). Fails when it exited
 * any other way.
 */
export async function waitForKilled(service: ServiceProcess, timeoutMs = 120_000): Promise<void> {
  const exit = await waitForExit(service, timeoutMs);
  if (exit.signal !== 'SIGKILL')
    throw new Error(
      `${service.name} exited with ${exit.signal ?? `code ${exit.code}`}, not SIGKILL: see ${service.logFile}`,
    );
}

/** Sends SIGKILL now, synchronously (from inside a fake's callback, before the fake answers); does not wait. */
export function killNow(service: ServiceProcess): void {
  if (!service.hasExited()) service.process.kill('SIGKILL');
}

/** SIGKILL (as `kill -9`): nothing is flushed, closed or rolled back by the process. Waits for the exit. */
export async function killHard(service: ServiceProcess): Promise<void> {
  if (service.hasExited()) return;
  service.process.kill('SIGKILL');
  await waitForExit(service, 30_000);
}

/** SIGCONT: a stopped process goes on where it stopped. */
export function resume(service: ServiceProcess): void {
  service.process.kill('SIGCONT');
}

/** SIGTERM and wait (a graceful stop, e.g. a worker draining); SIGKILL after `graceMs`. */
export async function stopGracefully(service: ServiceProcess, graceMs = 20_000): Promise<void> {
  if (service.hasExited()) return;
  // A stopped process cannot handle SIGTERM until it runs again.
  service.process.kill('SIGCONT');
  const kill = setTimeout(() => service.process.kill('SIGKILL'), graceMs);
  service.process.kill('SIGTERM');
  await service.exited;
  clearTimeout(kill);
}
