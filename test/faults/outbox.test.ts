/**
 * Record before the side effect (activities/outbox.ts), with worker processes stopped at the exact points:
 * `subprocessor.after-answer` (a subprocessor answered a tenant registration, its receipt is not stored) and
 * `email.after-accept` (the SMTP server accepted a welcome email, it is not recorded). Each worker kills itself there
 * (SIGKILL); a replacement finishes the batch. Afterwards: every customer onboarded once, one effective registration
 * per idempotency key (the retry heard 409 "already done" for the same key), one distinct Message-ID per welcome email
 * (the one resend carries the same Message-ID), every outbox intent completed, one audit event per fact.
 */
import { emailsByMessageId } from './support/checks';
import { startFaultStack, type FaultStack } from './support/fault-stack';
import { reportFigures, secondsSince } from './support/figures';
import {
  expectedOnboardingEndState,
  onboardingEndState,
  submitOnboardings,
  waitForOnboardings,
} from './support/onboardings';
import { waitForKilled } from './support/processes';

const BATCH = 6;
let stack: FaultStack;

beforeAll(async () => {
  stack = await startFaultStack({ name: 'outbox', api: true });
});
afterAll(async () => {
  await stack?.stop();
});

test('workers killed between a side effect and its record: one effective call per key, one Message-ID per email', async () => {
  const started = Date.now();
  // 1. Dies as it is about to store the 4th registration receipt.
  const first = await stack.startWorker({ faultPoints: 'subprocessor.after-answer=kill@4' });
  const onboardings = await submitOnboardings(stack, BATCH);
  await waitForKilled(first, 300_000);
  const killedAfterAnswer = secondsSince(started);

  // 2. Dies as it is about to record the 2nd welcome email the SMTP server accepted.
  const second = await stack.startWorker({ faultPoints: 'email.after-accept=kill@2' });
  await waitForKilled(second, 300_000);
  const killedAfterAccept = secondsSince(started);

  // 3. Finishes the batch.
  await stack.startWorker();
  await waitForOnboardings(stack, onboardings);
  const state = await onboardingEndState(stack, onboardings);
  const intents = await stack.db('outbox_intents').select('key', 'kind', 'attempts', 'completed_at');
  const openIntents = intents.filter((i) => i.completed_at === null).map((i) => i.key);
  const resentIntents = intents.filter((i) => i.attempts > 1).map((i) => i.key);
  const mail = emailsByMessageId(stack.smtp);
  reportFigures('outbox', {
    seconds: secondsSince(started),
    onboardings: BATCH,
    killedAfterAnswerAtSeconds: killedAfterAnswer,
    killedAfterAcceptAtSeconds: killedAfterAccept,
    intents: intents.length,
    resentIntents: resentIntents.length,
    emails: mail.emails,
    ...state,
  });

  expect(state).toEqual(expect.objectContaining(expectedOnboardingEndState(BATCH)));
  // The email killed after acceptance was sent again, with the same Message-ID: the one duplicate allowed.
  expect(state.welcomeRedeliveries).toBeGreaterThanOrEqual(1);
  expect(Object.values(mail.duplicates).every((n) => n <= 2)).toBe(true);
  // The registration killed after its answer was asked again with the same key, and did not take effect twice.
  expect(state.tenantCalls).toBeGreaterThan(state.tenantKeys);
  expect(openIntents).toEqual([]);
  expect(resentIntents.length).toBeGreaterThanOrEqual(2);
});
