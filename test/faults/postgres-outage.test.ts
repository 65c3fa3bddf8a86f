/**
 * The application's PostgreSQL (a private cluster) stopped with `pg_ctl stop -m immediate` for 25 s in the middle of
 * a batch of onboardings, then started again. Workers and the API keep running: activities fail while the database is
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
import { waitUntil } from './support/processes';

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

  // Stop once a quarter of the batch has its customer recorded: the rest are at every step from recording to welcome.
  const recordedAtStop = await waitUntil(
    'a quarter of the customers recorded',
    async () => {
      const [row] = await stack.db('customers').count<{ n: string }[]>({ n: '*' });
      const n = Number(row!.n);
      return n >= BATCH / 4 ? n : undefined;
    },
    { timeoutMs: 300_000, intervalMs: 50 },
  );
  const stoppedAt = Date.now();
  stack.postgres.stop('immediate');
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
    recordedAtStop,
    workersAlive: stack.workers.filter((w) => !w.hasExited()).length,
    ...state,
  });
  expect(state).toEqual(expect.objectContaining(expectedOnboardingEndState(BATCH)));
  // Nobody had to restart a process: the worker that saw the outage finished the batch.
  expect(stack.workers.filter((w) => !w.hasExited())).toHaveLength(1);
});
