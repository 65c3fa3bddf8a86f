/**
 * Correction request (GDPR Art. 16 and 19): acknowledge, check that the requester is a registered contact, confirm
 * identity with a one-time link to the registered address, wait for a privacy officer's decision when a change is
 * sensitive, apply the changes in one transaction (re-validated when a row changed since validation), tell the
 * requester (and both the old and the new address of a changed email), and propagate the correction to every
 * subprocessor holding an affected data category until each has given its receipt or a privacy officer waived it.
 * Beside it runs the deadline clock shared with access requests (workflows/deadline-clock.ts).
 *
 * Deterministic code only. The workflow carries change ids, kinds and states; the new values stay in the database
 * (`correction_changes`) and are read by the activities.
 */
import {
  allHandlersFinished,
  ApplicationFailure,
  CancellationScope,
  condition,
  defineQuery,
  defineUpdate,
  isCancellation,
  proxyActivities,
  setHandler,
  uuid4,
  workflowInfo,
} from '@temporalio/workflow';
import type { CorrectionActivities } from '../activities/correction';
import type { RequestStageActivities } from '../activities/request-stage';
import {
  RECEIPT_NOT_WAIVABLE,
  WAIVE_RECEIPT_UPDATE,
  type CorrectionReceiptStatus,
  type CorrectionStage,
  type CorrectionStatus,
  type WaiveReceiptArgs,
  type WaiverRefusal,
  type WaiveReceiptResult,
} from '../lib/pure/correction-messages';
import { clockStart, type HolidayCalendar, type PrivacyRegime } from '../lib/pure/deadlines';
import { NON_RETRYABLE_ERROR_TYPES } from '../lib/pure/errors';
import { REQUEST_STATUS_QUERY } from '../lib/pure/request-messages';
import { installApprovalGate } from './approval';
import { stageTracker } from './request-stage';
import {
  installDeadlineExtension,
  installIdentityConfirmation,
  runDeadlineClock,
  todayIn,
  type IdentityConfirmation,
} from './deadline-clock';

/** Durations of one request, fixed when it was received (configuration: README "Corrections"). */
export interface CorrectionPolicy {
  /** How long to wait for the verification link to be used (the link expires then too). */
  verificationTimeoutMs: number;
  /** ISO 8601 durations before the end of the due date at which staff are reminded. */
  reminderOffsets: string[];
  /** How long sensitive changes wait for a privacy officer's decision; then they are not applied. */
  approvalTimeoutMs: number;
  /** How long a subprocessor may keep failing before staff are told by email. */
  receiptEscalationAfterMs: number;
  /** Backoff of the calls to a subprocessor (retried until delivered or waived). */
  propagationRetry: { initialIntervalMs: number; maximumIntervalMs: number };
}

/** One change as validated at receipt: id, kind and whether it needs a decision; never the value. */
export interface CorrectionChangeRef {
  changeId: string;
  index: number;
  change: string;
  sensitive: boolean;
  unchanged: boolean;
}

export interface CorrectionWorkflowInput {
  requestId: string;
  customerId: string;
  regime: PrivacyRegime;
  /** Day of receipt in the regime's time zone. */
  receivedOn: string;
  /** Due date computed at receipt; null when the clock starts at identity confirmation (UK GDPR). */
  dueOn: string | null;
  calendar: HolidayCalendar;
  policy: CorrectionPolicy;
  /** `staff:<id>` who filed the request: never the approver (four-eyes rule). */
  requestedBy: string;
  changes: CorrectionChangeRef[];
}

export interface CorrectionResult {
  result: NonNullable<CorrectionStatus['outcome']>['result'];
  respondedOn: string;
  applied: number;
  receipts: number;
}

