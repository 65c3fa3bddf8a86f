/**
 * The deadline engine's calendar rules (lib/deadlines.ts), table by table. Each row names the rule it proves; the
 * expected dates were worked out by hand from COMPLIANCE.md and the holiday lists, not computed by the code under test.
 */
import { ConfigError, loadConfig } from '../lib/config';
import {
  acknowledgementDueDate,
  calendarFor,
  canExtendOn,
  clockStart,
  dateInZone,
  DEFAULT_HOLIDAYS,
  DEFAULT_TIME_ZONES,
  endOfDayMs,
  extendedDueDate,
  isWorkingDay,
  originalPeriodEnd,
  PRIVACY_REGIMES,
  reminderInstants,
  exactDurationMs,
  responseDueDate,
  type HolidayCalendar,
  type PrivacyRegime,
} from '../lib/pure/deadlines';

const gdpr = calendarFor('gdpr');
const ukGdpr = calendarFor('uk_gdpr');
const ccpa = calendarFor('ccpa');
/** Weekends only: isolates the month and weekend rules from any holiday. */
const noHolidays: HolidayCalendar = { timeZone: 'Europe/Berlin', holidays: [] };
const calendars = { gdpr, uk_gdpr: ukGdpr, ccpa, noHolidays } satisfies Record<string, HolidayCalendar>;

const at = (iso: string) => Date.parse(iso);
const DAY_MS = 86_400_000;

type Calendar = keyof typeof calendars;

// Rows: [rule it proves, regime, calendar, start date, expected due date].
// prettier-ignore
const gdprMonthRows: [string, PrivacyRegime, Calendar, string, string][] = [
  ['same date next month, a working day', 'gdpr', 'gdpr', '2026-09-15', '2026-10-15'],
  ['the same date, not the month end: Feb 28 -> Mar 28 (Sat) -> Mon', 'gdpr', 'noHolidays', '2026-02-28', '2026-03-30'],
  // month ends
  ['missing date -> last day of the month: Mar 31 -> Apr 30', 'gdpr', 'noHolidays', '2026-03-31', '2026-04-30'],
  ['missing date -> last day of the month: May 31 -> Jun 30', 'uk_gdpr', 'noHolidays', '2026-05-31', '2026-06-30'],
  ['Jan 31 -> Feb 28 in a common year (2029, Wed)', 'gdpr', 'noHolidays', '2029-01-31', '2029-02-28'],
  ['Jan 31 -> Feb 28 in a common year (2030, Thu)', 'uk_gdpr', 'noHolidays', '2030-01-31', '2030-02-28'],
  ['Jan 30 -> Feb 28 too: Feb 30 does not exist', 'gdpr', 'noHolidays', '2029-01-30', '2029-02-28'],
  // leap years
  ['leap year: 2028-01-31 -> Feb 29 (Tue)', 'gdpr', 'gdpr', '2028-01-31', '2028-02-29'],
  ['leap year: 2028-01-30 -> Feb 29', 'uk_gdpr', 'uk_gdpr', '2028-01-30', '2028-02-29'],
  ['leap year: 2028-01-29 -> Feb 29, which exists', 'gdpr', 'gdpr', '2028-01-29', '2028-02-29'],
  ['leap day start: 2028-02-29 -> Mar 29 (Wed)', 'gdpr', 'gdpr', '2028-02-29', '2028-03-29'],
  ['common year 2027: Jan 31 -> Feb 28 (Sun) -> Mon Mar 1', 'gdpr', 'gdpr', '2027-01-31', '2027-03-01'],
  ['common year 2026: Jan 31 -> Feb 28 (Sat) -> Mon Mar 2', 'gdpr', 'gdpr', '2026-01-31', '2026-03-02'],
  // weekends
  ['due on a Saturday -> Monday', 'gdpr', 'noHolidays', '2026-09-10', '2026-10-12'],
  ['due on a Sunday -> Monday', 'uk_gdpr', 'noHolidays', '2026-09-11', '2026-10-12'],
  ['received on a Saturday: counted from that day (-> Mon Oct 12)', 'gdpr', 'noHolidays', '2026-09-12', '2026-10-12'],
  // holidays
  ['due on a holiday (Whit Monday, DE) -> next working day', 'gdpr', 'gdpr', '2026-04-25', '2026-05-26'],
  ['due on a holiday (summer bank holiday, E&W) -> next working day', 'uk_gdpr', 'uk_gdpr', '2026-07-31', '2026-09-01'],
  ['a holiday of another calendar is a working day (Aug 31, DE)', 'gdpr', 'gdpr', '2026-07-31', '2026-08-31'],
  ['chain: Good Friday, Sat, Sun, Easter Monday -> Tue', 'gdpr', 'gdpr', '2026-03-03', '2026-04-07'],
  ['chain: Christmas (Fri), 2nd Christmas day (Sat), Sun -> Mon (DE)', 'gdpr', 'gdpr', '2026-11-25', '2026-12-28'],
  ['chain: Christmas (Fri), Sat, Sun, Boxing Day subst. -> Tue', 'uk_gdpr', 'uk_gdpr', '2026-11-25', '2026-12-29'],
  ['chain: Sat, Sun, two substitute days -> Wed (E&W 2027)', 'uk_gdpr', 'uk_gdpr', '2027-11-25', '2027-12-29'],
  // year boundary
  ['year boundary: Dec 31 -> Jan 31 (Sun) -> Mon Feb 1', 'gdpr', 'gdpr', '2026-12-31', '2027-02-01'],
  ['year boundary: Dec 1 -> New Year (Fri holiday), Sat, Sun -> Mon Jan 4', 'gdpr', 'gdpr', '2026-12-01', '2027-01-04'],
  ['year boundary: New Year (Sat), Sun, subst. Mon -> Tue', 'uk_gdpr', 'uk_gdpr', '2027-12-01', '2028-01-04'],
  ['year boundary: Dec 15 -> Jan 15 (Sat) -> Mon Jan 17', 'uk_gdpr', 'uk_gdpr', '2027-12-15', '2028-01-17'],
];

