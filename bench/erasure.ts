/**
 * `npm run bench -- erasure [--rows N] [--batch-size B] [--keep]`: how fast the erasure deletes a customer, in short
 * batch transactions, against PostgreSQL's plain `DELETE ... WHERE customer_id = $1` of an identical customer.
 *
 * In a scratch PostgreSQL database (created, migrated, dropped at the end unless --keep) the benchmark seeds two demo
 * customers with N operational rows each (db/seed-demo-customer.ts, default 1,000,000; plus N/10 technical rows and
 * 50 communication records; the seed is deterministic per row number, so both customers hold identical data), then:
 *
 * Both sides run interleaved, category by category in plan order (dependency order): first the erasure of A's
 * category, then the plain DELETE of B's tables of that category, so that load from other processes on a shared
 * machine falls on both alike.
 *
 * 1. erasure: the real activity code (activities/erasure.ts `eraseTables`, run in a Temporal MockActivityEnvironment,
 *    heartbeats included) erases every category of customer A: every table of the plan in dependency order, in
 *    batches of B rows (default ERASURE_BATCH_SIZE), each batch one transaction that takes the hold lock, checks
 *    legal holds, deletes and moves its checkpoint. Statutory retention is switched off for the run
 *    (STATUTORY_RETENTION_ORDERS=none) so both sides delete the same rows;
 * 2. baseline: one `DELETE FROM <table> WHERE customer_id = $1` per table of customer B, each its own statement (and
 *    transaction).
 *
 * rows/s = rows deleted / wall time. ratio = erasure rows/s / DELETE rows/s (target >= 0.5). longest_batch_ms = the
 * longest single batch transaction of the erasure (target < 200 ms), measured around each transaction.
 *
 * Last line: `erasure: ratio=... target=0.5 rows_per_s=... delete_rows_per_s=... longest_batch_ms=...
 * batch_target_ms=200`. Method and figures: docs/benchmarks.md.
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { MockActivityEnvironment } from '@temporalio/testing';
import { Command } from 'commander';
import { createErasureActivities, type ErasureRef } from '../activities/erasure';
import { createDb, dropDatabase, ensureDatabase, migrateLatest } from '../db/connection';
import { seedDemoCustomer } from '../db/seed-demo-customer';
import { loadConfig } from '../lib/config';
import { DATA_CATEGORIES } from '../lib/data-categories';
import { ERASURE_TABLES, erasableCategories } from '../lib/erasure-plan';

const TARGET = 0.5;
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
    .option('--batch-size <n>', 'rows per batch transaction (default ERASURE_BATCH_SIZE)', (v) =>
      Number.parseInt(v, 10),
    )
    .option('--keep', 'keep the scratch database for inspection', false)
    .parse(process.argv);
  const o = program.opts<{ rows: number; batchSize?: number; keep: boolean }>();
  if (!Number.isSafeInteger(o.rows) || o.rows < 1) throw new Error('--rows must be a positive integer');

  const server = new URL(process.env.TEST_DATABASE_SERVER_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres');
  server.pathname = `/dlo_bench_erasure_${Date.now()}_${process.pid}`;
  const databaseUrl = server.toString();
  await ensureDatabase(databaseUrl);
  const db = createDb(databaseUrl, 4);
  try {
    await migrateLatest(db);
    const config = loadConfig({
      ...process.env,
      DATABASE_URL: databaseUrl,
      STATUTORY_RETENTION_ORDERS: 'none',
      ...(o.batchSize ? { ERASURE_BATCH_SIZE: String(o.batchSize) } : {}),
    });
    const batchSize = config.erasure.batchSize;

    const seeded: string[] = [];
    for (const label of ['A (erasure)', 'B (plain DELETE)']) {
      const t0 = performance.now();
      const { customerId, rows } = await seedDemoCustomer(db, { operationalRows: o.rows });
      const total = Object.values(rows).reduce((a, b) => a + b, 0);
      console.log(`seeded customer ${label}: ${total} rows in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
      seeded.push(customerId);
    }
    const [a, b] = seeded as [string, string];
    await db.raw('vacuum analyze');
    await db.raw('checkpoint');

    // 1. The real erasure code.
    const activities = createErasureActivities({
      db,
      config,
      mailer: { send: unused('send mail'), close: () => undefined },
      subprocessorClient: { post: unused('call subprocessors') },
    });
    const categories = erasableCategories([...DATA_CATEGORIES]);
    const ref: ErasureRef = {
      erasureId: randomUUID(),
      workflowId: `bench-erasure-${a}`,
      customerId: a,
      reason: 'termination',
    };
    const env = new MockActivityEnvironment();
    const settings = await inActivity(env, () => activities.beginErasure({ ...ref, categories }));

    // Interleaved per category, in plan order (which keeps dependency order): the erasure of A's category, then the
    // plain DELETE of B's tables of that category. A busy, shared machine then slows both sides alike.
    let erasureSeconds = 0;
    let deleteSeconds = 0;
    let longestBatchMs = 0;
    let longestBatchStep = '';
    let batches = 0;
    let erasedTables: Record<string, number> = {};
    const deletedPerTable: Record<string, number> = {};
    const inPlanOrder = [...new Set(ERASURE_TABLES.flatMap((t) => t.categories))].filter((c) => categories.includes(c));
    for (const category of inPlanOrder) {
      const t1 = performance.now();
      const erased = await inActivity(env, () =>
        activities.eraseTables({ ...ref, categories: [category], batchSize, retention: settings.retention }),
      );
      erasureSeconds += (performance.now() - t1) / 1000;
      if (erased.longestBatchMs > longestBatchMs) {
        longestBatchMs = erased.longestBatchMs;
        longestBatchStep = erased.longestBatchStep ?? '';
      }
      batches += erased.batchesThisAttempt;
      erasedTables = erased.tables;

      const t2 = performance.now();
      for (const t of ERASURE_TABLES.filter((x) => x.categories.includes(category))) {
        deletedPerTable[t.table] = await db(t.table).where({ customer_id: b }).delete();
      }
      deleteSeconds += (performance.now() - t2) / 1000;
    }
    const erasedRows = Object.values(erasedTables).reduce((x, y) => x + y, 0);
    const verification = await inActivity(env, () => activities.verifyErasure({ ...ref, categories }));
    if (!verification.verified) throw new Error(`erasure left rows: ${JSON.stringify(verification.remaining)}`);
    const deletedRows = Object.values(deletedPerTable).reduce((x, y) => x + y, 0);
    if (deletedRows !== erasedRows) throw new Error(`erased ${erasedRows} rows but DELETE removed ${deletedRows}`);

    const rowsPerS = erasedRows / erasureSeconds;
    const deleteRowsPerS = deletedRows / deleteSeconds;
    const ratio = rowsPerS / deleteRowsPerS;
    console.log(`batch size ${batchSize}; ${batches} batches; longest in ${longestBatchStep}`);
    console.log(`erasure:      ${erasedRows} rows in ${erasureSeconds.toFixed(2)} s = ${Math.round(rowsPerS)} rows/s`);
    console.log(
      `plain DELETE: ${deletedRows} rows in ${deleteSeconds.toFixed(2)} s = ${Math.round(deleteRowsPerS)} rows/s`,
    );
    console.log(`per table: ${JSON.stringify(erasedTables)}`);
    console.log(
      `erasure: ratio=${ratio.toFixed(2)} target=${TARGET} rows_per_s=${Math.round(rowsPerS)} ` +
        `delete_rows_per_s=${Math.round(deleteRowsPerS)} longest_batch_ms=${longestBatchMs.toFixed(1)} ` +
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
