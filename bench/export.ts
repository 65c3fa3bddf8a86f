/**
 * `npm run bench -- export [--rows N] [--large-rows M] [--repeat R] [--keep]`: how fast, and in how much memory, the
 * access-request export turns a customer's rows into an archive, against PostgreSQL's own COPY of the same rows.
 *
 * In a scratch PostgreSQL database (created, migrated, dropped at the end unless --keep), the benchmark seeds two
 * demo customers with N and M operational rows (db/seed-demo-customer.ts; default 1,000,000 and 3,000,000; no
 * technical or communication rows, so the rows are the operational ones plus the handful of contact rows). For each:
 *
 * 0. warm-up (not measured): one plain COPY of every table in scope, so both sides read from a warm cache;
 * 1. measured, R times (default 2), alternating:
 *    - export: the real export code (activities/export.ts `runExport`, scope `all`, the default batch size), each run
 *      in a fresh child process that samples its memory every 10 ms (peak RSS and heap) and writes a fresh archive;
 *    - baseline: `COPY (SELECT <same columns> FROM <table> WHERE <same customer and categories>) TO STDOUT (FORMAT
 *      csv)` for every table in scope, on one connection, consumed by a Node stream that only counts bytes.
 *    The best of the R runs of each side is kept (a shared machine makes single runs noisy).
 *
 * rows/s = rows in the archive / wall time of the run (for the export: counting, range queries, hashing, writing the
 * files, fsync and the manifest). ratio = export rows/s / COPY rows/s at N rows (target >= 0.8). mem_ratio = peak RSS
 * of the export at M rows / at N rows (target <= 1.2: memory does not grow with the row count).
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
import { runExport, tablesInScope } from '../activities/export';
import { createDb, dropDatabase, ensureDatabase, migrateLatest, type Db } from '../db/connection';
import { seedDemoCustomer } from '../db/seed-demo-customer';
import { loadConfig } from '../lib/config';
import { SCOPE_CATEGORIES } from '../lib/schemas/access-request';

const TARGET = 0.8;
const MEM_TARGET = 1.2;
const SCOPE = 'all' as const;
const CHILD_ENV = 'EXPORT_BENCH_CHILD';

/** What an export child reports. */
interface ChildReport {
  rows: number;
  seconds: number;
  peakRssMb: number;
  peakHeapMb: number;
  startRssMb: number;
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

/** Child process: one export, memory sampled throughout. */
async function child(task: ChildTask): Promise<void> {
  const db = createDb(task.databaseUrl, 4);
  const exportOnce = (customerId: string, onProgress?: () => void) =>
    runExport({
      db,
      exportDir: task.exportDir,
      archiveId: randomUUID(),
      requestId: randomUUID(),
      customerId,
      scope: SCOPE,
      batchRows: task.batchRows,
      parallelTables: task.parallelTables,
      onProgress,
    });
  await exportOnce(task.warmUpCustomerId);
  const startRss = process.memoryUsage().rss;
  let peakRss = startRss;
  let peakHeap = process.memoryUsage().heapUsed;
  const sample = () => {
    const m = process.memoryUsage();
    if (m.rss > peakRss) peakRss = m.rss;
    if (m.heapUsed > peakHeap) peakHeap = m.heapUsed;
  };
  const timer = setInterval(sample, 10);
  try {
    const started = process.hrtime.bigint();
    const { manifest } = await exportOnce(task.customerId, sample);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    sample();
    const report: ChildReport = {
      rows: manifest.totals.rows,
      seconds,
      peakRssMb: mb(peakRss),
      peakHeapMb: mb(peakHeap),
      startRssMb: mb(startRss),
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
  ratio: number;
}

async function measure(
  db: Db,
  databaseUrl: string,
  warmUpCustomerId: string,
  customerId: string,
  size: number,
  repeat: number,
  settings: { batchRows: number; parallelTables: number },
): Promise<SizeResult> {
  await copyBaseline(db, customerId); // warm-up
  let best: ChildReport | undefined;
  let bestCopy: { rows: number; seconds: number } | undefined;
  for (let i = 0; i < repeat; i++) {
    const exportDir = await mkdtemp(path.join(os.tmpdir(), 'dlo-bench-export-'));
    try {
      const run = await runChild({ databaseUrl, customerId, warmUpCustomerId, exportDir, ...settings });
      console.log(
        `  export #${i + 1}: ${run.rows} rows in ${run.seconds.toFixed(2)} s = ${Math.round(run.rows / run.seconds)} rows/s, ` +
          `peak RSS ${run.peakRssMb.toFixed(1)} MB (start ${run.startRssMb.toFixed(1)} MB), peak heap ${run.peakHeapMb.toFixed(1)} MB`,
      );
      if (!best || run.seconds < best.seconds) best = run;
      // Peak memory: the highest of the runs, so the figure is an upper bound, not a lucky one.
      best.peakRssMb = Math.max(best.peakRssMb, run.peakRssMb);
      best.peakHeapMb = Math.max(best.peakHeapMb, run.peakHeapMb);
    } finally {
      await rm(exportDir, { recursive: true, force: true });
    }
    const copy = await copyBaseline(db, customerId);
    console.log(
      `  COPY   #${i + 1}: ${copy.rows} rows in ${copy.seconds.toFixed(2)} s = ${Math.round(copy.rows / copy.seconds)} rows/s ` +
        `(${(copy.bytes / 1e6).toFixed(0)} MB of CSV)`,
    );
    if (!bestCopy || copy.seconds < bestCopy.seconds) bestCopy = copy;
  }
  if (best!.rows !== bestCopy!.rows) throw new Error(`export wrote ${best!.rows} rows, COPY read ${bestCopy!.rows}`);
  const exportRowsPerS = best!.rows / best!.seconds;
  const copyRowsPerS = bestCopy!.rows / bestCopy!.seconds;
  return { size, export: best!, exportRowsPerS, copyRowsPerS, ratio: exportRowsPerS / copyRowsPerS };
}

async function main(): Promise<void> {
  const program = new Command()
    .name('export')
    .option('--rows <n>', 'operational rows of the first customer', (v) => Number.parseInt(v, 10), 1_000_000)
    .option('--large-rows <n>', 'operational rows of the second customer (default 3 x --rows)', (v) =>
      Number.parseInt(v, 10),
    )
    .option('--repeat <n>', 'measured runs per side and size (the best counts)', (v) => Number.parseInt(v, 10), 2)
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
      results.push(await measure(db, databaseUrl, warmUp.customerId, seed.customerId, size, o.repeat, config.exports));
    }
    const [small, large] = results as [SizeResult, SizeResult];
    const memRatio = large.export.peakRssMb / small.export.peakRssMb;
    console.log(
      `at ${large.size} rows: export ${Math.round(large.exportRowsPerS)} rows/s, COPY ${Math.round(large.copyRowsPerS)} ` +
        `rows/s, ratio ${large.ratio.toFixed(3)}; peak heap ${small.export.peakHeapMb.toFixed(1)} MB -> ` +
        `${large.export.peakHeapMb.toFixed(1)} MB; mem target <= ${MEM_TARGET}`,
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
