/**
 * The deadline engine: the legal calendar of data-subject requests, shared by every request type.
 *
 * Pure and deterministic: no Node built-ins, no I/O, and no clock reads (nothing here calls `Date.now()` or
 * `DateTime.now()`), so workflow code can import it and replay gives the same answers. "Today" is always an argument,
 * computed in a workflow from workflow time: `dateInZone(Date.now(), calendar.timeZone)`.
 *
 * Deadlines are calendar dates (`YYYY-MM-DD`) in the regime's time zone, not instants (COMPLIANCE.md, "Counting a
 * calendar month"). {@link endOfDayMs} turns a due date into the instant a timer waits for.
 *
 * The rules, each with the COMPLIANCE.md row it encodes:
 *
 * - GDPR / UK GDPR response, {@link responseDueDate}: one month of receipt; the same date next month, the last day of
 *   that month when the date does not exist, the next working day when it is a weekend or public holiday
 *   (GDPR Art. 12(3); "Counting a calendar month").
 * - GDPR / UK GDPR extension, {@link extendedDueDate}: two further months, "counted from the end of the original
 *   period"; notified "within the first month", {@link canExtendOn} (GDPR Art. 12(3)).
 * - UK GDPR stop the clock, {@link clockStart}: the period starts when identity confirmation or a requested
 *   clarification arrives (UK GDPR Art. 12A).
 * - CCPA response and extension, {@link responseDueDate}, {@link extendedDueDate}, {@link canExtendOn}: 45 calendar
 *   days from receipt, verification does not stop the clock; one extension of 45 days with notice inside the first 45
 *   (Cal. Civ. Code 1798.130(a)(2)(A)).
 * - CCPA acknowledgement, {@link acknowledgementDueDate}: confirm receipt within 10 business days (CCPA regs 7021).
 *
 * Interpretive choices (each errs towards the earlier date, so a deadline computed here is never later than the law's):
 *
 * 1. **The original period ends on the unadjusted date.** The weekend/holiday roll-forward is a grace for the act of
 *    responding, not a lengthening of the period: {@link originalPeriodEnd} is the same-date-next-month (clamped)
 *    date. Extensions are counted from it ("from the end of the original period"), so a holiday at month one does not
 *    push the month-three deadline; and an extension may be granted only up to it ("within the first month").
 *    Example: received 2026-01-31 -> period ends Sat 2026-02-28 -> response due Mon 2026-03-02; extension possible
 *    until 2026-02-28; extended due date 2026-04-28 (two months after 02-28), not 04-30 (three months after 01-31).
 * 2. **CCPA days are calendar days without roll-forward.** COMPLIANCE.md states the next-working-day rule for counting
 *    a calendar month only; CCPA's period is "45 calendar days" (CCPA regs 7021(b): "a maximum total of 90 calendar
 *    days from the day the request is received"). Civil Code section 11 might allow acting on the next business day,
 *    but a due date on a Sunday is kept on the Sunday: answering earlier is always compliant.
 *    Counting starts the day after receipt (received 2026-01-01 -> due 2026-02-15; extended 2026-04-01).
 * 3. **Business days** (CCPA acknowledgement) are Monday to Friday except the calendar's holidays; the day of receipt
 *    does not count, a request received on a weekend or holiday starts counting on the next business day.
 * 4. **An extension is possible from the start date to the end of the original period, both inclusive.** Before the
 *    clock starts (UK GDPR before identity confirmation) there is no period to extend.
 * 5. **Weekends are Saturday and Sunday** in all three regimes; public holidays come from the configurable calendar
 *    ({@link calendarFor}; defaults in lib/holiday-calendars.ts). A holiday missing from the calendar can only make a
 *    date earlier.
 */
import { DateTime, IANAZone } from 'luxon';
import {
  CALIFORNIA_STATE_HOLIDAYS,
  ENGLAND_AND_WALES_BANK_HOLIDAYS,
  GERMANY_FEDERAL_HOLIDAYS,
} from './holiday-calendars';

/** The privacy laws whose deadlines the engine knows. */
export type PrivacyRegime = 'gdpr' | 'uk_gdpr' | 'ccpa';

/** Every regime, for validation and iteration. */
export const PRIVACY_REGIMES: readonly PrivacyRegime[] = ['gdpr', 'uk_gdpr', 'ccpa'];

