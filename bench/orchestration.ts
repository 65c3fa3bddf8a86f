/**
 * `npm run bench -- orchestration [--count N] [--concurrency C] [--rounds R]`: how close a complete onboarding comes to the bare
 * cost of its orchestration.
 *
 * On loopback, the service as deployed (bench/support/service-stack.ts: a private PostgreSQL cluster, a Temporal dev
 * server, the API process and a worker process of the production code, the SMTP sink and the subprocessor simulator)
 * runs, on the same server, in R rounds (default 4) that alternate which side goes first:
 *
 * 1. **measured**: N onboardings (default 100), each started through the API (`POST /v1/customers`, three demo
 *    subprocessors) and awaited to completion, C at a time (default 10): the real activities (customer recorded,
 *    tenants registered over signed HTTP, welcome email over SMTP, activation, audit events) and the retention
 *    lifecycle started as a child;
 * 2. **baseline**: N workflows (bench/orchestration-workflows/noop-activities.ts) with as many activities as one
 *    onboarding scheduled (counted from a completed onboarding's history) in the same shape (one, then the
 *    subprocessor registrations at once, then the rest one by one), each doing nothing, on a worker in this process,
 *    started with `client.workflow.execute`, C at a time.
 *
 * Rate = N / the summed time of a side's rounds (first start ... last completion). ratio = onboardings/s / no-op workflows/s (target >= 0.7).
 * Where the time went: the CPU each process of the stack used per run on each side (bench/support/process-cpu.ts),
 * then waits and runs from the histories (bench/support/history-breakdown.ts).
 *
 * Last line: `orchestration: ratio=... target=0.7 onboardings_per_s=... baseline_per_s=... activities=...`.
 * Method and figures: docs/benchmarks.md.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { Worker, bundleWorkflowCode, NativeConnection, DefaultLogger, Runtime } from '@temporalio/worker';
import { Command } from 'commander';
import { FAILURE_CONVERTER_PATH } from '../lib/data-converter';
import { onboardingBody } from '../test/support/fixtures';
import { SUBPROCESSORS } from '../test/faults/support/onboardings';
import { breakdownOf, describeBreakdown } from './support/history-breakdown';
import { addCpu, describeCpu, readStackCpu, type CpuReading } from './support/process-cpu';
import { percentile, startServiceStack } from './support/service-stack';

const TARGET = 0.7;

const program = new Command()
  .name('orchestration')
  .option('--count <n>', 'workflows per phase', (v) => Number.parseInt(v, 10), 100)
  .option('--concurrency <n>', 'workflows in flight', (v) => Number.parseInt(v, 10), 10)
  .option('--rounds <n>', 'rounds the phases alternate in', (v) => Number.parseInt(v, 10), 4)
  .parse(process.argv);
const opts = program.opts<{ count: number; concurrency: number; rounds: number }>();
if (!(opts.count > 0) || !(opts.concurrency > 0) || !(opts.rounds > 0)) {
  console.error('--count, --concurrency and --rounds must be positive integers');
  process.exit(2);
}

/** Runs `one(i)` for i in [0, n), `concurrency` at a time; answers the seconds it took. */
async function inFlight(n: number, concurrency: number, one: (i: number) => Promise<void>): Promise<number> {
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: Math.min(concurrency, n) }, async () => {
      while (next < n) await one(next++);
    }),
  );
  return (performance.now() - t0) / 1000;
}

