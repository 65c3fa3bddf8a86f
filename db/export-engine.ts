/**
 * The export engine: everything held about a customer in a scope, into an archive directory (lib/export-archive.ts):
 * one CSV file per table plus `manifest.json` (row counts, SHA-256 per file, scope, policy and code versions,
 * generated-at). The export activity (activities/export.ts) runs it with a lease; bench/export.ts runs it bare.
 *
 * How it stays fast, small and exact whatever the row count:
 * - Rows stream from PostgreSQL with `COPY (SELECT ...) TO STDOUT (FORMAT csv)` (pg-copy-streams) through a SHA-256
 *   into the file in 1 MiB encrypted records (lib/export-encryption.ts: sizes, offsets and hashes are of the
 *   plaintext), with back-pressure: memory holds a few stream buffers, never rows. Nothing of the
 *   data passes through Temporal: the workflow gets ids, counts and hashes.
 * - The big tables (bigint keys) are read in key ranges, `customer_id = $c AND id > $after AND id <= $upTo`, served by
 *   their `(customer_id, id)` index. After each range the file is flushed and a checkpoint (finished tables, current
 *   table, last key, rows and bytes so far, and which file holds them) is saved in `export_archives`. A retried
 *   activity (crash, worker restart, injected fault) copies the checkpointed prefix of each unfinished file into files
 *   of its own, re-hashing it on the way, and continues after the last key, so the archive is byte-for-byte what one
 *   uninterrupted run would have written.
 * - Each table is read up to the largest key it had when the export started (recorded in the checkpoint), so a
 *   resumed export does not pick up rows added meanwhile and the manifest's counts describe one cut.
 * - Ranges adapt: a range that held few rows doubles, one that held too many halves, so customers whose rows are
 *   spread thinly over the key space still take few statements.
 *
 * Fenced (docs/reliability.md): each attempt writes only into its own directory, `<archive>/attempts/<workDir>/`, and
 * never touches another attempt's files, so an attempt paused past its heartbeat timeout that wakes up cannot append
 * to what a newer attempt wrote; its next checkpoint is refused by the lease. The delivered archive is immutable and
 * content-addressed: `<archive>/<manifest sha256>/` (lib/export-archive.ts), assembled under a name of the attempt's
 * own and renamed into place in one step; the manifest is a function of the checkpoint alone (its generated-at is
 * fixed in the checkpoint when the last table finishes), so any attempt that delivers delivers the same bytes to the
 * same path, and nothing there is ever appended to or rewritten.
 */
import { createHash, randomUUID, type Hash } from 'node:crypto';
import { chmod, link, mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { canonicalize } from 'json-canonicalize';
import type { Knex } from 'knex';
import { escapeIdentifier, escapeLiteral, type PoolClient } from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import type { ArchiveTable } from './repositories/export-archives';
import type { DataCategory } from '../lib/pure/data-categories';
import { archiveDirectory, ATTEMPTS_DIR, deliveredArchiveDirectory, MANIFEST_FILE } from '../lib/export-archive';
import {
  decryptingReadStream,
  encryptingAppender,
  plaintextSize,
  writeEncryptedFile,
  type ArchiveKeyring,
} from '../lib/export-encryption';
import { faultPoint } from '../lib/fault-points';
import type { ExportProgress } from '../lib/pure/access-request-messages';
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
  version: 3;
  /** Columns per table, fixed at the start so that every batch of a file has the same shape. */
  columns: Record<string, string[]>;
  /** Smallest and largest key per bigint table when the export started (null: no rows); the export reads up to max. */
  keyRanges: Record<string, { min: string; max: string } | null>;
  /** Finished tables (in the order they finished). */
  done: ArchiveTable[];
  /** Tables being written, by name. */
  current: Record<string, TableCheckpoint>;
  /**
   * The file holding each table's checkpointed bytes (finished or not), relative to the archive directory, e.g.
   * `attempts/2-<token>/orders.csv`: an attempt's own files, which no other attempt writes.
   */
  files: Record<string, string>;
  /** The manifest's generated-at, fixed when the last table finished, so every attempt writes the same manifest. */
  generatedAt?: string;
}

/** The checkpoint format before attempt-scoped files (files in the archive directory itself), still resumable. */
interface ExportCheckpointV2 extends Omit<ExportCheckpoint, 'version' | 'files' | 'generatedAt'> {
  version: 2;
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
  /**
   * Called after each batch has been written and checkpointed, and awaited: throwing fails the attempt there, a
   * promise that waits pauses it there (as a frozen worker).
   */
  afterBatch?(info: { requestId: string; attempt: number; table: string; rowsDone: number }): void | Promise<void>;
}