/** The working-day calendar of a regime. */
export interface HolidayCalendar {
  /** IANA zone the regime's dates are in, e.g. 'Europe/Berlin' */
  timeZone: string;
  /** public holidays, 'YYYY-MM-DD' */
  holidays: readonly string[];
}

/** Calendar settings per regime, as configured (`AppConfig.deadlines`); a regime left out uses the built-in default. */
export interface DeadlineCalendarSettings {
  holidays?: Partial<Record<PrivacyRegime, readonly string[]>>;
  timeZones?: Partial<Record<PrivacyRegime, string>>;
}

/** Default time zone per regime: a sensible jurisdiction for each (Germany, England and Wales, California). */
export const DEFAULT_TIME_ZONES: Readonly<Record<PrivacyRegime, string>> = {
  gdpr: 'Europe/Berlin',
  uk_gdpr: 'Europe/London',
  ccpa: 'America/Los_Angeles',
};

/** Default public holidays per regime (2026–2028, lib/holiday-calendars.ts). */
export const DEFAULT_HOLIDAYS: Readonly<Record<PrivacyRegime, readonly string[]>> = {
  gdpr: GERMANY_FEDERAL_HOLIDAYS,
  uk_gdpr: ENGLAND_AND_WALES_BANK_HOLIDAYS,
  ccpa: CALIFORNIA_STATE_HOLIDAYS,
};

/** CCPA response period and extension, in calendar days (Cal. Civ. Code 1798.130(a)(2)(A)). */
export const CCPA_PERIOD_DAYS = 45;
/** CCPA acknowledgement period, in business days (CCPA regs 7021(a)). */
export const CCPA_ACKNOWLEDGEMENT_BUSINESS_DAYS = 10;
/** GDPR / UK GDPR extension, in months (GDPR Art. 12(3)). */
export const GDPR_EXTENSION_MONTHS = 2;

const DATE_PATTERN = /^\d{4}-\d{2}-\d{2}$/;

/** Whether `value` is a real calendar date written `YYYY-MM-DD` (2026-02-30 is not). */
export function isCalendarDate(value: string): boolean {
  return DATE_PATTERN.test(value) && DateTime.fromISO(value, { zone: 'utc' }).isValid;
}

// Zones already found valid: the check builds an Intl.DateTimeFormat, which costs far more than the date math itself.
// Memoizing a pure answer keeps the module deterministic.
const knownZones = new Set<string>();

/** Whether `zone` is an IANA time zone this runtime knows (Intl data). */
export function isValidTimeZone(zone: string): boolean {
  if (knownZones.has(zone)) return true;
  const valid = IANAZone.isValidZone(zone);
  if (valid) knownZones.add(zone);
  return valid;
}

/** The calendar date of an instant in a time zone. */
export function dateInZone(instantMs: number, timeZone: string): string {
  if (!Number.isFinite(instantMs)) throw new RangeError(`instant ${instantMs} is not a finite number of milliseconds`);
  return isoDate(DateTime.fromMillis(instantMs, { zone: zoneOf(timeZone) }));
}

/**
 * The instant a due date ends (end of that day in the calendar's zone), for timers: the last millisecond of the day,
 * so `dateInZone(endOfDayMs(d, z), z) === d`. DST days are 23 or 25 hours long; this follows the zone's rules.
 */
export function endOfDayMs(date: string, timeZone: string): number {
  return DateTime.fromISO(checkDate(date, 'date'), { zone: zoneOf(timeZone) })
    .endOf('day')
    .toMillis();
}

/**
 * Whether the period starts at receipt, or only once identity confirmation / clarification arrives (UK GDPR Art. 12A
 * "stop the clock"). GDPR counts from receipt; CCPA too, explicitly regardless of verification (CCPA regs 7021(b)).
 */
export function clockStart(regime: PrivacyRegime): 'receipt' | 'identity-confirmed' {
  switch (regime) {
    case 'uk_gdpr':
      return 'identity-confirmed';
    case 'gdpr':
    case 'ccpa':
      return 'receipt';
    default:
      return unknownRegime(regime);
  }
}

/**
 * The end of the original period, before any weekend/holiday adjustment: GDPR / UK GDPR the same date next month (the
 * last day of that month when the date does not exist), CCPA 45 calendar days after the start. Extensions are counted
 * from this date and may be granted up to it (interpretive choice 1 in the module notes).
 */
