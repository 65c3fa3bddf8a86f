/**
 * The export of everything held about a customer in a scope, into an archive directory (lib/export-archive.ts): one
 * CSV file per table plus `manifest.json` (row counts, SHA-256 per file, scope, policy and code versions,
 * generated-at).
 *
 * How it stays fast, small and exact whatever the row count:
 * - Rows stream from PostgreSQL with `COPY (SELECT ...) TO STDOUT (FORMAT csv)` (pg-copy-streams) through a SHA-256
 *   into the file in 1 MiB encrypted records (lib/export-encryption.ts; sizes and hashes are of the plaintext), with
 *   back-pressure: memory holds a few stream buffers, never rows. Nothing of the
 *   data passes through Temporal: the workflow gets ids, counts and hashes.
 * - The big tables (bigint keys) are read in key ranges, `customer_id = $c AND id > $after AND id <= $upTo`, served by
 *   their `(customer_id, id)` index. After each range the file is flushed and a checkpoint (finished tables, current
 *   table, last key, rows and bytes so far) is saved in `export_archives`. A retried activity (crash, worker restart,
 *   injected fault) truncates the current file to the checkpointed size, re-hashes that prefix and continues after
 *   the last key, so the archive is byte-for-byte what one uninterrupted run would have written.
 * - Each table is read up to the largest key it had when the export started (recorded in the checkpoint), so a
 *   resumed export does not pick up rows added meanwhile and the manifest's counts describe one cut.
 * - Ranges adapt: a range that held few rows doubles, one that held too many halves, so customers whose rows are
 *   spread thinly over the key space still take few statements.
 */
import { createHash, type Hash } from 'node:crypto';
import { mkdir, open, rm } from 'node:fs/promises';
import path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Context, log } from '@temporalio/activity';
import { canonicalize } from 'json-canonicalize';
import type { Knex } from 'knex';
import { escapeIdentifier, escapeLiteral, type PoolClient } from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import { auditEvents } from '../db/repositories/audit-events';
import { exportArchives, type ArchiveTable } from '../db/repositories/export-archives';
import type { DataCategory } from '../lib/pure/data-categories';
import { archiveDirectory, MANIFEST_FILE } from '../lib/export-archive';
import {
  decryptingReadStream,
  encryptingAppender,
  plaintextSize,
  truncateEncryptedFile,
  writeEncryptedFile,
  type ArchiveKeyring,
} from '../lib/export-encryption';
import type { ExportProgress } from '../lib/pure/access-request-messages';
import { exportProgressSignal } from '../workflows/access-request';
import { SCOPE_CATEGORIES, type AccessScope } from '../lib/pure/access-scope';
import { exportOrder } from '../lib/pure/data-map';

/** One table that holds customer data: how its rows are tied to the customer and in which order they are read. */
export interface ExportTable {
  table: string;
  /** Column holding the customer id (`id` for the customers table itself). */
  owner: string;
  /** Column the rows are ordered and checkpointed by. */
  key: string;
  /** `bigint`: read in key ranges with checkpoints; `small`: read in one statement (a handful of rows per customer). */
  keyType: 'bigint' | 'small';
  /** Data categories its rows carry (its `data_category` column); the table is exported when a scope covers one. */
  categories: readonly DataCategory[];
}

/**
 * Every table that holds a customer's data, with the categories its rows carry, in archive order (the export treatment
 * of the data map, lib/pure/data-map.ts). Rows are selected by customer and by `data_category IN (the scope's
 * categories)`, so the row's own category decides, not the table.
 */
export const EXPORT_TABLES: readonly ExportTable[] = exportOrder().map((t) => ({
  table: t.table,
  owner: t.owner.column,
  key: t.key,
  keyType: t.export.paging,
  categories: t.categories,
}));

/** Version of the export policy (which tables and categories a scope covers); bump it when the mapping changes. */
export const EXPORT_POLICY_VERSION = 'access-export/2026-12-02';

