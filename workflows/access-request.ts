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
  const request = new AccessRequest(input);
  request.start();
  await request.acknowledge();
  const contactId = await request.checkRequester();
  if (contactId === undefined) return request.refuse();
  const confirmed = await request.confirmIdentity(contactId);
  if (!confirmed) return request.closeUnverified();
  const exported = await request.exportData();
  const linkExpiresAtMs = await request.deliver(contactId, exported);
  return request.deleteArchiveWhenLinkExpires(exported, linkExpiresAtMs);
}

/** What an export produced: the archive's id and its summary. */
interface Exported {
  archiveId: string;
  summary: ExportSummary;
}

/**
 * One access request: its status (what the query shows), the identity it waits for, and its steps in the order
 * {@link accessRequestWorkflow} calls them. The deadline clock runs beside the steps from {@link start} on.
 */
class AccessRequest {
  private readonly status: AccessRequestStatus;
  /** Set once the requester is known to be a registered contact and the link is on its way. */
  private readonly identity: IdentityConfirmation & { contactId?: string } = {};
  /** What every activity of the request is told: which request, customer and run. */
  private readonly step: { requestId: string; customerId: string; workflowId: string; receivedOn: string };
  private readonly stages: ReturnType<typeof stageTracker>;
  private clock: Promise<void> = Promise.resolve();

