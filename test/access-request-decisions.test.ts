/**
 * The access request workflow's own decisions, with its activities replaced by plain functions that record their
 * calls (test/support/workflow-env.ts): refusal of an unregistered requester, closure when identity is never
 * confirmed, which confirmations it accepts, the deadline clock's reminders and escalation, and which extensions it
 * grants. The emails, rows and audit events these decisions lead to are tested on the full stack
 * (test/access-request.test.ts, test/access-request-timeouts.test.ts).
 */
import { randomUUID } from 'node:crypto';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { DateTime } from 'luxon';
import type { AccessRequestActivities } from '../activities/access-request';
import type { ExportActivities, ExportSummary } from '../activities/export';
import type { RequestStageActivities } from '../activities/request-stage';
import { CONFIRMATION_REFUSED, EXTENSION_REFUSED } from '../lib/pure/access-request-messages';
import {
  calendarFor,
  dateInZone,
  endOfDayMs,
  extendedDueDate,
  originalPeriodEnd,
  reminderInstants,
  responseDueDate,
  type PrivacyRegime,
} from '../lib/pure/deadlines';
import { accessRequestWorkflowId } from '../lib/pure/temporal-ids';
import {
  accessRequestStatusQuery,
  accessRequestWorkflow,
  confirmIdentityUpdate,
  extendDeadlineUpdate,
  type AccessRequestWorkflowInput,
} from '../workflows/access-request';
import { startWorkflowEnv, withStubbedWorker } from './support/workflow-env';

/** The activities the access request workflow calls. */
type AccessRequestActivityName =
  | 'reportStage'
  | 'sendAccessAcknowledgement'
  | 'checkAccessRequester'
  | 'sendIdentityVerification'
  | 'refuseAccessRequest'
  | 'recordIdentityVerified'
  | 'closeUnverifiedAccessRequest'
  | 'recordDeadlineExtension'
  | 'sendDeadlineReminder'
  | 'escalateOverdueAccessRequest'
  | 'exportCustomerData'
  | 'deliverExport'
  | 'deleteExportArchive'
  | 'completeAccessRequest'
  | 'failAccessRequest';
type Stubs = Pick<AccessRequestActivities & ExportActivities & RequestStageActivities, AccessRequestActivityName>;

/** Activities that record each call (name and first argument) and answer like the real ones would. */
class RecordedActivities {
  readonly calls: Array<{ name: AccessRequestActivityName; arg: any }> = [];
  /** The link id of the last verification email "sent". */
  linkId: string | undefined;
  private waiters: Array<{ name: AccessRequestActivityName; resolve: () => void }> = [];

  constructor(private readonly overrides: Partial<Stubs> = {}) {}

  names(): AccessRequestActivityName[] {
    return this.calls.map((c) => c.name).filter((n) => n !== 'reportStage');
  }

  count(name: AccessRequestActivityName): number {
    return this.calls.filter((c) => c.name === name).length;
  }

  /** Resolves once `name` has been called (at once if it has). */
  called(name: AccessRequestActivityName): Promise<void> {
    if (this.count(name) > 0) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ name, resolve }));
  }

  stubs(): Stubs {
    const exportSummary: ExportSummary = {
      archiveId: '',
      rows: 3,
      bytes: 120,
      tables: [{ table: 'contacts', rows: 3, sha256: 'a'.repeat(64) }],
      manifestSha256: 'b'.repeat(64),
    };
    const defaults: Stubs = {
      reportStage: () => Promise.resolve(),
      sendAccessAcknowledgement: () => Promise.resolve(),
      checkAccessRequester: () => Promise.resolve({ registered: true, contactId: 'contact-1' }),
      sendIdentityVerification: (step) => {
        this.linkId = step.linkId;
        return Promise.resolve();
      },
      refuseAccessRequest: () => Promise.resolve(),
      recordIdentityVerified: () => Promise.resolve(),
      closeUnverifiedAccessRequest: () => Promise.resolve(),
      recordDeadlineExtension: () => Promise.resolve(),
      sendDeadlineReminder: () => Promise.resolve(),
      escalateOverdueAccessRequest: () => Promise.resolve(),
      exportCustomerData: (input) => Promise.resolve({ ...exportSummary, archiveId: input.archiveId }),
      deliverExport: () => Promise.resolve(),
      deleteExportArchive: () => Promise.resolve(),
      completeAccessRequest: () => Promise.resolve(),
      failAccessRequest: () => Promise.resolve(),
    };
    const impl = { ...defaults, ...this.overrides };
    const recorded = {} as Record<AccessRequestActivityName, (arg: any) => Promise<unknown>>;
    for (const name of Object.keys(impl) as AccessRequestActivityName[]) {
      recorded[name] = async (arg: any) => {
        this.calls.push({ name, arg });
        const result = await (impl[name] as (a: any) => Promise<unknown>)(arg);
        for (const w of this.waiters.filter((x) => x.name === name)) w.resolve();
        this.waiters = this.waiters.filter((x) => x.name !== name);
        return result;
      };
    }
    return recorded as unknown as Stubs;
  }
}

