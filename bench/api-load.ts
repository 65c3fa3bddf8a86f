/**
 * `npm run bench -- api-load [--rate R] [--seconds S] [--completion-timeout S]`: what the API adds to starting a
 * workflow, under a steady load of new requests.
 *
 * On loopback, the service as deployed (bench/support/service-stack.ts: a private PostgreSQL cluster, a Temporal dev
 * server, the API process and a worker process of the production code) receives, for S seconds (default 60):
 *
 * - **measured**: R requests per second (default 8) through the API, from 16 client addresses (127.0.0.2 and up, the
 *   API's limits being per address), alternating `POST /v1/customers` (an onboarding with the three demo subprocessors) and
 *   `POST /v1/customers/<id>/access-requests` (from an address that is not a registered contact, so the request is
 *   refused and its workflow completes without anyone acting); each call is timed from send to answer;
 * - **baseline**, at the same time and rate: `client.workflow.start` of the same workflow types, with the same search
 *   attributes, memo and payload codec, from this process, on a task queue no worker polls (terminated afterwards).
 *
 * Both are open loops (a slow answer does not delay the next call), running side by side so that the machine's load
 * falls on both alike. ratio = p99 of the API's start latency / p99 of the bare starts (target <= 1.3). Then every
 * request the API accepted must complete (its workflow closed as completed) within the completion timeout, and no
 * call may fail.
 *
 * Last line: `api-load: ratio=... target=1.3 api_p99_ms=... bare_p99_ms=... api_p50_ms=... bare_p50_ms=...
 * requests=... errors=... completed=.../...`. Method and figures: docs/benchmarks.md.
 */
import { randomUUID } from 'node:crypto';
import { Command } from 'commander';
import { Agent, fetch as undiciFetch } from 'undici';
import { seedDemoCustomer } from '../scripts/seed-demo-customer';
import { searchAttributes } from '../lib/pure/temporal-ids';
import { onboardingBody } from '../test/support/fixtures';
import { SUBPROCESSORS } from '../test/faults/support/onboardings';
import { atFixedRate, percentile, startServiceStack } from './support/service-stack';

const TARGET = 1.3;

const program = new Command()
  .name('api-load')
  .option('--rate <n>', 'requests per second (each of API and baseline)', (v) => Number(v), 8)
  .option('--seconds <n>', 'how long the load lasts', (v) => Number(v), 60)
  .option('--completion-timeout <n>', 'seconds to wait for every accepted request to complete', (v) => Number(v), 900)
  .option('--clients <n>', 'client addresses (127.0.0.2 and up) the API calls come from', (v) => Number(v), 16)
  .parse(process.argv);
const opts = program.opts<{ rate: number; seconds: number; completionTimeout: number; clients: number }>();
if (!(opts.rate > 0) || !(opts.seconds > 0)) {
  console.error('--rate and --seconds must be positive numbers');
  process.exit(2);
}