/** SHA-256 of the mapping itself, so a manifest shows exactly which mapping produced it. */
export const EXPORT_POLICY_SHA256 = createHash('sha256')
  .update(canonicalize({ tables: EXPORT_TABLES, scopes: SCOPE_CATEGORIES }))
  .digest('hex');

/** `name@version` of this service, from package.json (found from sources and from dist/). */
export const CODE_VERSION = ((): string => {
  for (const candidate of ['../package.json', '../../package.json']) {
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const pkg = require(candidate) as { name?: string; version?: string };
      if (pkg.name && pkg.version) return `${pkg.name}@${pkg.version}`;
    } catch {
      // not at this depth
    }
  }
  return 'unknown';
})();

/** The tables a scope exports, in archive order. */
export function tablesInScope(scope: AccessScope): ExportTable[] {
  const categories = SCOPE_CATEGORIES[scope];
  return EXPORT_TABLES.filter((t) => t.categories.some((c) => categories.includes(c)));
}

/** Where one table's file stands: the last key written, rows and bytes in the file so far, the current range width. */
export interface TableCheckpoint {
  after: string | null;
  rows: number;
  bytes: number;
  span: string;
}

/** Where an interrupted export continues. Plain JSON: stored in `export_archives.checkpoint`. */
export interface ExportCheckpoint {
  version: 2;
  /** Columns per table, fixed at the start so that every batch of a file has the same shape. */
  columns: Record<string, string[]>;
  /** Smallest and largest key per bigint table when the export started (null: no rows); the export reads up to max. */
  keyRanges: Record<string, { min: string; max: string } | null>;
  /** Finished tables (in the order they finished). */
  done: ArchiveTable[];
  /** Tables being written, by name. */
  current: Record<string, TableCheckpoint>;
}

/** What the manifest says about the archive. */
export interface ExportManifest {
  format: 'csv';
  formatNotes: string;
  requestId: string;
  customerId: string;
  scope: AccessScope;
  categories: readonly DataCategory[];
  policy: { version: string; sha256: string };
  codeVersion: string;
  generatedAt: string;
  tables: ArchiveTable[];
  totals: { tables: number; rows: number; bytes: number };
}

/** Result of an export: paths, counts and hashes only. */
export interface ExportSummary {
  archiveId: string;
  rows: number;
  bytes: number;
  tables: { table: string; rows: number; sha256: string }[];
  manifestSha256: string;
}

/** Test-only hooks (never set in production): observe resumption and inject faults between batches. */
export interface ExportHooks {
  /** Called when an export (re)starts, with the attempt number and how many rows the checkpoint already holds. */
  onStart?(info: { requestId: string; attempt: number; resumedRows: number; resumedTables: string[] }): void;
  /** Called after each batch has been written and checkpointed; throwing fails the attempt there. */
  afterBatch?(info: { requestId: string; attempt: number; table: string; rowsDone: number }): void;
}

