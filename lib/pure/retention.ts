/**
 * Retention arithmetic: what starts each category's clock, ISO 8601 periods, expiry instants and the per-customer
 * jitter that spreads wake-ups. Pure module (no I/O, no clock reads of its own): the retention workflows import it,
 * so every function takes "now" as an argument and computes in UTC. luxon is safe here because it reads time only
 * through `Date`, which Temporal makes deterministic inside workflows.
 */
import { DateTime, Duration } from 'luxon';
import { DATA_CATEGORIES, type DataCategory } from './data-categories';

/** What starts a category's retention clock. */
export const RETENTION_CLOCKS = ['record_creation', 'contract_end'] as const;
export type RetentionClock = (typeof RETENTION_CLOCKS)[number];

/**
 * The clocks each category may use. Contact data and seller identities exist only to serve the contract, so only its
 * end can start their clock; audit events and export archives are rolling by nature; the operational and technical
 * tables carry a creation timestamp and may use either.
 */
export const ALLOWED_CLOCKS: Record<DataCategory, readonly RetentionClock[]> = {
  business_contact: ['contract_end'],
  communication_records: ['record_creation', 'contract_end'],
  seller_accounts: ['contract_end'],
  orders: ['record_creation', 'contract_end'],
  inventory: ['record_creation', 'contract_end'],
  listings: ['record_creation', 'contract_end'],
  workflow_records: ['record_creation', 'contract_end'],
  authentication_logs: ['record_creation', 'contract_end'],
  api_access_logs: ['record_creation', 'contract_end'],
  export_archives: ['record_creation'],
  audit_log: ['record_creation'],
};

/** A retention policy as the workflows and activities see it. */
export interface RetentionPolicy {
  category: DataCategory;
  /** ISO 8601 duration, e.g. `P2Y`, `P90D`, `PT5S`. */
  period: string;
  clockStart: RetentionClock;
  legalBasis: string;
  version: number;
}

/** Whole-number ISO 8601 durations only (no fractions, no negative parts): `P1Y2M3W4DT5H6M7S`, each part optional. */
const ISO_PERIOD = /^P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+S)?)?$/;

/** The shortest and longest retention period accepted (seconds for tests, a century at most). */
export const MIN_PERIOD_MS = 1000;
const MAX_PERIOD_YEARS = 100;

/** Reference instant for comparing calendar periods of different units (a fixed date: results never depend on now). */
const REFERENCE = DateTime.fromISO('2000-01-01T00:00:00Z', { zone: 'utc' });

/**
 * Why `period` is not an acceptable retention period, or undefined when it is: a whole-number ISO 8601 duration of
 * at least one second and at most 100 years.
 */
export function periodProblem(period: string, opts: { allowZero?: boolean } = {}): string | undefined {
  if (!ISO_PERIOD.test(period)) return 'must be an ISO 8601 duration with whole numbers, such as P2Y, P90D or PT5S';
  const duration = Duration.fromISO(period);
  if (!duration.isValid) return 'must be an ISO 8601 duration with whole numbers, such as P2Y, P90D or PT5S';
  const end = REFERENCE.plus(duration);
  if (end > REFERENCE.plus({ years: MAX_PERIOD_YEARS })) return `must not exceed ${MAX_PERIOD_YEARS} years`;
  const ms = end.toMillis() - REFERENCE.toMillis();
  if (opts.allowZero ? ms < 0 : ms < MIN_PERIOD_MS)
    return opts.allowZero ? 'must not be negative' : 'must be at least PT1S';
  return undefined;
}

/** Whether `period` is shorter than `floor` (both ISO 8601 durations, compared from the same instant). */
export function isShorterThan(period: string, floor: string): boolean {
  return REFERENCE.plus(Duration.fromISO(period)) < REFERENCE.plus(Duration.fromISO(floor));
}

/** Whether `period` is an acceptable retention period (see {@link periodProblem}). */
export function isRetentionPeriod(period: string): boolean {
  return periodProblem(period) === undefined;
}