// prettier-ignore
const ccpaRows: [string, PrivacyRegime, Calendar, string, string][] = [
  ['45 days after receipt, kept on a Sunday (no roll-forward)', 'ccpa', 'ccpa', '2026-01-01', '2026-02-15'],
  ['45 days on a working day', 'ccpa', 'ccpa', '2026-11-01', '2026-12-16'],
  ['received on a holiday: counted from that day', 'ccpa', 'ccpa', '2026-12-25', '2027-02-08'],
  ['due on a holiday (Thanksgiving) stays on it', 'ccpa', 'ccpa', '2026-10-12', '2026-11-26'],
  ['a leap year counts Feb 29 (2028: Mar 5)', 'ccpa', 'ccpa', '2028-01-20', '2028-03-05'],
  ['a common year (2027: Mar 6)', 'ccpa', 'ccpa', '2027-01-20', '2027-03-06'],
  ['year boundary: Dec 20 -> Feb 3', 'ccpa', 'ccpa', '2026-12-20', '2027-02-03'],
];

describe('response due date: GDPR and UK GDPR, one calendar month (COMPLIANCE.md "Counting a calendar month")', () => {
  it.each(gdprMonthRows)('%s [%s, %s calendar: %s -> %s]', (_rule, regime, calendar, start, due) => {
    expect(responseDueDate(regime, start, calendars[calendar])).toBe(due);
  });
});

describe('response due date: CCPA, 45 calendar days (Cal. Civ. Code 1798.130(a)(2)(A), CCPA regs 7021(b))', () => {
  it.each(ccpaRows)('%s [%s, %s calendar: %s -> %s]', (_rule, regime, calendar, start, due) => {
    expect(responseDueDate(regime, start, calendars[calendar])).toBe(due);
  });
});

describe('when the clock starts (UK GDPR Art. 12A stop the clock)', () => {
  // prettier-ignore
  it.each<[string, PrivacyRegime, 'receipt' | 'identity-confirmed']>([
    ['GDPR counts from receipt', 'gdpr', 'receipt'],
    ['UK GDPR counts from identity confirmation or the requested clarification', 'uk_gdpr', 'identity-confirmed'],
    ['CCPA counts from receipt: verification does not stop the clock', 'ccpa', 'receipt'],
  ])('%s', (_rule, regime, start) => {
    expect(clockStart(regime)).toBe(start);
  });

  it('counts a UK GDPR month from the day identity was confirmed, not from receipt', () => {
    const receivedOn = '2026-01-05';
    const confirmedOn = '2026-01-20';
    const startDate = clockStart('uk_gdpr') === 'identity-confirmed' ? confirmedOn : receivedOn;
    expect(responseDueDate('uk_gdpr', startDate, ukGdpr)).toBe('2026-02-20');
    expect(responseDueDate('gdpr', receivedOn, gdpr)).toBe('2026-02-05');
  });
});