/** Options of {@link runExport}. */
export interface RunExportOptions {
  db: Knex;
  exportDir: string;
  archiveId: string;
  requestId: string;
  customerId: string;
  scope: AccessScope;
  /** Rows per range of the bigint tables (the checkpoint interval). */
  batchRows: number;
  /** Tables written at the same time, each on its own connection (default 1). */
  parallelTables?: number;
  /** Where a previous attempt stopped, if any. */
  checkpoint?: ExportCheckpoint | null;
  /** Called after each batch, once its bytes are in the file; persist it to make the export resumable. */
  onCheckpoint?(checkpoint: ExportCheckpoint, progress: ExportProgress): Promise<void>;
  /** Called often while rows stream (cheap; throttle inside). */
  onProgress?(progress: ExportProgress): void;
  attempt?: number;
  hooks?: ExportHooks;
  /** Clock of the manifest's generated-at. */
  now?: () => Date;
  /** Keys the archive files are encrypted with at rest (lib/export-encryption.ts; config `exports.encryption`). */
  encryption: ArchiveKeyring;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const CSV_NOTES =
  'RFC 4180 CSV in UTF-8, one file per table, first line the column names; NULL is an empty unquoted field and an ' +
  'empty string is "". Rows are in key order. Verify each file against its sha256.';

const fileOf = (table: string) => `${table}.csv`;

async function sha256OfPrefix(file: string, bytes: number, keyring: ArchiveKeyring): Promise<Hash> {
  const hash = createHash('sha256');
  if (bytes === 0) return hash;
  for await (const chunk of decryptingReadStream(file, keyring, { end: bytes })) hash.update(chunk as Buffer);
  return hash;
}

async function fsyncFile(file: string): Promise<void> {
  const handle = await open(file, 'r+');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** The driver's own connections (COPY needs them), borrowed from knex's pool. */
type ConnectionPool = { acquireConnection(): Promise<PoolClient>; releaseConnection(c: PoolClient): Promise<void> };

/**
 * Exports one customer's data in `scope` into `<exportDir>/<archiveId>/`, resuming from `checkpoint` when given, and
 * writes the manifest. Up to `parallelTables` tables are written at once, each on its own connection; the files, the
 * manifest and the checkpoints do not depend on how many. Used by the export activity and by bench/export.ts.
 */
export async function runExport(opts: RunExportOptions): Promise<{ manifest: ExportManifest; manifestSha256: string }> {
  if (!UUID.test(opts.customerId)) throw new Error('customer id must be a lower-case UUID');
  const dir = archiveDirectory(opts.exportDir, opts.archiveId);
  await mkdir(dir, { recursive: true });
  const tables = tablesInScope(opts.scope);
  const categories = SCOPE_CATEGORIES[opts.scope];
  const attempt = opts.attempt ?? 1;

  const checkpoint: ExportCheckpoint =
    opts.checkpoint?.version === 2
      ? opts.checkpoint
      : {
          version: 2,
          columns: await columnsOf(
            opts.db,
            tables.map((t) => t.table),
          ),
          keyRanges: await keyRangesOf(opts.db, tables, opts.customerId),
          done: [],
          current: {},
        };
  opts.hooks?.onStart?.({
    requestId: opts.requestId,
    attempt,
    resumedRows: rowsIn(checkpoint),
    resumedTables: Object.keys(checkpoint.current),
  });

  // The total is for the progress display only, so it must cost the export nothing: the planner's estimate per table
  // (no scan), replaced by the exact count as each table is finished.
  const estimates = await estimateRows(opts.db, tables, opts.customerId, categories, checkpoint.keyRanges);
  const progress = (table: string, live: Record<string, number>): ExportProgress => {
    let rowsDone = 0;
    let rowsTotal = 0;
    for (const t of tables) {
      const done = checkpoint.done.find((d) => d.table === t.table);
      const rows = done ? done.rows : (live[t.table] ?? checkpoint.current[t.table]?.rows ?? 0);
      rowsDone += rows;
      rowsTotal += done ? done.rows : Math.max(estimates[t.table] ?? 0, rows);
    }
    return { table, rowsDone, rowsTotal, estimated: true };
  };
  const live: Record<string, number> = {};

  // Checkpoints are saved one at a time, in order, each a snapshot of flushed state.
  let saving: Promise<void> = Promise.resolve();
  const save = (table: string): Promise<void> => {
    const snapshot = JSON.parse(JSON.stringify(checkpoint)) as ExportCheckpoint;
    const p = progress(table, live);
    saving = saving.then(() => opts.onCheckpoint?.(snapshot, p));
    return saving;
  };

  const pool = opts.db.client as ConnectionPool;
  // Largest first, so that the workers finish together instead of one writing the biggest table alone at the end.
  const pending = tables
    .filter((t) => !checkpoint.done.some((d) => d.table === t.table))
    .sort((a, b) => (estimates[b.table] ?? 0) - (estimates[a.table] ?? 0));
  const syncs: Promise<void>[] = [];
  let failed = false;

  /**
   * Writes one table to its file, batch by batch, on `conn`; stops after the current batch when another table failed.
   * A connection left mid-COPY by an error is marked unusable.
   */
  async function exportTable(spec: ExportTable, conn: PoolClient): Promise<void> {
    const columns = checkpoint.columns[spec.table];
    if (!columns) throw new Error(`checkpoint has no columns for ${spec.table}`);
    const file = path.join(dir, fileOf(spec.table));
    const header = `${columns.join(',')}\n`;
    const fresh = (): TableCheckpoint => ({ after: null, rows: 0, bytes: 0, span: String(opts.batchRows) });

    // Resume from the checkpoint when the file still holds what it says; bytes after it are written again.
    let state = checkpoint.current[spec.table] ?? fresh();
    // Sizes and offsets are of the plaintext; the file holds it encrypted (lib/export-encryption.ts).
    const size = await plaintextSize(file);
    if (state.bytes === 0 || size < state.bytes) {
      state = fresh();
      await writeEncryptedFile(file, header, opts.encryption);
      state.bytes = Buffer.byteLength(header);
    } else if (size > state.bytes) {
      await truncateEncryptedFile(file, state.bytes);
    }
    checkpoint.current[spec.table] = state;
    const hash = await sha256OfPrefix(file, state.bytes, opts.encryption);
    // Each batch is flushed to disk in the background (one flush at a time per file), so the flush that makes the
    // finished file durable has little left to write. The chain never rejects (nothing may go unhandled when the table
    // is abandoned); a failed flush is kept and reported once the table is finished.
    let flushing: Promise<void> = Promise.resolve();
    let flushError: Error | undefined;

    const filter =
      `${escapeIdentifier(spec.owner)} = ${escapeLiteral(opts.customerId)}::uuid` +
      ` AND data_category IN (${categories.map((c) => escapeLiteral(c)).join(', ')})`;
    const select = `SELECT ${columns.map((c) => escapeIdentifier(c)).join(', ')} FROM ${escapeIdentifier(spec.table)}`;
    const keys = checkpoint.keyRanges[spec.table] ?? null;
    let finished = spec.keyType === 'bigint' && keys === null;

    while (!finished && !failed) {
      let range = '';
      let upTo: bigint | null = null;
      if (spec.keyType === 'bigint') {
        const after = state.after === null ? BigInt(keys!.min) - 1n : BigInt(state.after);
        upTo = after + BigInt(state.span);
        if (upTo >= BigInt(keys!.max)) upTo = BigInt(keys!.max);
        range = ` AND ${escapeIdentifier(spec.key)} > ${after} AND ${escapeIdentifier(spec.key)} <= ${upTo}`;
      }
      const copy = conn.query(
        copyTo(
          `COPY (${select} WHERE ${filter}${range} ORDER BY ${escapeIdentifier(spec.key)}) TO STDOUT (FORMAT csv)`,
        ),
      );
      let batchBytes = 0;
      const rowsBefore = state.rows;
      const tap = new Transform({
        transform(chunk: Buffer, _encoding, done) {
          hash.update(chunk);
          batchBytes += chunk.length;
          live[spec.table] = rowsBefore;
          opts.onProgress?.(progress(spec.table, live));
          done(null, chunk);
        },
      });
      try {
        await pipeline(copy, tap, encryptingAppender(file, opts.encryption));
      } catch (err) {
        (conn as PoolClient & { unusable?: boolean }).unusable = true; // it may be mid-COPY
        throw err;
      }
      state = {
        after: spec.keyType === 'bigint' ? String(upTo) : 'all',
        rows: state.rows + copy.rowCount,
        bytes: state.bytes + batchBytes,
        span: String(adaptSpan(BigInt(state.span), copy.rowCount, opts.batchRows)),
      };
      live[spec.table] = state.rows;
      flushing = flushing
        .then(() => fsyncFile(file))
        .catch((err: unknown) => {
          flushError ??= err instanceof Error ? err : new Error(String(err));
        });
      finished = spec.keyType === 'small' || upTo === BigInt(keys!.max);
      if (!finished) {
        checkpoint.current[spec.table] = state;
        await save(spec.table);
        opts.hooks?.afterBatch?.({
          requestId: opts.requestId,
          attempt,
          table: spec.table,
          rowsDone: progress(spec.table, live).rowsDone,
        });
      }
    }
    if (!finished) return; // another table failed: stop after this batch, its checkpoint is saved

    // Durable before the archive counts as complete; the last flush overlaps the next table's rows.
    syncs.push(
      flushing.then(() => {
        if (flushError !== undefined) throw flushError;
      }),
    );
    delete checkpoint.current[spec.table];
    delete live[spec.table];
    checkpoint.done.push({
      table: spec.table,
      file: fileOf(spec.table),
      categories: spec.categories.filter((c) => categories.includes(c)),
      columns,
      rows: state.rows,
      bytes: state.bytes,
      sha256: hash.digest('hex'),
    });
    await save(spec.table);
    opts.hooks?.afterBatch?.({
      requestId: opts.requestId,
      attempt,
      table: spec.table,
      rowsDone: progress(spec.table, live).rowsDone,
    });
  }

  /** One of `parallelTables` workers: takes the next pending table until none is left or one failed. */
  async function worker(): Promise<void> {
    const conn = await pool.acquireConnection();
    try {
      for (let spec = pending.shift(); spec && !failed; spec = pending.shift()) {
        try {
          await exportTable(spec, conn);
        } catch (err) {
          failed = true;
          throw err;
        }
      }
    } finally {
      // knex marks an ended connection disposed and drops it from the pool instead of reusing it.
      if ((conn as PoolClient & { unusable?: boolean }).unusable) await conn.end().catch(() => undefined);
      await pool.releaseConnection(conn);
    }
  }

  const workers = Math.max(1, Math.min(opts.parallelTables ?? 1, pending.length));
  const outcomes = await Promise.allSettled(Array.from({ length: workers }, () => worker()));
  await saving;
  const syncOutcomes = await Promise.allSettled(syncs);
  const failure = [...outcomes, ...syncOutcomes].find((o): o is PromiseRejectedResult => o.status === 'rejected');
  if (failure) throw failure.reason;

  const order = new Map(tables.map((t, i) => [t.table, i]));
  const done = [...checkpoint.done].sort((a, b) => order.get(a.table)! - order.get(b.table)!);
  const manifest: ExportManifest = {
    format: 'csv',
    formatNotes: CSV_NOTES,
    requestId: opts.requestId,
    customerId: opts.customerId,
    scope: opts.scope,
    categories,
    policy: { version: EXPORT_POLICY_VERSION, sha256: EXPORT_POLICY_SHA256 },
    codeVersion: CODE_VERSION,
    generatedAt: (opts.now ?? (() => new Date()))().toISOString(),
    tables: done,
    totals: {
      tables: done.length,
      rows: done.reduce((n, t) => n + t.rows, 0),
      bytes: done.reduce((n, t) => n + t.bytes, 0),
    },
  };
  const text = `${JSON.stringify(manifest, null, 2)}\n`;
  const manifestFile = path.join(dir, MANIFEST_FILE);
  await writeEncryptedFile(manifestFile, text, opts.encryption);
  await fsyncFile(manifestFile);
  return { manifest, manifestSha256: createHash('sha256').update(text).digest('hex') };
}

/** Rows already written according to a checkpoint. */
function rowsIn(checkpoint: ExportCheckpoint): number {
  return (
    checkpoint.done.reduce((n, t) => n + t.rows, 0) + Object.values(checkpoint.current).reduce((n, t) => n + t.rows, 0)
  );
}

/** Next range width: aim at `target` rows per statement, at most doubling or halving at a time. */
function adaptSpan(span: bigint, rows: number, target: number): bigint {
  if (rows < target / 2) return span * 2n;
  if (rows > target * 1.5 && span > 1n) return span / 2n;
  return span;
}

async function columnsOf(db: Knex, tables: string[]): Promise<Record<string, string[]>> {
  const rows = await db<{ table_name: string; column_name: string }>('information_schema.columns')
    .whereRaw('table_schema = current_schema()')
    .whereIn('table_name', tables)
    .orderBy(['table_name', 'ordinal_position'])
    .select('table_name', 'column_name');
  const out: Record<string, string[]> = {};
  for (const t of tables) out[t] = [];
  for (const r of rows) out[r.table_name]!.push(r.column_name);
  for (const t of tables) if (out[t]!.length === 0) throw new Error(`table ${t} has no columns (does it exist?)`);
  return out;
}

/** Smallest and largest key per bigint table for the customer (two index probes on `(customer_id, id)`). */
async function keyRangesOf(
  db: Knex,
  tables: ExportTable[],
  customerId: string,
): Promise<Record<string, { min: string; max: string } | null>> {
  const out: Record<string, { min: string; max: string } | null> = {};
  for (const t of tables) {
    if (t.keyType !== 'bigint') continue;
    const row = (await db(t.table).where(t.owner, customerId).min({ min: t.key }).max({ max: t.key }).first()) as
      { min: string | null; max: string | null } | undefined;
    out[t.table] = row?.min == null || row.max == null ? null : { min: String(row.min), max: String(row.max) };
  }
  return out;
}

/**
 * The planner's estimate of the rows in scope per table (EXPLAIN, no scan): good enough for a progress bar, free even
 * for millions of rows, and refined to exact counts as tables finish.
 */
async function estimateRows(
  db: Knex,
  tables: ExportTable[],
  customerId: string,
  categories: readonly string[],
  keyRanges: Record<string, { min: string; max: string } | null>,
): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const t of tables) {
    const keys = keyRanges[t.table];
    if (t.keyType === 'bigint' && !keys) {
      out[t.table] = 0;
      continue;
    }
    const range = t.keyType === 'bigint' ? ` and ${escapeIdentifier(t.key)} <= ${BigInt(keys!.max)}` : '';
    const { rows } = await db.raw<{ rows: { 'QUERY PLAN': [{ Plan: { 'Plan Rows': number } }] }[] }>(
      `explain (format json) select 1 from ${escapeIdentifier(t.table)} where ${escapeIdentifier(t.owner)} = ?::uuid` +
        ` and data_category = any(?)${range}`,
      [customerId, [...categories]],
    );
    out[t.table] = Math.round(rows[0]?.['QUERY PLAN'][0].Plan['Plan Rows'] ?? 0);
  }
  return out;
}