/** Options of {@link runExport}. */
export interface RunExportOptions {
  db: Knex;
  exportDir: string;
  archiveId: string;
  /**
   * This attempt's own working directory, relative to `<archive>/attempts/` (default: `<attempt>-<random uuid>`).
   * Nothing else writes there; the activity names it after its lease token.
   */
  workDir?: string;
  requestId: string;
  customerId: string;
  scope: AccessScope;
  /** Rows per range of the bigint tables (the checkpoint interval). */
  batchRows: number;
  /** Tables written at the same time, each on its own connection (default 1). */
  parallelTables?: number;
  /** Where a previous attempt stopped, if any. */
  checkpoint?: ExportCheckpoint | ExportCheckpointV2 | null;
  /**
   * Called after each batch, once its bytes are in the file, and once more before delivery; persist it to make the
   * export resumable. The activity saves it under its lease: a refusal (a newer attempt took over) stops the export.
   */
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

/**
 * Copies the first `bytes` of `source` (another attempt's file) into the new file `target`, hashing them on the way:
 * the resumed file starts exactly at the checkpoint, whatever the source holds after it (bytes an attempt wrote but
 * never checkpointed, or is still appending while paused). Both are encrypted (lib/export-encryption.ts): the prefix
 * is decrypted, hashed as plaintext and encrypted again into the new file.
 */
async function copyPrefix(source: string, target: string, bytes: number, keyring: ArchiveKeyring): Promise<Hash> {
  const hash = createHash('sha256');
  const tap = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      hash.update(chunk);
      done(null, chunk);
    },
  });
  await writeEncryptedFile(target, Buffer.alloc(0), keyring, { flag: 'wx' });
  await pipeline(decryptingReadStream(source, keyring, { end: bytes }), tap, encryptingAppender(target, keyring));
  return hash;
}

async function sizeOf(file: string): Promise<number> {
  return stat(file).then(
    (s) => s.size,
    () => -1,
  );
}

