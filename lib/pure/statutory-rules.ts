/**
 * Statutory retention: records that a legal obligation says to keep longer than the privacy policy's retention
 * period, even through a contract termination. The rules (which records, why, from when) live here in code; the
 * periods come from configuration (`STATUTORY_RETENTION_*`, ISO 8601 durations), so tests can use seconds.
 *
 * An erasure does not delete such a record: it marks it with its own expiry (`retain_until`) and the reason
 * (`retention_reason`), reports it as retained, and leaves it to the rolling retention sweep, which deletes it once
 * `retain_until` has passed. Pure module (workflows import the rules through the erasure plan); the SQL that applies
 * them is in lib/statutory-retention.ts.
 */
import type { DataCategory } from './data-categories';

/** Configured periods, one per rule; `null` means no obligation applies (nothing is retained under that rule). */
export interface StatutoryRetentionPeriods {
  /** ISO 8601 duration for invoiced orders (`STATUTORY_RETENTION_ORDERS`, default P10Y). */
  orders: string | null;
}

/** One legal obligation to keep records of one table. */
export interface StatutoryRetentionRule {
  /** Stable name, recorded in the evidence. */
  id: string;
  table: string;
  /** The data category whose erasure this rule interrupts. */
  category: DataCategory;
  /** Which period of {@link StatutoryRetentionPeriods} applies. */
  period: keyof StatutoryRetentionPeriods;
  /** Rows the obligation covers: `status` in these values. */
  statuses: readonly string[];
  /** The record's date column. */
  dateColumn: string;
  /**
   * When the clock starts. Tax law counts from the end of the calendar year in which the record was made
   * (German AO §147(4), HGB §257(5)); computed in UTC.
   */
  clock: 'end-of-calendar-year';
  /** Stored in `retention_reason` and reported in the erasure result. */
  reason: string;
}

/**
 * Invoiced orders (paid, shipped, delivered or refunded: an invoice or credit note was issued) are accounting
 * records that tax law requires to be kept (e.g. 10 years under AO §147 / HGB §257 in Germany, 6 years under the UK
 * VAT rules): the period is configuration, the rule is here. Pending and cancelled orders were never invoiced.
 */
export const STATUTORY_RETENTION_RULES: readonly StatutoryRetentionRule[] = [
  {
    id: 'invoiced-orders',
    table: 'orders',
    category: 'orders',
    period: 'orders',
    statuses: ['paid', 'shipped', 'delivered', 'refunded'],
    dateColumn: 'ordered_at',
    clock: 'end-of-calendar-year',
    reason: 'tax law: invoiced order kept as an accounting record',
  },
];

/** Tables that carry `retain_until` and `retention_reason` (migration 20261128001200). */
export const TABLES_WITH_RETAIN_UNTIL: readonly string[] = ['orders', 'customers'];

/** The rules that apply to one table. */
export function statutoryRulesFor(table: string): StatutoryRetentionRule[] {
  return STATUTORY_RETENTION_RULES.filter((r) => r.table === table);
}