describe('extension: two further months (GDPR) or 45 days (CCPA), counted from the end of the original period', () => {
  // Rows: [rule, regime, start, end of the original period (unadjusted), extended due date].
  // prettier-ignore
  it.each<[string, PrivacyRegime, string, string, string]>([
    ['from the unadjusted end Feb 28 (not Mar 2; not Apr 30)', 'gdpr', '2026-01-31', '2026-02-28', '2026-04-28'],
    ['leap: Feb 29 + 2 = Apr 29 (Sat), Sun, May 1 hol. -> May 2', 'gdpr', '2028-01-31', '2028-02-29', '2028-05-02'],
    ['month end: Jun 30 + 2 = Aug 30 (Sun) -> Mon Aug 31 (DE)', 'gdpr', '2026-05-31', '2026-06-30', '2026-08-31'],
    ['month end: Aug 30 (Sun), Aug 31 bank hol. -> Sep 1', 'uk_gdpr', '2026-05-31', '2026-06-30', '2026-09-01'],
    ['clamped twice: Oct 31 -> Nov 30 -> Jan 30 (Sat) -> Mon Feb 1', 'gdpr', '2026-10-31', '2026-11-30', '2027-02-01'],
    ['a holiday at month one does not push month three', 'uk_gdpr', '2026-11-25', '2026-12-25', '2027-02-25'],
    ['year boundary: Dec 31 -> Jan 31 -> Mar 31', 'gdpr', '2026-12-31', '2027-01-31', '2027-03-31'],
    ['plain: Sep 15 -> Oct 15 -> Dec 15', 'gdpr', '2026-09-15', '2026-10-15', '2026-12-15'],
    ['CCPA: 45 + 45 = 90 calendar days after receipt', 'ccpa', '2026-01-01', '2026-02-15', '2026-04-01'],
    ['CCPA across a leap day: 2028-01-20 -> Mar 5 -> Apr 19', 'ccpa', '2028-01-20', '2028-03-05', '2028-04-19'],
  ])('%s [%s: %s, period ends %s, extended to %s]', (_rule, regime, start, originalEnd, due) => {
    expect(originalPeriodEnd(regime, start)).toBe(originalEnd);
    expect(extendedDueDate(regime, start, calendarFor(regime))).toBe(due);
  });

  // Rows: [rule, regime, start, today, may extend].
  // prettier-ignore
  it.each<[string, PrivacyRegime, string, string, boolean]>([
    ['on the day the clock starts', 'gdpr', '2026-01-15', '2026-01-15', true],
    ['inside the first month', 'gdpr', '2026-01-15', '2026-02-01', true],
    ['on the last day of the first month, even a Sunday', 'gdpr', '2026-01-15', '2026-02-15', true],
    ['the day after the first month', 'gdpr', '2026-01-15', '2026-02-16', false],
    ['month-end start: up to the clamped end (Feb 28)', 'uk_gdpr', '2026-01-31', '2026-02-28', true],
    ['not on the rolled-forward due date (grace to answer)', 'gdpr', '2026-01-31', '2026-03-02', false],
    ['before the clock starts (identity not confirmed)', 'uk_gdpr', '2026-03-10', '2026-03-09', false],
    ['CCPA: on day 45', 'ccpa', '2026-01-01', '2026-02-15', true],
    ['CCPA: on day 46', 'ccpa', '2026-01-01', '2026-02-16', false],
    ['across the year boundary', 'gdpr', '2026-12-31', '2027-01-31', true],
    ['months later', 'gdpr', '2026-12-31', '2027-06-01', false],
  ])('%s [%s: started %s, today %s -> %s]', (_rule, regime, start, today, allowed) => {
    expect(canExtendOn(regime, start, today, calendarFor(regime))).toBe(allowed);
  });
});

