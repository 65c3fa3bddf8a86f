/**
 * Four eyes on changes that cannot be taken back or that change whom the service trusts (README "Approvals"):
 * bringing a contract's erasure forward, shortening a retention period, creating a subprocessor or changing its URL or
 * secret. Such a change is not applied by the route: it is recorded as a pending change request (and audited as
 * `change_request.proposed`), answered 202, and applied only when a second staff member approves it
 * (api/use-cases/decide-change-request.ts).
 *
 * A pending change is a database record, not a workflow: it waits for nothing but a decision, its expiry is checked
 * when someone acts on it, and applying it reuses the same use case code (and the same API clients for signalling
 * retention workflows) as a change that needs no approval.
 */
import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { auditEvents } from '../../db/repositories/audit-events';
import { changeRequests, type ChangeKind, type ChangeRequest } from '../../db/repositories/change-requests';
import type { Permission } from '../../lib/roles';
import type { AppDeps } from '../deps';
import { HttpProblem } from '../problem';

/** The permission a staff member needs to propose, and to approve or reject, each kind of change. */
export const DECIDING_PERMISSION: Record<ChangeKind, Permission> = {
  contract_end: 'contracts:manage',
  retention_policy: 'retention-policies:manage',
  subprocessor: 'subprocessors:manage',
};

/** A change request as the API shows it: what changes, where it stands, and where to decide it. */
export interface ChangeRequestView {
  id: string;
  kind: ChangeKind;
  subject: { type: string; id: string };
  summary: Record<string, unknown>;
  /** `expired` also for a pending change past its expiry that nobody acted on since. */
  status: ChangeRequest['status'];
  requestedBy: string;
  requestedAt: string;
  expiresAt: string;
  decidedBy: string | null;
  decidedAt: string | null;
  decisionReason: string | null;
  outcome: Record<string, unknown> | null;
  /** Who may decide it: a staff member other than `requestedBy` holding this permission. */
  decidedWith: Permission;
  links: { self: string; approve: string; reject: string };
}

/** The API's view of a change request at `now`. */
export function changeRequestView(c: ChangeRequest, now = new Date()): ChangeRequestView {
  const self = `/v1/change-requests/${c.id}`;
  return {
    id: c.id,
    kind: c.kind,
    subject: { type: c.subjectType, id: c.subjectId },
    summary: c.summary,
    status: c.status === 'pending' && c.expiresAt.getTime() <= now.getTime() ? 'expired' : c.status,
    requestedBy: c.requestedBy,
    requestedAt: c.requestedAt.toISOString(),
    expiresAt: c.expiresAt.toISOString(),
    decidedBy: c.decidedBy,
    decidedAt: c.decidedAt?.toISOString() ?? null,
    decisionReason: c.decisionReason,
    outcome: c.outcome,
    decidedWith: DECIDING_PERMISSION[c.kind],
    links: { self, approve: `${self}/approve`, reject: `${self}/reject` },
  };
}

/** What a route answers for a change that now waits for a second person: 202, `Location`, and the change request. */
export interface PendingChangeAnswer {
  status: 'pending_approval';
  changeRequest: ChangeRequestView;
}

/**
 * Records `change` as pending in `trx` and audits the proposal (`change_request.proposed`, with the summary: never a
 * secret). @throws HttpProblem 409 naming the pending change when one is already waiting for the same subject.
 */
export async function proposeChange(
  deps: Pick<AppDeps, 'config'>,
  trx: Knex.Transaction,
  change: {
    kind: ChangeKind;
    subjectType: string;
    subjectId: string;
    customerId?: string;
    summary: Record<string, unknown>;
    payload: Record<string, unknown>;
    actor: string;
  },
): Promise<PendingChangeAnswer> {
  const { change: recorded, created } = await changeRequests.insertPending(trx, {
    id: randomUUID(),
    kind: change.kind,
    subjectType: change.subjectType,
    subjectId: change.subjectId,
    summary: change.summary,
    payload: change.payload,
    requestedBy: change.actor,
    ttlMs: deps.config.changeRequests.approvalTimeoutMs,
  });
  if (!created) {
    throw new HttpProblem(
      409,
      'A change is already pending',
      `change request ${recorded.id} for this ${change.subjectType} waits for a decision; approve or reject it first`,
      { changeRequest: changeRequestView(recorded) },
    );
  }
  await auditEvents.append(trx, {
    actor: change.actor,
    action: 'change_request.proposed',
    subjectType: 'change_request',
    subjectId: recorded.id,
    customerId: change.customerId,
    details: {
      kind: change.kind,
      subject: `${change.subjectType}/${change.subjectId}`,
      summary: change.summary,
      expiresAt: recorded.expiresAt.toISOString(),
    },
  });
  return { status: 'pending_approval', changeRequest: changeRequestView(recorded) };
}

/** A pending change that no longer fits the state it was proposed for: not applied, settled as `superseded` (409). */
export class StaleChangeError extends HttpProblem {
  constructor(detail: string) {
    super(409, 'Change is stale', `${detail}; propose it again if it is still wanted`);
  }
}

/**
 * What applying an approved change did (`outcome`, kept with the change request), and what to do once its transaction
 * has committed (e.g. signal workflows), which answers what the route would have answered for a change that needed no
 * approval (`result` of the approval's answer).
 */
export interface AppliedChange {
  outcome: Record<string, unknown>;
  afterCommit: () => Promise<unknown>;
}
