/**
 * `npm run bench -- erasure [--rows N] [--batch-size B] [--parallel P] [--repeat R] [--keep]`: how fast the erasure
 * deletes a customer, in short batch transactions, against PostgreSQL's plain `DELETE ... WHERE customer_id = $1` of an
 * identical customer.
 *
 * In a scratch PostgreSQL database (created, migrated, dropped at the end unless --keep) the benchmark seeds R pairs
 * of demo customers (default 2) with N operational rows each (db/seed-demo-customer.ts, default 1,000,000; plus N/10
 * technical rows and 50 communication records; the seed is deterministic per row number, so the customers hold
 * identical data), runs VACUUM ANALYZE, then in each round, on a fresh pair:
 *
 * 1. erasure: the real activity code (activities/erasure.ts `eraseTables` on db/erasure-engine.ts, in a Temporal
 *    MockActivityEnvironment, heartbeats and the lease included) erases every category of customer A (termination
 *    scope) in one call, as the workflow does: every table of the plan in dependency order, P independent steps side
 *    by side (default ERASURE_PARALLEL_STEPS), in batches starting at B rows (default ERASURE_BATCH_SIZE) and sized
 *    toward the engine's time budget per batch (up to ERASURE_BATCH_MAX_SIZE), each batch one transaction that checks
 *    the lease, takes the hold lock, checks legal holds, deletes and moves its checkpoint. Statutory retention is off
 *    for the run (STATUTORY_RETENTION_ORDERS=none), so both sides delete the same rows;
 * 2. baseline: one `DELETE FROM <table> WHERE customer_id = $1` per table of customer B in plan order, each its own
 *    statement (and transaction).
 *
 * The side that goes first alternates between rounds, so that load from other processes on a shared machine falls on
 * both alike.
 *
 * rows/s = rows deleted / wall time (the erasure's includes its bookkeeping: lease, checkpoints, its audit event).
 * ratio = best erasure rows/s / best DELETE rows/s over the rounds (target >= 0.8). longest_batch_ms = the longest
 * single batch transaction of the erasure in any round (target < 200 ms), measured around each batch.
 *
 * Last line: `erasure: ratio=... target=0.8 rows_per_s=... delete_rows_per_s=... longest_batch_ms=...
 * batch_target_ms=200`. Method and figures: docs/benchmarks.md.
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { MockActivityEnvironment } from '@temporalio/testing';
import { Command } from 'commander';
import { createErasureActivities, type ErasureRef } from '../activities/erasure';
import { createDb, dropDatabase, ensureDatabase, migrateLatest } from '../db/connection';
import { seedDemoCustomer } from '../scripts/seed-demo-customer';
import { loadConfig } from '../lib/config';
import { DATA_CATEGORIES } from '../lib/pure/data-categories';
import { ERASURE_TABLES, erasableCategories } from '../lib/pure/erasure-plan';

const TARGET = 0.8;
const BATCH_TARGET_MS = 200;

const unused = (what: string) => () => {
  throw new Error(`the erasure benchmark does not ${what}`);
};

/** Runs `fn` in a Temporal activity context (heartbeats and activity info work as on a worker). */
function inActivity<T>(env: MockActivityEnvironment, fn: () => Promise<T>): Promise<T> {
  return env.run<[], T, () => Promise<T>>(fn);
}

