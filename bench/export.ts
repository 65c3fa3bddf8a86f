/**
 * `npm run bench -- export [--rows N] [--large-rows M] [--repeat R] [--keep]`: how fast, and in how much memory, the
 * access-request export turns a customer's rows into an archive, against PostgreSQL's own COPY of the same rows.
 *
 * In a scratch PostgreSQL database (created, migrated, dropped at the end unless --keep), the benchmark seeds a small
 * warm-up customer and two demo customers with N and M operational rows (db/seed-demo-customer.ts; default 1,000,000
 * and 3,000,000; no technical or communication rows, so the rows are the operational ones plus the handful of contact
 * rows), each followed by VACUUM ANALYZE and a CHECKPOINT. For each size it runs R times (default 3) a fresh child
 * process that:
 *
 * 0. warms up (not measured): exports the warm-up customer and COPYs its rows (JIT, connections, catalog caches);
 * 1. export: the real export code (db/export-engine.ts `runExport`, scope `all`, the configured batch size and
 *    parallelism) into a fresh archive directory, sampling its memory every 5 ms (peak RSS and heap);
 * 2. baseline: `COPY (SELECT <same columns> FROM <table> WHERE <same customer and categories>) TO STDOUT (FORMAT csv)`
 *    for every table in scope, one after the other on one connection, consumed by a stream that only counts bytes.
 *
 * rows/s = rows / wall time (for the export: key ranges, estimates, COPY ranges, hashing, writing and flushing the
 * files, the manifest). ratio = fastest export rate / fastest COPY rate at N rows (target >= 0.8); the median of the
 * per-child ratios is printed too (a shared machine makes single runs noisy). mem_ratio = highest peak RSS of the
 * export at M rows / at N rows (target <= 1.2: memory does not grow with the row count).
 *
 * Last line: `export: ratio=<export/copy> target=0.8 rows_per_s=... copy_rows_per_s=... peak_mb_1m=... peak_mb_3m=...
 * mem_ratio=...` (the `_1m`/`_3m` figures are at N and M rows, whatever N and M are). Method and figures:
 * docs/benchmarks.md.
 */
import { fork } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Command } from 'commander';
import { escapeIdentifier, escapeLiteral, type PoolClient } from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import { runExport, tablesInScope } from '../db/export-engine';
import { createDb, dropDatabase, ensureDatabase, migrateLatest, type Db } from '../db/connection';
import { seedDemoCustomer } from '../scripts/seed-demo-customer';
import { loadConfig } from '../lib/config';
import { deriveArchiveKeyring } from '../lib/export-encryption';
import { INSECURE_DEV_KEYRING } from '../lib/payload-codec';
import { SCOPE_CATEGORIES } from '../lib/pure/access-scope';

const TARGET = 0.8;
const MEM_TARGET = 1.2;
const SCOPE = 'all' as const;
const CHILD_ENV = 'EXPORT_BENCH_CHILD';

/** What a child reports: the export (with its memory) and the COPY baseline, measured in the same process. */
interface ChildReport {
  rows: number;
  seconds: number;
  peakRssMb: number;
  peakHeapMb: number;
  startRssMb: number;
  copy: { rows: number; seconds: number; bytes: number };
}

interface ChildTask {
  databaseUrl: string;
  customerId: string;
  /** A small customer exported first, unmeasured, so that JIT, connections and catalog caches are warm. */
  warmUpCustomerId: string;
  exportDir: string;
  batchRows: number;
  parallelTables: number;
}

const mb = (bytes: number) => bytes / (1024 * 1024);

/**
 * Child process: warm-up (a small export and its COPY, unmeasured), then the measured export with its memory sampled,
 * then the measured COPY of the same rows, in this one process so that both sides run equally warm.
 */
async function child(task: ChildTask): Promise<void> {
  const db = createDb(task.databaseUrl, 4);
  const exportOnce = (customerId: string) =>
    runExport({
      db,
      exportDir: task.exportDir,
      archiveId: randomUUID(),
      requestId: randomUUID(),
      customerId,
      scope: SCOPE,
      batchRows: task.batchRows,
      parallelTables: task.parallelTables,
      encryption: deriveArchiveKeyring(INSECURE_DEV_KEYRING),
    });
  await exportOnce(task.warmUpCustomerId);
  await copyBaseline(db, task.warmUpCustomerId);
  const startRss = process.memoryUsage().rss;
  let peakRss = startRss;
  let peakHeap = process.memoryUsage().heapUsed;
  const sample = () => {
    const m = process.memoryUsage();
    if (m.rss > peakRss) peakRss = m.rss;
    if (m.heapUsed > peakHeap) peakHeap = m.heapUsed;
  };
  // Sampled on a timer, not per chunk: process.memoryUsage() costs tens of microseconds, which per chunk would slow
  // the export it measures.
  const timer = setInterval(sample, 5);
  try {
    const started = process.hrtime.bigint();
    const { manifest } = await exportOnce(task.customerId);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    sample();
    clearInterval(timer);
    const copy = await copyBaseline(db, task.customerId);
    const report: ChildReport = {
      rows: manifest.totals.rows,
      seconds,
      peakRssMb: mb(peakRss),
      peakHeapMb: mb(peakHeap),
      startRssMb: mb(startRss),
      copy,
    };
    process.send!(report);
  } finally {
    clearInterval(timer);
    await db.destroy();
  }
}

