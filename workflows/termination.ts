/**
 * Contract termination (`termination-<customerId>`, one at a time per customer): return or delete everything,
 * everywhere, and certify it (GDPR Art. 28(3)(g), SCC Clause 8.5). Deterministic code only; every side effect is an
 * activity (activities/termination.ts, the export of activities/export.ts) or the erasure child (workflows/erasure.ts).
 *
 * 1. `scheduled`: a durable timer until the effective date; `cancelTermination` (an update, audited) ends it here.
 *    After that instant the update is refused: access is about to be revoked and data may already be leaving.
 * 2. `revoking-access`: the customer becomes `terminating`, API access and seller accounts are marked revoked, the
 *    retention workflow is told the contract ended. The primary contact's address is captured (encrypted) for the
 *    certificate, which is sent after the erasure has deleted every contact.
 * 3. Return (disposition `return_then_delete`): a full export through the access-request export machinery, a signed
 *    download link and an acknowledgement link to the primary contact, reminders before the grace period ends; the
 *    return closes on the acknowledgement (link or staff API) or when the grace period passes.
 * 4. `awaiting-approval`: four-eyes gate (workflows/approval.ts): a privacy officer other than the requester approves
 *    the irreversible erasure via `POST /v1/requests/{id}/approve`; staff are reminded at an interval; a rejection ends
 *    the termination (`rejected`; access stays revoked, the data stays until staff decide anew).
 * 5. `waiting-for-legal-hold`: while any legal hold on the customer is active, nothing is erased; re-checked at the
 *    hold re-check interval (and at once on the `legalHoldReleased` signal).
 * 6. `erasing`: the erasure child over every category (statutory retention keeps invoiced orders with their own
 *    expiry; subprocessors delete and confirm).
 * 7. `verifying`: every customer-owned table of the live schema holds nothing of the customer beyond retained rows,
 *    no export archive is left on disk.
 * 8. `certifying` and `sending-certificate`: the signed certificate, mailed to the captured address, which is then
 *    deleted. The request completes; a customer record kept for retained invoices is `terminated`.
 */
import {
  ApplicationFailure,
  allHandlersFinished,
  condition,
  defineQuery,
  defineUpdate,
  executeChild,
  getExternalWorkflowHandle,
  log,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
  uuid4,
  workflowInfo,
} from '@temporalio/workflow';
import type { RetryPolicy } from '@temporalio/common';
import type { ExportActivities, ExportSummary } from '../activities/export';
import type {
  CustomerErasedCheck,
  TerminationActivities,
  TerminationCertificateFacts,
} from '../activities/termination';
import { DATA_CATEGORIES } from '../lib/pure/data-categories';
import { reminderInstants } from '../lib/pure/deadlines';
import { NON_RETRYABLE_ERROR_TYPES } from '../lib/pure/errors';
import { REQUEST_STATUS_QUERY } from '../lib/pure/request-messages';
import { erasureScopeKey, erasureWorkflowId, retentionWorkflowId, searchAttributes } from '../lib/pure/temporal-ids';
import {
  ACKNOWLEDGE_RETURN_UPDATE,
  ACKNOWLEDGEMENT_REFUSED,
  CANCEL_TERMINATION_UPDATE,
  TERMINATION_NOT_CANCELLABLE,
  type AcknowledgeReturnArgs,
  type AcknowledgeReturnResult,
  type CancelTerminationArgs,
  type CancelTerminationResult,
  type TerminationDisposition,
  type TerminationStage,
  type TerminationStatus,
} from '../lib/pure/termination-messages';
import { exportProgressSignal } from './access-request';
import { installApprovalGate } from './approval';
import { legalHoldReleasedSignal, type erasureWorkflow } from './erasure';
import { contractEndedSignal } from './retention';

/** Durations of one termination, fixed when it was requested (configuration: README "Termination and deletion"). */
export interface TerminationPolicy {
  returnGracePeriodMs: number;
  /** ISO 8601 durations before the end of the grace period at which the primary contact is reminded. */
  returnReminderOffsets: string[];
  approvalReminderIntervalMs: number;
  holdRecheckIntervalMs: number;
}