/** What the export activity needs. */
export interface ExportDeps {
  db: Knex;
  config: {
    exports: {
      dir: string;
      batchRows: number;
      parallelTables: number;
      progressIntervalMs: number;
      encryption: ArchiveKeyring;
    };
  };
  /** Test-only fault injection and observation; absent in production. */
  exportHooks?: ExportHooks;
}

/** Input of the export activity: ids only. */
export interface ExportInput {
  requestId: string;
  customerId: string;
  workflowId: string;
  archiveId: string;
  scope: AccessScope;
}

/** Least time between two heartbeats of the export (the SDK throttles further to its heartbeat timeout). */
const HEARTBEAT_EVERY_MS = 1000;

/** Builds the export activity. */
export function createExportActivities(deps: ExportDeps) {
  const { db } = deps;
  return {
    /**
     * Exports the customer's data in scope into the archive `archiveId`, heartbeating its progress (shown in the Web
     * UI) and reporting it to the workflow (for `GET /v1/requests/{id}`), resumable from its checkpoint. Returns the
     * per-table counts and hashes; already complete (a retry after success): returns the recorded result.
     */
    async exportCustomerData(input: ExportInput): Promise<ExportSummary> {
      const ctx = Context.current();
      const created = await db.transaction(async (trx) => {
        const inserted = await exportArchives.insertIfAbsent(trx, {
          id: input.archiveId,
          requestId: input.requestId,
          customerId: input.customerId,
          scope: input.scope,
        });
        if (inserted) {
          await auditEvents.appendForRequest(trx, input, {
            actor: 'system:access-request',
            action: 'access.export_started',
            details: { scope: input.scope, categories: SCOPE_CATEGORIES[input.scope] },
            subject: { type: 'export_archive', id: input.archiveId },
          });
        }
        return inserted;
      });
      const archive = await exportArchives.findById(db, input.archiveId);
      if (!archive) throw new Error(`export archive ${input.archiveId} vanished`);
      if (archive.status === 'complete') return summaryOf(archive.id, archive.tables ?? [], archive.manifestSha256!);
      if (archive.status === 'deleted') throw new Error(`export archive ${input.archiveId} was deleted`);
      if (!created && archive.checkpoint === null) {
        // A previous attempt died before its first checkpoint: start the directory afresh.
        await rm(archiveDirectory(deps.config.exports.dir, input.archiveId), { recursive: true, force: true });
      }

      const handle = ctx.client.workflow.getHandle(input.workflowId);
      let lastBeat = 0;
      let lastReport = 0;
      let reporting: Promise<void> = Promise.resolve();
      // Heartbeats (liveness, and the progress the Web UI shows) at most every HEARTBEAT_EVERY_MS; reports to the
      // workflow (for its status query) at most every EXPORT_PROGRESS_INTERVAL, one at a time, never blocking rows.
      const report = (p: ExportProgress, force = false): void => {
        const now = Date.now();
        if (force || now - lastBeat >= HEARTBEAT_EVERY_MS) {
          lastBeat = now;
          ctx.heartbeat(p);
        }
        if (!force && now - lastReport < deps.config.exports.progressIntervalMs) return;
        lastReport = now;
        reporting = reporting.then(() =>
          handle.signal(exportProgressSignal, p).catch((err: unknown) => {
            // Progress is informative: a failed report must not fail the export. The context's own logger: this
            // callback may run where the async activity context is lost (gRPC callbacks), and `log` would throw there.
            ctx.log.warn('could not report export progress to the workflow', { err: (err as Error).message });
          }),
        );
      };

      const { manifest, manifestSha256 } = await runExport({
        db,
        exportDir: deps.config.exports.dir,
        archiveId: input.archiveId,
        requestId: input.requestId,
        customerId: input.customerId,
        scope: input.scope,
        batchRows: deps.config.exports.batchRows,
        parallelTables: deps.config.exports.parallelTables,
        encryption: deps.config.exports.encryption,
        checkpoint: archive.checkpoint as ExportCheckpoint | null,
        attempt: ctx.info.attempt,
        hooks: deps.exportHooks,
        onProgress: (p) => report(p),
        async onCheckpoint(checkpoint, p) {
          await exportArchives.saveCheckpoint(db, input.archiveId, checkpoint, p.rowsDone, p.rowsTotal);
          report(p);
        },
      });
      report({ table: '', rowsDone: manifest.totals.rows, rowsTotal: manifest.totals.rows, estimated: false }, true);
      await reporting;

      await db.transaction(async (trx) => {
        await exportArchives.complete(trx, input.archiveId, {
          tables: manifest.tables,
          rows: manifest.totals.rows,
          bytes: manifest.totals.bytes,
          manifestSha256,
        });
        await auditEvents.appendForRequest(trx, input, {
          actor: 'system:access-request',
          action: 'access.export_completed',
          details: {
            rows: manifest.totals.rows,
            bytes: manifest.totals.bytes,
            tables: Object.fromEntries(manifest.tables.map((t) => [t.table, { rows: t.rows, sha256: t.sha256 }])),
            manifestSha256,
            policy: manifest.policy,
            attempt: ctx.info.attempt,
          },
          subject: { type: 'export_archive', id: input.archiveId },
        });
      });
      log.info('export complete', { archiveId: input.archiveId, rows: manifest.totals.rows });
      return summaryOf(input.archiveId, manifest.tables, manifestSha256);
    },
  };
}

function summaryOf(archiveId: string, tables: ArchiveTable[], manifestSha256: string): ExportSummary {
  return {
    archiveId,
    rows: tables.reduce((n, t) => n + t.rows, 0),
    bytes: tables.reduce((n, t) => n + t.bytes, 0),
    tables: tables.map((t) => ({ table: t.table, rows: t.rows, sha256: t.sha256 })),
    manifestSha256,
  };
}

/** The export activity (the access-request workflow's long, heartbeating step, and a termination's return). */
export type ExportActivities = ReturnType<typeof createExportActivities>;
