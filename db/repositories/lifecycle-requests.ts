import type { Knex } from 'knex';
import { owedStartColumns, type OwedStart } from './workflow-starts';

export type RequestType = 'onboarding' | 'access' | 'correction' | 'deletion' | 'termination' | 'retention';
export type RequestStatus = 'received' | 'running' | 'completed' | 'failed' | 'cancelled';

/** A lifecycle request as the rest of the code sees it. */
export interface LifecycleRequest {
  id: string;
  type: RequestType;
  customerId: string;
  subjectKey: string | null;
  status: RequestStatus;
  stage: string;
  workflowId: string;
  privacyRegime: string | null;
  dueOn: string | null;
  actor: string;
  idempotencyKey: string | null;
  requestHash: string;
  payload: unknown;
  outcome: Record<string, unknown> | null;
  failureReason: string | null;
  receivedAt: Date;
  completedAt: Date | null;
  updatedAt: Date;
}

interface LifecycleRequestRow {
  id: string;
  type: RequestType;
  customer_id: string;
  subject_key: string | null;
  status: RequestStatus;
  stage: string;
  workflow_id: string;
  privacy_regime: string | null;
  due_on: string | null;
  actor: string;
  idempotency_key: string | null;
  request_hash: string;
  payload: unknown;
  outcome: Record<string, unknown> | null;
  failure_reason: string | null;
  received_at: Date;
  completed_at: Date | null;
  updated_at: Date;
}

function toRequest(row: LifecycleRequestRow): LifecycleRequest {
  return {
    id: row.id,
    type: row.type,
    customerId: row.customer_id,
    subjectKey: row.subject_key,
    status: row.status,
    stage: row.stage,
    workflowId: row.workflow_id,
    privacyRegime: row.privacy_regime,
    dueOn: row.due_on,
    actor: row.actor,
    idempotencyKey: row.idempotency_key,
    requestHash: row.request_hash,
    payload: row.payload,
    outcome: row.outcome,
    failureReason: row.failure_reason,
    receivedAt: row.received_at,
    completedAt: row.completed_at,
    updatedAt: row.updated_at,
  };
}

/** Fields needed to record a new request. */
export interface NewLifecycleRequest {
  id: string;
  type: RequestType;
  customerId: string;
  subjectKey?: string;
  workflowId: string;
  privacyRegime?: string;
  dueOn?: string;
  actor: string;
  idempotencyKey?: string;
  requestHash: string;
  payload?: unknown;
  /** When it was received (default: now); tests record requests received in the past. */
  receivedAt?: Date;
  /** The workflow start it is owed (db/repositories/workflow-starts.ts), recorded in the same row. */
  owedStart?: OwedStart;
}

const TERMINAL: RequestStatus[] = ['completed', 'failed', 'cancelled'];

/** Store for `lifecycle_requests`. */
export const lifecycleRequests = {
  /**
   * The INSERT of a new request `r`, not yet run: the API's accepting statement
   * (api/use-cases/start-request-workflow.ts `acceptRequest`) runs it as one of its parts, with the start the request
   * is owed and its audit event.
   */
  insertQuery(db: Knex | Knex.Transaction, r: NewLifecycleRequest): Knex.QueryBuilder {
    return db('lifecycle_requests').insert({
      id: r.id,
      type: r.type,
      customer_id: r.customerId,
      subject_key: r.subjectKey ?? null,
      workflow_id: r.workflowId,
      privacy_regime: r.privacyRegime ?? null,
      due_on: r.dueOn ?? null,
      actor: r.actor,
      idempotency_key: r.idempotencyKey ?? null,
      request_hash: r.requestHash,
      payload: r.payload === undefined ? null : JSON.stringify(r.payload),
      ...(r.receivedAt ? { received_at: r.receivedAt, updated_at: r.receivedAt } : {}),
      ...(r.owedStart ? owedStartColumns(r.owedStart) : {}),
    });
  },

  async findById(db: Knex | Knex.Transaction, id: string): Promise<LifecycleRequest | undefined> {
    const row = await db<LifecycleRequestRow>('lifecycle_requests').where({ id }).first();
    return row && toRequest(row);
  },

  async findByIdempotencyKey(db: Knex, key: string): Promise<LifecycleRequest | undefined> {
    const row = await db<LifecycleRequestRow>('lifecycle_requests').where({ idempotency_key: key }).first();
    return row && toRequest(row);
  },

  async delete(db: Knex, id: string): Promise<void> {
    await db('lifecycle_requests').where({ id }).delete();
  },

  /** Records the workflow's current stage; a no-op on a request that has already ended. */
  async setStage(db: Knex | Knex.Transaction, id: string, stage: string): Promise<void> {
    await db('lifecycle_requests')
      .where({ id })
      .whereNotIn('status', TERMINAL)
      .update({ stage, status: 'running', updated_at: db.fn.now() });
  },

  /** Drops the stored input once it has been recorded where it belongs (it may hold personal data). */
  async clearPayload(db: Knex | Knex.Transaction, id: string): Promise<void> {
    await db('lifecycle_requests').where({ id }).update({ payload: null, updated_at: db.fn.now() });
  },

  /**
   * Closes the request as completed unless it has ended already.
   * @returns whether this call closed it (false on a re-run: the caller writes no second audit event).
   */
  async complete(db: Knex | Knex.Transaction, id: string, outcome: Record<string, unknown>): Promise<boolean> {
    const changed = await db('lifecycle_requests')
      .where({ id })
      .whereNotIn('status', TERMINAL)
      .update({
        status: 'completed',
        stage: 'completed',
        outcome: JSON.stringify(outcome),
        completed_at: db.fn.now(),
        updated_at: db.fn.now(),
      });
    return changed > 0;
  },

  /**
   * Closes the request as failed unless it has ended already.
   * @returns whether this call closed it (false on a re-run: the caller writes no second audit event).
   */
  async fail(
    db: Knex | Knex.Transaction,
    id: string,
    reason: string,
    outcome: Record<string, unknown> = {},
  ): Promise<boolean> {
    const changed = await db('lifecycle_requests')
      .where({ id })
      .whereNotIn('status', TERMINAL)
      .update({
        status: 'failed',
        stage: 'failed',
        failure_reason: reason,
        outcome: JSON.stringify(outcome),
        completed_at: db.fn.now(),
        updated_at: db.fn.now(),
      });
    return changed > 0;
  },
};

/** Whether a request has ended (no workflow is working on it any more). */
export function isTerminal(status: RequestStatus): boolean {
  return TERMINAL.includes(status);
}
