/**
 * The legal deadline of a request, shared by every request workflow with one (access, correction): when the clock
 * starts (receipt, or identity confirmation under UK GDPR), staff reminders before the due date, an escalation once it
 * has passed, and the one extension the law allows (decided by staff, told to the requester).
 *
 * Workflow code: deterministic, no I/O. The side effects (reminder, escalation, extension notice) are callbacks the
 * calling workflow wires to its own activities, so each process keeps its own activity names and wording.
 */
import { ApplicationFailure, condition, defineUpdate, setHandler } from '@temporalio/workflow';
import {
  CONFIRMATION_REFUSED,
  EXTENSION_REFUSED,
  type ConfirmIdentityArgs,
  type ConfirmIdentityResult,
  type ExtendDeadlineArgs,
  type ExtendDeadlineResult,
  type ExtensionRefusal,
} from '../lib/pure/access-request-messages';
import {
  canExtendOn,
  dateInZone,
  endOfDayMs,
  extendedDueDate,
  originalPeriodEnd,
  reminderInstants,
  responseDueDate,
  type HolidayCalendar,
  type PrivacyRegime,
} from '../lib/pure/deadlines';

/**
 * Update: the one-time verification link was used (`GET /verify/{token}`); answered by every request workflow that
 * verifies its requester (access, correction).
 */
export const confirmIdentityUpdate = defineUpdate<ConfirmIdentityResult, [ConfirmIdentityArgs]>('confirmIdentity');
/**
 * Update: staff extend the deadline (`POST /v1/requests/{id}/extend`). A contract for every request type with a legal
 * deadline: a workflow that handles it with these types can be extended through that route.
 */
export const extendDeadlineUpdate = defineUpdate<ExtendDeadlineResult, [ExtendDeadlineArgs]>('extendDeadline');

/** The part of a request's status the clock reads and writes (the workflow's status object itself). */
export interface DeadlineClockState {
  regime: PrivacyRegime;
  /** The day the legal period started; null while the clock is stopped (UK GDPR, before identity confirmation). */
  clockStartedOn: string | null;
  dueOn: string | null;
  extension: { previousDueOn: string; dueOn: string; decidedOn: string } | null;
  deadline: { remindersSent: number; escalated: boolean };
  /** Set when the requester has been answered: the clock stops. */
  respondedOn: string | null;
}

const RULE_SOURCES: Record<PrivacyRegime, string> = {
  gdpr: 'GDPR Art. 12(3)',
  uk_gdpr: 'UK GDPR Art. 12(3)',
  ccpa: 'Cal. Civ. Code 1798.130(a)(2)(A)',
};

function refuseExtension(refusal: ExtensionRefusal, message: string): never {
  throw ApplicationFailure.create({ type: EXTENSION_REFUSED, message, details: [refusal], nonRetryable: true });
}

/** Today in the calendar's zone, from workflow time. */
export function todayIn(calendar: HolidayCalendar): string {
  return dateInZone(Date.now(), calendar.timeZone);
}

/**
 * Runs the deadline clock until the request is answered: one reminder per configured offset before the end of the due
 * date (reminder instants already passed collapse into one), one escalation per due date once it has passed. An
 * extension (or the clock starting) moves the timers. Resolves when `state.respondedOn` is set.
 */
export async function runDeadlineClock(opts: {
  state: DeadlineClockState;
  calendar: HolidayCalendar;
  /** ISO 8601 durations before the end of the due date. */
  reminderOffsets: readonly string[];
  remind(p: { dueOn: string; reminderAtMs: number }): Promise<void>;
  escalate(p: { dueOn: string }): Promise<void>;
}): Promise<void> {
  const { state, calendar } = opts;
  const sent = new Set<string>();
  let escalatedFor: string | undefined;
  const answered = () => state.respondedOn !== null;
  while (!answered()) {
    const dueOn = state.dueOn;
    if (dueOn === null) {
      await condition(() => answered() || state.dueOn !== null);
      continue;
    }
    const moved = () => answered() || state.dueOn !== dueOn;
    const dueEnd = endOfDayMs(dueOn, calendar.timeZone);
    const now = Date.now();
    if (now > dueEnd) {
      if (escalatedFor !== dueOn) {
        escalatedFor = dueOn;
        state.deadline.escalated = true;
        await opts.escalate({ dueOn });
      }
      await condition(moved);
      continue;
    }
    const pending = reminderInstants(dueEnd, [...opts.reminderOffsets])
      .filter((at) => !sent.has(`${dueOn}@${at}`))
      .sort((a, b) => a - b);
    const passed = pending.filter((at) => at <= now);
    if (passed.length > 0) {
      // Reminder instants already behind us (the clock started late, or an offset is longer than the period):
      // one reminder now stands for all of them.
      for (const at of passed) sent.add(`${dueOn}@${at}`);
      await opts.remind({ dueOn, reminderAtMs: passed.at(-1)! });
      state.deadline.remindersSent++;
      continue;
    }
    const next = Math.min(pending[0] ?? Number.POSITIVE_INFINITY, dueEnd + 1);
    await condition(moved, next - now);
  }
}

