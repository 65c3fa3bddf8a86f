/**
 * The workflow start a recorded request is owed (columns `workflow_*` of `lifecycle_requests`): recorded in the
 * request's own row ({@link owedStartColumns}), and marked once Temporal took it. What stays unmarked is the start
 * reconciler's work (activities/request-starts.ts). See docs/reliability.md "Outbox and accepted starts".
 */
import type { Knex } from 'knex';
import type { RequestStatus, RequestType } from './lifecycle-requests';

type Db = Knex | Knex.Transaction;

/** What to start for a request. */
export interface OwedStart {
  workflowType: string;
  args: unknown[];
  /** `REJECT_DUPLICATE` unless the workflow id is customer-scoped (`termination-<id>`). */
  reusePolicy: 'REJECT_DUPLICATE' | 'ALLOW_DUPLICATE';
}

/** A request whose workflow has not been started (yet). */
export interface UnstartedRequest extends OwedStart {
  requestId: string;
  type: RequestType;
  customerId: string;
  workflowId: string;
  actor: string;
  status: RequestStatus;
  receivedAt: Date;
  startAttempts: number;
}

interface UnstartedRow {
  id: string;
  type: RequestType;
  customer_id: string;
  workflow_id: string;
  actor: string;
  status: RequestStatus;
  received_at: Date;
  workflow_type: string;
  workflow_args: unknown[];
  workflow_id_reuse_policy: 'REJECT_DUPLICATE' | 'ALLOW_DUPLICATE' | null;
  start_attempts: number;
}

/**
 * The columns that record `start` as owed: written with the request's row, in its INSERT
 * (db/repositories/lifecycle-requests.ts `NewLifecycleRequest.owedStart`).
 */
export function owedStartColumns(start: OwedStart): Record<string, string> {
  return {
    workflow_type: start.workflowType,
    workflow_args: JSON.stringify(start.args),
    workflow_id_reuse_policy: start.reusePolicy,
  };
}

export const workflowStarts = {
  /** Temporal took the start (or a run of this request exists): nothing is owed any more. */
  async markStarted(db: Db, requestId: string): Promise<void> {
    await db('lifecycle_requests')
      .where({ id: requestId })
      .whereNull('workflow_started_at')
      .update({ workflow_started_at: db.fn.now(), start_error: null });
  },

  /** A start failed; the reconciler tries again. */
  async recordFailure(db: Db, requestId: string, error: string): Promise<void> {
    await db('lifecycle_requests')
      .where({ id: requestId })
      .whereNull('workflow_started_at')
      .update({ start_attempts: db.raw('start_attempts + 1'), start_error: error.slice(0, 500) });
  },

  /** Whether the request's workflow was started. */
  async isStarted(db: Db, requestId: string): Promise<boolean> {
    const row = await db('lifecycle_requests')
      .where({ id: requestId })
      .first<{ workflow_started_at: Date | null } | undefined>('workflow_started_at');
    return Boolean(row?.workflow_started_at);
  },

  /**
   * Requests received before `receivedBefore` that are owed a start and still open, oldest first: what the API
   * accepted but could not start (Temporal down, the API stopped between commit and start).
   */
  async unstarted(db: Db, receivedBefore: Date, limit: number): Promise<UnstartedRequest[]> {
    const rows = await db<UnstartedRow>('lifecycle_requests')
      .whereNotNull('workflow_type')
      .whereNull('workflow_started_at')
      .whereNotIn('status', ['completed', 'failed', 'cancelled'])
      .where('received_at', '<', receivedBefore)
      .orderBy('received_at')
      .limit(limit);
    return rows.map((r) => ({
      requestId: r.id,
      type: r.type,
      customerId: r.customer_id,
      workflowId: r.workflow_id,
      actor: r.actor,
      status: r.status,
      receivedAt: r.received_at,
      workflowType: r.workflow_type,
      args: r.workflow_args,
      reusePolicy: r.workflow_id_reuse_policy ?? 'REJECT_DUPLICATE',
      startAttempts: r.start_attempts,
    }));
  },
};