describe('acknowledgement: CCPA 10 business days (CCPA regs 7021(a)), none under GDPR', () => {
  // Rows: [rule, received on, acknowledgement due].
  // prettier-ignore
  it.each<[string, string, string]>([
    ['two plain weeks (received Mon -> Mon two weeks later)', '2026-06-01', '2026-06-15'],
    ['skips Martin Luther King Jr. Day', '2026-01-05', '2026-01-20'],
    ['received on a holiday (New Year): counting starts the next business day', '2026-01-01', '2026-01-15'],
    ['received on a Saturday: counting starts on Monday, skips MLK Day', '2026-01-10', '2026-01-26'],
    ['skips Cesar Chavez Day (a California state holiday)', '2026-03-27', '2026-04-13'],
    ['skips Thanksgiving and the day after', '2026-11-20', '2026-12-08'],
    ['skips Christmas and New Year across the year boundary', '2026-12-18', '2027-01-05'],
    ['counts Columbus Day: federal, but California state offices are open', '2026-10-05', '2026-10-19'],
    ['skips a Sunday holiday observed on Monday (Independence Day 2027 -> Jul 5)', '2027-07-02', '2027-07-19'],
  ])('%s [%s -> %s]', (_rule, receivedOn, due) => {
    expect(acknowledgementDueDate('ccpa', receivedOn, ccpa)).toBe(due);
  });

  it.each<PrivacyRegime>(['gdpr', 'uk_gdpr'])('%s has no statutory acknowledgement', (regime) => {
    expect(acknowledgementDueDate(regime, '2026-06-01', calendarFor(regime))).toBeUndefined();
  });
});

describe('every start date of 2026–2028, every regime', () => {
  const dates: string[] = [];
  for (let ms = at('2026-01-01T00:00:00Z'); ms <= at('2028-12-31T00:00:00Z'); ms += DAY_MS)
    dates.push(new Date(ms).toISOString().slice(0, 10));

  it.each<PrivacyRegime>(['gdpr', 'uk_gdpr'])(
    '%s: the due date is the first working day on or after the unadjusted end, and the extension comes later',
    (regime) => {
      const calendar = calendarFor(regime);
      for (const start of dates) {
        const end = originalPeriodEnd(regime, start);
        const due = responseDueDate(regime, start, calendar);
        expect(isWorkingDay(due, calendar)).toBe(true);
        expect(due >= end).toBe(true);
        for (let ms = at(end); ms < at(due); ms += DAY_MS)
          expect(isWorkingDay(new Date(ms).toISOString().slice(0, 10), calendar)).toBe(false);
        // The next month, on the same day of the month, or on its last day when that day does not exist.
        expect(monthIndex(end) - monthIndex(start)).toBe(1);
        expect(Number(end.slice(8))).toBe(Math.min(Number(start.slice(8)), daysInMonth(end)));
        expect(extendedDueDate(regime, start, calendar) > due).toBe(true);
        expect(canExtendOn(regime, start, end, calendar)).toBe(true);
        expect(canExtendOn(regime, start, dateAfter(end), calendar)).toBe(false);
      }
    },
  );

  it('ccpa: the due date is exactly 45 days after the start, the extended one 90', () => {
    for (const start of dates) {
      expect((at(responseDueDate('ccpa', start, ccpa)) - at(start)) / DAY_MS).toBe(45);
      expect((at(extendedDueDate('ccpa', start, ccpa)) - at(start)) / DAY_MS).toBe(90);
    }
  });
});

