/**
 * Built-in public holiday calendars, the defaults of the deadline engine (lib/deadlines.ts) for 2026–2028, one sensible
 * jurisdiction per privacy regime. Operators whose jurisdiction differs, or who need later years, set
 * `DEADLINE_HOLIDAYS_GDPR` / `DEADLINE_HOLIDAYS_UK_GDPR` / `DEADLINE_HOLIDAYS_CCPA` (README "Deadlines").
 *
 * A date missing from a calendar can only make a computed deadline earlier (a due date is not moved past it), never
 * later, so after 2028 the engine errs on the safe side until the lists are extended.
 *
 * Pure data: safe to import from workflow code.
 */

/**
 * GDPR default: the nine public holidays observed nationwide in Germany (gesetzliche Feiertage in every Land), listed
 * on their dates even when they fall on a weekend, because Germany has no substitute days. Regional holidays (for
 * example Epiphany, Corpus Christi, Reformation Day) are left out: they are not holidays everywhere in the country.
 */
export const GERMANY_FEDERAL_HOLIDAYS: readonly string[] = [
  '2026-01-01', // Thu New Year's Day
  '2026-04-03', // Fri Good Friday
  '2026-04-06', // Mon Easter Monday
  '2026-05-01', // Fri Labour Day
  '2026-05-14', // Thu Ascension Day
  '2026-05-25', // Mon Whit Monday
  '2026-10-03', // Sat Day of German Unity
  '2026-12-25', // Fri Christmas Day
  '2026-12-26', // Sat Second Day of Christmas
  '2027-01-01', // Fri New Year's Day
  '2027-03-26', // Fri Good Friday
  '2027-03-29', // Mon Easter Monday
  '2027-05-01', // Sat Labour Day
  '2027-05-06', // Thu Ascension Day
  '2027-05-17', // Mon Whit Monday
  '2027-10-03', // Sun Day of German Unity
  '2027-12-25', // Sat Christmas Day
  '2027-12-26', // Sun Second Day of Christmas
  '2028-01-01', // Sat New Year's Day
  '2028-04-14', // Fri Good Friday
  '2028-04-17', // Mon Easter Monday
  '2028-05-01', // Mon Labour Day
  '2028-05-25', // Thu Ascension Day
  '2028-06-05', // Mon Whit Monday
  '2028-10-03', // Tue Day of German Unity
  '2028-12-25', // Mon Christmas Day
  '2028-12-26', // Tue Second Day of Christmas
];

/**
 * UK GDPR default: the bank holidays of England and Wales as GOV.UK publishes them, with the substitute weekday when
 * the holiday itself falls on a weekend (2026-12-28, 2027-12-27/28, 2028-01-03).
 */
export const ENGLAND_AND_WALES_BANK_HOLIDAYS: readonly string[] = [
  '2026-01-01', // Thu New Year's Day
  '2026-04-03', // Fri Good Friday
  '2026-04-06', // Mon Easter Monday
  '2026-05-04', // Mon Early May bank holiday
  '2026-05-25', // Mon Spring bank holiday
  '2026-08-31', // Mon Summer bank holiday
  '2026-12-25', // Fri Christmas Day
  '2026-12-28', // Mon Boxing Day (substitute)
  '2027-01-01', // Fri New Year's Day
  '2027-03-26', // Fri Good Friday
  '2027-03-29', // Mon Easter Monday
  '2027-05-03', // Mon Early May bank holiday
  '2027-05-31', // Mon Spring bank holiday
  '2027-08-30', // Mon Summer bank holiday
  '2027-12-27', // Mon Christmas Day (substitute)
  '2027-12-28', // Tue Boxing Day (substitute)
  '2028-01-03', // Mon New Year's Day (substitute)
  '2028-04-14', // Fri Good Friday
  '2028-04-17', // Mon Easter Monday
  '2028-05-01', // Mon Early May bank holiday
  '2028-05-29', // Mon Spring bank holiday
  '2028-08-28', // Mon Summer bank holiday
  '2028-12-25', // Mon Christmas Day
  '2028-12-26', // Tue Boxing Day
];

/**
 * CCPA default: the days California state offices are closed (CalHR state holidays). CCPA business days exclude
 * *state* holidays, so this is deliberately the California list rather than the union with the US federal list:
 * Columbus Day and Juneteenth, federal holidays on which California state offices open, would make the 10-business-day
 * acknowledgement later than the law allows. A holiday on a Sunday is observed on the Monday; one on a Saturday is not
 * moved to a weekday (state employees accrue holiday credit instead), except Veterans Day, observed on the Friday.
 */
export const CALIFORNIA_STATE_HOLIDAYS: readonly string[] = [
  '2026-01-01', // Thu New Year's Day
  '2026-01-19', // Mon Martin Luther King Jr. Day
  '2026-02-16', // Mon Presidents' Day
  '2026-03-31', // Tue Cesar Chavez Day
  '2026-05-25', // Mon Memorial Day
  '2026-09-07', // Mon Labor Day
  '2026-11-11', // Wed Veterans Day
  '2026-11-26', // Thu Thanksgiving Day
  '2026-11-27', // Fri Day after Thanksgiving
  '2026-12-25', // Fri Christmas Day
  '2027-01-01', // Fri New Year's Day
  '2027-01-18', // Mon Martin Luther King Jr. Day
  '2027-02-15', // Mon Presidents' Day
  '2027-03-31', // Wed Cesar Chavez Day
  '2027-05-31', // Mon Memorial Day
  '2027-07-05', // Mon Independence Day (observed)
  '2027-09-06', // Mon Labor Day
  '2027-11-11', // Thu Veterans Day
  '2027-11-25', // Thu Thanksgiving Day
  '2027-11-26', // Fri Day after Thanksgiving
  '2028-01-17', // Mon Martin Luther King Jr. Day
  '2028-02-21', // Mon Presidents' Day
  '2028-03-31', // Fri Cesar Chavez Day
  '2028-05-29', // Mon Memorial Day
  '2028-07-04', // Tue Independence Day
  '2028-09-04', // Mon Labor Day
  '2028-11-10', // Fri Veterans Day (observed)
  '2028-11-23', // Thu Thanksgiving Day
  '2028-11-24', // Fri Day after Thanksgiving
  '2028-12-25', // Mon Christmas Day
];
