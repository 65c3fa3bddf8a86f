/**
 * Fencing for activities: claims the lease of the resource an activity attempt works on, from the attempt's Temporal
 * identity (db/repositories/activity-leases.ts, docs/reliability.md).
 */
import { Context } from '@temporalio/activity';
import type { Knex } from 'knex';
import { activityLeases, type Lease } from '../db/repositories/activity-leases';

/** Claims `key` for the running attempt (the current activity context's); a replaced attempt gets StaleAttemptError. */
export function claimForThisAttempt(db: Knex, key: string): Promise<Lease> {
  const { info } = Context.current();
  return activityLeases.claim(db, key, {
    activityType: info.activityType,
    workflowId: info.workflowExecution?.workflowId ?? '',
    activityId: info.activityId,
    attempt: info.attempt,
    scheduledMs: info.currentAttemptScheduledTimestampMs,
  });
}