  constructor(private readonly input: AccessRequestWorkflowInput) {
    const { regime } = input;
    this.step = {
      requestId: input.requestId,
      customerId: input.customerId,
      workflowId: workflowInfo().workflowId,
      receivedOn: input.receivedOn,
    };
    this.status = {
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
    this.stages = stageTracker(this.status, input.requestId, acts);
  }

  /** Installs the query, progress, identity and extension handlers and starts the deadline clock. */
  start(): void {
    const { status, identity, step, input } = this;
    const { calendar, policy } = input;
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
    // Reminders before the due date, an escalation after it, until the requester is answered.
    this.clock = runDeadlineClock({
      state: status,
      calendar,
      reminderOffsets: policy.reminderOffsets,
      remind: ({ dueOn, reminderAtMs }) =>
        acts.sendDeadlineReminder({ ...step, dueOn, stage: status.stage, reminderAtMs }),
      escalate: ({ dueOn }) => acts.escalateOverdueAccessRequest({ ...step, dueOn, stage: status.stage }),
    });
  }

  async acknowledge(): Promise<void> {
    await this.stages.enter('acknowledging');
    await acts.sendAccessAcknowledgement(this.step);
  }

  /** The requester's contact id if they are a registered contact of the customer; undefined otherwise. */
  async checkRequester(): Promise<string | undefined> {
    await this.stages.enter('checking-requester');
    const check = await acts.checkAccessRequester(this.step);
    if (!check.registered || !check.contactId) return undefined;
    this.identity.contactId = check.contactId;
    return check.contactId;
  }

  /** The requester is not a registered contact: refused, and told so. */
  async refuse(): Promise<AccessRequestResult> {
    this.status.stage = 'refused'; // shown to the Web UI when the request closes (finish)
    await acts.refuseAccessRequest(this.step);
    this.answered({ result: 'refused' });
    return this.finish('refused', {
      result: 'refused',
      respondedOn: this.status.respondedOn!,
      dueOn: this.status.dueOn,
    });
  }

  /**
   * Sends the one-time link to the registered address and waits for it to be used until it expires; records the
   * verification (which starts the clock where it starts at confirmation). False when the link expired unused.
   */
  async confirmIdentity(contactId: string): Promise<boolean> {
    const { identity, status, input } = this;
    // The stage and link id are set before the email leaves, so a confirmation arriving at once is accepted.
    const linkId = uuid4();
    identity.linkId = linkId;
    const verificationExpiresAtMs = Date.now() + input.policy.verificationTimeoutMs;
    this.stages.show('awaiting-verification'); // recorded with the link by sendIdentityVerification
    await acts.sendIdentityVerification({
      ...this.step,
      contactId,
      linkId,
      expiresAtMs: verificationExpiresAtMs,
    });
    const confirmed = await condition(
      () => identity.confirmed !== undefined,
      Math.max(1, verificationExpiresAtMs - Date.now()),
    );
    const confirmation = identity.confirmed;
    if (!confirmed || !confirmation) return false;
    await acts.recordIdentityVerified({
      ...this.step,
      contactId,
      linkId: confirmation.linkId,
      verifiedOn: confirmation.verifiedOn,
      dueOn: status.dueOn!,
      clockStartedOn: status.clockStarts === 'identity-confirmed' ? status.clockStartedOn : null,
    });
    return true;
  }

  /** The link expired unused: the request closes unverified, and the requester is told. */
  async closeUnverified(): Promise<AccessRequestResult> {
    this.status.stage = 'closed-unverified'; // from here the validator refuses a late confirmation
    await acts.closeUnverifiedAccessRequest({ ...this.step, waitedMs: this.input.policy.verificationTimeoutMs });
    this.answered({ result: 'closed_unverified' });
    return this.finish('closed-unverified', {
      result: 'closed_unverified',
      respondedOn: this.status.respondedOn!,
      dueOn: this.status.dueOn,
    });
  }

  /** Exports everything in scope; a permanent failure fails the request (recorded, staff see the reason). */
  async exportData(): Promise<Exported> {
    const { input } = this;
    await this.stages.enter('exporting');
    const archiveId = uuid4();
    let summary: ExportSummary;
    try {
      summary = await exporter.exportCustomerData({
        requestId: input.requestId,
        customerId: input.customerId,
        workflowId: this.step.workflowId,
        archiveId,
        scope: input.scope,
      });
    } catch (err) {
      const reason = `export failed: ${describeFailure(err)}`;
      this.stages.show('failed'); // failAccessRequest records it with the reason
      await acts.failAccessRequest({ ...this.step, reason });
      this.status.outcome = { result: 'failed' };
      throw ApplicationFailure.nonRetryable(reason, 'AccessRequestFailed');
    }
    this.status.progress = { table: '', rowsDone: summary.rows, rowsTotal: summary.rows, estimated: false };
    return { archiveId, summary };
  }

  /** Emails the signed download link (the request is answered then); returns when the link expires. */
  async deliver(contactId: string, { archiveId, summary }: Exported): Promise<number> {
    await this.stages.enter('delivering');
    const linkExpiresAtMs = Date.now() + this.input.policy.linkLifetimeMs;
    await acts.deliverExport({ ...this.step, contactId, archiveId, linkId: uuid4(), expiresAtMs: linkExpiresAtMs });
    this.answered({ result: 'delivered', archiveId, rows: summary.rows });
    this.stages.show('delivered');
    return linkExpiresAtMs;
  }

  /** The durable timer of the archive: when the link's lifetime ends, the files go and the request completes. */
  async deleteArchiveWhenLinkExpires(
    { archiveId, summary }: Exported,
    linkExpiresAtMs: number,
  ): Promise<AccessRequestResult> {
    await sleep(Math.max(1, linkExpiresAtMs - Date.now()));
    await this.stages.enter('deleting-archive');
    await acts.deleteExportArchive({ ...this.step, archiveId });
    await acts.completeAccessRequest({ ...this.step, archiveId, respondedOn: this.status.respondedOn! });
    return this.finish('completed', {
      result: 'delivered',
      respondedOn: this.status.respondedOn!,
      dueOn: this.status.dueOn,
      archiveId,
      rows: summary.rows,
      manifestSha256: summary.manifestSha256,
    });
  }

  private answered(outcome: NonNullable<AccessRequestStatus['outcome']>): void {
    this.status.respondedOn = todayIn(this.input.calendar);
    this.status.outcome = outcome;
  }

  /** Shows the final stage (the closing activity recorded it with the outcome) once the clock and handlers are done. */
  private async finish(stage: AccessRequestStage, result: AccessRequestResult): Promise<AccessRequestResult> {
    this.stages.show(stage);
    await this.clock;
    await condition(allHandlersFinished);
    return result;
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
