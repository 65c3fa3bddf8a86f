/**
 * The data map (lib/pure/data-map.ts) against the live schema: which tables hold something of a customer (a
 * `customer_id` or `request_id` column) but are missing from the map, and which mapped tables lack the columns their
 * treatments use. Read by test/data-map.test.ts, so a migration that adds a customer-owned table fails the suite until
 * the table is mapped.
 */
import type { Knex } from 'knex';
import { DATA_MAP } from '../lib/pure/data-map';

/** Columns that tie a row to a customer, directly or through one of its requests. */
const OWNER_COLUMNS = ['customer_id', 'request_id'] as const;

/** What the schema says against the map; every list empty means they agree. */
export interface DataMapDrift {
  /** Tables with an owner column that the map does not list. */
  unmapped: string[];
  /** `table.column` the map relies on (owner, key, data_category, sweep timestamp) that the schema lacks. */
  missingColumns: string[];
}

/** Compares the map with the schema `db` is connected to (or the one a transaction sees). */
export async function dataMapDrift(db: Knex | Knex.Transaction): Promise<DataMapDrift> {
  const { rows } = await db.raw<{ rows: { table_name: string; column_name: string }[] }>(
    `select table_name, column_name from information_schema.columns where table_schema = current_schema()`,
  );
  const columns = new Map<string, Set<string>>();
  for (const r of rows) {
    if (!columns.has(r.table_name)) columns.set(r.table_name, new Set());
    columns.get(r.table_name)!.add(r.column_name);
  }
  const mapped = new Set(DATA_MAP.map((t) => t.table));
  const unmapped = [...columns]
    .filter(([table, cols]) => !mapped.has(table) && OWNER_COLUMNS.some((c) => cols.has(c)))
    .map(([table]) => table)
    .sort();
  const missingColumns: string[] = [];
  for (const t of DATA_MAP) {
    const cols = columns.get(t.table) ?? new Set<string>();
    const needed = [t.owner.column, t.key];
    if (t.categories.length > 0) needed.push('data_category');
    if (t.sweep) needed.push(t.sweep.timestamp);
    for (const c of needed) if (!cols.has(c)) missingColumns.push(`${t.table}.${c}`);
  }
  return { unmapped, missingColumns };
}