async function main(): Promise<void> {
  const program = new Command()
    .name('bench erasure')
    .option('--rows <n>', 'operational rows per customer', (v) => Number.parseInt(v, 10), 1_000_000)
    .option('--batch-size <n>', 'rows of the first batch of each step (default ERASURE_BATCH_SIZE)', (v) =>
      Number.parseInt(v, 10),
    )
    .option('--parallel <n>', 'steps erased side by side (default ERASURE_PARALLEL_STEPS)', (v) =>
      Number.parseInt(v, 10),
    )
    .option(
      '--repeat <n>',
      'rounds, each on a fresh pair of customers (the best counts)',
      (v) => Number.parseInt(v, 10),
      2,
    )
    .option('--keep', 'keep the scratch database for inspection', false)
    .parse(process.argv);
  const o = program.opts<{ rows: number; batchSize?: number; parallel?: number; repeat: number; keep: boolean }>();
  if (!Number.isSafeInteger(o.repeat) || o.repeat < 1) throw new Error('--repeat must be a positive integer');
  if (!Number.isSafeInteger(o.rows) || o.rows < 1) throw new Error('--rows must be a positive integer');

  const server = new URL(process.env.TEST_DATABASE_SERVER_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres');
  server.pathname = `/dlo_bench_erasure_${Date.now()}_${process.pid}`;
  const databaseUrl = server.toString();
  await ensureDatabase(databaseUrl);
  const db = createDb(databaseUrl, 8);
  try {
    await migrateLatest(db);
    const config = loadConfig({
      ...process.env,
      DATABASE_URL: databaseUrl,
      STATUTORY_RETENTION_ORDERS: 'none',
      ...(o.batchSize ? { ERASURE_BATCH_SIZE: String(o.batchSize) } : {}),
      ...(o.parallel ? { ERASURE_PARALLEL_STEPS: String(o.parallel) } : {}),
    });
    const batchSize = config.erasure.batchSize;

    // Fresh, identical pairs of customers for every round (erasing is destructive), seeded up front.
    const pairs: [string, string][] = [];
    for (let round = 0; round < o.repeat; round++) {
      const pair: string[] = [];
      for (const side of ['A', 'B']) {
        const t0 = performance.now();
        const { customerId, rows } = await seedDemoCustomer(db, { operationalRows: o.rows });
        const total = Object.values(rows).reduce((x, y) => x + y, 0);
        console.log(
          `round ${round + 1}: seeded ${side}: ${total} rows in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
        );
        pair.push(customerId);
      }
      pairs.push(pair as [string, string]);
    }
    await db.raw('vacuum analyze');
    await db.raw('checkpoint');

    // Batch durations and sizes for the distribution, as the engine measured them around each batch.
    const batchMs: number[] = [];
    let largestBatch = 0;
    const activities = createErasureActivities({
      db,
      config,
      mailer: { send: unused('send mail'), close: () => undefined },
      subprocessorClient: { post: unused('call subprocessors') },
      erasureTestHooks: {
        afterBatch: ({ ms, batchSize: size }) => {
          batchMs.push(ms);
          largestBatch = Math.max(largestBatch, size);
        },
      },
    });
    const categories = erasableCategories([...DATA_CATEGORIES]);
    const env = new MockActivityEnvironment();

    let bestErasure = 0;
    let bestDelete = 0;
    let longestBatchMs = 0;
    let longestBatchStep = '';
    let rowsPerRound = 0;
    for (const [round, [a, b]] of pairs.entries()) {
      const ref: ErasureRef = {
        erasureId: randomUUID(),
        workflowId: `bench-erasure-${a}`,
        customerId: a,
        reason: 'termination',
      };
      const settings = await inActivity(env, () => activities.beginErasure({ ...ref, categories }));
      let erasureSeconds = 0;
      let deleteSeconds = 0;
      let batches = 0;
      let erasedTables: Record<string, number> = {};
      const deletedPerTable: Record<string, number> = {};

      const eraseAll = async () => {
        const t1 = performance.now();
        const erased = await inActivity(env, () =>
          activities.eraseTables({ ...ref, categories, batchSize, retention: settings.retention }),
        );
        erasureSeconds = (performance.now() - t1) / 1000;
        longestBatchMs = Math.max(longestBatchMs, erased.longestBatchMs);
        if (erased.longestBatchMs >= longestBatchMs) longestBatchStep = erased.longestBatchStep ?? '';
        batches = erased.batchesThisAttempt;
        erasedTables = erased.tables;
      };
      const deleteAll = async () => {
        const t2 = performance.now();
        for (const t of ERASURE_TABLES) {
          deletedPerTable[t.table] = await db(t.table).where({ customer_id: b }).delete();
        }
        deleteSeconds = (performance.now() - t2) / 1000;
      };
      // Which side goes first alternates between rounds.
      if (round % 2 === 0) {
        await eraseAll();
        await deleteAll();
      } else {
        await deleteAll();
        await eraseAll();
      }

      const erasedRows = Object.values(erasedTables).reduce((x, y) => x + y, 0);
      const verification = await inActivity(env, () => activities.verifyErasure({ ...ref, categories }));
      if (!verification.verified) throw new Error(`erasure left rows: ${JSON.stringify(verification.remaining)}`);
      const deletedRows = Object.values(deletedPerTable).reduce((x, y) => x + y, 0);
      if (deletedRows !== erasedRows) throw new Error(`erased ${erasedRows} rows but DELETE removed ${deletedRows}`);
      rowsPerRound = erasedRows;
      const rowsPerS = erasedRows / erasureSeconds;
      const deleteRowsPerS = deletedRows / deleteSeconds;
      bestErasure = Math.max(bestErasure, rowsPerS);
      bestDelete = Math.max(bestDelete, deleteRowsPerS);
      console.log(
        `round ${round + 1}: erasure ${erasedRows} rows in ${erasureSeconds.toFixed(2)} s = ${Math.round(rowsPerS)} ` +
          `rows/s (${batches} batches from ${batchSize} up to ${largestBatch} rows, ${config.erasure.parallelSteps} ` +
          `steps side by side); plain DELETE ${deletedRows} rows in ` +
          `${deleteSeconds.toFixed(2)} s = ${Math.round(deleteRowsPerS)} rows/s; ratio ${(rowsPerS / deleteRowsPerS).toFixed(2)}`,
      );
      if (round === 0) console.log(`per table: ${JSON.stringify(erasedTables)}`);
    }

    const ratio = bestErasure / bestDelete;
    const sorted = [...batchMs].sort((x, y) => x - y);
    const pct = (q: number) => (sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0).toFixed(1);
    console.log(
      `batch transactions: p50 ${pct(0.5)} ms, p99 ${pct(0.99)} ms, ` +
        `over ${BATCH_TARGET_MS} ms: ${sorted.filter((ms) => ms > BATCH_TARGET_MS).length} of ${sorted.length}`,
    );
    console.log(`best of ${o.repeat}: ${rowsPerRound} rows per side; longest batch transaction in ${longestBatchStep}`);
    console.log(
      `erasure: ratio=${ratio.toFixed(2)} target=${TARGET} rows_per_s=${Math.round(bestErasure)} ` +
        `delete_rows_per_s=${Math.round(bestDelete)} longest_batch_ms=${longestBatchMs.toFixed(1)} ` +
        `batch_target_ms=${BATCH_TARGET_MS}`,
    );
  } finally {
    await db.destroy();
    if (!o.keep) await dropDatabase(databaseUrl);
    else console.log(`kept ${databaseUrl}`);
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : err);
  process.exit(1);
});