export interface TerminationInput {
  requestId: string;
  customerId: string;
  /** `staff:<id>`, or `system:contract-end` for a start by the contract end date. */
  requestedBy: string;
  /** ISO 8601 instant the request was received. */
  requestedAt: string;
  /** ISO 8601 instant the termination takes effect (now or later). */
  effectiveAt: string;
  disposition: TerminationDisposition;
  dispositionSource: 'contract' | 'privacy_officer_override';
  policy: TerminationPolicy;
}

export interface TerminationResult {
  outcome: 'terminated' | 'cancelled' | 'rejected';
  certificateId?: string;
  verified?: boolean;
}

export const terminationStatusQuery = defineQuery<TerminationStatus>(REQUEST_STATUS_QUERY);
export const cancelTerminationUpdate = defineUpdate<CancelTerminationResult, [CancelTerminationArgs]>(
  CANCEL_TERMINATION_UPDATE,
);
export const acknowledgeReturnUpdate = defineUpdate<AcknowledgeReturnResult, [AcknowledgeReturnArgs]>(
  ACKNOWLEDGE_RETURN_UPDATE,
);

const retry: RetryPolicy = {
  initialInterval: '1 second',
  backoffCoefficient: 2,
  maximumInterval: '1 minute',
  nonRetryableErrorTypes: NON_RETRYABLE_ERROR_TYPES,
};
const acts = proxyActivities<TerminationActivities>({ startToCloseTimeout: '1 minute', retry });
/** The final check walks every customer-owned table: longer, still short. */
const checks = proxyActivities<TerminationActivities>({ startToCloseTimeout: '10 minutes', retry });
const exporter = proxyActivities<ExportActivities>({
  startToCloseTimeout: '12 hours',
  heartbeatTimeout: '1 minute',
  retry: { ...retry, maximumInterval: '5 minutes' },
});