let env: TestWorkflowEnvironment;
beforeAll(async () => {
  env = await startWorkflowEnv('access-request-decisions');
});
afterAll(async () => {
  await env?.teardown();
});

const calendar = calendarFor('gdpr');
const today = () => dateInZone(Date.now(), calendar.timeZone);
const daysFrom = (date: string, days: number) => DateTime.fromISO(date).plus({ days }).toISODate()!;

/** A request received on `receivedOn` (default today) with short durations; `policy` overrides them. */
function requestInput(
  opts: { regime?: PrivacyRegime; receivedOn?: string; dueOn?: string | null } & Partial<
    AccessRequestWorkflowInput['policy']
  > = {},
): AccessRequestWorkflowInput {
  const regime = opts.regime ?? 'gdpr';
  const receivedOn = opts.receivedOn ?? today();
  const cal = calendarFor(regime);
  return {
    requestId: randomUUID(),
    customerId: randomUUID(),
    scope: 'all',
    regime,
    receivedOn,
    dueOn:
      opts.dueOn !== undefined ? opts.dueOn : regime === 'uk_gdpr' ? null : responseDueDate(regime, receivedOn, cal),
    calendar: cal,
    policy: {
      verificationTimeoutMs: opts.verificationTimeoutMs ?? 60_000,
      reminderOffsets: opts.reminderOffsets ?? [],
      linkLifetimeMs: opts.linkLifetimeMs ?? 500,
    },
  };
}

async function start(taskQueue: string, input: AccessRequestWorkflowInput) {
  return env.client.workflow.start(accessRequestWorkflow, {
    taskQueue,
    workflowId: accessRequestWorkflowId(input.requestId),
    args: [input],
  });
}

/** The failure an update was refused with: its type and details. */
async function refusal(update: Promise<unknown>): Promise<{ type?: string; details?: unknown[] }> {
  const err: unknown = await update.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(WorkflowUpdateFailedError);
  const cause = (err as WorkflowUpdateFailedError).cause;
  expect(cause).toBeInstanceOf(ApplicationFailure);
  const failure = cause as ApplicationFailure;
  return { type: failure.type ?? undefined, details: failure.details ?? undefined };
}

