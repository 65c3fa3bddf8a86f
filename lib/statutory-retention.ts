/**
 * Statutory retention: records that a legal obligation says to keep longer than the privacy policy's retention
 * period, even through a contract termination. The rules (which records, why, from when) live here in code; the
 * periods come from configuration (`STATUTORY_RETENTION_*`, ISO 8601 durations), so tests can use seconds.
 *
 * An erasure does not delete such a record: it marks it with its own expiry (`retain_until`) and the reason
 * (`retention_reason`), reports it as retained, and leaves it to the rolling retention sweep, which deletes it once
 * `retain_until` has passed. No I/O here: the SQL helpers only build expressions with the knex instance they are given.
 */
import type { Knex } from 'knex';
import { Duration } from 'luxon';
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

/** Whether `value` is an ISO 8601 duration luxon accepts and PostgreSQL can add to a timestamp. */
export function isIsoDuration(value: string): boolean {
  return Duration.fromISO(value).isValid;
}

/**
 * Converts an ISO 8601 duration (`P10Y`, `P6Y6M`, `PT30S`) into a PostgreSQL interval literal
 * (`10 years 0 months ...`), so calendar units stay calendar units (a year is not 365 days).
 * @throws RangeError for anything that is not an ISO 8601 duration.
 */
export function toPostgresInterval(iso: string): string {
  const d = Duration.fromISO(iso);
  if (!d.isValid) throw new RangeError(`"${iso}" is not an ISO 8601 duration`);
  const o = d.shiftTo('years', 'months', 'days', 'hours', 'minutes', 'seconds', 'milliseconds').toObject();
  const seconds = (o.seconds ?? 0) + (o.milliseconds ?? 0) / 1000;
  return `${o.years ?? 0} years ${o.months ?? 0} months ${o.days ?? 0} days ${o.hours ?? 0} hours ${o.minutes ?? 0} minutes ${seconds} seconds`;
}

/**
 * SQL expression of the instant until which a row must be kept under `rule`, given the configured period:
 * the start of the calendar year after the record's date (UTC), plus the period.
 */
export function retainUntilExpression(knex: Knex, rule: StatutoryRetentionRule, period: string): Knex.Raw {
  return knex.raw(`(date_trunc('year', ??, 'UTC') + interval '1 year' + ?::interval)`, [
    rule.dateColumn,
    toPostgresInterval(period),
  ]);
}

/**
 * Predicate for deletions (erasure and the rolling sweep): the row is NOT under statutory retention, i.e. it has no
 * `retain_until` or that instant has passed. Use on tables in {@link TABLES_WITH_RETAIN_UNTIL};
 * `column` defaults to `retain_until` (qualify it, e.g. `o.retain_until`, in joins).
 */
export function notUnderStatutoryRetention(knex: Knex, column = 'retain_until'): Knex.Raw {
  return knex.raw('(?? is null or ?? <= now())', [column, column]);
}