export function originalPeriodEnd(regime: PrivacyRegime, startDate: string): string {
  const start = parseDate(startDate, 'startDate');
  switch (regime) {
    case 'gdpr':
    case 'uk_gdpr':
      // luxon clamps a missing day to the month's last day: 01-31 + 1 month = 02-28 (02-29 in a leap year).
      return isoDate(start.plus({ months: 1 }));
    case 'ccpa':
      return isoDate(start.plus({ days: CCPA_PERIOD_DAYS }));
    default:
      return unknownRegime(regime);
  }
}

/**
 * Original response due date counted from `startDate` (receipt, or confirmation for stop-the-clock; see
 * {@link clockStart}).
 * - GDPR / UK GDPR: one calendar month (same date next month; missing date -> last day of that month; weekend or public
 *   holiday -> next working day). COMPLIANCE.md "Counting a calendar month", GDPR Art. 12(3).
 * - CCPA: 45 calendar days after `startDate`, not moved off weekends or holidays (interpretive choice 2).
 */
export function responseDueDate(regime: PrivacyRegime, startDate: string, calendar: HolidayCalendar): string {
  const end = originalPeriodEnd(regime, startDate);
  return regime === 'ccpa' ? end : nextWorkingDayOnOrAfter(end, calendar);
}

/**
 * Due date after the (single) extension, the latest date it allows.
 * - GDPR / UK GDPR: two further months counted from the unadjusted end of the original period (same clamp rule), then
 *   moved to the next working day (interpretive choice 1): started 2026-01-31 -> 2026-04-28.
 * - CCPA: a further 45 calendar days, i.e. 90 days after `startDate` (CCPA regs 7021(b)), without roll-forward.
 */
export function extendedDueDate(regime: PrivacyRegime, startDate: string, calendar: HolidayCalendar): string {
  const end = parseDate(originalPeriodEnd(regime, startDate), 'startDate');
  switch (regime) {
    case 'gdpr':
    case 'uk_gdpr':
      return nextWorkingDayOnOrAfter(isoDate(end.plus({ months: GDPR_EXTENSION_MONTHS })), calendar);
    case 'ccpa':
      return isoDate(end.plus({ days: CCPA_PERIOD_DAYS }));
    default:
      return unknownRegime(regime);
  }
}

/**
 * Whether an extension may still be granted on `today`: only within the original period, from `startDate` to
 * {@link originalPeriodEnd} inclusive (GDPR: within the first month; CCPA: within the first 45 days). The weekend or
 * holiday grace of the response date does not extend this window (interpretive choice 1).
 * `calendar` is not consulted today (the window is counted in calendar days); it is part of the signature so a
 * jurisdiction whose rule does count working days can be added without changing callers.
 */
export function canExtendOn(
  regime: PrivacyRegime,
  startDate: string,
  today: string,
  _calendar: HolidayCalendar,
): boolean {
  const day = checkDate(today, 'today');
  // ISO dates compare correctly as strings.
  return checkDate(startDate, 'startDate') <= day && day <= originalPeriodEnd(regime, startDate);
}

/**
 * CCPA: confirm receipt within 10 business days (weekends and holidays excluded; the day of receipt not counted), CCPA
 * regs 7021(a). GDPR / UK GDPR: undefined (no statutory acknowledgement).
 */
export function acknowledgementDueDate(
  regime: PrivacyRegime,
  receivedOn: string,
  calendar: HolidayCalendar,
): string | undefined {
  checkDate(receivedOn, 'receivedOn');
  switch (regime) {
    case 'ccpa':
      return addBusinessDays(receivedOn, CCPA_ACKNOWLEDGEMENT_BUSINESS_DAYS, calendar);
    case 'gdpr':
    case 'uk_gdpr':
      return undefined;
    default:
      return unknownRegime(regime);
  }
}

/** Whether `date` is a working day: Monday to Friday and not one of the calendar's holidays. */
export function isWorkingDay(date: string, calendar: HolidayCalendar): boolean {
  const day = parseDate(date, 'date');
  return day.weekday <= 5 && !calendar.holidays.includes(date);
}

/** `date` itself when it is a working day, else the first working day after it. */
export function nextWorkingDayOnOrAfter(date: string, calendar: HolidayCalendar): string {
  let day = parseDate(date, 'date');
  // Terminates: at most two weekend days in a row, and the holiday list is finite.
  while (!isWorkingDay(isoDate(day), calendar)) day = day.plus({ days: 1 });
  return isoDate(day);
}