describe('dateInZone: the calendar date of an instant, around midnight and DST in each zone', () => {
  // Rows: [rule, zone, instant, date in that zone].
  // prettier-ignore
  it.each<[string, string, string, string]>([
    ['Berlin winter (UTC+1): one ms before midnight', 'Europe/Berlin', '2026-01-15T22:59:59.999Z', '2026-01-15'],
    ['Berlin winter (UTC+1): midnight', 'Europe/Berlin', '2026-01-15T23:00:00.000Z', '2026-01-16'],
    ['Berlin summer (UTC+2): one ms before midnight', 'Europe/Berlin', '2026-07-15T21:59:59.999Z', '2026-07-15'],
    ['Berlin summer (UTC+2): midnight', 'Europe/Berlin', '2026-07-15T22:00:00.000Z', '2026-07-16'],
    ['Berlin DST starts 03-29: midnight before is UTC+1', 'Europe/Berlin', '2026-03-28T23:00:00.000Z', '2026-03-29'],
    ['Berlin DST starts: the next midnight is UTC+2', 'Europe/Berlin', '2026-03-29T21:59:59.999Z', '2026-03-29'],
    ['Berlin DST ends 2026-10-25: the 25-hour day', 'Europe/Berlin', '2026-10-25T22:59:59.999Z', '2026-10-25'],
    ['London winter (UTC+0): one ms before midnight', 'Europe/London', '2026-01-15T23:59:59.999Z', '2026-01-15'],
    ['London summer (UTC+1): midnight is 23:00 UTC', 'Europe/London', '2026-07-15T23:00:00.000Z', '2026-07-16'],
    ['London DST ends 10-25: the midnight before is UTC+1', 'Europe/London', '2026-10-24T23:00:00.000Z', '2026-10-25'],
    ['London DST ends: one ms before that midnight', 'Europe/London', '2026-10-24T22:59:59.999Z', '2026-10-24'],
    ['LA winter (UTC-8): one ms before midnight', 'America/Los_Angeles', '2026-01-16T07:59:59.999Z', '2026-01-15'],
    ['Los Angeles winter (UTC-8): midnight', 'America/Los_Angeles', '2026-01-16T08:00:00.000Z', '2026-01-16'],
    ['Los Angeles summer (UTC-7): midnight', 'America/Los_Angeles', '2026-07-16T07:00:00.000Z', '2026-07-16'],
    ['LA DST starts 03-08: midnight before is UTC-8', 'America/Los_Angeles', '2026-03-08T08:00:00.000Z', '2026-03-08'],
    ['LA DST starts: the next midnight is UTC-7', 'America/Los_Angeles', '2026-03-09T06:59:59.999Z', '2026-03-08'],
    ['Los Angeles: New Year in UTC is still Dec 31', 'America/Los_Angeles', '2027-01-01T05:00:00.000Z', '2026-12-31'],
    ['one instant, Berlin: already the next day', 'Europe/Berlin', '2026-01-15T23:30:00.000Z', '2026-01-16'],
    ['one instant, London: still the same day', 'Europe/London', '2026-01-15T23:30:00.000Z', '2026-01-15'],
  ])('%s [%s: %s -> %s]', (_rule, zone, instant, date) => {
    expect(dateInZone(at(instant), zone)).toBe(date);
  });
});

describe('endOfDayMs: the instant a due date ends, for timers', () => {
  // Rows: [rule, zone, date, last millisecond of that date].
  // prettier-ignore
  it.each<[string, string, string, string]>([
    ['Berlin winter day', 'Europe/Berlin', '2026-01-15', '2026-01-15T22:59:59.999Z'],
    ['Berlin 23-hour day (DST starts)', 'Europe/Berlin', '2026-03-29', '2026-03-29T21:59:59.999Z'],
    ['Berlin 25-hour day (DST ends)', 'Europe/Berlin', '2026-10-25', '2026-10-25T22:59:59.999Z'],
    ['London winter day', 'Europe/London', '2026-01-15', '2026-01-15T23:59:59.999Z'],
    ['London: the day DST starts ends in BST', 'Europe/London', '2026-03-29', '2026-03-29T22:59:59.999Z'],
    ['Los Angeles 23-hour day', 'America/Los_Angeles', '2026-03-08', '2026-03-09T06:59:59.999Z'],
    ['Los Angeles 25-hour day', 'America/Los_Angeles', '2026-11-01', '2026-11-02T07:59:59.999Z'],
    ['leap day in Berlin', 'Europe/Berlin', '2028-02-29', '2028-02-29T22:59:59.999Z'],
  ])('%s [%s: %s ends at %s]', (_rule, zone, date, end) => {
    expect(endOfDayMs(date, zone)).toBe(at(end));
  });

  it('is the last millisecond of the date in every default zone, every day of 2026–2028', () => {
    for (const timeZone of Object.values(DEFAULT_TIME_ZONES)) {
      for (let ms = at('2026-01-01T12:00:00Z'); ms <= at('2028-12-31T12:00:00Z'); ms += DAY_MS) {
        const date = new Date(ms).toISOString().slice(0, 10);
        const end = endOfDayMs(date, timeZone);
        expect(dateInZone(end, timeZone)).toBe(date);
        expect(dateInZone(end + 1, timeZone)).toBe(dateAfter(date));
      }
    }
  });
});

