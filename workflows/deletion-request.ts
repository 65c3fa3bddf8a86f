/**
 * Deletion request (`deletion-request-<requestId>`): a registered contact asks to delete data categories or named
 * contacts / seller accounts while the contract goes on (issue #11).
 *
 * 1. Acknowledge; check that the requester is a registered contact; confirm identity with a one-time link to the
 *    registered address (as access requests do: the `/verify` link answers through the same update). Unverified, the
 *    request closes and nothing is deleted.
 * 2. Decide each part against the contract and the law (lib/deletion-parts.ts): granted, or refused with the rule and
 *    reason (statutory retention with its end date, a legal hold, data needed to deliver the contracted service). The
 *    verified contact is told the decision on every part.
 * 3. Erase the granted parts with the erasure workflow (reason `deletion-request`), including every subprocessor's
 *    confirmation; named records narrow the erasure to those rows.
 * 4. Issue the signed deletion certificate (lib/certificate.ts) and email it to the verified contact; close.
 *
 * Beside it runs the same deadline clock as access and correction requests (workflows/deadline-clock.ts): the due
 * date from the deadline engine, staff reminders before it, an escalation after it, and the one extension the law
 * allows (`POST /v1/requests/{id}/extend`), told to the verified contact with its reason.
 *
 * Deterministic code only; the workflow carries ids, categories, dates and counts, never an address.
 */
import {
  ApplicationFailure,
  ChildWorkflowFailure,
  allHandlersFinished,
  condition,
  defineQuery,
  executeChild,
  proxyActivities,
  setHandler,
  uuid4,
  workflowInfo,
} from '@temporalio/workflow';
import type { DeletionErasureSummary, DeletionRequestActivities } from '../activities/deletion-request';
import type { RequestStageActivities } from '../activities/request-stage';
import { REQUEST_STATUS_QUERY } from '../lib/pure/request-messages';
import { clockStart, type HolidayCalendar, type PrivacyRegime } from '../lib/pure/deadlines';
import { erasureScopeOf, type DeletionPart, type DeletionPartDecision } from '../lib/pure/deletion-parts';
import { NON_RETRYABLE_ERROR_TYPES } from '../lib/pure/errors';
import { erasureWorkflowId } from '../lib/pure/temporal-ids';
import {
  installDeadlineExtension,
  installIdentityConfirmation,
  runDeadlineClock,
  todayIn,
  type IdentityConfirmation,
} from './deadline-clock';
import type { erasureWorkflow } from './erasure';
import { stageTracker } from './request-stage';

/** Durations of one request, fixed when it was received (the access-request settings: same verification and clock). */
export interface DeletionRequestPolicy {
  verificationTimeoutMs: number;
  reminderOffsets: string[];
}

export interface DeletionRequestWorkflowInput {
  requestId: string;
  customerId: string;
  parts: DeletionPart[];
  regime: PrivacyRegime;
  receivedOn: string;
  dueOn: string | null;
  calendar: HolidayCalendar;
  policy: DeletionRequestPolicy;
}

export type DeletionRequestStage =
  | 'received'
  | 'acknowledging'
  | 'checking-requester'
  | 'awaiting-verification'
  | 'refused'
  | 'closed-unverified'
  | 'deciding'
  | 'erasing'
  | 'certifying'
  | 'completed'
  | 'failed';

/** What the `status` query answers (`GET /v1/requests/{id}` shows it): ids, dates, decisions and counts. */
export interface DeletionRequestStatus {
  stage: DeletionRequestStage;
  regime: PrivacyRegime;
  receivedOn: string;
  clockStarts: 'receipt' | 'identity-confirmed';
  clockStartedOn: string | null;
  dueOn: string | null;
  extension: { previousDueOn: string; dueOn: string; decidedOn: string } | null;
  verified: boolean;
  /** The decision on each part, once taken. */
  parts: DeletionPartDecision[] | null;
  erasure: { workflowId: string; tables?: Record<string, number>; verified?: boolean } | null;
  certificateId: string | null;
  deadline: { remindersSent: number; escalated: boolean };
  respondedOn: string | null;
}

export interface DeletionRequestResult {
  result: 'refused' | 'closed_unverified' | 'deleted' | 'partially_deleted' | 'nothing_deleted';
  respondedOn: string;
  dueOn: string | null;
  parts?: DeletionPartDecision[];
  erasureWorkflowId?: string;
  certificateId?: string;
}

export const deletionRequestStatusQuery = defineQuery<DeletionRequestStatus>(REQUEST_STATUS_QUERY);

const acts = proxyActivities<DeletionRequestActivities & RequestStageActivities>({
  startToCloseTimeout: '1 minute',
  retry: {
    initialInterval: '1 second',
    maximumInterval: '1 minute',
    nonRetryableErrorTypes: NON_RETRYABLE_ERROR_TYPES,
  },
});

