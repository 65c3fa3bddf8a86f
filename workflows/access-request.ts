/**
 * Access request: acknowledge, check that the requester is a registered contact, confirm identity with a one-time link
 * sent to the registered address, export everything held about the customer in scope, deliver a signed expiring
 * download link, delete the archive when the link expires. Beside it runs the deadline clock: staff reminders before
 * the due date, an escalation once it has passed, and extensions decided by staff (an update that moves the timers).
 *
 * Deterministic code only. Dates come from the deadline engine (lib/deadlines.ts) fed with workflow time; every
 * duration comes from the policy in the input (configuration at the time the request was received). The workflow sees
 * ids, dates, counts and hashes: the requester's address stays in the database, the rows in the archive.
 */
import {
  ActivityFailure,
  allHandlersFinished,
  ApplicationFailure,
  condition,
  defineQuery,
  defineSignal,
  log,
  proxyActivities,
  setHandler,
  sleep,
  uuid4,
  workflowInfo,
} from '@temporalio/workflow';
import type { AccessRequestActivities } from '../activities/access-request';
import type { ExportActivities, ExportSummary } from '../activities/export';
import type { RequestStageActivities } from '../activities/request-stage';
import type { AccessRequestStage, AccessRequestStatus, ExportProgress } from '../lib/pure/access-request-messages';
import { clockStart, type HolidayCalendar, type PrivacyRegime } from '../lib/pure/deadlines';
import { NON_RETRYABLE_ERROR_TYPES } from '../lib/pure/errors';
import { REQUEST_STATUS_QUERY } from '../lib/pure/request-messages';
import type { AccessScope } from '../lib/pure/access-scope';
import {
  confirmIdentityUpdate,
  extendDeadlineUpdate,
  installDeadlineExtension,
  installIdentityConfirmation,
  runDeadlineClock,
  todayIn,
  type IdentityConfirmation,
} from './deadline-clock';
import { stageTracker } from './request-stage';

/** Durations of one request, fixed when it was received (configuration: README "Access requests"). */
export interface AccessRequestPolicy {
  /** How long to wait for the verification link to be used (the link expires then too). */
  verificationTimeoutMs: number;
  /** ISO 8601 durations before the end of the due date at which staff are reminded. */
  reminderOffsets: string[];
  /** How long the download link works; the archive is deleted when it ends. */
  linkLifetimeMs: number;
}

export interface AccessRequestWorkflowInput {
  requestId: string;
  customerId: string;
  scope: AccessScope;
  regime: PrivacyRegime;
  /** Day of receipt in the regime's time zone. */
  receivedOn: string;
  /** Due date computed at receipt; null when the clock starts at identity confirmation (UK GDPR). */
  dueOn: string | null;
  calendar: HolidayCalendar;
  policy: AccessRequestPolicy;
}

export interface AccessRequestResult {
  result: 'delivered' | 'refused' | 'closed_unverified';
  respondedOn: string;
  dueOn: string | null;
  archiveId?: string;
  rows?: number;
  manifestSha256?: string;
}

/** Query: where the request stands. `GET /v1/requests/{id}` asks it (as workflows/request-status.ts). */
export const accessRequestStatusQuery = defineQuery<AccessRequestStatus>(REQUEST_STATUS_QUERY);
// The identity confirmation and deadline extension updates are shared by every request workflow with a legal
// deadline (workflows/deadline-clock.ts); exported here too, where the access request's senders have found them.
export { confirmIdentityUpdate, extendDeadlineUpdate };
/** Signal: a running export reports its progress (activities/export.ts). */
export const exportProgressSignal = defineSignal<[ExportProgress]>('exportProgress');

/** Notices, records, links: quick activities, retried with backoff for as long as it takes (SMTP or database down). */
const acts = proxyActivities<AccessRequestActivities & RequestStageActivities>({
  startToCloseTimeout: '1 minute',
  retry: {
    initialInterval: '1 second',
    maximumInterval: '1 minute',
    nonRetryableErrorTypes: NON_RETRYABLE_ERROR_TYPES,
  },
});

/** The export: long, heartbeating, resumed from its checkpoint on every retry. */
const exporter = proxyActivities<ExportActivities>({
  startToCloseTimeout: '12 hours',
  heartbeatTimeout: '1 minute',
  retry: {
    initialInterval: '1 second',
    backoffCoefficient: 2,
    maximumInterval: '5 minutes',
    nonRetryableErrorTypes: NON_RETRYABLE_ERROR_TYPES,
  },
});