async function main(): Promise<void> {
  const { count: n, concurrency } = opts;
  Runtime.install({ logger: new DefaultLogger('WARN') });
  console.log(`orchestration: ${n} onboardings and ${n} no-op workflows, ${concurrency} at a time`);
  const stack = await startServiceStack('orchestration');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dlo-bench-orchestration-'));
  try {
    const measuredIds: string[] = [];
    const baselineIds: string[] = [];
    const apiMs: number[] = [];
    const onboard = async () => {
      const t0 = performance.now();
      const res = await stack.http('POST', '/v1/customers', onboardingBody(SUBPROCESSORS));
      apiMs.push(performance.now() - t0);
      if (res.status !== 202) throw new Error(`onboarding answered ${res.status}: ${JSON.stringify(res.body)}`);
      await stack.client.workflow.getHandle(res.body.workflowId as string).result();
      return res.body.workflowId as string;
    };
    // Warm-up (not measured), and the activity count of one onboarding from its history.
    const warmIds: string[] = [];
    await inFlight(Math.min(5, n), concurrency, async () => void warmIds.push(await onboard()));
    const history = await stack.client.workflow.getHandle(warmIds[0]!).fetchHistory();
    const activities = (history.events ?? []).filter((e) => e.activityTaskScheduledEventAttributes).length;
    console.log(`  one onboarding schedules ${activities} activities (${SUBPROCESSORS.length} at once)`);

    const { code } = await bundleWorkflowCode({
      workflowsPath: require.resolve('./orchestration-workflows/noop-activities'),
      failureConverterPath: FAILURE_CONVERTER_PATH,
      logger: new DefaultLogger('WARN'),
    });
    const bundlePath = path.join(dir, 'noop-activities-bundle.js');
    fs.writeFileSync(bundlePath, code);
    const connection = await NativeConnection.connect({ address: stack.temporal.address });
    const taskQueue = `bench-orchestration-noop-${randomUUID().slice(0, 8)}`;
    const worker = await Worker.create({
      connection,
      namespace: stack.temporal.namespace,
      taskQueue,
      workflowBundle: { codePath: bundlePath },
      activities: { noop: () => Promise.resolve() },
      dataConverter: stack.client.options.dataConverter,
    });
    const input = { activities, parallel: SUBPROCESSORS.length };
    const run = async (i: string) => {
      await stack.client.workflow.execute('noopActivitiesWorkflow', {
        taskQueue,
        workflowId: `bench-noop-${i}`,
        args: [input],
      });
      return `bench-noop-${i}`;
    };

    // Rounds of N/R onboardings and N/R baseline workflows, the side going first alternating, so that the load of
    // other processes on a shared machine falls on both alike.
    apiMs.length = 0;
    let onboardingSeconds = 0;
    let baselineSeconds = 0;
    const onboardingCpu: CpuReading = {};
    const baselineCpu: CpuReading = {};
    await worker.runUntil(async () => {
      await inFlight(Math.min(5, n), concurrency, async (i) => void (await run(`warm-${i}`)));
      for (let round = 0; round < opts.rounds; round++) {
        const size = Math.floor(n / opts.rounds) + (round < n % opts.rounds ? 1 : 0);
        const sides = [
          async () => {
            const before = readStackCpu(stack);
            onboardingSeconds += await inFlight(size, concurrency, async () => void measuredIds.push(await onboard()));
            addCpu(onboardingCpu, before, readStackCpu(stack));
          },
          async () => {
            const before = readStackCpu(stack);
            baselineSeconds += await inFlight(
              size,
              concurrency,
              async (i) => void baselineIds.push(await run(`${round}-${i}`)),
            );
            addCpu(baselineCpu, before, readStackCpu(stack));
          },
        ];
        if (round % 2 === 1) sides.reverse();
        for (const side of sides) await side();
        console.log(
          `  round ${round + 1}/${opts.rounds}: ${size} each; so far onboardings ${onboardingSeconds.toFixed(1)} s, baseline ${baselineSeconds.toFixed(1)} s`,
        );
      }
    });
    await connection.close();
    const onboardingsPerSecond = n / onboardingSeconds;
    console.log(`  onboardings: ${n} in ${onboardingSeconds.toFixed(1)} s = ${onboardingsPerSecond.toFixed(2)}/s`);
    const baselinePerSecond = n / baselineSeconds;
    console.log(`  baseline: ${n} in ${baselineSeconds.toFixed(1)} s = ${baselinePerSecond.toFixed(2)}/s`);

    // Where the time went, from the histories: what to look at when the ratio misses its target.
    console.log(
      `  API answer (POST /v1/customers): p50 ${percentile(apiMs, 50).toFixed(1)} ms, p99 ${percentile(apiMs, 99).toFixed(1)} ms`,
    );
    for (const line of [
      ...describeCpu('onboardings', onboardingCpu, n, onboardingSeconds),
      ...describeCpu('baseline', baselineCpu, n, baselineSeconds),
    ])
      console.log(line);
    for (const line of describeBreakdown('onboardings', await breakdownOf(stack.client.workflow, measuredIds)))
      console.log(line);
    for (const line of describeBreakdown('baseline', await breakdownOf(stack.client.workflow, baselineIds)))
      console.log(line);

    const ratio = onboardingsPerSecond / baselinePerSecond;
    console.log(
      `orchestration: ratio=${ratio.toFixed(2)} target=${TARGET} onboardings_per_s=${onboardingsPerSecond.toFixed(2)} ` +
        `baseline_per_s=${baselinePerSecond.toFixed(2)} activities=${activities} count=${n} concurrency=${concurrency}`,
    );
  } finally {
    await stack.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