/**
 * Installs the handler of {@link extendDeadlineUpdate}: refused (with the rule) once answered, a second time, before
 * the clock started, or after the original period; otherwise `record` writes and notifies the extension, then the
 * due date moves (and with it the clock's timers). Call before the workflow's first await.
 */
export function installDeadlineExtension(opts: {
  state: DeadlineClockState;
  calendar: HolidayCalendar;
  record(p: { previousDueOn: string; dueOn: string } & ExtendDeadlineArgs): Promise<void>;
}): void {
  const { state, calendar } = opts;
  const regime = state.regime;
  let extending = false;
  setHandler(
    extendDeadlineUpdate,
    async ({ reason, reasonId, actor }) => {
      extending = true;
      const startedOn = state.clockStartedOn!;
      const previousDueOn = state.dueOn!;
      const dueOn = extendedDueDate(regime, startedOn, calendar);
      const decidedOn = todayIn(calendar);
      await opts.record({ previousDueOn, dueOn, reason, reasonId, actor });
      state.extension = { previousDueOn, dueOn, decidedOn };
      state.dueOn = dueOn; // the clock sees the change and moves its timers
      return { previousDueOn, dueOn };
    },
    {
      validator: (_args: ExtendDeadlineArgs) => {
        if (state.respondedOn !== null)
          refuseExtension({ rule: 'request_answered' }, 'the request has been answered already');
        if (extending)
          refuseExtension(
            { rule: 'already_extended' },
            `the deadline has been extended already; ${RULE_SOURCES[regime]} allows one extension`,
          );
        const startedOn = state.clockStartedOn;
        if (startedOn === null || state.dueOn === null)
          refuseExtension(
            { rule: 'clock_not_started' },
            'the period has not started (UK GDPR Art. 12A: it starts when identity is confirmed): nothing to extend yet',
          );
        if (!canExtendOn(regime, startedOn, todayIn(calendar), calendar)) {
          const end = originalPeriodEnd(regime, startedOn);
          refuseExtension(
            { rule: 'within_original_period', originalPeriodEnd: end },
            `${RULE_SOURCES[regime]}: an extension must be decided and notified within the original period, which ` +
              `ended on ${end}`,
          );
        }
      },
    },
  );
}

/** What {@link installIdentityConfirmation} keeps: the link sent, and the confirmation once it came. */
export interface IdentityConfirmation {
  /** Set by the workflow (before the verification email leaves) to the id of the link it sends. */
  linkId?: string;
  /** Set by the update once the link was used. */
  confirmed?: { linkId: string; verifiedOn: string };
}

/**
 * Installs the handler of {@link confirmIdentityUpdate}: accepted once, while `awaiting()` and for the link this
 * request sent; under UK GDPR the clock starts now. Call before the workflow's first await.
 */
export function installIdentityConfirmation(opts: {
  state: DeadlineClockState & { verified: boolean };
  calendar: HolidayCalendar;
  identity: IdentityConfirmation;
  awaiting(): boolean;
}): void {
  const { state, calendar, identity } = opts;
  const refuse = (message: string): never => {
    throw ApplicationFailure.create({ type: CONFIRMATION_REFUSED, message, nonRetryable: true });
  };
  setHandler(
    confirmIdentityUpdate,
    ({ linkId }) => {
      const verifiedOn = todayIn(calendar);
      identity.confirmed = { linkId, verifiedOn };
      if (state.dueOn === null) {
        // UK GDPR "stop the clock": the period starts now.
        state.clockStartedOn = verifiedOn;
        state.dueOn = responseDueDate(state.regime, verifiedOn, calendar);
      }
      state.verified = true;
      return { verifiedOn, dueOn: state.dueOn };
    },
    {
      validator: ({ linkId }) => {
        if (!opts.awaiting() || identity.confirmed !== undefined)
          refuse('the request is not waiting for identity confirmation');
        if (linkId !== identity.linkId) refuse('the link is not the one sent for this request');
      },
    },
  );
}
