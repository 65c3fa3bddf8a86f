/**
 * The second pair of eyes on a pending change (README "Approvals"): `POST /v1/change-requests/{id}/approve|reject`.
 * The same rules as the approval gate of the request workflows (workflows/approval.ts), enforced in one transaction
 * with the change request locked:
 *
 * | situation                                                        | answer |
 * |------------------------------------------------------------------|--------|
 * | no such change request                                           | 404    |
 * | the decider proposed it (four-eyes rule)                         | 403    |
 * | the decider's role may not make this kind of change              | 403    |
 * | already applied, rejected, expired or superseded (nothing awaited) | 409  |
 * | past its expiry (settled as expired now)                          | 409    |
 * | approved, but the subject changed since the proposal (superseded) | 409    |
 *
 * An approval applies the change with the same use case code as a change that needs no approval (and answers, as
 * `result`, what the route would have answered for it), audits the decision (`change_request.approved` / `.rejected`) and the change itself (naming requester and approver), and
 * clears the stored payload (which may hold a signing secret).
 */
import { auditEvents } from '../../db/repositories/audit-events';
import { changeRequests, type ChangeKind, type ChangeRequest } from '../../db/repositories/change-requests';
import type { StaffIdentity } from '../../db/repositories/staff-tokens';
import { can } from '../../lib/roles';
import type { Knex } from 'knex';
import type { AppDeps } from '../deps';
import { HttpProblem } from '../problem';
import { applyContractChange } from './change-contract';
import { applyRetentionPolicyChange } from './change-retention-policy';
import {
  changeRequestView,
  DECIDING_PERMISSION,
  StaleChangeError,
  type AppliedChange,
  type ChangeRequestView,
} from './pending-changes';
import { applySubprocessorChange } from './register-subprocessor';

type Applier = (
  deps: AppDeps,
  trx: Knex.Transaction,
  payload: Record<string, unknown>,
  who: { requestedBy: string; approvedBy: string; changeRequestId: string },
) => Promise<AppliedChange>;

const APPLIERS: Record<ChangeKind, Applier> = {
  contract_end: applyContractChange,
  retention_policy: applyRetentionPolicyChange,
  subprocessor: applySubprocessorChange,
};

/** Thrown inside the transaction to settle the change (expired, superseded) and still answer 409. */
class SettleAndRefuse extends Error {
  constructor(
    readonly status: 'expired' | 'superseded',
    readonly problem: HttpProblem,
  ) {
    super(problem.message);
  }
}

/** The change request if it awaits a decision by `staff`. @throws HttpProblem 404 / 403 / 409, SettleAndRefuse. */
function checkDecidable(change: ChangeRequest | undefined, id: string, staff: StaffIdentity, actor: string) {
  if (!change) throw new HttpProblem(404, 'Change request not found', `no change request ${id}`);
  if (change.status !== 'pending') {
    throw new HttpProblem(409, 'Not awaiting a decision', `the change request is ${change.status}`, {
      changeRequest: changeRequestView(change),
    });
  }
  if (change.expiresAt.getTime() <= Date.now()) {
    throw new SettleAndRefuse(
      'expired',
      new HttpProblem(
        409,
        'Not awaiting a decision',
        `the change request expired at ${change.expiresAt.toISOString()}`,
      ),
    );
  }
  if (change.requestedBy === actor) {
    throw new HttpProblem(
      403,
      'Four-eyes rule',
      'four-eyes rule: the approver must be a different person from the requester',
    );
  }
  const permission = DECIDING_PERMISSION[change.kind];
  if (!can(staff.role, permission)) {
    throw new HttpProblem(
      403,
      'Forbidden',
      `role ${staff.role} lacks permission ${permission}, needed to decide a ${change.kind} change`,
    );
  }
  return change;
}

/**
 * Approves (applies) or rejects the pending change `id` as `staff`. Answers the change request as it now stands and,
 * for an approval, what applying it did.
 */
export async function decideChangeRequest(
  deps: AppDeps,
  id: string,
  decision: { verb: 'approve' | 'reject'; staff: StaffIdentity; actor: string; reason?: string },
): Promise<{ changeRequest: ChangeRequestView; result?: unknown }> {
  let afterCommit: (() => Promise<unknown>) | undefined;
  let settled: SettleAndRefuse | undefined;
  const result = await deps.db
    .transaction(async (trx) => {
      const change = checkDecidable(await changeRequests.lock(trx, id), id, decision.staff, decision.actor);
      const approved = decision.verb === 'approve';
      let outcome: Record<string, unknown> | undefined;
      if (approved) {
        try {
          const applied = await APPLIERS[change.kind](deps, trx, change.payload ?? {}, {
            requestedBy: change.requestedBy,
            approvedBy: decision.actor,
            changeRequestId: change.id,
          });
          outcome = applied.outcome;
          afterCommit = applied.afterCommit;
        } catch (err) {
          if (err instanceof StaleChangeError) throw new SettleAndRefuse('superseded', err);
          throw err;
        }
      }
      const updated = await changeRequests.settle(trx, change.id, {
        status: approved ? 'applied' : 'rejected',
        decidedBy: decision.actor,
        reason: decision.reason,
        outcome,
      });
      await auditEvents.append(trx, {
        actor: decision.actor,
        action: approved ? 'change_request.approved' : 'change_request.rejected',
        subjectType: 'change_request',
        subjectId: change.id,
        customerId: change.kind === 'contract_end' ? change.subjectId : undefined,
        details: {
          kind: change.kind,
          subject: `${change.subjectType}/${change.subjectId}`,
          requestedBy: change.requestedBy,
          hasReason: Boolean(decision.reason),
        },
      });
      return { changeRequest: changeRequestView(updated) };
    })
    .catch((err: unknown) => {
      if (!(err instanceof SettleAndRefuse)) throw err;
      settled = err;
      return undefined;
    });
  if (settled) {
    // The refusal rolled the transaction back: record the lapse (or staleness) on its own.
    const refused = settled;
    await deps.db.transaction(async (trx) => {
      const change = await changeRequests.lock(trx, id);
      if (change?.status !== 'pending') return;
      await changeRequests.settle(trx, id, { status: refused.status });
      await auditEvents.append(trx, {
        actor: decision.actor,
        action: `change_request.${refused.status}`,
        subjectType: 'change_request',
        subjectId: id,
        customerId: change.kind === 'contract_end' ? change.subjectId : undefined,
        details: { kind: change.kind, subject: `${change.subjectType}/${change.subjectId}` },
      });
    });
    throw refused.problem;
  }
  if (!afterCommit) return result!;
  return { ...result!, result: await afterCommit() };
}
