/**
 * What an erasure of one scope (customer x data categories) touches, and in which order. Pure: safe to import from
 * workflow code; the activities turn the steps into batched SQL.
 *
 * Scope decisions (documented in docs and the erasure workflow):
 * - Every table listed in {@link ERASURE_TABLES} holds rows of one or more categories in its `data_category` column;
 *   an erasure deletes exactly `customer_id = <customer> and data_category = <category>` from it.
 * - `business_contact` covers contacts and contracts. The customers row itself (also `business_contact`) and the
 *   customer's subprocessor links go only with a `termination` erasure that includes `business_contact`
 *   ({@link includesCustomerRecord}); a retention erasure keeps the customer known.
 * - `audit_log` is never erased here: the audit module purges the hash-chained log on its own retention
 *   ({@link CATEGORIES_OUTSIDE_ERASURE}).
 * - `export_archives` covers the access-request archives (their rows and their directory under EXPORT_DIR) and the
 *   public links that point at them.
 * - An archive is also a copy of the categories its scope exported: erasing any of those categories deletes the
 *   archive (files and row) and revokes its links ({@link exportScopesHolding}), so erased data cannot be downloaded
 *   afterwards (issue #11).
 */
import { DATA_CATEGORIES, isDataCategory, type DataCategory } from './data-categories';
import { SCOPE_CATEGORIES, type AccessScope } from './access-scope';
import { DATA_MAP, erasureOrder, type KeyType, type Reference } from './data-map';
import { STATUTORY_RETENTION_RULES } from './statutory-rules';

export type { KeyType, Reference } from './data-map';

/** One customer-owned table in the erasure plan (its erasure treatment in the data map, lib/pure/data-map.ts). */
export interface ErasureTable {
  table: string;
  /** Categories its rows may carry in `data_category`. */
  categories: readonly DataCategory[];
  keyType: KeyType;
  /** Files that belong to each row and go with it (the data map's erasure treatment). */
  files?: 'export-archive-directory';
  /** References from other tables, nulled in short batches before rows of this table go (see the data map). */
  referencedBy?: readonly Reference[];
}

/**
 * Every table that holds customer data by category, in dependency order (from the data map): a table comes before the
 * tables it references, so deleting never trips a foreign key.
 */
export const ERASURE_TABLES: readonly ErasureTable[] = erasureOrder().map((t) => ({
  table: t.table,
  categories: t.categories,
  keyType: t.erasure.keyType,
  ...(t.erasure.files ? { files: t.erasure.files } : {}),
  ...(t.erasure.referencedBy ? { referencedBy: t.erasure.referencedBy } : {}),
}));

/**
 * Tables with customer data that a per-category erasure deliberately leaves alone, and why (from the data map).
 * Together with {@link ERASURE_TABLES} they name every table of the map.
 */
export const TABLES_OUTSIDE_ERASURE: Readonly<Record<string, string>> = Object.fromEntries(
  DATA_MAP.flatMap((t) => ('excluded' in t.erasure ? [[t.table, t.erasure.excluded]] : [])),
);

/** Categories an erasure never deletes, and why. */
export const CATEGORIES_OUTSIDE_ERASURE: Readonly<Partial<Record<DataCategory, string>>> = {
  audit_log: 'handled by the audit module (retention purge of the hash-chained audit log)',
};

/**
 * Named records an erasure may be narrowed to (a deletion request naming contacts or seller accounts): for a category
 * with a table named here, only the listed rows of that table are erased and the category's other tables are left
 * alone (naming contacts erases those contacts, not the contract).
 */
export interface ErasureRecords {
  contacts?: string[];
  seller_accounts?: string[];
}

/** The tables whose rows an erasure can be narrowed to, with their category. */
export const RECORD_TABLES: Readonly<Record<keyof ErasureRecords, DataCategory>> = {
  contacts: 'business_contact',
  seller_accounts: 'seller_accounts',
};

/**
 * The row ids `table` is narrowed to, `null` when the whole table is in scope for `category`, or `'skip'` when the
 * category is narrowed to rows of another table.
 */
export function recordFilter(
  table: string,
  category: DataCategory,
  records: ErasureRecords | undefined,
): string[] | null | 'skip' {
  if (!records) return null;
  const narrowed = (Object.keys(RECORD_TABLES) as (keyof ErasureRecords)[]).filter(
    (t) => RECORD_TABLES[t] === category && records[t] !== undefined,
  );
  if (narrowed.length === 0) return null;
  const own = narrowed.find((t) => t === table);
  return own ? [...records[own]!] : 'skip';
}

/** Why an erasure runs: a retention expiry, a contract termination, or a customer's deletion request. */
export type ErasureReason = 'retention' | 'termination' | 'deletion-request';

/** What a step does to the rows it walks. */
export type ErasureAction = 'mark-retained' | 'detach' | 'delete';

/** One batched walk over one table for one category. Its `key` names its checkpoint. */
export interface ErasureStep {
  key: string;
  /** The table whose rows the step walks (for `detach`: the referencing table). */
  table: string;
  category: DataCategory;
  action: ErasureAction;
  keyType: KeyType;
  /** `detach`: which table's rows of the scope are about to go, and the column that points at them. */
  detach?: { parent: string; column: string };
  /** `mark-retained`: the statutory rule (lib/statutory-retention.ts). */
  ruleId?: string;
  /** `delete`: files that go with each row (see {@link ErasureTable.files}). */
  files?: ErasureTable['files'];
  /** Only these rows of `table` (`delete`) or of the parent (`detach`): the erasure is narrowed to named records. */
  ids?: string[];
}