async function main(): Promise<void> {
  const n = Math.round(opts.rate * opts.seconds);
  console.log(`api-load: ${opts.rate} requests/s for ${opts.seconds} s (${n} through the API, ${n} bare starts)`);
  const stack = await startServiceStack('api-load');
  try {
    const seed = await seedDemoCustomer(stack.db, { operationalRows: 10, technicalRows: 10, communicationRows: 2 });
    const baselineQueue = `bench-api-load-baseline-${randomUUID().slice(0, 8)}`;

    // Concurrent clients, each from an address of its own (the API's limits are per address, as in production).
    const clients = Array.from(
      { length: opts.clients },
      (_, i) => new Agent({ localAddress: `127.0.0.${2 + i}`, connections: 8 }),
    );
    const token = await stack.token('support');
    const post = async (client: Agent, urlPath: string, body: unknown) => {
      const res = await undiciFetch(`${stack.api!.url}${urlPath}`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
        body: JSON.stringify(body),
        dispatcher: client,
      });
      const text = await res.text();
      return { status: res.status, body: (text ? JSON.parse(text) : null) as { workflowId?: string } };
    };
    const viaApi = async (i: number) => {
      const client = clients[i % clients.length]!;
      const t0 = performance.now();
      const res =
        i % 2 === 0
          ? await post(client, '/v1/customers', onboardingBody(SUBPROCESSORS))
          : await post(client, `/v1/customers/${seed.customerId}/access-requests`, {
              requesterEmail: `someone-${randomUUID().slice(0, 8)}@elsewhere.example`,
              scope: 'all',
            });
      return { ms: performance.now() - t0, status: res.status, body: res.body };
    };
    const bare = async (i: number) => {
      const requestId = randomUUID();
      const customerId = randomUUID();
      const type = i % 2 === 0 ? 'onboarding' : 'access';
      const t0 = performance.now();
      await stack.client.workflow.start(i % 2 === 0 ? 'onboardingWorkflow' : 'accessRequestWorkflow', {
        taskQueue: baselineQueue,
        workflowId: `bench-bare-${type}-${requestId}`,
        args: [{ requestId, customerId, workflowId: `bench-bare-${type}-${requestId}`, actor: 'staff:bench' }],
        workflowIdReusePolicy: 'REJECT_DUPLICATE',
        workflowIdConflictPolicy: 'FAIL',
        memo: { requestedBy: 'staff:bench' },
        typedSearchAttributes: [
          { key: searchAttributes.customerId, value: customerId },
          { key: searchAttributes.requestId, value: requestId },
          { key: searchAttributes.requestType, value: type },
          { key: searchAttributes.requestStage, value: 'received' },
        ],
      });
      return { ms: performance.now() - t0, workflowId: `bench-bare-${type}-${requestId}` };
    };

    // Warm-up (not measured): JIT, connection pools, the server's task queues.
    await atFixedRate(10, 5, async (i) => {
      await Promise.all([viaApi(i), bare(i)]);
    });

    const api: { ms: number; status: number; workflowId?: string }[] = [];
    const baseline: { ms: number; workflowId?: string; error?: string }[] = [];
    const t0 = performance.now();
    await Promise.all([
      atFixedRate(n, opts.rate, async (i) => {
        try {
          const r = await viaApi(i);
          api.push({ ms: r.ms, status: r.status, workflowId: r.body?.workflowId });
          if (r.status !== 202) console.error(`  API call ${i}: ${r.status} ${JSON.stringify(r.body)}`);
        } catch (err) {
          api.push({ ms: NaN, status: 0, workflowId: undefined });
          console.error(`  API call ${i}: ${(err as Error).message}`);
        }
      }),
      atFixedRate(n, opts.rate, async (i) => {
        try {
          baseline.push(await bare(i));
        } catch (err) {
          baseline.push({ ms: NaN, error: (err as Error).message });
        }
      }),
    ]);
    const loadSeconds = (performance.now() - t0) / 1000;
    const accepted = api.filter((r) => r.status === 202 && r.workflowId);
    const apiErrors = api.length - accepted.length;
    const bareErrors = baseline.filter((r) => r.error).length;
    const apiP99 = percentile(
      accepted.map((r) => r.ms),
      99,
    );
    const bareP99 = percentile(
      baseline.filter((r) => !r.error).map((r) => r.ms),
      99,
    );
    const apiP50 = percentile(
      accepted.map((r) => r.ms),
      50,
    );
    const bareP50 = percentile(
      baseline.filter((r) => !r.error).map((r) => r.ms),
      50,
    );
    console.log(
      `  load: ${loadSeconds.toFixed(1)} s; API p50 ${apiP50.toFixed(1)} ms, p99 ${apiP99.toFixed(1)} ms ` +
        `(${accepted.length} accepted, ${apiErrors} errors: ${JSON.stringify(countBy(api.map((r) => r.status)))}); ` +
        `bare start p50 ${bareP50.toFixed(1)} ms, p99 ${bareP99.toFixed(1)} ms (${bareErrors} errors)`,
    );

    await Promise.all(clients.map((c) => c.close()));

    // Every accepted request's workflow completes.
    const completedAt = performance.now();
    let completed = 0;
    const until = Date.now() + opts.completionTimeout * 1000;
    const open = new Set(accepted.map((r) => r.workflowId!));
    while (open.size > 0 && Date.now() < until) {
      for (const workflowId of [...open]) {
        const { status } = await stack.client.workflow.getHandle(workflowId).describe();
        if (status.name === 'RUNNING') continue;
        open.delete(workflowId);
        if (status.name === 'COMPLETED') completed += 1;
        else console.error(`  ${workflowId} closed as ${status.name}`);
      }
      if (open.size > 0) {
        process.stdout.write(`  ${completed}/${accepted.length} completed\n`);
        await new Promise((r) => setTimeout(r, 5000));
      }
    }
    console.log(
      `  ${completed}/${accepted.length} accepted requests completed, the last ${((performance.now() - completedAt) / 1000).toFixed(1)} s after the load`,
    );

    // The baseline's workflows never ran (no worker polls their queue): terminate them.
    await atFixedRate(baseline.length, 200, async (i) => {
      const id = baseline[i]!.workflowId;
      if (id)
        await stack.client.workflow
          .getHandle(id)
          .terminate('benchmark baseline')
          .catch(() => undefined);
    });

    const ratio = apiP99 / bareP99;
    console.log(
      `api-load: ratio=${ratio.toFixed(2)} target=${TARGET} api_p99_ms=${apiP99.toFixed(1)} bare_p99_ms=${bareP99.toFixed(1)} ` +
        `api_p50_ms=${apiP50.toFixed(1)} bare_p50_ms=${bareP50.toFixed(1)} rate=${opts.rate} seconds=${opts.seconds} ` +
        `requests=${api.length} errors=${apiErrors + bareErrors} completed=${completed}/${accepted.length}`,
    );
  } finally {
    await stack.stop();
  }
}

function countBy(values: readonly number[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const v of values) counts[v] = (counts[v] ?? 0) + 1;
  return counts;
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
