/**
 * Store for `export_archives`: one row per access-request archive, holding the export's checkpoint while it runs and
 * the per-table results (rows, bytes, SHA-256) once it is complete. The archive's files live under EXPORT_DIR, in a
 * directory named after the archive id.
 */
import type { Knex } from 'knex';

type Db = Knex | Knex.Transaction;

export type ArchiveStatus = 'running' | 'complete' | 'deleted';

/** One table file of an archive. */
export interface ArchiveTable {
  table: string;
  file: string;
  categories: string[];
  columns: string[];
  rows: number;
  bytes: number;
  sha256: string;
}

export interface ExportArchive {
  id: string;
  requestId: string;
  customerId: string;
  scope: string;
  status: ArchiveStatus;
  checkpoint: unknown;
  rowsTotal: number | null;
  rowsDone: number;
  bytes: number | null;
  tables: ArchiveTable[] | null;
  manifestSha256: string | null;
  createdAt: Date;
  completedAt: Date | null;
  deletedAt: Date | null;
}

interface ArchiveRow {
  id: string;
  request_id: string;
  customer_id: string;
  scope: string;
  status: ArchiveStatus;
  checkpoint: unknown;
  rows_total: string | null;
  rows_done: string;
  bytes: string | null;
  tables: ArchiveTable[] | null;
  manifest_sha256: string | null;
  created_at: Date;
  completed_at: Date | null;
  deleted_at: Date | null;
}

function toArchive(row: ArchiveRow): ExportArchive {
  return {
    id: row.id,
    requestId: row.request_id,
    customerId: row.customer_id,
    scope: row.scope,
    status: row.status,
    checkpoint: row.checkpoint,
    rowsTotal: row.rows_total === null ? null : Number(row.rows_total),
    rowsDone: Number(row.rows_done),
    bytes: row.bytes === null ? null : Number(row.bytes),
    tables: row.tables,
    manifestSha256: row.manifest_sha256,
    createdAt: row.created_at,
    completedAt: row.completed_at,
    deletedAt: row.deleted_at,
  };
}

export const exportArchives = {
  /** Records a new archive; returns false when it exists already (a retried or resumed export). */
  async insertIfAbsent(
    db: Db,
    a: { id: string; requestId: string; customerId: string; scope: string },
  ): Promise<boolean> {
    const rows = await db('export_archives')
      .insert({ id: a.id, request_id: a.requestId, customer_id: a.customerId, scope: a.scope })
      .onConflict('id')
      .ignore()
      .returning('id');
    return rows.length > 0;
  },

  async findById(db: Db, id: string): Promise<ExportArchive | undefined> {
    const row = await db<ArchiveRow>('export_archives').where({ id }).first();
    return row && toArchive(row);
  },

  /** Saves where a running export stands, so that a retry continues from there. */
  async saveCheckpoint(
    db: Db,
    id: string,
    checkpoint: unknown,
    rowsDone: number,
    rowsTotal: number | null,
  ): Promise<void> {
    await db('export_archives')
      .where({ id, status: 'running' })
      .update({ checkpoint: JSON.stringify(checkpoint), rows_done: rowsDone, rows_total: rowsTotal });
  },

  /** Marks a running archive complete with its per-table results and the manifest's hash; false when not running. */
  async complete(
    db: Db,
    id: string,
    r: { tables: ArchiveTable[]; rows: number; bytes: number; manifestSha256: string },
  ): Promise<boolean> {
    const n = await db('export_archives')
      .where({ id, status: 'running' })
      .update({
        status: 'complete',
        tables: JSON.stringify(r.tables),
        rows_done: r.rows,
        rows_total: r.rows,
        bytes: r.bytes,
        manifest_sha256: r.manifestSha256,
        checkpoint: null,
        completed_at: db.fn.now(),
      });
    return n > 0;
  },

  /** Marks the archive's files as deleted; false when it was already marked. */
  async markDeleted(db: Db, id: string): Promise<boolean> {
    const n = await db('export_archives')
      .where({ id })
      .whereNot({ status: 'deleted' })
      .update({ status: 'deleted', checkpoint: null, deleted_at: db.fn.now() });
    return n > 0;
  },
};
