/**
 * The export activity: runs the export engine (db/export-engine.ts) for one access request's archive under a lease
 * (docs/reliability.md), heartbeats its progress and reports it to the workflow without ever waiting for the report.
 */
import { rm } from 'node:fs/promises';
import { Context, log } from '@temporalio/activity';
import type { Knex } from 'knex';
import { activityLeases, type Lease } from '../db/repositories/activity-leases';
import { auditEvents } from '../db/repositories/audit-events';
import { exportArchives, type ArchiveTable } from '../db/repositories/export-archives';
import {
  removeAttemptFiles,
  removeWorkDir,
  runExport,
  type ExportCheckpoint,
  type ExportHooks,
  type ExportSummary,
} from '../db/export-engine';
import type { ExportProgress } from '../lib/pure/access-request-messages';
import { SCOPE_CATEGORIES, type AccessScope } from '../lib/pure/access-scope';
import { deliveredArchiveDirectory } from '../lib/export-archive';
import type { ArchiveKeyring } from '../lib/export-encryption';
import { StaleAttemptError } from '../lib/pure/errors';
import { exportProgressSignal } from '../workflows/access-request';
import { claimForThisAttempt } from './attempt-lease';

// The engine's public parts, where callers found them before it moved to db/.
export {
  CODE_VERSION,
  EXPORT_POLICY_SHA256,
  EXPORT_POLICY_VERSION,
  EXPORT_TABLES,
  runExport,
  tablesInScope,
  type ExportCheckpoint,
  type ExportHooks,
  type ExportManifest,
  type ExportSummary,
  type ExportTable,
  type RunExportOptions,
  type TableCheckpoint,
} from '../db/export-engine';