describe('reminderInstants: offsets are durations before the due instant, not dates', () => {
  const due = endOfDayMs('2026-06-15', 'Europe/Berlin');

  it.each<{ rule: string; offsets: string[]; before: number[] }>([
    { rule: 'P7D is seven days of 24 hours', offsets: ['P7D'], before: [7 * DAY_MS] },
    { rule: 'P1W equals P7D', offsets: ['P1W'], before: [7 * DAY_MS] },
    { rule: 'seconds, as tests use them', offsets: ['PT10S'], before: [10_000] },
    { rule: 'fractional seconds', offsets: ['PT0.5S'], before: [500] },
    { rule: 'days and a time part together', offsets: ['P1DT2H30M'], before: [DAY_MS + 2.5 * 3_600_000] },
    {
      rule: 'one instant per offset, in the order given',
      offsets: ['PT1H', 'P3D', 'PT5M'],
      before: [3_600_000, 3 * DAY_MS, 300_000],
    },
    { rule: 'zero offset: at the due instant itself', offsets: ['PT0S'], before: [0] },
    { rule: 'no offsets, no reminders', offsets: [], before: [] },
  ])('$rule', ({ offsets, before }) => {
    expect(reminderInstants(due, offsets)).toEqual(before.map((ms) => due - ms));
  });

  it('counts exact hours across a DST change: P7D before the end of Mar 30 is 22:59:59.999 local on Mar 23', () => {
    const [reminder] = reminderInstants(endOfDayMs('2026-03-30', 'Europe/Berlin'), ['P7D']);
    expect(reminder).toBe(at('2026-03-23T21:59:59.999Z'));
  });

  it.each(['P1M', 'P1Y', 'P1Y2M', '7d', '', 'P', 'PT', '-PT10S', 'PT-10S', 'P1.5D', 'PT1.0001S', 'P7D '])(
    'refuses %p (not an exact, non-negative ISO 8601 duration) naming it',
    (offset) => {
      expect(() => reminderInstants(due, [offset])).toThrow(RangeError);
      expect(() => exactDurationMs(offset)).toThrow(`"${offset}"`);
    },
  );
});

