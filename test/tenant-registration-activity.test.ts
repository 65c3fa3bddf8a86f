/**
 * The tenant registration activity on its own, in Temporal's mock activity context (MockActivityEnvironment), against
 * the real PostgreSQL and the subprocessor simulator over signed HTTP: what a retried attempt does with the
 * subprocessor's "already done" answer. Cheaper than making a worker crash at the right moment on the full stack.
 */
import { randomUUID } from 'node:crypto';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createOnboardingActivities, type OnboardingStep } from '../activities/onboarding';
import { createDb, type Db } from '../db/connection';
import { subprocessors, type SubprocessorReceipt } from '../db/repositories/subprocessors';
import { seedDemoCustomer } from '../scripts/seed-demo-customer';
import { createMailer } from '../lib/mailer';
import { createSubprocessorClient } from '../lib/subprocessor-client';
import { startSubprocessorSimulator, type SubprocessorSimulator } from './fakes/subprocessor-simulator';
import { TEST_OUTBOUND_POLICY } from './support/test-outbound';

let db: Db;
let sim: SubprocessorSimulator;
const secret = `secret-${randomUUID().slice(0, 8)}`;

beforeAll(async () => {
  db = createDb(process.env.TEST_DATABASE_URL!, 2);
  sim = await startSubprocessorSimulator({ defaultSecret: secret });
});
afterAll(async () => {
  await sim?.stop();
  await db?.destroy();
});

const activities = () =>
  createOnboardingActivities({
    db,
    // Registration sends no mail; the mailer is never used here (nothing listens on this port).
    mailer: createMailer({ url: 'smtp://127.0.0.1:9', from: 'Privacy Team <privacy@example.com>' }),
    subprocessorClient: createSubprocessorClient({ timeoutMs: 2000, outbound: TEST_OUTBOUND_POLICY }),
    config: { defaultPrivacyRegime: 'gdpr' },
  });

/** A seeded customer linked to a simulated subprocessor, not registered yet. */
async function customerWithSubprocessor(): Promise<RegistrationStep> {
  const { customerId } = await seedDemoCustomer(db, { operationalRows: 0, technicalRows: 0, communicationRows: 0 });
  const subprocessorId = `crm-receipts-${randomUUID().slice(0, 8)}`;
  await subprocessors.upsert(db, {
    id: subprocessorId,
    name: 'CRM (simulated)',
    baseUrl: sim.baseUrlFor(subprocessorId),
    signingSecret: secret,
    categories: ['business_contact'],
  });
  await db('customer_subprocessors').insert({ customer_id: customerId, subprocessor_id: subprocessorId });
  return { requestId: randomUUID(), customerId, workflowId: `onboarding-${customerId}`, subprocessorId };
}

type RegistrationStep = OnboardingStep & { subprocessorId: string };

/** Runs one attempt of the registration activity in a mock activity context. */
const registerIn = (attempt: number, step: RegistrationStep) => {
  const acts = activities();
  return new MockActivityEnvironment({ attempt }).run<
    [RegistrationStep],
    SubprocessorReceipt,
    typeof acts.registerTenant
  >((s) => acts.registerTenant(s), step);
};

describe('registering a tenant', () => {
  it('when a retried attempt gets "already done" (409), the original receipt is kept and audited once', async () => {
    const step = await customerWithSubprocessor();
    const first = await registerIn(1, step);
    expect(first).toMatchObject({ status: 201, alreadyDone: false });

    // The worker died after the first attempt committed but before Temporal heard of it: the retry asks again.
    const retried = await registerIn(2, step);
    expect(retried).toEqual(first);

    const link = await db('customer_subprocessors')
      .where({ customer_id: step.customerId, subprocessor_id: step.subprocessorId })
      .first();
    expect(link.registration_receipt).toEqual(first);
    const audited = await db('audit_events').where({
      customer_id: step.customerId,
      action: 'subprocessor.tenant_registered',
    });
    expect(audited).toHaveLength(1);
    // One registration at the subprocessor; both calls carried the same idempotency key.
    const calls = sim.calls({ subprocessorId: step.subprocessorId, path: '/v1/tenants' });
    expect(new Set(calls.map((c) => c.idempotencyKey))).toEqual(new Set([first.idempotencyKey]));
  });
});

describe('activating the customer', () => {
  it('when the worker dies after the activation committed, the retried activity writes no second event', async () => {
    const { customerId } = await seedDemoCustomer(db, { operationalRows: 0, technicalRows: 0, communicationRows: 0 });
    const requestId = randomUUID();
    await db('lifecycle_requests').insert({
      id: requestId,
      type: 'onboarding',
      customer_id: customerId,
      status: 'running',
      stage: 'activating',
      workflow_id: `onboarding-${customerId}`,
      actor: 'staff:activation-test',
      request_hash: requestId,
    });
    const step = { requestId, customerId, workflowId: `onboarding-${customerId}`, receipts: {} };
    const acts = activities();
    for (const attempt of [1, 2]) {
      await new MockActivityEnvironment({ attempt }).run((s: typeof step) => acts.activateCustomer(s), step);
    }
    const events = await db('audit_events').where({ request_id: requestId, action: 'customer.activated' });
    expect(events).toHaveLength(1);
    expect(await db('lifecycle_requests').where({ id: requestId }).first()).toMatchObject({ status: 'completed' });
  });
});
