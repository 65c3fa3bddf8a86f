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
 * Beside it runs the deadline clock: the due date from the deadline engine (lib/deadlines.ts) as for access requests,
 * staff reminders before it, an escalation after it. The clock is kept minimal here (no extensions); it moves to a
 * shared helper once one exists (see the report of issue #11).
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
  upsertSearchAttributes,
  uuid4,
  workflowInfo,
} from '@temporalio/workflow';
import type { DeletionErasureSummary, DeletionRequestActivities } from '../activities/deletion-request';
import { CONFIRMATION_REFUSED } from '../lib/pure/access-request-messages';
import { REQUEST_STATUS_QUERY } from '../lib/pure/request-messages';
import {
  clockStart,
  dateInZone,
  endOfDayMs,
  reminderInstants,
  responseDueDate,
  type HolidayCalendar,
  type PrivacyRegime,
} from '../lib/pure/deadlines';
import { erasureScopeOf, type DeletionPart, type DeletionPartDecision } from '../lib/pure/deletion-parts';
import { NON_RETRYABLE_ERROR_TYPES } from '../lib/pure/errors';
import { erasureWorkflowId, searchAttributes } from '../lib/pure/temporal-ids';
import { confirmIdentityUpdate } from './access-request';
import type { erasureWorkflow } from './erasure';

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

const acts = proxyActivities<DeletionRequestActivities>({
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
  const today = () => dateInZone(Date.now(), calendar.timeZone);

  const status: DeletionRequestStatus = {
    stage: 'received',
    regime,
    receivedOn: input.receivedOn,
    clockStarts: clockStart(regime),
    clockStartedOn: clockStart(regime) === 'receipt' ? input.receivedOn : null,
    dueOn: input.dueOn,
    verified: false,
    parts: null,
    erasure: null,
    certificateId: null,
    deadline: { remindersSent: 0, escalated: false },
    respondedOn: null,
  };
  const identity: { linkId?: string } = {};
  let confirmation: { linkId: string; verifiedOn: string } | undefined;

  setHandler(deletionRequestStatusQuery, () => status);
  setHandler(
    // The `/verify/{token}` link: the access request's update definition, so one route serves both request types.
    confirmIdentityUpdate,
    ({ linkId }) => {
      const verifiedOn = today();
      confirmation = { linkId, verifiedOn };
      if (status.dueOn === null) {
        // UK GDPR "stop the clock": the period starts now.
        status.clockStartedOn = verifiedOn;
        status.dueOn = responseDueDate(regime, verifiedOn, calendar);
      }
      status.verified = true;
      return { verifiedOn, dueOn: status.dueOn };
    },
    {
      validator: ({ linkId }) => {
        if (status.stage !== 'awaiting-verification' || confirmation !== undefined || linkId !== identity.linkId)
          throw ApplicationFailure.create({
            type: CONFIRMATION_REFUSED,
            message: 'the request is not waiting for this confirmation',
            nonRetryable: true,
          });
      },
    },
  );

  async function enter(stage: DeletionRequestStage): Promise<void> {
    status.stage = stage;
    upsertSearchAttributes([{ key: searchAttributes.requestStage, value: stage }]);
    await acts.reportDeletionStage({ requestId: input.requestId, stage });
  }

  /** The deadline clock: staff reminders before the due date, one escalation after it, until the requester is answered. */
  async function deadlineClock(): Promise<void> {
    const sent = new Set<number>();
    let escalated = false;
    const answered = () => status.respondedOn !== null;
    while (!answered()) {
      const dueOn = status.dueOn;
      if (dueOn === null) {
        await condition(() => answered() || status.dueOn !== null);
        continue;
      }
      const dueEnd = endOfDayMs(dueOn, calendar.timeZone);
      const now = Date.now();
      if (now > dueEnd) {
        if (!escalated) {
          escalated = true;
          status.deadline.escalated = true;
          await acts.escalateOverdueDeletionRequest({ ...step, dueOn, stage: status.stage });
        }
        await condition(answered);
        continue;
      }
      const pending = reminderInstants(dueEnd, policy.reminderOffsets)
        .filter((at) => !sent.has(at))
        .sort((a, b) => a - b);
      const passed = pending.filter((at) => at <= now);
      if (passed.length > 0) {
        for (const at of passed) sent.add(at);
        await acts.remindDeletionDeadline({ ...step, dueOn, stage: status.stage, reminderAtMs: passed.at(-1)! });
        status.deadline.remindersSent++;
        continue;
      }
      await condition(answered, Math.min(pending[0] ?? Number.POSITIVE_INFINITY, dueEnd + 1) - now);
    }
  }

  const clock = deadlineClock();
  async function finish(stage: DeletionRequestStage, result: DeletionRequestResult): Promise<DeletionRequestResult> {
    status.stage = stage;
    upsertSearchAttributes([{ key: searchAttributes.requestStage, value: stage }]);
    await clock;
    await condition(allHandlersFinished);
    return result;
  }
  function answered(): string {
    status.respondedOn = today();
    return status.respondedOn;
  }

  await enter('acknowledging');
  await acts.sendDeletionAcknowledgement(step);

  await enter('checking-requester');
  const check = await acts.checkDeletionRequester(step);
  if (!check.registered || !check.contactId) {
    await acts.refuseDeletionRequest(step);
    return finish('refused', { result: 'refused', respondedOn: answered(), dueOn: status.dueOn });
  }
  const contactId = check.contactId;

  // The stage and link id are set before the email leaves, so a confirmation arriving at once is accepted.
  const linkId = uuid4();
  identity.linkId = linkId;
  const expiresAtMs = Date.now() + policy.verificationTimeoutMs;
  status.stage = 'awaiting-verification';
  upsertSearchAttributes([{ key: searchAttributes.requestStage, value: status.stage }]);
  await acts.sendDeletionVerification({ ...step, contactId, linkId, expiresAtMs, parts: input.parts.length });
  const confirmed = await condition(() => confirmation !== undefined, Math.max(1, expiresAtMs - Date.now()));
  if (!confirmed || !confirmation) {
    status.stage = 'closed-unverified'; // from here the validator refuses a late confirmation
    await acts.closeUnverifiedDeletionRequest({ ...step, waitedMs: policy.verificationTimeoutMs });
    return finish('closed-unverified', { result: 'closed_unverified', respondedOn: answered(), dueOn: status.dueOn });
  }
  const verifiedOn = confirmation.verifiedOn;
  await acts.recordDeletionIdentityVerified({ ...step, contactId, linkId, verifiedOn, dueOn: status.dueOn! });

  // Each part is checked against the contract and the law before anything is deleted.
  await enter('deciding');
  const decisions = await acts.decideDeletionParts({ ...step, parts: input.parts });
  status.parts = decisions;
  await acts.sendDeletionDecision({ ...step, contactId, decisions });

  const scope = erasureScopeOf(decisions);
  let erasure: DeletionErasureSummary | null = null;
  let certificateId: string | null = null;
  if (scope) {
    await enter('erasing');
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
      status.stage = 'failed';
      throw ApplicationFailure.nonRetryable(reason, 'DeletionRequestFailed');
    }
    status.erasure = { workflowId: childId, tables: erasure.tables, verified: erasure.verified };

    await enter('certifying');
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