async function fsyncFile(file: string): Promise<void> {
  // Read-only is enough for fsync, and the only way into a delivered (0400) file for a service not running as root.
  const handle = await open(file, 'r');
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
export async function runExport(opts: RunExportOptions): Promise<ExportResult> {
  if (!UUID.test(opts.customerId)) throw new Error('customer id must be a lower-case UUID');
  const root = archiveDirectory(opts.exportDir, opts.archiveId);
  const tables = tablesInScope(opts.scope);
  const categories = SCOPE_CATEGORIES[opts.scope];
  const attempt = opts.attempt ?? 1;
  const workDir = path.posix.join(ATTEMPTS_DIR, opts.workDir ?? `${attempt}-${randomUUID()}`);
  const dir = path.join(root, workDir);
  await mkdir(dir, { recursive: true });

  const checkpoint: ExportCheckpoint = opts.checkpoint
    ? await usableCheckpoint(root, opts.checkpoint)
    : {
        version: 3,
        columns: await columnsOf(
          opts.db,
          tables.map((t) => t.table),
        ),
        keyRanges: await keyRangesOf(opts.db, tables, opts.customerId),
        done: [],
        current: {},
        files: {},
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
    const relative = path.posix.join(workDir, fileOf(spec.table));
    const file = path.join(root, relative);
    const header = `${columns.join(',')}\n`;
    const fresh = (): TableCheckpoint => ({ after: null, rows: 0, bytes: 0, span: String(opts.batchRows) });

    // Resume from the checkpoint when the file it names still holds what it says: its prefix up to the checkpoint
    // goes into a file of this attempt's own; bytes after it are written again.
    let state = checkpoint.current[spec.table] ?? fresh();
    const source = checkpoint.files[spec.table];
    let hash: Hash;
    // Sizes are of the plaintext; the files hold it encrypted (lib/export-encryption.ts).
    if (state.bytes > 0 && source !== undefined && (await plaintextSize(path.join(root, source))) >= state.bytes) {
      hash = await copyPrefix(path.join(root, source), file, state.bytes, opts.encryption);
    } else {
      state = fresh();
      await writeEncryptedFile(file, header, opts.encryption, { flag: 'wx' });
      state.bytes = Buffer.byteLength(header);
      hash = createHash('sha256').update(header);
    }
    checkpoint.current[spec.table] = state;
    checkpoint.files[spec.table] = relative;
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
      // The range's rows are in the file and not yet in the checkpoint: a crash here must cost a rewrite, no more.
      await faultPoint('export.mid-range');
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
        await opts.hooks?.afterBatch?.({
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
    await opts.hooks?.afterBatch?.({
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

  // Fix the manifest's generated-at in the checkpoint (under the lease, like every checkpoint), so that an attempt
  // that delivers after this one writes the very same manifest.
  if (checkpoint.generatedAt === undefined) {
    checkpoint.generatedAt = (opts.now ?? (() => new Date()))().toISOString();
    await save('');
    await saving;
  }
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
    generatedAt: checkpoint.generatedAt,
    tables: done,
    totals: {
      tables: done.length,
      rows: done.reduce((n, t) => n + t.rows, 0),
      bytes: done.reduce((n, t) => n + t.bytes, 0),
    },
  };
  const text = `${JSON.stringify(manifest, null, 2)}\n`;
  const manifestSha256 = createHash('sha256').update(text).digest('hex');
  const directory = await deliver(
    opts.exportDir,
    opts.archiveId,
    checkpoint,
    text,
    manifestSha256,
    path.basename(workDir),
    opts.encryption,
  );
  return { manifest, manifestSha256, directory };
}

/** What {@link runExport} produced. */
export interface ExportResult {
  manifest: ExportManifest;
  manifestSha256: string;
  /** The delivered archive: `<archive>/<manifestSha256>/`, immutable. */
  directory: string;
}

/**
 * Puts the archive in place at `<archive>/<manifestSha256>/`: hard links to the finished (fsynced) table files, the
 * manifest, all read-only, assembled in a staging directory of this attempt's own and renamed into place in one step.
 * The path is the content's hash, so an archive already there (another attempt delivered first) holds these very
 * bytes: the staging directory is dropped and nothing is overwritten.
 */
async function deliver(
  exportDir: string,
  archiveId: string,
  checkpoint: ExportCheckpoint,
  manifestText: string,
  manifestSha256: string,
  staging: string,
  keyring: ArchiveKeyring,
): Promise<string> {
  const root = archiveDirectory(exportDir, archiveId);
  const target = deliveredArchiveDirectory(exportDir, archiveId, manifestSha256);
  if ((await sizeOf(path.join(target, MANIFEST_FILE))) >= 0) return target;
  const stage = path.join(root, `.staging-${staging}`);
  await rm(stage, { recursive: true, force: true });
  await mkdir(stage);
  for (const t of checkpoint.done) {
    const file = path.join(stage, t.file);
    await link(path.join(root, checkpoint.files[t.table]!), file);
    // Read-only, and for the service's user alone: the files hold personal data (encrypted, but still).
    await chmod(file, 0o400);
  }
  const manifestFile = path.join(stage, MANIFEST_FILE);
  await writeEncryptedFile(manifestFile, manifestText, keyring, { flag: 'wx' });
  await chmod(manifestFile, 0o400);
  await fsyncFile(manifestFile);
  await faultPoint('export.during-delivery');
  try {
    await rename(stage, target);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw err;
    await rm(stage, { recursive: true, force: true });
  }
  await fsyncDirectory(root);
  return target;
}

async function fsyncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * The checkpoint as this version resumes it: a version 2 checkpoint (files in the archive directory itself) names
 * its files; a finished table whose file is gone or shorter than recorded (lost in a machine crash before its flush)
 * is written again.
 */
async function usableCheckpoint(root: string, given: ExportCheckpoint | ExportCheckpointV2): Promise<ExportCheckpoint> {
  const checkpoint: ExportCheckpoint =
    given.version === 3
      ? (JSON.parse(JSON.stringify(given)) as ExportCheckpoint)
      : {
          ...(JSON.parse(JSON.stringify(given)) as ExportCheckpointV2),
          version: 3,
          files: Object.fromEntries(
            [...given.done.map((d) => d.table), ...Object.keys(given.current)].map((t) => [t, fileOf(t)]),
          ),
        };
  const kept: ArchiveTable[] = [];
  for (const d of checkpoint.done) {
    const file = checkpoint.files[d.table];
    if (file !== undefined && (await plaintextSize(path.join(root, file))) === d.bytes) kept.push(d);
    else delete checkpoint.files[d.table];
  }
  if (kept.length !== checkpoint.done.length) {
    checkpoint.done = kept;
    delete checkpoint.generatedAt;
  }
  return checkpoint;
}

/**
 * Once the archive `manifestSha256` is recorded as delivered: removes the working files of every attempt (the archive
 * holds its own links to the files) and whatever a replaced attempt left beside it (staging, another delivery).
 */
export async function removeAttemptFiles(exportDir: string, archiveId: string, manifestSha256: string): Promise<void> {
  const root = archiveDirectory(exportDir, archiveId);
  for (const entry of await readdir(root)) {
    if (entry === manifestSha256) continue;
    if (entry === ATTEMPTS_DIR || entry.startsWith('.staging-') || /^[0-9a-f]{64}$/.test(entry)) {
      await rm(path.join(root, entry), { recursive: true, force: true });
    }
  }
}

/** Removes one attempt's working directory (a replaced attempt cleaning up after itself). */
export async function removeWorkDir(exportDir: string, archiveId: string, workDir: string): Promise<void> {
  const root = archiveDirectory(exportDir, archiveId);
  await rm(path.join(root, ATTEMPTS_DIR, path.basename(workDir)), { recursive: true, force: true });
  await rm(path.join(root, `.staging-${path.basename(workDir)}`), { recursive: true, force: true });
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