describe('calendars: defaults per regime, configurable', () => {
  it.each<{ regime: PrivacyRegime; timeZone: string; holiday: string; notHoliday: string; why: string }>([
    {
      regime: 'gdpr',
      timeZone: 'Europe/Berlin',
      holiday: '2026-10-03',
      notHoliday: '2026-08-31',
      why: 'German Unity Day, not the E&W summer bank holiday',
    },
    {
      regime: 'uk_gdpr',
      timeZone: 'Europe/London',
      holiday: '2026-12-28',
      notHoliday: '2026-10-03',
      why: 'Boxing Day substitute, not German Unity Day',
    },
    {
      regime: 'ccpa',
      timeZone: 'America/Los_Angeles',
      holiday: '2026-03-31',
      notHoliday: '2026-10-12',
      why: 'Cesar Chavez Day, not Columbus Day',
    },
  ])('$regime: $timeZone, $why', ({ regime, timeZone, holiday, notHoliday }) => {
    const calendar = calendarFor(regime);
    expect(calendar.timeZone).toBe(timeZone);
    expect(calendar.holidays).toContain(holiday);
    expect(calendar.holidays).not.toContain(notHoliday);
  });

  it.each(PRIVACY_REGIMES)('%s built-in list: valid, sorted, unique dates of 2026–2028', (regime) => {
    const holidays = DEFAULT_HOLIDAYS[regime];
    expect([...holidays].sort()).toEqual(holidays);
    expect(new Set(holidays).size).toBe(holidays.length);
    for (const year of ['2026', '2027', '2028']) expect(holidays.some((d) => d.startsWith(year))).toBe(true);
    expect(holidays.every((d) => d >= '2026-01-01' && d <= '2028-12-31')).toBe(true);
  });

  it.each<{ rule: string; regime: PrivacyRegime; dates: string[] }>([
    {
      rule: 'Easter (Good Friday, Easter Monday) in Germany, 2026–2028',
      regime: 'gdpr',
      dates: ['2026-04-03', '2026-04-06', '2027-03-26', '2027-03-29', '2028-04-14', '2028-04-17'],
    },
    {
      rule: 'Ascension Day and Whit Monday in Germany',
      regime: 'gdpr',
      dates: ['2026-05-14', '2026-05-25', '2027-05-06', '2027-05-17', '2028-05-25', '2028-06-05'],
    },
    {
      rule: 'E&W substitute days when Christmas or New Year fall on a weekend',
      regime: 'uk_gdpr',
      dates: ['2026-12-28', '2027-12-27', '2027-12-28', '2028-01-03'],
    },
    {
      rule: 'E&W May and August bank holidays',
      regime: 'uk_gdpr',
      dates: ['2026-05-04', '2026-05-25', '2026-08-31', '2027-05-03', '2027-05-31', '2027-08-30'],
    },
    {
      rule: 'California: MLK Day, Presidents Day, Thanksgiving and the day after',
      regime: 'ccpa',
      dates: ['2026-01-19', '2026-02-16', '2026-11-26', '2026-11-27'],
    },
    {
      rule: 'California: Sunday holiday observed Monday, Saturday Veterans Day observed Friday',
      regime: 'ccpa',
      dates: ['2027-07-05', '2028-11-10'],
    },
  ])('$rule', ({ regime, dates }) => {
    expect(DEFAULT_HOLIDAYS[regime]).toEqual(expect.arrayContaining(dates));
  });

  it('takes time zones and holidays from configuration, regime by regime', () => {
    const config = { holidays: { gdpr: ['2026-06-12'] }, timeZones: { ccpa: 'America/New_York' } };
    expect(calendarFor('gdpr', config)).toEqual({ timeZone: 'Europe/Berlin', holidays: ['2026-06-12'] });
    expect(calendarFor('ccpa', config)).toEqual({ timeZone: 'America/New_York', holidays: DEFAULT_HOLIDAYS.ccpa });
    // A configured holiday moves a due date: 2026-05-12 + 1 month = Fri Jun 12 -> Mon Jun 15.
    expect(responseDueDate('gdpr', '2026-05-12', calendarFor('gdpr'))).toBe('2026-06-12');
    expect(responseDueDate('gdpr', '2026-05-12', calendarFor('gdpr', config))).toBe('2026-06-15');
  });

  it.each<{ rule: string; config: Parameters<typeof calendarFor>[1]; message: string }>([
    { rule: 'an unknown time zone', config: { timeZones: { gdpr: 'Europe/Atlantis' } }, message: '"Europe/Atlantis"' },
    { rule: 'a holiday that is not a date', config: { holidays: { gdpr: ['2026-02-30'] } }, message: '"2026-02-30"' },
  ])('refuses $rule', ({ config, message }) => {
    expect(() => calendarFor('gdpr', config)).toThrow(message);
  });

  it.each([
    ['2026-1-5', 'startDate'],
    ['2026-13-01', 'startDate'],
    ['20260105', 'startDate'],
    ['2026-01-05T00:00', 'startDate'],
  ])('refuses the start date %p', (startDate, name) => {
    expect(() => responseDueDate('gdpr', startDate, gdpr)).toThrow(name);
  });
});

