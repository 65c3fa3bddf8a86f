/**
 * The per-customer retention lifecycle (`retention-<customerId>`), started by onboarding and running as long as the
 * customer's data exists. It learns when the contract ends (from the database, the `contractChanged` signal after a
 * contract change through the API, or `contractEnded` from the termination process), then sleeps on durable timers
 * until each contract-end category's expiry (contract end + that category's policy period + the customer's jitter)
 * and runs the erasure child workflow for what expired (reason `retention`), which itself waits while a legal hold
 * covers a category.
 *
 * The contract dates come from the customer's lifecycle dates record (db/repositories/customer-lifecycle-dates.ts),
 * which outlives the contracts row a business_contact erasure removes; the lifecycle deletes that record when the last
 * contract-end category is erased.
 *
 * Policies and the contract are read through a local activity whenever a timer is set: at start, on a signal, at every
 * wake-up (so each erasure applies the policy version current at that moment) and at least every recheck interval
 * (so a policy change reaches every customer even if its `policiesChanged` signal was lost). The workflow continues
 * as new after each erasure and whenever its history grows, so years of waiting keep the history small.
 */
import {
  ChildWorkflowFailure,
  condition,
  continueAsNew,
  defineQuery,
  defineSignal,
  executeChild,
  allHandlersFinished,
  log,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { RetentionActivities, RetentionContext } from '../activities/retention';
import type { DataCategory } from '../lib/pure/data-categories';
import { NON_RETRYABLE_ERROR_TYPES } from '../lib/pure/errors';
import { REQUEST_STATUS_QUERY } from '../lib/pure/request-messages';
import {
  contractClockStart,
  planContractExpiries,
  retentionJitterMs,
  retentionScopeKey,
  type RetentionClock,
} from '../lib/pure/retention';
import { erasureWorkflowId } from '../lib/pure/temporal-ids';
import type { erasureWorkflow } from './erasure';

/** A contract-end category that has been erased, carried across continue-as-new. */
export interface ErasedCategory {
  at: string;
  clockStart: string;
  policyVersion: number;
  erasureWorkflowId: string;
}

/** The contract end as the termination process reports it. */
export interface ContractEndedNotice {
  /** ISO 8601 instant the contract ended (termination effective). */
  endedAt: string;
  /** Who says so, e.g. `termination` or `staff:<id>`; recorded in the audit log. */
  source: string;
}

export interface RetentionWorkflowInput {
  customerId: string;
  /** State carried over continue-as-new; absent on the first run. */
  carried?: {
    erased: Partial<Record<DataCategory, ErasedCategory>>;
    pendingContractEnds: ContractEndedNotice[];
    runs: number;
    /** Categories whose erasure failed, and when (ISO 8601) to try again. */
    retryAt?: Partial<Record<DataCategory, string>>;
  };
}

export type RetentionStage = 'awaiting-contract-end' | 'waiting' | 'erasing' | 'completed';

/** Where one category stands for this customer. */
export interface RetentionCategoryStatus {
  clockStart: RetentionClock;
  period: string;
  policyVersion: number;
  /** `rolling`: the sweep deletes it by record age; the others are this workflow's contract-end timers. */
  state: 'rolling' | 'awaiting-contract-end' | 'pending' | 'erasing' | 'erased';
  /** Contract end + period (contract-end categories, once the end is known). */
  expiresAt: string | null;
  /** When the workflow acts on it: expiresAt + the customer's jitter. */
  wakeAt: string | null;
  erasureWorkflowId?: string;
  /** After a failed erasure: when it is tried again. */
  retryAt?: string;
}

/** What the `status` query answers. */
export interface RetentionStatus {
  customerId: string;
  stage: RetentionStage;
  policySet: string | null;
  /** When the contract-end clock started (ISO 8601), or null while the contract is open-ended. */
  contractEnd: string | null;
  jitterMs: number;
  nextExpiry: { at: string; categories: DataCategory[] } | null;
  categories: Partial<Record<DataCategory, RetentionCategoryStatus>>;
  /** Runs of this workflow so far (continue-as-new starts a new one). */
  runs: number;
  lastCheckedAt: string | null;
}

export interface RetentionResult {
  customerId: string;
  outcome: 'all-expired-data-erased' | 'customer-terminated' | 'customer-gone';
  erased: Partial<Record<DataCategory, ErasedCategory>>;
}

/** Live status: stage, contract end, next expiry and each category's timer. */
export const retentionStatusQuery = defineQuery<RetentionStatus>(REQUEST_STATUS_QUERY);
/** The contract changed (API): re-read it from the database and re-plan. */
export const contractChangedSignal = defineSignal<[{ source: string }?]>('contractChanged');
/** The contract ended (termination process): record the instant and re-plan. */
export const contractEndedSignal = defineSignal<[ContractEndedNotice]>('contractEnded');
/** A retention policy changed: re-read the policies and re-plan. */
export const policiesChangedSignal = defineSignal<[]>('policiesChanged');

/** Patch id: the lifecycle deletes the customer's lifecycle dates when it completes (histories before it did not). */
const FORGET_LIFECYCLE_DATES_PATCH = 'retention-forgets-lifecycle-dates';

/**
 * Patch id: the context is read by a local activity, inside the workflow task that needs it, instead of a scheduled
 * activity. A start (and every re-plan) then takes one workflow task instead of two plus an activity task, which made
 * a retention start cost 2.2-2.4 no-op starts (docs/benchmarks.md "timers"). Histories before it schedule the activity.
 */
const LOCAL_CONTEXT_PATCH = 'retention-context-local-activity';

/** History length after which the workflow continues as new even if the server does not suggest it yet. */
const MAX_HISTORY_EVENTS = 2000;

const acts = proxyActivities<RetentionActivities>({
  startToCloseTimeout: '1 minute',
  retry: {
    initialInterval: '1 second',
    backoffCoefficient: 2,
    maximumInterval: '5 minutes',
    nonRetryableErrorTypes: NON_RETRYABLE_ERROR_TYPES,
  },
});

/** The context read: a short read-only query, so a local activity (retried the same way; attempts after the first
 * minute wait on a timer between them). */
const local = proxyLocalActivities<Pick<RetentionActivities, 'loadRetentionContext'>>({
  startToCloseTimeout: '1 minute',
  retry: {
    initialInterval: '1 second',
    backoffCoefficient: 2,
    maximumInterval: '5 minutes',
    nonRetryableErrorTypes: NON_RETRYABLE_ERROR_TYPES,
  },
});

/** Runs one customer's retention lifecycle until every contract-end category has been erased. */
export async function retentionWorkflow(input: RetentionWorkflowInput): Promise<RetentionResult> {
  const { customerId } = input;
  const { workflowId } = workflowInfo();
  const erased: Partial<Record<DataCategory, ErasedCategory>> = { ...input.carried?.erased };
  const pendingContractEnds: ContractEndedNotice[] = [...(input.carried?.pendingContractEnds ?? [])];
  const retryAt: Partial<Record<DataCategory, string>> = { ...input.carried?.retryAt };
  let stale = true;
  const status: RetentionStatus = {
    customerId,
    stage: 'awaiting-contract-end',
    policySet: null,
    contractEnd: null,
    jitterMs: 0,
    nextExpiry: null,
    categories: {},
    runs: (input.carried?.runs ?? 0) + 1,
    lastCheckedAt: null,
  };

  setHandler(retentionStatusQuery, () => status);
  setHandler(contractChangedSignal, () => {
    stale = true;
  });
  setHandler(contractEndedSignal, (notice) => {
    pendingContractEnds.push(notice);
  });
  setHandler(policiesChangedSignal, () => {
    stale = true;
  });

  let ctx: RetentionContext | undefined;
  for (;;) {
    while (pendingContractEnds.length > 0) {
      const notice = pendingContractEnds[0]!;
      if (Number.isNaN(Date.parse(notice.endedAt))) {
        log.warn('ignoring contractEnded signal without a valid instant', { customerId });
      } else {
        await acts.recordContractEnd({ customerId, endedAt: notice.endedAt, source: notice.source, workflowId });
      }
      pendingContractEnds.shift();
      stale = true;
    }
    if (stale || !ctx) {
      stale = false;
      ctx = patched(LOCAL_CONTEXT_PATCH)
        ? await local.loadRetentionContext({ customerId })
        : await acts.loadRetentionContext({ customerId });
      status.lastCheckedAt = new Date().toISOString();
    }
    if (!ctx.customerExists || ctx.customerStatus === 'terminated') {
      // A termination erases everything itself (and its statutory leftovers go with the rolling sweep).
      status.stage = 'completed';
      return { customerId, outcome: ctx.customerExists ? 'customer-terminated' : 'customer-gone', erased };
    }

    const clockStart = contractClockStart(ctx.contract);
    const jitterMs = retentionJitterMs(customerId, ctx.jitterMaxMs);
    const plan = planContractExpiries({
      clockStart,
      policies: ctx.policies,
      erased: new Set(Object.keys(erased) as DataCategory[]),
      jitterMs,
    });
    describeStatus(status, ctx, clockStart, jitterMs, plan, erased, retryAt);

    const contractEndCategories = ctx.policies.filter((p) => p.clockStart === 'contract_end');
    if (clockStart !== null && contractEndCategories.every((p) => erased[p.category])) {
      // The dates were kept as evidence only while a deadline depended on them (issue #11).
      if (patched(FORGET_LIFECYCLE_DATES_PATCH)) await acts.forgetLifecycleDates({ customerId, workflowId });
      status.stage = 'completed';
      status.nextExpiry = null;
      return { customerId, outcome: 'all-expired-data-erased', erased };
    }

    const now = Date.now();
    // A category acts at its wake-up time, or after a failed erasure at its retry time, whichever is later.
    const actAt = (e: (typeof plan)[number]) => Math.max(e.wakeAt, Date.parse(retryAt[e.category] ?? '') || 0);
    const due = plan.filter((e) => actAt(e) <= now);
    if (due.length > 0) {
      await eraseExpired(due, clockStart!);
      await continueAsNewWhenIdle();
      continue;
    }

    status.stage = clockStart === null ? 'awaiting-contract-end' : 'waiting';
    const next = plan.length > 0 ? Math.min(...plan.map(actAt)) : undefined;
    const sleepMs = Math.max(1, Math.min(next === undefined ? Infinity : next - now, ctx.recheckIntervalMs));
    await condition(() => stale || pendingContractEnds.length > 0, sleepMs);
    // Woken by a timer or a signal: either way the next pass re-reads policies and contract before acting.
    stale = true;
    const info = workflowInfo();
    if (info.continueAsNewSuggested || info.historyLength > MAX_HISTORY_EVENTS) await continueAsNewWhenIdle();
  }

  async function eraseExpired(due: ReturnType<typeof planContractExpiries>, clockStart: number): Promise<void> {
    const categories = due.map((e) => e.category);
    const policyVersions: Partial<Record<DataCategory, number>> = {};
    for (const e of due) policyVersions[e.category] = e.policyVersion;
    const childId = erasureWorkflowId(customerId, retentionScopeKey(categories, clockStart));
    status.stage = 'erasing';
    for (const c of categories) {
      const s = status.categories[c];
      if (s) Object.assign(s, { state: 'erasing', erasureWorkflowId: childId });
    }
    await acts.recordRetentionExpiry({
      customerId,
      workflowId,
      categories,
      policyVersions,
      clockStart: new Date(clockStart).toISOString(),
      expiresAt: new Date(Math.max(...due.map((e) => e.expiresAt))).toISOString(),
      erasureWorkflowId: childId,
    });

    let tables: Record<string, number> = {};
    let retained: Record<string, number> = {};
    let verified: boolean | null = null;
    try {
      const result = await executeChild<typeof erasureWorkflow>('erasureWorkflow', {
        workflowId: childId,
        args: [{ customerId, categories, reason: 'retention', policyVersions }],
        // A scope erased once is not erased again; a failed erasure may be retried under the same id.
        workflowIdReusePolicy: 'ALLOW_DUPLICATE_FAILED_ONLY',
      });
      tables = result.tables;
      retained = Object.fromEntries(Object.entries(result.retained).map(([table, r]) => [table, r.rows] as const));
      verified = result.verified;
    } catch (err) {
      if (err instanceof ChildWorkflowFailure) {
        // Keep the lifecycle (and the other categories' timers) alive: record the failure, try again after the
        // recheck interval under the same erasure id (its reuse policy allows re-running a failed erasure).
        const again = new Date(Date.now() + (ctx?.recheckIntervalMs ?? 86_400_000)).toISOString();
        for (const c of categories) retryAt[c] = again;
        await acts.recordRetentionErasureFailed({
          customerId,
          workflowId,
          categories,
          erasureWorkflowId: childId,
          failure: err.cause?.message ?? err.message,
          retryAt: again,
        });
        log.warn('retention erasure failed; retrying later', { customerId, childId, retryAt: again });
        stale = true;
        return;
      }
      // Started before (e.g. by an earlier run that crashed after starting it) and already completed: done.
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    }
    await acts.recordRetentionErasure({
      customerId,
      workflowId,
      categories,
      policyVersions,
      erasureWorkflowId: childId,
      tables,
      retained,
      verified,
    });
    const at = new Date().toISOString();
    for (const c of categories) delete retryAt[c];
    for (const e of due) {
      erased[e.category] = {
        at,
        clockStart: new Date(clockStart).toISOString(),
        policyVersion: e.policyVersion,
        erasureWorkflowId: childId,
      };
    }
    stale = true;
  }

  /** Continues as new once no signal handler is running, carrying what must survive. */
  async function continueAsNewWhenIdle(): Promise<void> {
    await condition(allHandlersFinished);
    await continueAsNew<typeof retentionWorkflow>({
      customerId,
      carried: { erased, pendingContractEnds, runs: status.runs, retryAt },
    });
  }
}

/** Fills the status from the latest context and plan (what the `status` query shows). */
function describeStatus(
  status: RetentionStatus,
  ctx: RetentionContext,
  clockStart: number | null,
  jitterMs: number,
  plan: ReturnType<typeof planContractExpiries>,
  erased: Partial<Record<DataCategory, ErasedCategory>>,
  retryAt: Partial<Record<DataCategory, string>>,
): void {
  status.policySet = ctx.policySet;
  status.contractEnd = clockStart === null ? null : new Date(clockStart).toISOString();
  status.jitterMs = jitterMs;
  const categories: Partial<Record<DataCategory, RetentionCategoryStatus>> = {};
  for (const p of ctx.policies) {
    const expiry = plan.find((e) => e.category === p.category);
    const done = erased[p.category];
    categories[p.category] = {
      clockStart: p.clockStart,
      period: p.period,
      policyVersion: done?.policyVersion ?? p.version,
      state:
        p.clockStart === 'record_creation'
          ? 'rolling'
          : done
            ? 'erased'
            : clockStart === null
              ? 'awaiting-contract-end'
              : 'pending',
      expiresAt: expiry ? new Date(expiry.expiresAt).toISOString() : null,
      wakeAt: expiry ? new Date(expiry.wakeAt).toISOString() : null,
      ...(done ? { erasureWorkflowId: done.erasureWorkflowId } : {}),
      ...(retryAt[p.category] && !done ? { retryAt: retryAt[p.category] } : {}),
    };
  }
  status.categories = categories;
  const first = plan[0];
  status.nextExpiry = first
    ? {
        at: new Date(first.wakeAt).toISOString(),
        categories: plan.filter((e) => e.wakeAt === first.wakeAt).map((e) => e.category),
      }
    : null;
}