/** Runs one contract termination; see the module comment for the stages. */
export async function terminationWorkflow(input: TerminationInput): Promise<TerminationResult> {
  const { workflowId } = workflowInfo();
  const { policy } = input;
  const step = { requestId: input.requestId, customerId: input.customerId, workflowId };
  const iso = (ms: number = Date.now()) => new Date(ms).toISOString();
  const timeline: Record<string, string> = { requestedAt: input.requestedAt, effectiveAt: input.effectiveAt };

  const status: TerminationStatus = {
    stage: 'scheduled',
    effectiveAt: input.effectiveAt,
    disposition: input.disposition,
    dispositionSource: input.dispositionSource,
    stages: [{ stage: 'scheduled', startedAt: iso(), endedAt: null }],
    exportProgress: null,
    returned: null,
    approval: null,
    legalHolds: 0,
    erasureWorkflowId: null,
    erasure: null,
    certificateId: null,
    outcome: null,
  };
  let cancelledBy: string | undefined;
  let acknowledged: AcknowledgeReturnArgs | undefined;
  let ackLinkId: string | undefined;
  let holdReleased = false;
  const gate = installApprovalGate(input.requestedBy);

  setHandler(terminationStatusQuery, () => status);
  setHandler(exportProgressSignal, (p) => {
    if (status.stage === 'exporting') status.exportProgress = p;
  });
  setHandler(legalHoldReleasedSignal, () => {
    holdReleased = true;
  });
  setHandler(
    cancelTerminationUpdate,
    ({ actor }: CancelTerminationArgs) => {
      cancelledBy = actor;
      return { cancelledAt: iso() };
    },
    {
      validator: (_args: CancelTerminationArgs) => {
        if (status.stage !== 'scheduled' || cancelledBy !== undefined || Date.now() >= Date.parse(input.effectiveAt))
          throw ApplicationFailure.create({
            type: TERMINATION_NOT_CANCELLABLE,
            message: `the termination took effect at ${input.effectiveAt} and can no longer be cancelled`,
            nonRetryable: true,
          });
      },
    },
  );
  setHandler(
    acknowledgeReturnUpdate,
    (args: AcknowledgeReturnArgs) => {
      acknowledged = args;
      return { acknowledgedAt: iso() };
    },
    {
      validator: (args: AcknowledgeReturnArgs) => {
        if (status.stage !== 'awaiting-acknowledgement' || acknowledged !== undefined)
          throw ApplicationFailure.create({
            type: ACKNOWLEDGEMENT_REFUSED,
            message: 'the termination is not waiting for an acknowledgement of returned data',
            nonRetryable: true,
          });
        if (args.via === 'link' && args.linkId !== ackLinkId)
          throw ApplicationFailure.create({
            type: ACKNOWLEDGEMENT_REFUSED,
            message: 'the link is not the one sent for this termination',
            nonRetryable: true,
          });
      },
    },
  );

  async function enter(stage: TerminationStage): Promise<void> {
    const now = iso();
    const current = status.stages.at(-1);
    if (current && current.endedAt === null) current.endedAt = now;
    status.stage = stage;
    status.stages.push({ stage, startedAt: now, endedAt: stage === 'completed' ? now : null });
    upsertSearchAttributes([{ key: searchAttributes.requestStage, value: stage }]);
    await acts.reportTerminationStage({ ...step, stage });
  }

  async function finish(result: TerminationResult): Promise<TerminationResult> {
    status.outcome = result.outcome;
    await condition(allHandlersFinished);
    return result;
  }

  upsertSearchAttributes([{ key: searchAttributes.requestStage, value: 'scheduled' }]);
  await acts.reportTerminationStage({ ...step, stage: 'scheduled' });

  // 1. The durable timer until the effective date; a cancellation ends the wait.
  const untilEffective = Date.parse(input.effectiveAt) - Date.now();
  if (untilEffective > 0) await condition(() => cancelledBy !== undefined, untilEffective);
  if (cancelledBy !== undefined) {
    await acts.recordTerminationCancelled({ ...step, actor: cancelledBy });
    await enter('cancelled');
    return finish({ outcome: 'cancelled' });
  }

  // 2. Revoke access; tell the retention lifecycle; capture the certificate's recipient before anything is erased.
  await enter('revoking-access');
  const revoked = await acts.revokeCustomerAccess({ ...step, effectiveAt: input.effectiveAt });
  timeline.accessRevokedAt = revoked.revokedAt;
  try {
    await getExternalWorkflowHandle(retentionWorkflowId(input.customerId)).signal(contractEndedSignal, {
      endedAt: input.effectiveAt,
      source: 'termination',
    });
  } catch (err) {
    // No retention lifecycle running (never started, or ended): nothing else waits for the contract end.
    log.warn('retention workflow not signalled', { customerId: input.customerId, err: (err as Error).message });
  }
  await acts.captureCertificateRecipient(step);

  // 3. Return, when the disposition says so.
  let returned: TerminationCertificateFacts['returned'] = null;
  if (input.disposition === 'return_then_delete') {
    await enter('exporting');
    const archiveId = uuid4();
    const summary: ExportSummary = await exporter.exportCustomerData({
      requestId: input.requestId,
      customerId: input.customerId,
      workflowId,
      archiveId,
      scope: 'all',
    });
    status.exportProgress = { table: '', rowsDone: summary.rows, rowsTotal: summary.rows, estimated: false };

    await enter('delivering');
    const graceEndsAtMs = Date.now() + policy.returnGracePeriodMs;
    const exportLinkId = uuid4();
    ackLinkId = uuid4();
    const links = { exportLinkId, ackLinkId, expiresAtMs: graceEndsAtMs };
    const { deliveredAt } = await acts.deliverTerminationReturn({ ...step, archiveId, ...links });
    status.returned = {
      archiveId,
      rows: summary.rows,
      manifestSha256: summary.manifestSha256,
      graceEndsAt: iso(graceEndsAtMs),
      remindersSent: 0,
      closedBy: null,
    };
    timeline.returnDeliveredAt = deliveredAt;

    await enter('awaiting-acknowledgement');
    const reminders = reminderInstants(graceEndsAtMs, policy.returnReminderOffsets)
      .filter((at) => at > Date.now())
      .sort((a, b) => a - b);
    for (const at of reminders) {
      if (await condition(() => acknowledged !== undefined, Math.max(1, at - Date.now()))) break;
      await acts.sendReturnReminder({ ...step, ...links, reminderAtMs: at });
      status.returned.remindersSent++;
    }
    if (acknowledged === undefined) {
      await condition(() => acknowledged !== undefined, Math.max(1, graceEndsAtMs - Date.now()));
    }
    const closedBy = acknowledged ? 'acknowledged' : 'grace-period-ended';
    status.returned.closedBy = closedBy;
    timeline.returnClosedAt = iso();
    await acts.recordReturnClosed({
      ...step,
      closedBy,
      ...(acknowledged ? { acknowledgedBy: acknowledged.actor } : {}),
    });
    returned = {
      archiveId,
      manifestSha256: summary.manifestSha256,
      rows: summary.rows,
      deliveredAt,
      closedBy,
      closedAt: timeline.returnClosedAt,
    };
  }

  // 4. Four-eyes approval of the irreversible erasure. The gate opens before the stage shows and before staff are
  // asked, so a decision sent as soon as either is seen is accepted.
  let waiting = gate.waitForDecision(policy.approvalReminderIntervalMs);
  await enter('awaiting-approval');
  let reminder = 0;
  await acts.requestTerminationApproval({ ...step, reminder });
  let decision = await waiting;
  while (!decision) {
    reminder++;
    waiting = gate.waitForDecision(policy.approvalReminderIntervalMs);
    await acts.requestTerminationApproval({ ...step, reminder });
    decision = await waiting;
  }
  status.approval = { decision: decision.decision, actor: decision.actor };
  if (decision.decision === 'rejected') {
    await acts.recordTerminationRejected({ ...step, actor: decision.actor });
    await enter('rejected');
    return finish({ outcome: 'rejected' });
  }
  timeline.approvedAt = iso();

  // 5. No erasure while a legal hold is active.
  for (;;) {
    holdReleased = false;
    const { count } = await acts.activeLegalHolds(step);
    status.legalHolds = count;
    if (count === 0) break;
    if (status.stage !== 'waiting-for-legal-hold') await enter('waiting-for-legal-hold');
    await condition(() => holdReleased, policy.holdRecheckIntervalMs);
  }

  // 6. Erase every category.
  await enter('erasing');
  timeline.erasureStartedAt = iso();
  const categories = [...DATA_CATEGORIES];
  const policyVersions = await acts.currentPolicyVersions();
  const childId = erasureWorkflowId(input.customerId, erasureScopeKey('termination', categories));
  status.erasureWorkflowId = childId;
  const erased = await executeChild<typeof erasureWorkflow>('erasureWorkflow', {
    workflowId: childId,
    args: [
      { customerId: input.customerId, categories, reason: 'termination', requestId: input.requestId, policyVersions },
    ],
    // A failed erasure may run again under the same id (it resumes from its checkpoints' counts).
    workflowIdReusePolicy: 'ALLOW_DUPLICATE_FAILED_ONLY',
  });
  status.erasure = { tables: erased.tables, verified: erased.verified };
  timeline.erasureCompletedAt = iso();

  // 7. Verify over the live schema.
  await enter('verifying');
  const verification: CustomerErasedCheck = await checks.verifyCustomerErased(step);
  timeline.verifiedAt = verification.checkedAt;

  // 8. Certify and send.
  await enter('certifying');
  const { certificateId } = await acts.issueTerminationCertificate({
    ...step,
    contract: { contractId: revoked.contractId, endedAt: input.effectiveAt },
    disposition: input.disposition,
    dispositionSource: input.dispositionSource,
    returned,
    timeline,
    approval: { requestedBy: input.requestedBy, approvedBy: decision.actor, approvedAt: timeline.approvedAt },
    categories,
    erasure: {
      tables: erased.tables,
      retained: erased.retained,
      subprocessorDeletions: erased.subprocessorDeletions ?? [],
      policyVersions: erased.policyVersions ?? policyVersions,
    },
    verification,
  });
  status.certificateId = certificateId;
  await enter('sending-certificate');
  await acts.sendTerminationCertificate({ ...step, certificateId });
  const deletedRows = Object.values(erased.tables).reduce((a, b) => a + b, 0);
  await acts.completeTermination({ ...step, certificateId, verified: verification.verified, deletedRows });
  await enter('completed');
  return finish({ outcome: 'terminated', certificateId, verified: verification.verified });
}