/** The `count`-th working day after `date` (`date` itself is not counted, whether or not it is a working day). */
export function addBusinessDays(date: string, count: number, calendar: HolidayCalendar): string {
  if (!Number.isInteger(count) || count < 0) throw new RangeError(`business day count ${count} is not an integer >= 0`);
  let day = parseDate(date, 'date');
  for (let counted = 0; counted < count;) {
    day = day.plus({ days: 1 });
    if (isWorkingDay(isoDate(day), calendar)) counted++;
  }
  return isoDate(day);
}

// Exact units only: a year or a month has no fixed length in milliseconds, so 'P1M' is refused rather than guessed.
const OFFSET_PATTERN = /^P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d{1,3})?)S)?)?$/;

/**
 * An exact ISO 8601 duration in milliseconds: weeks, days, hours, minutes and seconds ('P7D', 'P1DT12H', 'PT10S'),
 * with a day of 24 hours (instants apart, not calendar days). Reminder offsets are such durations, and so are the
 * configuration's timeouts and lifetimes, which lib/config.ts validates and converts with it at boot.
 * @throws RangeError for anything else, including years and months ('P1M'), negative and empty durations.
 */
export function exactDurationMs(offset: string): number {
  const match = OFFSET_PATTERN.exec(offset);
  if (!match || offset === 'P' || offset.endsWith('T'))
    throw new RangeError(`"${offset}" is not an ISO 8601 duration in weeks to seconds, such as P7D or PT10S`);
  const [, weeks, days, hours, minutes, seconds] = match;
  const n = (part: string | undefined) => (part === undefined ? 0 : Number(part));
  return Math.round((((n(weeks) * 7 + n(days)) * 24 + n(hours)) * 60 + n(minutes)) * 60_000 + n(seconds) * 1000);
}

/**
 * Instants at which to remind staff: for each offset (an ISO 8601 duration, see {@link exactDurationMs}), that long
 * before the due instant (usually {@link endOfDayMs} of the due date). One instant per offset, in the order given; a
 * workflow sleeps until each one that is still in the future.
 */
export function reminderInstants(dueEndMs: number, offsets: readonly string[]): number[] {
  if (!Number.isFinite(dueEndMs))
    throw new RangeError(`due instant ${dueEndMs} is not a finite number of milliseconds`);
  return offsets.map((offset) => dueEndMs - exactDurationMs(offset));
}

/**
 * The calendar of a regime: the configured time zone and holidays (`config.deadlines`), else the defaults
 * ({@link DEFAULT_TIME_ZONES}, {@link DEFAULT_HOLIDAYS}).
 * @throws RangeError for an unknown time zone or a holiday that is not a `YYYY-MM-DD` date.
 */
export function calendarFor(regime: PrivacyRegime, config?: DeadlineCalendarSettings): HolidayCalendar {
  if (!PRIVACY_REGIMES.includes(regime)) return unknownRegime(regime as never);
  const timeZone = config?.timeZones?.[regime] ?? DEFAULT_TIME_ZONES[regime];
  const holidays = config?.holidays?.[regime] ?? DEFAULT_HOLIDAYS[regime];
  zoneOf(timeZone);
  for (const holiday of holidays) checkDate(holiday, `${regime} holiday`);
  return { timeZone, holidays: [...holidays] };
}

function parseDate(value: string, what: string): DateTime {
  return DateTime.fromISO(checkDate(value, what), { zone: 'utc' });
}

function checkDate(value: string, what: string): string {
  if (typeof value !== 'string' || !isCalendarDate(value))
    throw new RangeError(`${what} "${String(value)}" is not a calendar date written YYYY-MM-DD`);
  return value;
}

function zoneOf(timeZone: string): string {
  if (!isValidTimeZone(timeZone)) throw new RangeError(`time zone "${timeZone}" is not a known IANA zone`);
  return timeZone;
}

function isoDate(value: DateTime): string {
  const text = value.toISODate();
  if (text === null) throw new RangeError(`invalid date: ${value.invalidExplanation ?? value.invalidReason}`);
  return text;
}

function unknownRegime(regime: never): never {
  throw new RangeError(`unknown privacy regime "${String(regime)}"`);
}