/**
 * A configuration duration (ISO 8601) in milliseconds, months and years counted as 30 and 365 days. Meant for
 * intervals such as the sweep interval, where calendar precision does not matter.
 */
export function durationToMillis(iso: string): number {
  return Duration.fromISO(iso).shiftTo('milliseconds').milliseconds;
}

/** `instantMs + period`, in calendar arithmetic in UTC (P1M after 31 January is the last day of February). */
export function addPeriod(instantMs: number, period: string): number {
  return DateTime.fromMillis(instantMs, { zone: 'utc' }).plus(Duration.fromISO(period)).toMillis();
}

/** `instantMs - period`, in calendar arithmetic in UTC: the cutoff before which records are older than `period`. */
export function subtractPeriod(instantMs: number, period: string): number {
  return DateTime.fromMillis(instantMs, { zone: 'utc' }).minus(Duration.fromISO(period)).toMillis();
}

/** What the database knows about a customer's contract end. */
export interface ContractEnd {
  /** The agreed last day of the contract (YYYY-MM-DD), or null while open-ended. */
  endsOn: string | null;
  /** The instant the contract actually ended (termination effective), when it has. */
  endedAt: string | null;
}

/**
 * The instant the contract-end clock starts: when the contract actually ended if that is known, else the end of its
 * last day (midnight UTC after `endsOn`), else null (open-ended: nothing expires yet).
 */
export function contractClockStart(contract: ContractEnd | null): number | null {
  if (!contract) return null;
  if (contract.endedAt) return Date.parse(contract.endedAt);
  if (contract.endsOn) return DateTime.fromISO(contract.endsOn, { zone: 'utc' }).plus({ days: 1 }).toMillis();
  return null;
}

/**
 * A delay in [0, maxMs) derived from the customer id alone (FNV-1a), so a customer always gets the same jitter (replay
 * and continue-as-new stay stable) while many customers whose data expires on the same day wake spread over `maxMs`.
 * Jitter only ever delays: data is never deleted before its period has passed.
 */
export function retentionJitterMs(customerId: string, maxMs: number): number {
  if (maxMs <= 0) return 0;
  let hash = 0x811c9dc5;
  for (let i = 0; i < customerId.length; i++) {
    hash ^= customerId.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return Math.floor((hash / 0x1_0000_0000) * maxMs);
}

/** When one contract-end category of one customer expires. */
export interface CategoryExpiry {
  category: DataCategory;
  policyVersion: number;
  period: string;
  /** Contract end + period. */
  expiresAt: number;
  /** expiresAt + the customer's jitter: when the workflow acts. */
  wakeAt: number;
}

/**
 * The expiry of every contract-end category not yet erased, earliest first (ties in category order). Categories on
 * the record-creation clock are the rolling sweep's business and are left out.
 */
export function planContractExpiries(opts: {
  clockStart: number | null;
  policies: readonly RetentionPolicy[];
  erased: ReadonlySet<DataCategory>;
  jitterMs: number;
}): CategoryExpiry[] {
  const { clockStart } = opts;
  if (clockStart === null) return [];
  return opts.policies
    .filter((p) => p.clockStart === 'contract_end' && !opts.erased.has(p.category))
    .map((p) => {
      const expiresAt = addPeriod(clockStart, p.period);
      return {
        category: p.category,
        policyVersion: p.version,
        period: p.period,
        expiresAt,
        wakeAt: expiresAt + opts.jitterMs,
      };
    })
    .sort((a, b) => a.wakeAt - b.wakeAt || DATA_CATEGORIES.indexOf(a.category) - DATA_CATEGORIES.indexOf(b.category));
}

/**
 * Stable key of one retention erasure scope: the categories and the clock start they expired from. Starting the same
 * scope twice maps to the same erasure workflow id; a contract that ends again later (after a renewal) gets a new one.
 */
export function retentionScopeKey(categories: readonly DataCategory[], clockStart: number): string {
  const ordered = [...categories].sort((a, b) => DATA_CATEGORIES.indexOf(a) - DATA_CATEGORIES.indexOf(b));
  return `retention-${ordered.join('.')}-${clockStart}`;
}
