/**
 * Dates and instants the API accepts. ISO 8601 alone lets through `0000-01-01` or `9999-12-31`, which PostgreSQL
 * stores but the date arithmetic downstream (retention, deadlines, Temporal timers) cannot use: such a contract was
 * accepted and its onboarding then retried forever. Every date a client sends must lie in a sane range
 * ({@link MIN_YEAR} to {@link MAX_YEAR}); outside it is a 400 naming the field with the rule `date_range`.
 */
import { z } from 'zod';

/** Earliest year of any date the API accepts. */
export const MIN_YEAR = 1900;
/** Latest year of any date the API accepts. */
export const MAX_YEAR = 2200;
/** The `rule` a field error names for a date outside the range. */
export const DATE_RANGE_RULE = 'date_range';

const EARLIEST_MS = Date.UTC(MIN_YEAR, 0, 1);
const AFTER_LATEST_MS = Date.UTC(MAX_YEAR + 1, 0, 1);

/** True when the date or instant `value` (already ISO 8601) falls in [MIN_YEAR-01-01, MAX_YEAR-12-31] (UTC). */
export function inSaneRange(value: string): boolean {
  const ms = Date.parse(value);
  return Number.isFinite(ms) && ms >= EARLIEST_MS && ms < AFTER_LATEST_MS;
}

const rangeRule = {
  message: `must be between ${MIN_YEAR}-01-01 and ${MAX_YEAR}-12-31`,
  params: { rule: DATE_RANGE_RULE },
};

/** A calendar date, `YYYY-MM-DD`, in the sane range. */
export const calendarDate = () => z.iso.date({ abort: true }).refine(inSaneRange, rangeRule);

/** An ISO 8601 instant with a zone offset, in the sane range. */
export const isoInstant = () => z.iso.datetime({ offset: true, abort: true }).refine(inSaneRange, rangeRule);