describe('configuration of the calendars (DEADLINE_HOLIDAYS_*, DEADLINE_TIME_ZONE_*)', () => {
  function configError(env: Record<string, string>): string {
    try {
      loadConfig(env);
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      return (err as Error).message;
    }
    throw new Error('expected a ConfigError');
  }

  it('defaults to the built-in calendars and zones, usable as calendarFor(regime, config.deadlines)', () => {
    const { deadlines } = loadConfig({});
    expect(deadlines.timeZones).toEqual({
      gdpr: 'Europe/Berlin',
      uk_gdpr: 'Europe/London',
      ccpa: 'America/Los_Angeles',
    });
    expect(deadlines.holidays).toEqual(DEFAULT_HOLIDAYS);
    for (const regime of PRIVACY_REGIMES) expect(calendarFor(regime, deadlines)).toEqual(calendarFor(regime));
  });

  it.each<{ rule: string; env: Record<string, string>; regime: PrivacyRegime; holidays: readonly string[] }>([
    {
      rule: 'a comma-separated list, spaces allowed',
      env: { DEADLINE_HOLIDAYS_GDPR: '2026-06-01, 2026-06-02' },
      regime: 'gdpr',
      holidays: ['2026-06-01', '2026-06-02'],
    },
    { rule: '"none": no holidays at all', env: { DEADLINE_HOLIDAYS_UK_GDPR: 'none' }, regime: 'uk_gdpr', holidays: [] },
    {
      rule: 'blank: the built-in list',
      env: { DEADLINE_HOLIDAYS_CCPA: ' ' },
      regime: 'ccpa',
      holidays: DEFAULT_HOLIDAYS.ccpa,
    },
    {
      rule: 'another regime keeps its built-in list',
      env: { DEADLINE_HOLIDAYS_GDPR: '2026-06-01' },
      regime: 'ccpa',
      holidays: DEFAULT_HOLIDAYS.ccpa,
    },
  ])('holidays: $rule', ({ env, regime, holidays }) => {
    expect(calendarFor(regime, loadConfig(env).deadlines).holidays).toEqual(holidays);
  });

  it('time zones: a valid IANA zone replaces the default of its regime only; blank keeps the default', () => {
    const { deadlines } = loadConfig({ DEADLINE_TIME_ZONE_CCPA: 'America/New_York', DEADLINE_TIME_ZONE_GDPR: ' ' });
    expect(calendarFor('ccpa', deadlines).timeZone).toBe('America/New_York');
    expect(calendarFor('gdpr', deadlines).timeZone).toBe('Europe/Berlin');
    expect(calendarFor('uk_gdpr', deadlines).timeZone).toBe('Europe/London');
  });

  it.each<{ rule: string; variable: string; value: string; shows: string }>([
    { rule: 'an impossible date', variable: 'DEADLINE_HOLIDAYS_GDPR', value: '2026-02-30', shows: '"2026-02-30"' },
    {
      rule: 'a date without leading zeros',
      variable: 'DEADLINE_HOLIDAYS_UK_GDPR',
      value: '2026-12-25,2026-1-1',
      shows: '"2026-1-1"',
    },
    { rule: 'a word', variable: 'DEADLINE_HOLIDAYS_CCPA', value: 'christmas', shows: '"christmas"' },
    { rule: 'an empty entry', variable: 'DEADLINE_HOLIDAYS_GDPR', value: '2026-12-25,,2026-12-26', shows: '""' },
    {
      rule: 'an unknown time zone',
      variable: 'DEADLINE_TIME_ZONE_GDPR',
      value: 'Europe/Atlantis',
      shows: 'IANA time zone',
    },
    {
      rule: 'an offset instead of a zone',
      variable: 'DEADLINE_TIME_ZONE_UK_GDPR',
      value: '+01:00',
      shows: 'IANA time zone',
    },
  ])('refuses $rule in $variable with a ConfigError naming it', ({ variable, value, shows }) => {
    const message = configError({ [variable]: value });
    const line = message.split('\n').find((l) => l.includes(variable));
    expect(line).toBeDefined();
    expect(line).toContain(shows);
  });

  it('names every bad deadline variable at once', () => {
    const message = configError({ DEADLINE_HOLIDAYS_GDPR: 'x', DEADLINE_TIME_ZONE_CCPA: 'Nowhere/City' });
    expect(message).toContain('DEADLINE_HOLIDAYS_GDPR');
    expect(message).toContain('DEADLINE_TIME_ZONE_CCPA');
  });
});

function dateAfter(date: string): string {
  return new Date(at(`${date}T00:00:00Z`) + DAY_MS).toISOString().slice(0, 10);
}

/** Months since year 0, to compare months across a year boundary. */
function monthIndex(date: string): number {
  return Number(date.slice(0, 4)) * 12 + Number(date.slice(5, 7));
}

function daysInMonth(date: string): number {
  return new Date(Date.UTC(Number(date.slice(0, 4)), Number(date.slice(5, 7)), 0)).getUTCDate();
}
