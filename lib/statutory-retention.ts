/**
 * SQL side of statutory retention (lib/pure/statutory-rules.ts holds the rules): ISO periods as PostgreSQL intervals
 * and the expressions that erasure and the rolling sweep use. No I/O here: the helpers only build expressions with the
 * knex instance they are given.
 */
import type { Knex } from 'knex';
import { Duration } from 'luxon';
import type { StatutoryRetentionRule } from './pure/statutory-rules';

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
