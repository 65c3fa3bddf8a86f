/**
 * The application's PostgreSQL (a private cluster) stopped with `pg_ctl stop -m immediate` for 25 s in the middle of
 * a batch of onboardings (as the SMTP server accepts a welcome email, so one email is sent and not yet recorded), then
 * started again. Workers and the API keep running: activities fail while the database is
 * away and are retried. Afterwards every onboarding has completed, each customer got one welcome email, each
 * subprocessor registration took effect once per idempotency key, and every fact has one audit event.
 */
import { startFaultStack, type FaultStack } from './support/fault-stack';
import { reportFigures, secondsSince } from './support/figures';
import {
  expectedOnboardingEndState,
  onboardingEndState,
  submitOnboardings,
  waitForOnboardings,
} from './support/onboardings';

const BATCH = 12;
const OUTAGE_MS = 25_000;
let stack: FaultStack;

beforeAll(async () => {
  stack = await startFaultStack({ name: 'postgres-outage', api: true });
});
afterAll(async () => {
  await stack?.stop();
});

test('PostgreSQL stopped for 25 s mid-batch: every onboarding completes, one welcome email per customer', async () => {
  const started = Date.now();
  await stack.startWorker();
  const onboardings = await submitOnboardings(stack, BATCH);

  // Stop as the SMTP server accepts the 3rd welcome email (before it answers, so the worker cannot have recorded it
  // yet): the other customers are at every step from recording to activation.
  let stoppedAt = 0;
  const welcomes = () => stack.smtp.messages().filter((m) => m.subject.startsWith('Welcome: ')).length;
  await stack.smtp.waitFor(
    (m) => {
      if (!m.subject.startsWith('Welcome: ') || welcomes() < 3) return false;
      stoppedAt = Date.now();
      stack.postgres.stop('immediate');
      return true;
    },
    { timeoutMs: 300_000 },
  );
  const welcomesAtStop = welcomes();
  await new Promise((r) => setTimeout(r, OUTAGE_MS));
  stack.postgres.start();
  const downSeconds = secondsSince(stoppedAt);
  const recoveredAt = Date.now();

  await waitForOnboardings(stack, onboardings);
  const state = await onboardingEndState(stack, onboardings);
  reportFigures('postgres-outage', {
    seconds: secondsSince(started),
    databaseDownSeconds: downSeconds,
    secondsToFinishAfterRestart: secondsSince(recoveredAt),
    onboardings: BATCH,
    welcomesAcceptedAtStop: welcomesAtStop,
    workersAlive: stack.workers.filter((w) => !w.hasExited()).length,
    ...state,
  });
  // One welcome email per customer: one Message-ID each. Emails the SMTP server had accepted but not yet answered when
  // the database went away cannot have been recorded; they are sent again after it returns, under the same Message-ID
  // (counted as `welcomeRedeliveries`), which is the one duplicate the design allows.
  expect(state).toEqual(expect.objectContaining(expectedOnboardingEndState(BATCH)));
  // Nobody had to restart a process: the worker that saw the outage finished the batch.
  expect(stack.workers.filter((w) => !w.hasExited())).toHaveLength(1);
});