function runChild(task: ChildTask): Promise<ChildReport> {
  return new Promise((resolve, reject) => {
    const proc = fork(__filename, [], { env: { ...process.env, [CHILD_ENV]: JSON.stringify(task) } });
    let report: ChildReport | undefined;
    proc.on('message', (m) => (report = m as ChildReport));
    proc.on('error', reject);
    proc.on('exit', (code) =>
      code === 0 && report ? resolve(report) : reject(new Error(`export child exited with ${code}`)),
    );
  });
}

/** The baseline: PostgreSQL's COPY of the same rows and columns, consumed by a byte counter. */
async function copyBaseline(db: Db, customerId: string): Promise<{ rows: number; seconds: number; bytes: number }> {
  const tables = tablesInScope(SCOPE);
  const categories = SCOPE_CATEGORIES[SCOPE];
  const columns = await db<{ table_name: string; column_name: string }>('information_schema.columns')
    .whereRaw('table_schema = current_schema()')
    .whereIn(
      'table_name',
      tables.map((t) => t.table),
    )
    .orderBy(['table_name', 'ordinal_position'])
    .select('table_name', 'column_name');
  const pool = db.client as {
    acquireConnection(): Promise<PoolClient>;
    releaseConnection(c: PoolClient): Promise<void>;
  };
  const conn = await pool.acquireConnection();
  let rows = 0;
  let bytes = 0;
  const started = process.hrtime.bigint();
  try {
    for (const t of tables) {
      const cols = columns.filter((c) => c.table_name === t.table).map((c) => escapeIdentifier(c.column_name));
      const copy = conn.query(
        copyTo(
          `COPY (SELECT ${cols.join(', ')} FROM ${escapeIdentifier(t.table)} WHERE ${escapeIdentifier(t.owner)} = ` +
            `${escapeLiteral(customerId)}::uuid AND data_category IN (${categories.map((c) => escapeLiteral(c)).join(', ')})) ` +
            'TO STDOUT (FORMAT csv)',
        ),
      );
      await pipeline(
        copy,
        new Writable({
          write(chunk: Buffer, _encoding, done) {
            bytes += chunk.length;
            done();
          },
        }),
      );
      rows += copy.rowCount;
    }
  } finally {
    await pool.releaseConnection(conn);
  }
  return { rows, seconds: Number(process.hrtime.bigint() - started) / 1e9, bytes };
}

interface SizeResult {
  size: number;
  export: ChildReport;
  exportRowsPerS: number;
  copyRowsPerS: number;
  /** Best export rate / best COPY rate. */
  ratio: number;
  /** Median over the runs of (COPY time / export time) of the same child: less sensitive to load drift. */
  medianPairRatio: number;
}

async function measure(
  databaseUrl: string,
  warmUpCustomerId: string,
  customerId: string,
  size: number,
  repeat: number,
  settings: { batchRows: number; parallelTables: number },
): Promise<SizeResult> {
  const runs: ChildReport[] = [];
  for (let i = 0; i < repeat; i++) {
    const exportDir = await mkdtemp(path.join(os.tmpdir(), 'dlo-bench-export-'));
    try {
      const run = await runChild({ databaseUrl, customerId, warmUpCustomerId, exportDir, ...settings });
      if (run.rows !== run.copy.rows) throw new Error(`export wrote ${run.rows} rows, COPY read ${run.copy.rows}`);
      console.log(
        `  #${i + 1} export: ${run.rows} rows in ${run.seconds.toFixed(2)} s = ${Math.round(run.rows / run.seconds)} ` +
          `rows/s, peak RSS ${run.peakRssMb.toFixed(1)} MB (start ${run.startRssMb.toFixed(1)} MB), peak heap ` +
          `${run.peakHeapMb.toFixed(1)} MB; COPY: ${run.copy.seconds.toFixed(2)} s = ` +
          `${Math.round(run.copy.rows / run.copy.seconds)} rows/s (${(run.copy.bytes / 1e6).toFixed(0)} MB of CSV); ` +
          `ratio ${(run.copy.seconds / run.seconds).toFixed(3)}`,
      );
      runs.push(run);
    } finally {
      await rm(exportDir, { recursive: true, force: true });
    }
  }
  const rows = runs[0]!.rows;
  const bestExport = Math.min(...runs.map((r) => r.seconds));
  const bestCopy = Math.min(...runs.map((r) => r.copy.seconds));
  const pairRatios = runs.map((r) => r.copy.seconds / r.seconds).sort((a, b) => a - b);
  return {
    size,
    export: {
      ...runs[0]!,
      // Peak memory: the highest of the runs, so the figure is an upper bound, not a lucky one.
      peakRssMb: Math.max(...runs.map((r) => r.peakRssMb)),
      peakHeapMb: Math.max(...runs.map((r) => r.peakHeapMb)),
    },
    exportRowsPerS: rows / bestExport,
    copyRowsPerS: rows / bestCopy,
    ratio: bestCopy / bestExport,
    medianPairRatio: pairRatios[Math.floor(pairRatios.length / 2)]!,
  };
}

