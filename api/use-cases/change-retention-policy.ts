/**
 * Changing a retention policy (`PUT /v1/retention-policies/{category}`): a new version, audited, and the running
 * retention workflows told to re-read their policies.
 *
 * Shortening a period (or moving what starts its clock) makes data, the audit log included, expire earlier, and a
 * deletion cannot be taken back: such a change needs four eyes. It is recorded as a pending change request and applied
 * by {@link applyRetentionPolicyChange} when a second privacy officer approves it, at the policy version it was
 * proposed against. A longer period, or a new legal basis only, applies at once.
 */
import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { retentionPolicies, type PolicyUpdateResult } from '../../db/repositories/retention-policies';
import type { DataCategory } from '../../lib/pure/data-categories';
import { addPeriod, isShorterThan } from '../../lib/pure/retention';
import type { RetentionPolicyInput } from '../../lib/schemas/retention-policies';
import type { AppDeps } from '../deps';
import { HttpProblem } from '../problem';
import { proposeChange, StaleChangeError, type AppliedChange, type PendingChangeAnswer } from './pending-changes';

/** A fixed instant to compare calendar periods from (P1M and P30D compare the same from any start in practice). */
const REFERENCE_MS = Date.UTC(2000, 0, 1);

/** Whether going from `from` to `to` can make data of the category expire earlier than it would now. */
export function shortensRetention(
  from: { period: string; clockStart: string },
  to: { period: string; clockStart: string },
): boolean {
  return from.clockStart !== to.clockStart || addPeriod(REFERENCE_MS, to.period) < addPeriod(REFERENCE_MS, from.period);
}

/**
 * Asks every running retention workflow on this deployment's task queue to re-read its policies, with one batch
 * signal operation (the server fans it out). Best effort: a workflow that misses it re-reads at its next recheck.
 */
export async function notifyRetentionWorkflows(deps: AppDeps, actor: string, reason: string): Promise<boolean> {
  try {
    await deps.temporal.workflowService.startBatchOperation({
      namespace: deps.temporal.options.namespace,
      jobId: randomUUID(),
      reason,
      visibilityQuery: `WorkflowType = 'retentionWorkflow' AND ExecutionStatus = 'Running' AND TaskQueue = '${deps.taskQueue.replace(/'/g, "''")}'`,
      signalOperation: { signal: 'policiesChanged', identity: actor },
    });
    return true;
  } catch (err) {
    deps.log.warn('could not signal retention workflows about a policy change', { err: (err as Error).message });
    return false;
  }
}

/**
 * When the change shortens the policy (see {@link shortensRetention}), records it as a pending change request and
 * answers it; otherwise answers undefined and the caller applies the change as before.
 * @throws HttpProblem 404 (no such policy), 412 (If-Match names another version), 409 (a change already pending).
 */
export async function proposeRetentionChangeIfShortening(
  deps: AppDeps,
  change: { category: DataCategory; input: RetentionPolicyInput; actor: string; expectedVersion?: number },
): Promise<PendingChangeAnswer | undefined> {
  const policySet = deps.config.retention.policySet;
  return deps.db.transaction(async (trx) => {
    const current = await retentionPolicies.get(trx, policySet, change.category);
    if (!current) throw new HttpProblem(404, 'Retention policy not found', `no policy for ${change.category}`);
    if (change.expectedVersion !== undefined && change.expectedVersion !== current.version) {
      throw new HttpProblem(412, 'Precondition Failed', `the policy is at version ${current.version} now`, {
        currentVersion: current.version,
      });
    }
    if (!shortensRetention(current, change.input)) return undefined;
    return proposeChange(deps, trx, {
      kind: 'retention_policy',
      subjectType: 'retention_policy',
      subjectId: `${policySet}/${change.category}`,
      summary: {
        policySet,
        category: change.category,
        version: current.version,
        period: { from: current.period, to: change.input.period },
        clockStart: { from: current.clockStart, to: change.input.clockStart },
      },
      payload: { policySet, category: change.category, input: change.input, version: current.version },
      actor: change.actor,
    });
  });
}

/**
 * Applies an approved retention policy change in `trx` as its requester made it, if the policy is still at the
 * version it was proposed against. @throws StaleChangeError (409) otherwise.
 */
export async function applyRetentionPolicyChange(
  deps: AppDeps,
  trx: Knex.Transaction,
  payload: Record<string, unknown>,
  who: { requestedBy: string; approvedBy: string; changeRequestId: string },
): Promise<AppliedChange> {
  const { policySet, category, input, version } = payload as {
    policySet: string;
    category: DataCategory;
    input: RetentionPolicyInput;
    version: number;
  };
  // The floor may have been raised since the change was proposed: it still holds when the change is applied.
  const floor = deps.config.audit.retentionFloor;
  if (category === 'audit_log' && isShorterThan(input.period, floor)) {
    throw new HttpProblem(
      409,
      'Below the audit log retention floor',
      `audit_log may not be kept shorter than ${floor}`,
      {
        rule: 'audit_retention_floor',
      },
    );
  }
  const result: PolicyUpdateResult | undefined = await retentionPolicies.update(trx, policySet, category, input, {
    actor: who.requestedBy,
    expectedVersion: version,
    approval: { changeRequestId: who.changeRequestId, approvedBy: who.approvedBy },
  });
  if (!result) throw new StaleChangeError(`the policy ${policySet}/${category} no longer exists`);
  if (result.outcome === 'version_mismatch')
    throw new StaleChangeError(`the policy moved from version ${version} to ${result.policy.version}`);
  const changed = result.outcome === 'changed';
  const p = result.policy;
  return {
    outcome: { category, version: p.version, period: p.period, changed },
    afterCommit: async () => ({
      category: p.category,
      period: p.period,
      clockStart: p.clockStart,
      legalBasis: p.legalBasis,
      version: p.version,
      changedBy: p.changedBy,
      changedAt: p.changedAt.toISOString(),
      policySet: p.policySet,
      changed,
      retentionWorkflowsNotified: changed
        ? await notifyRetentionWorkflows(deps, who.approvedBy, `retention policy ${category} changed to v${p.version}`)
        : false,
    }),
  };
}