/**
 * Sorts and de-duplicates categories in {@link DATA_CATEGORIES} order, so that equal scopes compare equal.
 * @throws RangeError naming an unknown category.
 */
export function normalizeCategories(categories: readonly string[]): DataCategory[] {
  for (const c of categories) if (!isDataCategory(c)) throw new RangeError(`unknown data category "${c}"`);
  return DATA_CATEGORIES.filter((c) => categories.includes(c));
}

/** Whether a scope removes the customer record itself (see the module comment). */
export function includesCustomerRecord(reason: string, categories: readonly DataCategory[]): boolean {
  return reason === 'termination' && categories.includes('business_contact');
}

/** The categories of `categories` that an erasure acts on (everything but {@link CATEGORIES_OUTSIDE_ERASURE}). */
export function erasableCategories(categories: readonly DataCategory[]): DataCategory[] {
  return normalizeCategories(categories).filter((c) => CATEGORIES_OUTSIDE_ERASURE[c] === undefined);
}

/**
 * The steps that erase `categories`, in execution order: for each table in dependency order and each of its
 * categories in scope, first `mark-retained` (rows a statutory rule keeps, when the rule's period is configured),
 * then `detach` (null references from rows that stay), then `delete`.
 * @param retainingRules ids of the statutory rules in force (those whose period is configured).
 * @param wholeScope every category of the erasure, when `categories` is only the part erased now (held categories
 *   go in a later pass): a referencing category anywhere in it is erased before, so only its retained rows can stay.
 */
export function erasureSteps(
  categories: readonly DataCategory[],
  retainingRules: readonly string[],
  wholeScope: readonly DataCategory[] = categories,
  records?: ErasureRecords,
): ErasureStep[] {
  const scope = erasableCategories(categories);
  const steps: ErasureStep[] = [];
  for (const t of ERASURE_TABLES) {
    for (const category of t.categories) {
      if (!scope.includes(category)) continue;
      const filter = recordFilter(t.table, category, records);
      if (filter === 'skip') continue;
      const ids = filter === null ? {} : { ids: filter };
      for (const rule of STATUTORY_RETENTION_RULES) {
        if (rule.table === t.table && rule.category === category && retainingRules.includes(rule.id)) {
          steps.push({
            key: `${t.table}:${category}:mark-retained:${rule.id}`,
            table: t.table,
            category,
            action: 'mark-retained',
            keyType: t.keyType,
            ruleId: rule.id,
          });
        }
      }
      for (const ref of t.referencedBy ?? []) {
        // Referencing rows in scope are gone by now (dependency order) unless a statutory rule keeps some: only then
        // can rows that stay point here.
        const refRetained = STATUTORY_RETENTION_RULES.some(
          (r) => r.table === ref.table && r.category === ref.category && retainingRules.includes(r.id),
        );
        if (wholeScope.includes(ref.category) && !refRetained) continue;
        steps.push({
          key: `${t.table}:${category}:detach:${ref.table}.${ref.column}`,
          table: ref.table,
          category,
          action: 'detach',
          keyType: ref.keyType,
          detach: { parent: t.table, column: ref.column },
          ...ids,
        });
      }
      steps.push({
        key: `${t.table}:${category}:delete`,
        table: t.table,
        category,
        action: 'delete',
        keyType: t.keyType,
        ...(t.files ? { files: t.files } : {}),
        ...ids,
      });
    }
  }
  return steps;
}

/** Tables a scope deletes from (in plan order); narrowed to named records, only their tables for their categories. */
export function tablesOf(categories: readonly DataCategory[], records?: ErasureRecords): string[] {
  const scope = erasableCategories(categories);
  return ERASURE_TABLES.filter((t) =>
    t.categories.some((c) => scope.includes(c) && recordFilter(t.table, c, records) !== 'skip'),
  ).map((t) => t.table);
}

/**
 * Which categories of `scope` must wait, given the categories an active legal hold covers: the held ones, and those
 * whose rows are referenced by rows of a held category (deleting a seller account would rewrite held orders that
 * point at it). Everything else proceeds.
 */
export function deferredCategories(scope: readonly DataCategory[], held: readonly DataCategory[]): DataCategory[] {
  return normalizeCategories(scope).filter((c) => holdingCategories(c).some((h) => held.includes(h)));
}

/** The categories whose hold defers the deletion of `category`: itself, and those whose rows point at its rows. */
export function holdingCategories(category: DataCategory): DataCategory[] {
  const refs = ERASURE_TABLES.filter((t) => t.categories.includes(category)).flatMap((t) =>
    (t.referencedBy ?? []).map((ref) => ref.category),
  );
  return normalizeCategories([category, ...refs]);
}

/**
 * The access-request export scopes whose archives hold a copy of any of `categories`: an erasure of those categories
 * deletes the customer's archives of these scopes too.
 */
export function exportScopesHolding(categories: readonly DataCategory[]): AccessScope[] {
  return (Object.keys(SCOPE_CATEGORIES) as AccessScope[]).filter((scope) =>
    SCOPE_CATEGORIES[scope].some((c) => categories.includes(c)),
  );
}

/** Checkpoint key of the erasure step that deletes archives holding erased categories (`erasure_progress`). */
export const ARCHIVE_COPIES_STEP_KEY = 'export_archives:copies-of-erased-categories:delete';