describe('the access request decides', () => {
  it('when the requester is not a registered contact, the request is refused with no verification link and no export', async () => {
    const acts = new RecordedActivities({ checkAccessRequester: () => Promise.resolve({ registered: false }) });
    const result = await withStubbedWorker(env, acts.stubs(), async (taskQueue) =>
      (await start(taskQueue, requestInput())).result(),
    );
    expect(result).toMatchObject({ result: 'refused', respondedOn: today() });
    expect(acts.names()).toEqual(['sendAccessAcknowledgement', 'checkAccessRequester', 'refuseAccessRequest']);
  });

  it('when identity is not confirmed within the wait, the request is closed unverified and nothing is exported', async () => {
    const acts = new RecordedActivities();
    const input = requestInput({ verificationTimeoutMs: 1000 });
    const { result, status } = await withStubbedWorker(env, acts.stubs(), async (taskQueue) => {
      const handle = await start(taskQueue, input);
      return { result: await handle.result(), status: await handle.query(accessRequestStatusQuery) };
    });
    expect(result).toMatchObject({ result: 'closed_unverified', dueOn: input.dueOn });
    expect(acts.names()).toEqual([
      'sendAccessAcknowledgement',
      'checkAccessRequester',
      'sendIdentityVerification',
      'closeUnverifiedAccessRequest',
    ]);
    expect(acts.calls.find((c) => c.name === 'closeUnverifiedAccessRequest')!.arg.waitedMs).toBe(1000);
    expect(status).toMatchObject({
      stage: 'closed-unverified',
      verified: false,
      outcome: { result: 'closed_unverified' },
    });
  });

  it('refuses a confirmation through a link other than the one sent, then exports and delivers after the right one', async () => {
    const acts = new RecordedActivities();
    const input = requestInput();
    const result = await withStubbedWorker(env, acts.stubs(), async (taskQueue) => {
      const handle = await start(taskQueue, input);
      await acts.called('sendIdentityVerification');
      const wrong = await refusal(handle.executeUpdate(confirmIdentityUpdate, { args: [{ linkId: randomUUID() }] }));
      expect(wrong.type).toBe(CONFIRMATION_REFUSED);
      expect(acts.count('exportCustomerData')).toBe(0);
      const confirmed = await handle.executeUpdate(confirmIdentityUpdate, { args: [{ linkId: acts.linkId! }] });
      expect(confirmed).toEqual({ verifiedOn: today(), dueOn: input.dueOn });
      // A second confirmation of the same request is refused too.
      expect(
        (await refusal(handle.executeUpdate(confirmIdentityUpdate, { args: [{ linkId: acts.linkId! }] }))).type,
      ).toBe(CONFIRMATION_REFUSED);
      return handle.result();
    });
    expect(result).toMatchObject({ result: 'delivered', rows: 3, manifestSha256: 'b'.repeat(64) });
    expect(acts.names()).toEqual([
      'sendAccessAcknowledgement',
      'checkAccessRequester',
      'sendIdentityVerification',
      'recordIdentityVerified',
      'exportCustomerData',
      'deliverExport',
      'deleteExportArchive',
      'completeAccessRequest',
    ]);
    const exported = acts.calls.find((c) => c.name === 'exportCustomerData')!.arg;
    expect(acts.calls.find((c) => c.name === 'deleteExportArchive')!.arg.archiveId).toBe(exported.archiveId);
  });

  it('when the export fails for good, the request is failed with the reason and nothing is delivered', async () => {
    const acts = new RecordedActivities({
      exportCustomerData: () => Promise.reject(ApplicationFailure.nonRetryable('disk full', 'ExportStorageError')),
    });
    const failure = await withStubbedWorker(env, acts.stubs(), async (taskQueue) => {
      const handle = await start(taskQueue, requestInput());
      await acts.called('sendIdentityVerification');
      await handle.executeUpdate(confirmIdentityUpdate, { args: [{ linkId: acts.linkId! }] });
      return handle.result().then(
        () => undefined,
        (err: unknown) => err as Error & { cause?: ApplicationFailure },
      );
    });
    expect(failure?.cause).toBeInstanceOf(ApplicationFailure);
    expect(failure?.cause?.type).toBe('AccessRequestFailed');
    expect(acts.calls.find((c) => c.name === 'failAccessRequest')!.arg.reason).toBe(
      'export failed: ExportStorageError: disk full',
    );
    expect(acts.count('deliverExport')).toBe(0);
  });
});

