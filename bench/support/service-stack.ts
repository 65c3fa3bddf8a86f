/**
 * The service as the load benchmarks (bench/api-load.ts, bench/orchestration.ts) run it: the fault suite's stack
 * (test/faults/support/fault-stack.ts) without any fault: a private PostgreSQL cluster, a Temporal dev server, the
 * API process and a worker process of the production code (production workflow bundle, default configuration), the
 * SMTP sink and the subprocessor simulator. Everything on loopback, in a temporary directory, stopped at the end.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../lib/config';
import { bundleWorkflowsTo } from '../../scripts/bundle-workflows';
import { startFaultStack, type FaultStack } from '../../test/faults/support/fault-stack';

/** Starts the stack with the API and one worker; `stop()` removes the temporary directory too. */
export async function startServiceStack(name: string, env: Record<string, string> = {}): Promise<FaultStack> {
  // The service's default database pool (the fault suite runs with smaller ones).
  env = { DATABASE_POOL_MAX: String(loadConfig({}).database.poolMax), ...env };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `dlo-bench-${name}-`));
  const workflowBundle = await bundleWorkflowsTo(path.join(dir, 'workflow-bundle.js'));
  const stack = await startFaultStack({
    name: `bench-${name}`,
    dir: path.join(dir, 'stack'),
    workflowBundle,
    api: true,
    env,
  });
  await stack.startWorker();
  const stop = stack.stop.bind(stack);
  stack.stop = async () => {
    await stop();
    fs.rmSync(dir, { recursive: true, force: true });
  };
  return stack;
}

/** The p-th percentile (0-100) of `values` (nearest rank). */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/** Calls `fn(i)` for i in [0, n) at `rate` calls per second (open loop: a slow call does not delay the next). */
export async function atFixedRate(n: number, rate: number, fn: (i: number) => Promise<void>): Promise<void> {
  const t0 = performance.now();
  const calls: Promise<void>[] = [];
  for (let i = 0; i < n; i++) {
    const due = t0 + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    calls.push(fn(i));
  }
  await Promise.all(calls);
}