/** What the export activity needs. */
export interface ExportDeps {
  db: Knex;
  config: {
    exports: {
      dir: string;
      batchRows: number;
      parallelTables: number;
      progressIntervalMs: number;
      /** Keys of the archive files at rest (lib/export-encryption.ts). */
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

/**
 * How long one progress report to the workflow may take. Reports are fire-and-forget: at most one in flight, never
 * awaited by the export, so an unreachable Temporal costs the export nothing (it once held a completion for 25 s).
 */
export const PROGRESS_REPORT_DEADLINE_MS = 2000;

/** The lease key of an archive: one attempt at a time writes it. */
export const exportFenceKey = (archiveId: string) => `export:${archiveId}`;

/** Builds the export activity. */
export function createExportActivities(deps: ExportDeps) {
  const { db } = deps;
  return {
    /**
     * Exports the customer's data in scope into the archive `archiveId`, heartbeating its progress (shown in the Web
     * UI) and reporting it to the workflow (for `GET /v1/requests/{id}`), resumable from its checkpoint. Returns the
     * per-table counts and hashes; already complete (a retry after success): returns the recorded result. An attempt
     * that a newer one replaced fails with `StaleAttemptError` at its next write and leaves no trace.
     */
    async exportCustomerData(input: ExportInput): Promise<ExportSummary> {
      const ctx = Context.current();
      const attempt = ctx.info.attempt;
      await db.transaction(async (trx) => {
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
      });
      const found = await exportArchives.findById(db, input.archiveId);
      if (!found) throw new Error(`export archive ${input.archiveId} vanished`);
      if (found.status === 'complete') return summaryOf(found.id, found.tables ?? [], found.manifestSha256!);
      if (found.status === 'deleted') throw new Error(`export archive ${input.archiveId} was deleted`);

      // From here on this attempt writes only under its lease, into files of its own.
      const lease = await claimForThisAttempt(db, exportFenceKey(input.archiveId));
      // Read again under the lease: the checkpoint the previous holder saved last.
      const archive = (await exportArchives.findById(db, input.archiveId))!;
      if (archive.status === 'complete') return summaryOf(archive.id, archive.tables ?? [], archive.manifestSha256!);
      const workDir = `${attempt}-${lease.token}`;

      const report = progressReporter(ctx, input.workflowId, deps.config.exports.progressIntervalMs);
      let result: Awaited<ReturnType<typeof runExport>>;
      try {
        result = await runExport({
          db,
          exportDir: deps.config.exports.dir,
          archiveId: input.archiveId,
          workDir,
          requestId: input.requestId,
          customerId: input.customerId,
          scope: input.scope,
          batchRows: deps.config.exports.batchRows,
          parallelTables: deps.config.exports.parallelTables,
          encryption: deps.config.exports.encryption,
          checkpoint: archive.checkpoint as ExportCheckpoint | null,
          attempt,
          hooks: deps.exportHooks,
          onProgress: (p) => report({ ...p, attempt }),
          async onCheckpoint(checkpoint, p) {
            await activityLeases.fenced(db, lease, (trx) =>
              exportArchives.saveCheckpoint(trx, input.archiveId, checkpoint, p.rowsDone, p.rowsTotal),
            );
            report({ ...p, attempt });
          },
        });
      } catch (err) {
        throw await asStale(err, lease, workDir);
      }
      const { manifest, manifestSha256 } = result;
      report(
        { table: '', rowsDone: manifest.totals.rows, rowsTotal: manifest.totals.rows, estimated: false, attempt },
        true,
      );

      try {
        await activityLeases.fenced(db, lease, async (trx) => {
          const completed = await exportArchives.complete(trx, input.archiveId, {
            tables: manifest.tables,
            rows: manifest.totals.rows,
            bytes: manifest.totals.bytes,
            manifestSha256,
          });
          if (!completed) throw new StaleAttemptError(lease.key, 'the archive is no longer being written');
          await auditEvents.appendForRequest(trx, input, {
            actor: 'system:access-request',
            action: 'access.export_completed',
            details: {
              rows: manifest.totals.rows,
              bytes: manifest.totals.bytes,
              tables: Object.fromEntries(manifest.tables.map((t) => [t.table, { rows: t.rows, sha256: t.sha256 }])),
              manifestSha256,
              policy: manifest.policy,
              attempt,
            },
            subject: { type: 'export_archive', id: input.archiveId },
          });
        });
      } catch (err) {
        throw await asStale(err, lease, workDir, result.manifestSha256);
      }
      // The delivered archive holds its own links to the files: the attempts' working copies can go, and so can
      // anything a replaced attempt left beside it.
      await removeAttemptFiles(deps.config.exports.dir, input.archiveId, manifestSha256).catch((err: unknown) => {
        log.warn('could not remove export working files', { archiveId: input.archiveId, err: String(err) });
      });
      log.info('export complete', { archiveId: input.archiveId, rows: manifest.totals.rows, attempt });
      return summaryOf(input.archiveId, manifest.tables, manifestSha256);
    },
  };

  /**
   * The error an attempt ends with: whatever failed (a refused checkpoint, or a file of its own that the winner's
   * cleanup removed), an attempt that lost its lease ends with {@link StaleAttemptError} and cleans up after itself.
   */
  async function asStale(err: unknown, lease: Lease, workDir: string, delivered?: string): Promise<unknown> {
    const stale = err instanceof StaleAttemptError || !(await activityLeases.holds(db, lease).catch(() => true));
    if (!stale) return err;
    await forgetAttempt(lease, workDir, delivered);
    return err instanceof StaleAttemptError ? err : new StaleAttemptError(lease.key, `replaced (${String(err)})`);
  }

  /**
   * A replaced attempt removes what only it wrote: its working directory and staging, and an archive it delivered
   * when the winner recorded a different one (the same hash is the same bytes: the winner's, which stays).
   */
  async function forgetAttempt(lease: Lease, workDir: string, delivered?: string): Promise<void> {
    log.warn('export attempt was replaced by a newer one; stopping without further writes', { lease: lease.key });
    const archiveId = lease.key.slice('export:'.length);
    await removeWorkDir(deps.config.exports.dir, archiveId, workDir).catch(() => undefined);
    if (delivered === undefined) return;
    const recorded = await exportArchives.findById(db, archiveId).catch(() => undefined);
    if (recorded?.status === 'complete' && recorded.manifestSha256 !== delivered) {
      await rm(deliveredArchiveDirectory(deps.config.exports.dir, archiveId, delivered), {
        recursive: true,
        force: true,
      }).catch(() => undefined);
    }
  }
}

/**
 * Progress of one attempt: heartbeats (liveness, and the progress the Web UI and `describe()` show) at most every
 * HEARTBEAT_EVERY_MS; signals to the workflow (its status query) at most every `intervalMs`, at most one in flight,
 * each with a short deadline, never awaited: the export neither slows down nor waits at its end for a report.
 */
function progressReporter(ctx: Context, workflowId: string, intervalMs: number) {
  const handle = ctx.client.workflow.getHandle(workflowId);
  let lastBeat = 0;
  let lastReport = 0;
  let inFlight = false;
  return (p: ExportProgress, force = false): void => {
    const now = Date.now();
    if (force || now - lastBeat >= HEARTBEAT_EVERY_MS) {
      lastBeat = now;
      ctx.heartbeat(p);
    }
    if (inFlight || (!force && now - lastReport < intervalMs)) return;
    lastReport = now;
    inFlight = true;
    ctx.client.connection
      .withDeadline(Date.now() + PROGRESS_REPORT_DEADLINE_MS, () => handle.signal(exportProgressSignal, p))
      .catch((err: unknown) => {
        // Progress is informative: a failed report must not fail the export. The context's own logger: this
        // callback may run where the async activity context is lost (gRPC callbacks), and `log` would throw there.
        ctx.log.warn('could not report export progress to the workflow', { err: (err as Error).message });
      })
      .finally(() => {
        inFlight = false;
      });
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
