/**
 * Activities of the contract-end check (workflows/contract-end-check.ts): find the customers whose contract end date
 * has passed and start their termination through the same use case as `POST /v1/customers/{id}/termination`.
 *
 * When a contract ends: at the end of its `ends_on` day in UTC (midnight UTC after `ends_on`), the same instant the
 * retention clock uses (lib/pure/retention.ts `contractClockStart`). Customers have no time zone of their own; UTC is
 * the one calendar every regime shares, and it never ends a contract before its last day is over anywhere in Europe.
 *
 * A contract end starts a termination once. A customer is due when it is `active`, its latest contract's end has
 * passed, no termination is running, and no termination was requested since the contract last changed
 * (`contracts.updated_at`): so a termination staff cancelled (or one that failed) is not started again every hour, and
 * changing the contract's end date (`PUT /v1/customers/{id}/contract`) arms the automatic start anew.
 */
import { activityInfo, Context, log } from '@temporalio/activity';
import type { Knex } from 'knex';
import { HttpProblem } from '../api/problem';
import { startTermination } from '../api/use-cases/start-termination';
import type { AppConfig } from '../lib/config';
import { contractClockStart } from '../lib/pure/retention';

/** What the contract-end activities need. The Temporal client is the worker's own (activity context). */
export interface ContractEndDeps {
  db: Knex;
  config: AppConfig;
}

/** Who the audit log and the approval gate name as the requester of an automatic termination. */
export const CONTRACT_END_ACTOR = 'system:contract-end';

/** The reason recorded (as its hash, like every termination reason) for an automatic termination. */
const CONTRACT_END_REASON = 'The contract end date has passed (automatic start, activities/contract-end.ts).';

/** A customer whose contract end has passed. */
export interface DueContractEnd {
  customerId: string;
  /** The contract's last day (YYYY-MM-DD). */
  endsOn: string;
}

/** What one automatic start did: ids only. */
export type ContractEndStart =
  | { customerId: string; outcome: 'started'; requestId: string; effectiveAt: string }
  | { customerId: string; outcome: 'skipped'; reason: string };

/** Builds the contract-end activities from their dependencies. */
export function createContractEndActivities(deps: ContractEndDeps) {
  return {
    /**
     * Customers due for an automatic termination as of `asOf` (see the module comment), oldest end first, at most
     * `limit`; `customerIds` restricts the check (an operator re-running one customer, or tests sharing a database).
     */
    async listDueContractEnds(input: {
      asOf: string;
      limit: number;
      customerIds?: string[];
    }): Promise<DueContractEnd[]> {
      // The end of `ends_on` (UTC) has passed exactly when `ends_on` is before asOf's UTC date.
      const todayUtc = new Date(input.asOf).toISOString().slice(0, 10);
      const query = deps.db
        .with('latest_contract', (q) =>
          q
            .distinctOn('customer_id')
            .from('contracts')
            .select('customer_id', 'ends_on', 'updated_at')
            .orderBy([{ column: 'customer_id' }, { column: 'created_at', order: 'desc' }]),
        )
        .from('customers as c')
        .join('latest_contract as lc', 'lc.customer_id', 'c.id')
        .where('c.status', 'active')
        .whereNotNull('lc.ends_on')
        .where('lc.ends_on', '<', todayUtc)
        .whereNotExists((q) =>
          q
            .from('lifecycle_requests as r')
            .whereRaw('r.customer_id = c.id')
            .where('r.type', 'termination')
            .where((w) =>
              w
                .whereNotIn('r.status', ['completed', 'failed', 'cancelled'])
                .orWhereRaw('r.received_at >= lc.updated_at'),
            ),
        )
        .select<{ customer_id: string; ends_on: string }[]>('c.id as customer_id', 'lc.ends_on')
        .orderBy([{ column: 'lc.ends_on' }, { column: 'c.id' }])
        .limit(input.limit);
      if (input.customerIds) query.whereIn('c.id', input.customerIds);
      const rows = await query;
      return rows.map((r) => ({ customerId: r.customer_id, endsOn: r.ends_on }));
    },

    /**
     * Starts `termination-<customerId>` for a due contract end, as the API would: actor `system:contract-end`,
     * disposition from the contract, effective at the contract's end (so at once; the use case never schedules in the
     * past). Idempotent: a second attempt (a retry, or an old attempt waking up) finds the running termination, or the
     * customer no longer active, and answers `skipped`; the business workflow id refuses a second run in Temporal too.
     */
    async startContractEndTermination(due: DueContractEnd): Promise<ContractEndStart> {
      const effectiveAt = new Date(contractClockStart({ endsOn: due.endsOn, endedAt: null })!);
      try {
        const started = await startTermination(
          {
            db: deps.db,
            temporal: Context.current().client,
            taskQueue: activityInfo().taskQueue,
            log,
            config: deps.config,
          },
          { customerId: due.customerId, actor: CONTRACT_END_ACTOR, effectiveAt, reason: CONTRACT_END_REASON },
        );
        log.info('termination started at contract end', { customerId: due.customerId, requestId: started.requestId });
        return {
          customerId: due.customerId,
          outcome: 'started',
          requestId: started.requestId,
          effectiveAt: started.effectiveAt,
        };
      } catch (err) {
        // 404/409: nothing to start (already running, no longer active, no contract). 503 and the rest: retried.
        if (err instanceof HttpProblem && (err.status === 404 || err.status === 409)) {
          return { customerId: due.customerId, outcome: 'skipped', reason: err.title };
        }
        throw err;
      }
    },
  };
}

export type ContractEndActivities = ReturnType<typeof createContractEndActivities>;