/** Runs one access request to delivery (or refusal, or closure unverified) and deletes its archive when due. */
export async function accessRequestWorkflow(input: AccessRequestWorkflowInput): Promise<AccessRequestResult> {
  const { workflowId } = workflowInfo();
  const { calendar, regime, policy } = input;
  const step = { requestId: input.requestId, customerId: input.customerId, workflowId, receivedOn: input.receivedOn };
  const today = () => todayIn(calendar);

  const status: AccessRequestStatus = {
    stage: 'received',
    regime,
    scope: input.scope,
    receivedOn: input.receivedOn,
    clockStarts: clockStart(regime),
    clockStartedOn: clockStart(regime) === 'receipt' ? input.receivedOn : null,
    dueOn: input.dueOn,
    extension: null,
    verified: false,
    progress: null,
    deadline: { remindersSent: 0, escalated: false },
    respondedOn: null,
    outcome: null,
  };
  // Set once the requester is known to be a registered contact and the link is on its way.
  const identity: IdentityConfirmation & { contactId?: string } = {};

  setHandler(accessRequestStatusQuery, () => status);
  setHandler(exportProgressSignal, (progress) => {
    if (status.stage === 'exporting') status.progress = progress;
  });
  installIdentityConfirmation({
    state: status,
    calendar,
    identity,
    awaiting: () => status.stage === 'awaiting-verification',
  });
  installDeadlineExtension({
    state: status,
    calendar,
    record: async ({ previousDueOn, dueOn, reason, reasonId, actor }) => {
      await acts.recordDeadlineExtension({
        ...step,
        previousDueOn,
        dueOn,
        reason,
        reasonId,
        actor,
        contactId: identity.contactId,
      });
      log.info('deadline extended', { requestId: input.requestId, previousDueOn, dueOn });
    },
  });

  const stages = stageTracker(status, input.requestId, acts);

  /** The deadline clock: reminders before the due date, an escalation after it, until the requester is answered. */
  const deadlineClock = () =>
    runDeadlineClock({
      state: status,
      calendar,
      reminderOffsets: policy.reminderOffsets,
      remind: ({ dueOn, reminderAtMs }) =>
        acts.sendDeadlineReminder({ ...step, dueOn, stage: status.stage, reminderAtMs }),
      escalate: ({ dueOn }) => acts.escalateOverdueAccessRequest({ ...step, dueOn, stage: status.stage }),
    });

  function answered(outcome: NonNullable<AccessRequestStatus['outcome']>): void {
    status.respondedOn = today();
    status.outcome = outcome;
  }

  /** Shows the final stage (the closing activity recorded it with the outcome) once the clock and handlers are done. */
  async function finish(stage: AccessRequestStage, result: AccessRequestResult): Promise<AccessRequestResult> {
    stages.show(stage);
    await clock;
    await condition(allHandlersFinished);
    return result;
  }

  const clock = deadlineClock();

  await stages.enter('acknowledging');
  await acts.sendAccessAcknowledgement(step);

  await stages.enter('checking-requester');
  const check = await acts.checkAccessRequester(step);
  if (!check.registered || !check.contactId) {
    status.stage = 'refused'; // shown to the Web UI when the request closes (finish)
    await acts.refuseAccessRequest(step);
    answered({ result: 'refused' });
    return finish('refused', { result: 'refused', respondedOn: status.respondedOn!, dueOn: status.dueOn });
  }
  const contactId = check.contactId;
  identity.contactId = contactId;

  // The stage and link id are set before the email leaves, so a confirmation arriving at once is accepted.
  const linkId = uuid4();
  identity.linkId = linkId;
  const verificationExpiresAtMs = Date.now() + policy.verificationTimeoutMs;
  stages.show('awaiting-verification'); // recorded with the link by sendIdentityVerification
  await acts.sendIdentityVerification({
    ...step,
    contactId,
    linkId,
    expiresAtMs: verificationExpiresAtMs,
  });
  const confirmed = await condition(
    () => identity.confirmed !== undefined,
    Math.max(1, verificationExpiresAtMs - Date.now()),
  );
  const confirmation = identity.confirmed;
  if (!confirmed || !confirmation) {
    status.stage = 'closed-unverified'; // from here the validator refuses a late confirmation
    await acts.closeUnverifiedAccessRequest({ ...step, waitedMs: policy.verificationTimeoutMs });
    answered({ result: 'closed_unverified' });
    return finish('closed-unverified', {
      result: 'closed_unverified',
      respondedOn: status.respondedOn!,
      dueOn: status.dueOn,
    });
  }
  await acts.recordIdentityVerified({
    ...step,
    contactId,
    linkId: confirmation.linkId,
    verifiedOn: confirmation.verifiedOn,
    dueOn: status.dueOn!,
    clockStartedOn: status.clockStarts === 'identity-confirmed' ? status.clockStartedOn : null,
  });

  await stages.enter('exporting');
  const archiveId = uuid4();
  let summary: ExportSummary;
  try {
    summary = await exporter.exportCustomerData({
      requestId: input.requestId,
      customerId: input.customerId,
      workflowId,
      archiveId,
      scope: input.scope,
    });
  } catch (err) {
    const reason = `export failed: ${describeFailure(err)}`;
    stages.show('failed'); // failAccessRequest records it with the reason
    await acts.failAccessRequest({ ...step, reason });
    status.outcome = { result: 'failed' };
    throw ApplicationFailure.nonRetryable(reason, 'AccessRequestFailed');
  }
  status.progress = { table: '', rowsDone: summary.rows, rowsTotal: summary.rows, estimated: false };

  await stages.enter('delivering');
  const linkExpiresAtMs = Date.now() + policy.linkLifetimeMs;
  await acts.deliverExport({ ...step, contactId, archiveId, linkId: uuid4(), expiresAtMs: linkExpiresAtMs });
  answered({ result: 'delivered', archiveId, rows: summary.rows });
  stages.show('delivered');

  // The durable timer of the archive: when the link's lifetime ends, the files go.
  await sleep(Math.max(1, linkExpiresAtMs - Date.now()));
  await stages.enter('deleting-archive');
  await acts.deleteExportArchive({ ...step, archiveId });
  await acts.completeAccessRequest({ ...step, archiveId, respondedOn: status.respondedOn! });
  return finish('completed', {
    result: 'delivered',
    respondedOn: status.respondedOn!,
    dueOn: status.dueOn,
    archiveId,
    rows: summary.rows,
    manifestSha256: summary.manifestSha256,
  });
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