/** Runs one deletion request to its certificate (or refusal, or closure unverified). */
export async function deletionRequestWorkflow(input: DeletionRequestWorkflowInput): Promise<DeletionRequestResult> {
  const { workflowId } = workflowInfo();
  const { calendar, regime, policy } = input;
  const step = { requestId: input.requestId, customerId: input.customerId, workflowId, receivedOn: input.receivedOn };
  const today = () => todayIn(calendar);

  const status: DeletionRequestStatus = {
    stage: 'received',
    regime,
    receivedOn: input.receivedOn,
    clockStarts: clockStart(regime),
    clockStartedOn: clockStart(regime) === 'receipt' ? input.receivedOn : null,
    dueOn: input.dueOn,
    extension: null,
    verified: false,
    parts: null,
    erasure: null,
    certificateId: null,
    deadline: { remindersSent: 0, escalated: false },
    respondedOn: null,
  };
  // Set once the requester is known to be a registered contact and the link is on its way.
  const identity: IdentityConfirmation & { contactId?: string } = {};

  setHandler(deletionRequestStatusQuery, () => status);
  // The `/verify/{token}` link answers through the shared confirmation update, as for access and correction requests.
  installIdentityConfirmation({
    state: status,
    calendar,
    identity,
    awaiting: () => status.stage === 'awaiting-verification',
  });
  installDeadlineExtension({
    state: status,
    calendar,
    record: (p) => acts.recordDeletionExtension({ ...step, ...p, contactId: identity.contactId }),
  });

  const stages = stageTracker(status, input.requestId, acts);

  const clock = runDeadlineClock({
    state: status,
    calendar,
    reminderOffsets: policy.reminderOffsets,
    remind: (p) => acts.remindDeletionDeadline({ ...step, ...p, stage: status.stage }),
    escalate: (p) => acts.escalateOverdueDeletionRequest({ ...step, ...p, stage: status.stage }),
  });
  /** Shows the final stage (the closing activity recorded it) once the clock and handlers are done. */
  async function finish(stage: DeletionRequestStage, result: DeletionRequestResult): Promise<DeletionRequestResult> {
    stages.show(stage);
    await clock;
    await condition(allHandlersFinished);
    return result;
  }
  function answered(): string {
    status.respondedOn = today();
    return status.respondedOn;
  }

  await stages.enter('acknowledging');
  await acts.sendDeletionAcknowledgement(step);

  await stages.enter('checking-requester');
  const check = await acts.checkDeletionRequester(step);
  if (!check.registered || !check.contactId) {
    await acts.refuseDeletionRequest(step);
    return finish('refused', { result: 'refused', respondedOn: answered(), dueOn: status.dueOn });
  }
  const contactId = check.contactId;
  identity.contactId = contactId;

  // The stage and link id are set before the email leaves, so a confirmation arriving at once is accepted.
  const linkId = uuid4();
  identity.linkId = linkId;
  const expiresAtMs = Date.now() + policy.verificationTimeoutMs;
  stages.show('awaiting-verification'); // recorded with the link by sendDeletionVerification
  await acts.sendDeletionVerification({ ...step, contactId, linkId, expiresAtMs, parts: input.parts.length });
  const confirmed = await condition(() => identity.confirmed !== undefined, Math.max(1, expiresAtMs - Date.now()));
  const confirmation = identity.confirmed;
  if (!confirmed || !confirmation) {
    status.stage = 'closed-unverified'; // from here the validator refuses a late confirmation
    await acts.closeUnverifiedDeletionRequest({ ...step, waitedMs: policy.verificationTimeoutMs });
    return finish('closed-unverified', { result: 'closed_unverified', respondedOn: answered(), dueOn: status.dueOn });
  }
  const verifiedOn = confirmation.verifiedOn;
  await acts.recordDeletionIdentityVerified({ ...step, contactId, linkId, verifiedOn, dueOn: status.dueOn! });

  // Each part is checked against the contract and the law before anything is deleted.
  await stages.enter('deciding');
  const decisions = await acts.decideDeletionParts({ ...step, parts: input.parts });
  status.parts = decisions;
  await acts.sendDeletionDecision({ ...step, contactId, decisions });

  const scope = erasureScopeOf(decisions);
  let erasure: DeletionErasureSummary | null = null;
  let certificateId: string | null = null;
  if (scope) {
    await stages.enter('erasing');
    const childId = erasureWorkflowId(input.customerId, `deletion-request-${input.requestId}`);
    status.erasure = { workflowId: childId };
    try {
      const r = await executeChild<typeof erasureWorkflow>('erasureWorkflow', {
        workflowId: childId,
        args: [
          {
            customerId: input.customerId,
            categories: scope.categories,
            ...(scope.records ? { records: scope.records } : {}),
            reason: 'deletion-request',
            requestId: input.requestId,
          },
        ],
        workflowIdReusePolicy: 'ALLOW_DUPLICATE_FAILED_ONLY',
      });
      erasure = {
        erasureWorkflowId: childId,
        categories: scope.categories,
        ...(scope.records ? { records: scope.records } : {}),
        tables: r.tables,
        retained: r.retained,
        subprocessorDeletions: r.subprocessorDeletions ?? [],
        verified: r.verified,
        remaining: r.remaining ?? {},
      };
    } catch (err) {
      if (!(err instanceof ChildWorkflowFailure)) throw err;
      const reason = `erasure failed: ${err.cause?.message ?? err.message}`;
      await acts.failDeletionRequest({ ...step, reason });
      stages.show('failed');
      throw ApplicationFailure.nonRetryable(reason, 'DeletionRequestFailed');
    }
    status.erasure = { workflowId: childId, tables: erasure.tables, verified: erasure.verified };

    await stages.enter('certifying');
    ({ certificateId } = await acts.certifyDeletion({ ...step, contactId, decisions, erasure, verifiedOn }));
    status.certificateId = certificateId;
  }

  const respondedOn = answered();
  await acts.completeDeletionRequest({
    ...step,
    respondedOn,
    decisions,
    erasure: erasure
      ? { erasureWorkflowId: erasure.erasureWorkflowId, tables: erasure.tables, verified: erasure.verified }
      : null,
    certificateId,
  });
  const granted = decisions.filter((d) => d.decision === 'granted').length;
  return finish('completed', {
    result: granted === 0 ? 'nothing_deleted' : granted === decisions.length ? 'deleted' : 'partially_deleted',
    respondedOn,
    dueOn: status.dueOn,
    parts: decisions,
    ...(erasure ? { erasureWorkflowId: erasure.erasureWorkflowId } : {}),
    ...(certificateId ? { certificateId } : {}),
  });
}