/** Query: where the request stands, each change, the decision, each receipt (`GET /v1/requests/{id}`). */
export const correctionStatusQuery = defineQuery<CorrectionStatus>(REQUEST_STATUS_QUERY);
/** Update: a privacy officer waives a subprocessor's receipt, with a reason. */
export const waiveReceiptUpdate = defineUpdate<WaiveReceiptResult, [WaiveReceiptArgs]>(WAIVE_RECEIPT_UPDATE);

/** Notices, records, the apply: quick activities, retried with backoff for as long as it takes. */
const acts = proxyActivities<CorrectionActivities & RequestStageActivities>({
  startToCloseTimeout: '1 minute',
  retry: {
    initialInterval: '1 second',
    maximumInterval: '1 minute',
    nonRetryableErrorTypes: NON_RETRYABLE_ERROR_TYPES,
  },
});

/** Runs one correction request to the last receipt (or refusal, or closure unverified). */
export async function correctionWorkflow(input: CorrectionWorkflowInput): Promise<CorrectionResult> {
  const { workflowId } = workflowInfo();
  const { calendar, regime, policy } = input;
  const step = { requestId: input.requestId, customerId: input.customerId, workflowId, receivedOn: input.receivedOn };

  // Before any await, so that a decision sent at any time meets the same rules (409 until approval is asked).
  const gate = installApprovalGate(input.requestedBy);
  const status: CorrectionStatus = {
    stage: 'received',
    regime,
    receivedOn: input.receivedOn,
    clockStarts: clockStart(regime),
    clockStartedOn: clockStart(regime) === 'receipt' ? input.receivedOn : null,
    dueOn: input.dueOn,
    extension: null,
    verified: false,
    deadline: { remindersSent: 0, escalated: false },
    respondedOn: null,
    changes: input.changes.map((c) => ({
      changeId: c.changeId,
      index: c.index,
      change: c.change,
      sensitive: c.sensitive,
      state: c.unchanged ? 'unchanged' : 'pending',
    })),
    decision: null,
    revalidated: false,
    receipts: [],
    outcome: null,
  };
  const identity: IdentityConfirmation & { contactId?: string } = {};
  /** The running propagation of each subprocessor: cancelled when its receipt is waived. */
  const propagations = new Map<string, CancellationScope>();
  const waiving = new Set<string>();

  setHandler(correctionStatusQuery, () => status);
  installIdentityConfirmation({
    state: status,
    calendar,
    identity,
    awaiting: () => status.stage === 'awaiting-verification',
  });
  installDeadlineExtension({
    state: status,
    calendar,
    record: (p) => acts.recordCorrectionExtension({ ...step, ...p, contactId: identity.contactId }),
  });
  const refuseWaiver = (rule: WaiverRefusal['rule'], message: string): never => {
    throw ApplicationFailure.create({ type: RECEIPT_NOT_WAIVABLE, message, details: [{ rule }], nonRetryable: true });
  };
  setHandler(
    waiveReceiptUpdate,
    async ({ subprocessorId, reason, reasonId, actor }) => {
      waiving.add(subprocessorId);
      const receipt = status.receipts.find((r) => r.subprocessorId === subprocessorId)!;
      const recorded = await acts.recordCorrectionReceiptWaived({ ...step, subprocessorId, reason, reasonId, actor });
      if (recorded.status === 'waived') {
        receipt.status = 'waived';
        receipt.waivedBy = actor;
        propagations.get(subprocessorId)?.cancel();
      } else {
        receipt.status = 'delivered';
      }
      waiving.delete(subprocessorId);
      return { subprocessorId, status: recorded.status };
    },
    {
      validator: ({ subprocessorId }: WaiveReceiptArgs) => {
        const receipt = status.receipts.find((r) => r.subprocessorId === subprocessorId);
        if (status.stage !== 'propagating')
          refuseWaiver('not_propagating', 'the request is not waiting for subprocessor receipts');
        if (!receipt) refuseWaiver('not_a_recipient', `${subprocessorId} is not told of this correction`);
        if (receipt!.status === 'delivered') refuseWaiver('already_delivered', 'the receipt is in already');
        if (receipt!.status === 'waived' || waiving.has(subprocessorId))
          refuseWaiver('already_waived', 'the receipt has been waived already');
      },
    },
  );

  const stages = stageTracker(status, input.requestId, acts);
  const enter = (stage: CorrectionStage) => stages.enter(stage);

  const clock = runDeadlineClock({
    state: status,
    calendar,
    reminderOffsets: policy.reminderOffsets,
    remind: ({ dueOn, reminderAtMs }) =>
      acts.sendCorrectionDeadlineReminder({ ...step, dueOn, stage: status.stage, reminderAtMs }),
    escalate: ({ dueOn }) => acts.escalateOverdueCorrectionRequest({ ...step, dueOn, stage: status.stage }),
  });

  function answered(result: NonNullable<CorrectionStatus['outcome']>['result'], applied: number): void {
    status.respondedOn = todayIn(calendar);
    status.outcome = { result, applied };
  }

  /** Shows the final stage (the closing activity recorded it with the outcome) once the clock and handlers are done. */
  async function finish(stage: CorrectionStage): Promise<CorrectionResult> {
    stages.show(stage);
    await clock;
    await condition(allHandlersFinished);
    return {
      result: status.outcome!.result,
      respondedOn: status.respondedOn!,
      applied: status.outcome!.applied,
      receipts: status.receipts.length,
    };
  }

  await enter('acknowledging');
  await acts.sendCorrectionAcknowledgement(step);

  await enter('checking-requester');
  const check = await acts.checkCorrectionRequester(step);
  if (!check.registered || !check.contactId) {
    status.stage = 'refused';
    await acts.refuseCorrectionRequest(step);
    for (const c of status.changes) if (c.state === 'pending') Object.assign(c, { state: 'rejected', rule: 'refused' });
    answered('refused', 0);
    return finish('refused');
  }
  const contactId = check.contactId;
  identity.contactId = contactId;

  // The stage and link id are set before the email leaves, so a confirmation arriving at once is accepted.
  const linkId = uuid4();
  identity.linkId = linkId;
  const verificationExpiresAtMs = Date.now() + policy.verificationTimeoutMs;
  stages.show('awaiting-verification'); // recorded in the database by the activity that sends the link
  await acts.sendCorrectionVerification({ ...step, contactId, linkId, expiresAtMs: verificationExpiresAtMs });
  const confirmed = await condition(
    () => identity.confirmed !== undefined,
    Math.max(1, verificationExpiresAtMs - Date.now()),
  );
  const confirmation = identity.confirmed;
  if (!confirmed || !confirmation) {
    status.stage = 'closed-unverified'; // from here the validator refuses a late confirmation
    await acts.closeUnverifiedCorrectionRequest({ ...step, waitedMs: policy.verificationTimeoutMs });
    for (const c of status.changes)
      if (c.state === 'pending') Object.assign(c, { state: 'rejected', rule: 'identity_not_confirmed' });
    answered('closed_unverified', 0);
    return finish('closed-unverified');
  }
  await acts.recordCorrectionIdentityVerified({
    ...step,
    contactId,
    linkId: confirmation.linkId,
    verifiedOn: confirmation.verifiedOn,
    dueOn: status.dueOn!,
    clockStartedOn: status.clockStarts === 'identity-confirmed' ? status.clockStartedOn : null,
  });

  // Approval of the sensitive changes; the others wait for nothing.
  const sensitive = status.changes.filter((c) => c.sensitive && c.state === 'pending');
  if (sensitive.length > 0) {
    // The gate opens before the stage is shown, so a decision sent as soon as the stage says so is accepted.
    for (const c of sensitive) c.state = 'awaiting_approval';
    const decided = gate.waitForDecision(policy.approvalTimeoutMs);
    await enter('awaiting-approval');
    await acts.awaitCorrectionApproval({ ...step, changeIds: sensitive.map((c) => c.changeId) });
    const decision = await decided;
    status.decision = decision ?? { decision: 'expired' };
    await acts.recordCorrectionDecision({
      ...step,
      decision: status.decision.decision,
      actor: decision?.actor,
      changeIds: sensitive.map((c) => c.changeId),
    });
    for (const c of sensitive)
      Object.assign(
        c,
        decision?.decision === 'approved'
          ? { state: 'approved' }
          : { state: 'rejected', rule: decision ? 'approval_rejected' : 'no_decision_in_time' },
      );
  }

  // Apply what is pending or approved, in one transaction; a row changed since validation is re-validated.
  await enter('applying');
  const applied = await acts.applyCorrection(step);
  status.revalidated = applied.revalidated;
  for (const outcome of applied.changes) {
    const change = status.changes.find((c) => c.changeId === outcome.changeId);
    if (change) Object.assign(change, { state: outcome.state, ...(outcome.rule ? { rule: outcome.rule } : {}) });
  }
  const appliedCount = status.changes.filter((c) => c.state === 'applied').length;

  // The requester is told the outcome; a changed email is told at its old and its new address.
  await enter('notifying');
  await acts.notifyCorrectionOutcome({
    ...step,
    contactId,
    decision: status.decision?.decision ?? null,
    rejectionReason: status.decision?.decision === 'rejected' ? status.decision.reason : undefined,
  });
  answered(appliedCount > 0 ? 'corrected' : 'nothing_applied', appliedCount);

  // Every subprocessor holding an affected category is told, until its receipt is in or waived.
  if (applied.categories.length > 0) {
    const recipients = await acts.listCorrectionRecipients({ ...step, categories: applied.categories });
    status.receipts = recipients.map((r) => ({
      subprocessorId: r.subprocessorId,
      categories: r.categories,
      status: 'pending',
      escalated: false,
    }));
    if (status.receipts.length > 0) {
      await enter('propagating');
      await Promise.all(status.receipts.map((receipt) => propagate(receipt)));
    }
  }

  await acts.completeCorrectionRequest({ ...step, respondedOn: status.respondedOn! });
  return finish('completed');

  /** Delivers the correction to one subprocessor, escalating to staff when it keeps failing; a waiver stops it. */
  async function propagate(receipt: CorrectionReceiptStatus): Promise<void> {
    const { subprocessorId } = receipt;
    const caller = proxyActivities<CorrectionActivities>({
      startToCloseTimeout: '2 minutes',
      retry: {
        initialInterval: policy.propagationRetry.initialIntervalMs,
        backoffCoefficient: 2,
        maximumInterval: policy.propagationRetry.maximumIntervalMs,
        nonRetryableErrorTypes: NON_RETRYABLE_ERROR_TYPES,
      },
    });
    const escalate = async (cause: 'keeps_failing' | 'rejected') => {
      if (receipt.escalated) return;
      receipt.escalated = true;
      await acts.escalateCorrectionReceipt({ ...step, subprocessorId, cause });
    };
    const watch = (async () => {
      const settled = await condition(() => receipt.status !== 'pending', policy.receiptEscalationAfterMs);
      if (!settled) await escalate('keeps_failing');
    })();
    const scope = new CancellationScope();
    propagations.set(subprocessorId, scope);
    try {
      const answer = await scope.run(() => caller.propagateCorrection({ ...step, subprocessorId }));
      if (receipt.status === 'pending')
        Object.assign(receipt, { status: 'delivered', alreadyDone: answer.alreadyDone });
    } catch (err) {
      if (!isCancellation(err)) {
        // Refused for good (a 4xx other than 408/409/429): staff decide, the request waits for the waiver.
        if (receipt.status === 'pending') receipt.status = 'failed';
        await escalate('rejected');
        await condition(() => receipt.status === 'waived' || receipt.status === 'delivered');
      }
    }
    propagations.delete(subprocessorId);
    await watch;
  }
}