describe('the deadline clock', () => {
  it('sends one reminder for reminder instants already behind it, and does not escalate before the due date', async () => {
    const acts = new RecordedActivities();
    // Received a month ago, due today: both reminders (three and two days before the end of today) are past.
    const dueOn = today();
    const input = requestInput({ receivedOn: daysFrom(dueOn, -30), dueOn, reminderOffsets: ['P3D', 'P2D'] });
    const status = await withStubbedWorker(env, acts.stubs(), async (taskQueue) => {
      const handle = await start(taskQueue, input);
      await acts.called('sendDeadlineReminder');
      await acts.called('sendIdentityVerification');
      await handle.executeUpdate(confirmIdentityUpdate, { args: [{ linkId: acts.linkId! }] });
      await handle.result();
      return handle.query(accessRequestStatusQuery);
    });
    const reminders = acts.calls.filter((c) => c.name === 'sendDeadlineReminder');
    expect(reminders).toHaveLength(1);
    // The later of the two instants stands for both.
    expect(reminders[0]!.arg).toMatchObject({
      dueOn,
      reminderAtMs: reminderInstants(endOfDayMs(dueOn, calendar.timeZone), ['P2D'])[0],
    });
    expect(acts.count('escalateOverdueAccessRequest')).toBe(0);
    expect(status.deadline).toEqual({ remindersSent: 1, escalated: false });
  });

  it('escalates an overdue request to staff once, and refuses an extension after the original period naming the rule', async () => {
    const acts = new RecordedActivities();
    // Received two months ago: due a month ago, the original period is over.
    const receivedOn = DateTime.fromISO(today()).minus({ months: 2 }).toISODate()!;
    const input = requestInput({ receivedOn });
    const { status, refused } = await withStubbedWorker(env, acts.stubs(), async (taskQueue) => {
      const handle = await start(taskQueue, input);
      await acts.called('escalateOverdueAccessRequest');
      const refused = await refusal(
        handle.executeUpdate(extendDeadlineUpdate, { args: [{ reason: 'complex request', actor: 'staff:po' }] }),
      );
      const status = await handle.query(accessRequestStatusQuery);
      await acts.called('sendIdentityVerification');
      await handle.executeUpdate(confirmIdentityUpdate, { args: [{ linkId: acts.linkId! }] });
      await handle.result();
      return { status, refused };
    });
    expect(refused.type).toBe(EXTENSION_REFUSED);
    expect(refused.details).toEqual([
      { rule: 'within_original_period', originalPeriodEnd: originalPeriodEnd('gdpr', receivedOn) },
    ]);
    expect(status.deadline.escalated).toBe(true);
    expect(acts.calls.filter((c) => c.name === 'escalateOverdueAccessRequest').map((c) => c.arg.dueOn)).toEqual([
      input.dueOn,
    ]);
    expect(acts.count('recordDeadlineExtension')).toBe(0);
  });

  it('grants one extension within the original period, moving the due date, and refuses a second', async () => {
    const acts = new RecordedActivities();
    const input = requestInput();
    const { extended, second, status } = await withStubbedWorker(env, acts.stubs(), async (taskQueue) => {
      const handle = await start(taskQueue, input);
      const extended = await handle.executeUpdate(extendDeadlineUpdate, {
        args: [{ reason: 'complex request', actor: 'staff:po' }],
      });
      const second = await refusal(
        handle.executeUpdate(extendDeadlineUpdate, { args: [{ reason: 'again', actor: 'staff:po' }] }),
      );
      const status = await handle.query(accessRequestStatusQuery);
      await acts.called('sendIdentityVerification');
      await handle.executeUpdate(confirmIdentityUpdate, { args: [{ linkId: acts.linkId! }] });
      await handle.result();
      return { extended, second, status };
    });
    const dueOn = extendedDueDate('gdpr', input.receivedOn, calendar);
    expect(extended).toEqual({ previousDueOn: input.dueOn, dueOn });
    expect(second).toMatchObject({ type: EXTENSION_REFUSED, details: [{ rule: 'already_extended' }] });
    expect(status).toMatchObject({ dueOn, extension: { previousDueOn: input.dueOn, dueOn, decidedOn: today() } });
    expect(acts.calls.filter((c) => c.name === 'recordDeadlineExtension').map((c) => c.arg)).toEqual([
      expect.objectContaining({ previousDueOn: input.dueOn, dueOn, reason: 'complex request', actor: 'staff:po' }),
    ]);
  });

  it('UK GDPR: refuses an extension before identity is confirmed, and starts the clock at confirmation', async () => {
    const acts = new RecordedActivities();
    const input = requestInput({ regime: 'uk_gdpr' });
    const { early, confirmed } = await withStubbedWorker(env, acts.stubs(), async (taskQueue) => {
      const handle = await start(taskQueue, input);
      await acts.called('sendIdentityVerification');
      const early = await refusal(
        handle.executeUpdate(extendDeadlineUpdate, { args: [{ reason: 'complex request', actor: 'staff:po' }] }),
      );
      const confirmed = await handle.executeUpdate(confirmIdentityUpdate, { args: [{ linkId: acts.linkId! }] });
      await handle.result();
      return { early, confirmed };
    });
    expect(input.dueOn).toBeNull();
    expect(early).toMatchObject({ type: EXTENSION_REFUSED, details: [{ rule: 'clock_not_started' }] });
    expect(confirmed).toEqual({
      verifiedOn: today(),
      dueOn: responseDueDate('uk_gdpr', today(), calendarFor('uk_gdpr')),
    });
    expect(acts.calls.find((c) => c.name === 'recordIdentityVerified')!.arg).toMatchObject({
      clockStartedOn: today(),
      dueOn: confirmed.dueOn,
    });
  });
});
