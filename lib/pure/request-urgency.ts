/**
 * How urgent an open request is, judged from its legal due date: the queue highlights the overdue and the due-soon.
 * Pure (dates as `YYYY-MM-DD` strings compare as dates), so the API and its tests share one rule.
 */

/** Days before the due date from which a request counts as due soon (the first staff reminder goes out at P7D). */
export const DUE_SOON_DAYS = 7;

export type Urgency = 'overdue' | 'due-soon' | 'on-time' | 'no-deadline' | 'closed';

/** Adds whole days to a calendar date. */
export function addDays(date: string, days: number): string {
  const d = new Date(`${date}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10);
}

/**
 * The urgency of a request due on `dueOn` (null: no legal deadline, or a clock not yet started), seen on `today`.
 * A request is overdue from the day after its due date: the due date itself is still in time.
 */
export function urgencyOf(opts: { open: boolean; dueOn: string | null; today: string; soonDays?: number }): Urgency {
  if (!opts.open) return 'closed';
  if (opts.dueOn === null) return 'no-deadline';
  if (opts.dueOn < opts.today) return 'overdue';
  if (opts.dueOn <= addDays(opts.today, opts.soonDays ?? DUE_SOON_DAYS)) return 'due-soon';
  return 'on-time';
}
