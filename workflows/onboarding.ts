/**
 * Onboarding: record the customer, register its tenant with each chosen subprocessor, welcome it, activate it.
 * Deterministic code only; every side effect is an activity. Inputs and results carry ids and receipts, never the
 * customer's personal data (that travels from the API to the activity through the database).
 */
import {
  ActivityFailure,
  ApplicationFailure,
  defineQuery,
  ParentClosePolicy,
  log,
  patched,
  proxyActivities,
  setHandler,
  startChild,
  workflowInfo,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError, type Duration } from '@temporalio/common';
import type { OnboardingActivities, SubprocessorReceipt } from '../activities/onboarding';
import type { RequestStageActivities } from '../activities/request-stage';
import { NON_RETRYABLE_ERROR_TYPES } from '../lib/pure/errors';
import { REQUEST_STATUS_QUERY } from '../lib/pure/request-messages';
import { retentionWorkflowId, searchAttributes } from '../lib/pure/temporal-ids';
import { stageTracker } from './request-stage';
import { retentionWorkflow } from './retention';

export interface OnboardingWorkflowInput {
  requestId: string;
  customerId: string;
  /** How long to keep retrying an unreachable subprocessor before giving up (a Temporal duration, default 1 day). */
  subprocessorGiveUpAfter?: Duration;
}

export type OnboardingStage =
  'recording-customer' | 'registering-subprocessors' | 'sending-welcome' | 'activating' | 'completed' | 'failed';

/** What the `status` query answers: enough for the API and an operator to see where the process stands. */
export interface OnboardingStatus {
  stage: OnboardingStage;
  subprocessors: Record<string, 'pending' | 'registered' | 'failed'>;
  failure?: string;
}

export interface OnboardingResult {
  customerId: string;
  status: 'active';
  subprocessors: Record<string, SubprocessorReceipt>;
}

/** Live status of an onboarding run. */
export const onboardingStatusQuery = defineQuery<OnboardingStatus>(REQUEST_STATUS_QUERY);

/**
 * Onboardings from this version on start the retention lifecycle in the same workflow task as the activation
 * activity instead of after it (one workflow task less on the way to completion); histories from before replay the
 * old order (docs/versioning.md).
 */
const RETENTION_BESIDE_ACTIVATION_PATCH = 'onboarding-retention-beside-activation';

/** Quick steps against our own database and mail server (regular activities, not local ones). */
const quick = proxyActivities<OnboardingActivities & RequestStageActivities>({
  startToCloseTimeout: '30 seconds',
  retry: {
    initialInterval: '1 second',
    maximumInterval: '30 seconds',
    nonRetryableErrorTypes: NON_RETRYABLE_ERROR_TYPES,
  },
});

/** Runs one customer's onboarding to `active`, or fails with a reason that names the step and the party. */
export async function onboardingWorkflow(input: OnboardingWorkflowInput): Promise<OnboardingResult> {
  const { workflowId } = workflowInfo();
  const step = { requestId: input.requestId, customerId: input.customerId, workflowId };
  const status: OnboardingStatus = { stage: 'recording-customer', subprocessors: {} };
  setHandler(onboardingStatusQuery, () => status);

  const remote = proxyActivities<OnboardingActivities>({
    startToCloseTimeout: '30 seconds',
    scheduleToCloseTimeout: input.subprocessorGiveUpAfter ?? '1 day',
    retry: {
      initialInterval: '1 second',
      backoffCoefficient: 2,
      maximumInterval: '5 minutes',
      nonRetryableErrorTypes: NON_RETRYABLE_ERROR_TYPES,
    },
  });

  const stages = stageTracker(status, input.requestId, quick);

  const recorded = await quick.recordCustomer(step);

  await stages.enter('registering-subprocessors');
  for (const id of recorded.subprocessorIds) status.subprocessors[id] = 'pending';
  const outcomes = await Promise.allSettled(
    recorded.subprocessorIds.map(async (subprocessorId) => {
      const receipt = await remote.registerTenant({ ...step, subprocessorId });
      status.subprocessors[subprocessorId] = 'registered';
      return [subprocessorId, receipt] as const;
    }),
  );
  const receipts: Record<string, SubprocessorReceipt> = {};
  const failures: string[] = [];
  outcomes.forEach((outcome, i) => {
    const id = recorded.subprocessorIds[i]!;
    if (outcome.status === 'fulfilled') receipts[id] = outcome.value[1];
    else {
      status.subprocessors[id] = 'failed';
      failures.push(`${id}: ${describeFailure(outcome.reason)}`);
    }
  });
  if (failures.length > 0) {
    const reason = `tenant registration failed for ${failures.length} subprocessor(s): ${failures.join('; ')}`;
    status.failure = reason;
    stages.show('failed'); // failOnboarding records it with the reason
    await quick.failOnboarding({
      ...step,
      reason,
      failedSubprocessors: Object.keys(status.subprocessors).filter((s) => status.subprocessors[s] === 'failed'),
    });
    log.warn('onboarding failed', { requestId: input.requestId, failed: failures.length });
    throw ApplicationFailure.nonRetryable(reason, 'OnboardingFailed');
  }

  await stages.enter('sending-welcome');
  await quick.sendWelcomeEmail(step);

  await stages.enter('activating');
  if (patched(RETENTION_BESIDE_ACTIVATION_PATCH)) {
    // Side by side: the lifecycle only reads whether the customer exists and is not terminated, which holds before
    // and after the activation commits, and activation retries until it does (no permanent failure to wait for).
    await Promise.all([quick.activateCustomer({ ...step, receipts }), startRetentionLifecycle(input.customerId)]);
  } else {
    await quick.activateCustomer({ ...step, receipts });
    await startRetentionLifecycle(input.customerId);
  }
  stages.show('completed'); // activateCustomer recorded the completion
  return { customerId: input.customerId, status: 'active', subprocessors: receipts };
}

/**
 * Starts the customer's retention lifecycle as a child that outlives onboarding (ParentClosePolicy ABANDON). A child
 * rather than a client call from an activity: the start is recorded exactly once in this workflow's history (visible
 * as a child link in the Web UI), needs no Temporal client in the activities, and runs on this worker's task queue.
 * A lifecycle already running under the same id (e.g. started by a contract change through the API) is kept.
 */
async function startRetentionLifecycle(customerId: string): Promise<void> {
  try {
    await startChild(retentionWorkflow, {
      workflowId: retentionWorkflowId(customerId),
      args: [{ customerId }],
      parentClosePolicy: ParentClosePolicy.ABANDON,
      workflowIdReusePolicy: 'ALLOW_DUPLICATE',
      typedSearchAttributes: [{ key: searchAttributes.customerId, value: customerId }],
    });
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
  }
}

/** The innermost message of an activity failure: the domain error's own words, not Temporal's wrapper. */
function describeFailure(err: unknown): string {
  if (err instanceof ActivityFailure && err.cause) {
    const cause = err.cause;
    if (cause instanceof ApplicationFailure) return `${cause.type ?? 'Error'}: ${cause.message}`;
    return cause.message;
  }
  return err instanceof Error ? err.message : String(err);
}
