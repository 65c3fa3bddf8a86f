/**
 * Starts a contract termination: records the request (type `termination`), audits it and starts
 * `termination-<customerId>`. One at a time per customer: a running one answers 409, both here (the database) and in
 * Temporal (the workflow id with `ALLOW_DUPLICATE` reuse and a failing conflict policy), so a race cannot start two.
 * The durations of the process are fixed now, from configuration, and travel in the workflow input.
 *
 * Two callers: the API route (staff), and the contract-end check's activity (activities/contract-end.ts, actor
 * `system:contract-end`) when a contract's end date has passed; so nothing here depends on Express.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import type { AppConfig } from '../../lib/config';
import type { TerminationDisposition } from '../../lib/pure/termination-messages';
import { terminationWorkflowId } from '../../lib/pure/temporal-ids';
import type { TerminationInput as TerminationWorkflowInput } from '../../workflows/termination';
import { HttpProblem } from '../problem';
import {
  acceptedStatus,
  acceptRequest,
  startRequestWorkflow,
  type RequestWorkflowStart,
  type StartDeps,
} from './start-request-workflow';

export interface TerminationStart {
  customerId: string;
  /** `staff:<id>`, or `system:contract-end`. */
  actor: string;
  effectiveAt: Date;
  /** Why (free text): only its hash is recorded. */
  reason: string;
  /** Set only by a privacy officer (checked by the route). */
  dispositionOverride?: TerminationDisposition;
}

export interface TerminationStarted {
  requestId: string;
  customerId: string;
  workflowId: string;
  effectiveAt: string;
  disposition: TerminationDisposition;
  dispositionSource: 'contract' | 'privacy_officer_override';
  /** `received` while the start is owed (the start reconciler starts it), `running` once started. */
  status: 'received' | 'running';
}

/** The running termination request of a customer, if any. */
export async function runningTermination(db: Knex, customerId: string) {
  return db('lifecycle_requests')
    .where({ customer_id: customerId, type: 'termination' })
    .whereNotIn('status', ['completed', 'failed', 'cancelled'])
    .orderBy('received_at', 'desc')
    .first<{ id: string; workflow_id: string } | undefined>('id', 'workflow_id');
}

/**
 * Records and starts a termination.
 * @throws HttpProblem 404 (no customer), 409 (not active, no contract, or a termination already running). Temporal
 * being unreachable is no error: the termination is recorded and answered `received`; the start reconciler starts it.
 */
export async function startTermination(
  deps: StartDeps & { config: AppConfig },
  start: TerminationStart,
): Promise<TerminationStarted> {
  const { db, config } = deps;
  const customer = await db('customers')
    .where({ id: start.customerId })
    .first<{ status: string } | undefined>('status');
  if (!customer) throw new HttpProblem(404, 'Customer not found', `no customer ${start.customerId}`);
  const running = await runningTermination(db, start.customerId);
  if (running) {
    throw new HttpProblem(409, 'Termination already running', `request ${running.id} is terminating this customer`, {
      requestId: running.id,
    });
  }
  if (customer.status !== 'active') {
    throw new HttpProblem(409, 'Cannot terminate', `the customer is ${customer.status}, not active`);
  }
  const contract = await db('contracts')
    .where({ customer_id: start.customerId })
    .orderBy('created_at', 'desc')
    .first<{ termination_disposition: TerminationDisposition } | undefined>('termination_disposition');
  if (!contract) throw new HttpProblem(409, 'Cannot terminate', 'the customer has no contract recorded');

  const requestId = randomUUID();
  const workflowId = terminationWorkflowId(start.customerId);
  const disposition = start.dispositionOverride ?? contract.termination_disposition;
  const dispositionSource = start.dispositionOverride ? 'privacy_officer_override' : 'contract';
  const effectiveAt = new Date(Math.max(start.effectiveAt.getTime(), Date.now())).toISOString();
  const reasonSha256 = createHash('sha256').update(start.reason, 'utf8').digest('hex');
  const receivedAt = new Date().toISOString();

  const input: TerminationWorkflowInput = {
    requestId,
    customerId: start.customerId,
    requestedBy: start.actor,
    requestedAt: receivedAt,
    effectiveAt,
    disposition,
    dispositionSource,
    policy: {
      returnGracePeriodMs: config.termination.returnGracePeriodMs,
      returnReminderOffsets: config.termination.returnReminderOffsets,
      approvalReminderIntervalMs: config.termination.approvalReminderIntervalMs,
      holdRecheckIntervalMs: config.erasure.holdRecheckIntervalMs,
    },
  };
  const owed: RequestWorkflowStart = {
    workflowType: 'terminationWorkflow',
    workflowId,
    args: [input],
    requestId,
    requestType: 'termination',
    customerId: start.customerId,
    actor: start.actor,
    description: 'the termination',
    workflowIdReusePolicy: 'ALLOW_DUPLICATE',
  };
  await acceptRequest(
    db,
    owed,
    {
      action: 'termination.requested',
      customerId: start.customerId,
      details: { effectiveAt, disposition, dispositionSource, reasonSha256 },
    },
    {
      request: {
        id: requestId,
        type: 'termination',
        customerId: start.customerId,
        workflowId,
        actor: start.actor,
        requestHash: createHash('sha256')
          .update(JSON.stringify({ effectiveAt, disposition, reasonSha256 }))
          .digest('hex'),
      },
    },
  );

  const outcome = await startRequestWorkflow(deps, owed);
  return {
    requestId,
    customerId: start.customerId,
    workflowId,
    effectiveAt,
    disposition,
    dispositionSource,
    status: acceptedStatus(outcome),
  };
}
