/**
 * A privacy officer's decision on a request that awaits one (approve or reject), delivered to the request's workflow
 * as an update and audited. The workflow validates it (four-eyes rule, one decision, only when asked), so the rule
 * holds even for a client that bypasses the API.
 */
import type { Client } from '@temporalio/client';
import type { Knex } from 'knex';
import { auditEvents } from '../../db/repositories/audit-events';
import { lifecycleRequests } from '../../db/repositories/lifecycle-requests';
import { approveUpdate, rejectUpdate } from '../../workflows/approval';
import { HttpProblem } from '../problem';
import { executeRequestUpdate } from '../workflow-calls';

/** The decision the workflow recorded, as its update answers it. */
export type RecordedDecision = Awaited<ReturnType<typeof executeDecision>>;

const UPDATES = { approve: approveUpdate, reject: rejectUpdate } as const;

function executeDecision(
  temporal: Client,
  workflowId: string,
  verb: keyof typeof UPDATES,
  actor: string,
  reason?: string,
) {
  // Four-eyes (403), nothing awaited or no gate in this request type (409), ended (409): api/workflow-calls.ts.
  return executeRequestUpdate(temporal, workflowId, UPDATES[verb], [{ actor, reason }], {
    ended: new HttpProblem(409, 'Not awaiting a decision', 'the request has ended'),
  });
}

/**
 * Delivers `verb` on `requestId` and audits it.
 * @throws HttpProblem 404 (no such request), 403 (the requester decides), 409 (nothing awaited, decided, ended), 503.
 */
export async function decideRequest(
  deps: { db: Knex; temporal: Client },
  d: { requestId: string; verb: keyof typeof UPDATES; actor: string; reason?: string },
): Promise<RecordedDecision> {
  const request = await lifecycleRequests.findById(deps.db, d.requestId);
  if (!request) throw new HttpProblem(404, 'Request not found', `no request ${d.requestId}`);
  const decision = await executeDecision(deps.temporal, request.workflowId, d.verb, d.actor, d.reason);
  await auditEvents.appendForRequest(
    deps.db,
    { requestId: request.id, customerId: request.customerId, workflowId: request.workflowId },
    { actor: d.actor, action: `request.${decision.decision}`, details: { hasReason: Boolean(d.reason) } },
  );
  return decision;
}