async function main(): Promise<void> {
  const program = new Command()
    .name('export')
    .option('--rows <n>', 'operational rows of the first customer', (v) => Number.parseInt(v, 10), 1_000_000)
    .option('--large-rows <n>', 'operational rows of the second customer (default 3 x --rows)', (v) =>
      Number.parseInt(v, 10),
    )
    .option('--repeat <n>', 'measured runs per side and size (the best counts)', (v) => Number.parseInt(v, 10), 3)
    .option('--keep', 'keep the scratch database for inspection', false)
    .parse(process.argv);
  const o = program.opts<{ rows: number; largeRows?: number; repeat: number; keep: boolean }>();
  const sizes = [o.rows, o.largeRows ?? o.rows * 3];
  if (!sizes.every((n) => Number.isSafeInteger(n) && n > 0) || !(o.repeat > 0)) {
    console.error('--rows, --large-rows and --repeat must be positive integers');
    process.exit(2);
  }
  const config = loadConfig();
  const server = new URL(process.env.TEST_DATABASE_SERVER_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres');
  server.pathname = `/dlo_bench_export_${Date.now()}_${process.pid}`;
  const databaseUrl = server.toString();
  await ensureDatabase(databaseUrl);
  const db = createDb(databaseUrl, 4);
  try {
    await migrateLatest(db);
    const warmUp = await seedDemoCustomer(db, { operationalRows: 10_000, technicalRows: 0, communicationRows: 0 });
    const results: SizeResult[] = [];
    for (const size of sizes) {
      const t0 = Date.now();
      const seed = await seedDemoCustomer(db, { operationalRows: size, technicalRows: 0, communicationRows: 0 });
      console.log(`seeded ${size} operational rows in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
      // Both sides then read settled pages: without this the first reader of the fresh rows sets their hint bits
      // (writing every page) and the checkpointer flushes the seed while the first child measures.
      await db.raw('vacuum analyze');
      await db.raw('checkpoint');
      results.push(await measure(databaseUrl, warmUp.customerId, seed.customerId, size, o.repeat, config.exports));
    }
    const [small, large] = results as [SizeResult, SizeResult];
    const memRatio = large.export.peakRssMb / small.export.peakRssMb;
    console.log(
      `at ${small.size} rows: median pair ratio ${small.medianPairRatio.toFixed(3)}; at ${large.size} rows: export ` +
        `${Math.round(large.exportRowsPerS)} rows/s, COPY ${Math.round(large.copyRowsPerS)} rows/s, ratio ` +
        `${large.ratio.toFixed(3)}, median pair ratio ${large.medianPairRatio.toFixed(3)}; peak heap ` +
        `${small.export.peakHeapMb.toFixed(1)} MB -> ${large.export.peakHeapMb.toFixed(1)} MB; mem target <= ${MEM_TARGET}`,
    );
    console.log(
      `export: ratio=${small.ratio.toFixed(3)} target=${TARGET} rows_per_s=${Math.round(small.exportRowsPerS)} ` +
        `copy_rows_per_s=${Math.round(small.copyRowsPerS)} peak_mb_1m=${small.export.peakRssMb.toFixed(1)} ` +
        `peak_mb_3m=${large.export.peakRssMb.toFixed(1)} mem_ratio=${memRatio.toFixed(3)} sizes=${sizes.join(',')}`,
    );
  } finally {
    await db.destroy();
    if (!o.keep) await dropDatabase(databaseUrl);
    else console.log(`kept ${databaseUrl}`);
  }
}

const childTask = process.env[CHILD_ENV];
(childTask ? child(JSON.parse(childTask) as ChildTask) : main()).catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
