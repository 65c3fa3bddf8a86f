/**
 * CPU time of the stack's processes, read from Linux's /proc, for benchmarks that compare two sides on a machine
 * whose cores they share: a side whose processes use the cores fully runs at the rate its CPU per run allows, so
 * "where the time went" has to be counted in CPU per process, not only in waits read from histories.
 *
 * A process's CPU is user + system time of all its threads (`/proc/<pid>/stat` fields 14 and 15). PostgreSQL is the
 * postmaster, its running children and those that have exited (fields 16 and 17 of the postmaster), so a backend
 * whose connection closed between two readings still counts. Elsewhere than Linux every reading is empty and the
 * benchmark prints no CPU lines.
 */
import fs from 'node:fs';
import type { FaultStack } from '../../test/faults/support/fault-stack';
import { procStatFields } from '../../test/faults/support/processes';

/** Clock ticks per second of /proc's times (USER_HZ: 100 on every Linux the service runs on). */
const TICKS_PER_SECOND = 100;

/** CPU milliseconds so far, per named part of the stack. */
export type CpuReading = Record<string, number>;

/**
 * User + system CPU milliseconds of process `pid` (all its threads), with `children` also those of its children that
 * have exited and been waited for; 0 when it is gone.
 */
function processCpuMs(pid: number, opts: { children?: boolean } = {}): number {
  const f = procStatFields(pid);
  if (!f) return 0;
  const ticks = Number(f[11]) + Number(f[12]) + (opts.children ? Number(f[13]) + Number(f[14]) : 0);
  return (ticks * 1000) / TICKS_PER_SECOND;
}

/**
 * CPU milliseconds of the PostgreSQL server: the postmaster, its running children (backends, background workers) and
 * the children that have exited (a backend whose connection closed), which the postmaster waited for.
 */
function postgresCpuMs(postmaster: number): number {
  let ms = processCpuMs(postmaster, { children: true });
  for (const entry of fs.readdirSync('/proc')) {
    if (/^\d+$/.test(entry) && Number(procStatFields(Number(entry))?.[1]) === postmaster)
      ms += processCpuMs(Number(entry));
  }
  return ms;
}

/**
 * Reads the CPU used so far by the stack's processes: `temporal` (the dev server), `postgres`, `api`, `worker`
 * (every worker process) and `benchmark` (this process: the benchmark's own client and worker, and the fakes of the
 * SMTP server and subprocessors that run in it).
 */
export function readStackCpu(stack: FaultStack): CpuReading {
  if (process.platform !== 'linux') return {};
  const own = process.cpuUsage();
  const postmaster = stack.postgres.serverPid();
  return {
    temporal: processCpuMs(stack.temporal.process().pid),
    postgres: postmaster ? postgresCpuMs(postmaster) : 0,
    api: stack.api ? processCpuMs(stack.api.process.pid) : 0,
    worker: stack.workers.reduce((sum, w) => sum + processCpuMs(w.pid), 0),
    benchmark: (own.user + own.system) / 1000,
  };
}

/** Adds the CPU used between `before` and `after` to `total` (per part). */
export function addCpu(total: CpuReading, before: CpuReading, after: CpuReading): void {
  for (const [part, ms] of Object.entries(after)) total[part] = (total[part] ?? 0) + ms - (before[part] ?? 0);
}

/**
 * One line of CPU per run for a side: each part's milliseconds and the cores the side kept busy on average
 * (`seconds` is the side's summed wall time), or nothing when no CPU was read (not Linux).
 */
export function describeCpu(label: string, total: CpuReading, runs: number, seconds: number): string[] {
  const parts = Object.entries(total).filter(([, ms]) => ms > 0);
  if (parts.length === 0) return [];
  const sum = parts.reduce((s, [, ms]) => s + ms, 0);
  const each = parts
    .sort((a, b) => b[1] - a[1])
    .map(([part, ms]) => `${part} ${(ms / runs).toFixed(1)}`)
    .join(', ');
  return [
    `  ${label}: CPU per run ${(sum / runs).toFixed(1)} ms (${each}); ${(sum / 1000 / seconds).toFixed(2)} cores busy on average`,
  ];
}
