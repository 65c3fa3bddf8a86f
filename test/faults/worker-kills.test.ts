/**
 * Worker `kill -9` during a batch of onboardings: three kills, each at a moment the outside world can see, chosen so
 * that each hits a different step between a side effect and its record: right after a subprocessor answered a tenant
 * registration (before the receipt is stored), right after the SMTP server accepted a welcome email (before it is
 * recorded), and while customers are being activated. A replacement worker starts after each kill. Afterwards every
 * customer is onboarded once, with one effective registration per idempotency key, one welcome email per customer
 * and one audit event per fact in an intact audit chain.
 */
import { startFaultStack, type FaultStack } from './support/fault-stack';
import { reportFigures, secondsSince } from './support/figures';
import {
  expectedOnboardingEndState,
  onboardingEndState,
  submitOnboardings,
  waitForOnboardings,
} from './support/onboardings';
import { killHard, killNow, waitUntil, type ServiceProcess } from './support/processes';

const BATCH = 12;
let stack: FaultStack;

beforeAll(async () => {
  stack = await startFaultStack({ name: 'worker-kills', api: true });
});
afterAll(async () => {
  await stack?.stop();
});

test('three worker kill -9s during a batch of onboardings: each customer onboarded once, one registration per key', async () => {
  const started = Date.now();
  let worker: ServiceProcess = await stack.startWorker();
  const onboardings = await submitOnboardings(stack, BATCH);
  const kills: { at: string; afterSeconds: number }[] = [];

  // The kill is sent from inside the fake's callback, synchronously, before the fake answers: the worker dies in the
  // instant after the side effect happened and before it could learn of it (let alone record it).
  const killAndReplace = async (at: string, armed: Promise<unknown>) => {
    await armed;
    await killHard(worker);
    kills.push({ at, afterSeconds: secondsSince(started) });
    worker = await stack.startWorker();
  };
  const tenantCalls = () => stack.sim.calls({ path: '/v1/tenants' }).length;
  const welcomes = () => stack.smtp.messages().filter((m) => m.subject.startsWith('Welcome: ')).length;

  // 1. As the 4th tenant registration is answered: the subprocessor registered it, its receipt is not stored.
  await killAndReplace(
    'as the 4th tenant registration was answered',
    stack.sim.waitForCall((c) => c.path === '/v1/tenants' && tenantCalls() >= 4 && (killNow(worker), true), {
      timeoutMs: 300_000,
    }),
  );

  // 2. As the SMTP server accepts the 2nd welcome email after the first kill: sent, not recorded.
  const welcomesBefore = welcomes();
  await killAndReplace(
    `as welcome email ${welcomesBefore + 2} was accepted`,
    stack.smtp.waitFor(
      (m) => m.subject.startsWith('Welcome: ') && welcomes() >= welcomesBefore + 2 && (killNow(worker), true),
      {
        timeoutMs: 300_000,
      },
    ),
  );

  // 3. While customers are being activated: as soon as the first one is (polled, so at a point in between).
  const active = await waitUntil(
    'the first customer activated',
    async () => {
      const [row] = await stack.db('customers').where({ status: 'active' }).count<{ n: string }[]>({ n: '*' });
      const n = Number(row!.n);
      return n >= 1 ? n : undefined;
    },
    { timeoutMs: 300_000, intervalMs: 20 },
  );
  await killAndReplace(`with ${active} of ${BATCH} customers active`, Promise.resolve());

  await waitForOnboardings(stack, onboardings);
  const state = await onboardingEndState(stack, onboardings);
  reportFigures('worker-kills', { seconds: secondsSince(started), onboardings: BATCH, kills, ...state });
  expect(state).toEqual(expect.objectContaining(expectedOnboardingEndState(BATCH)));
});
