/**
 * Record before the side effect: emails and subprocessor calls go through the outbox (activities/outbox.ts). The
 * activities run in Temporal's mock activity context against the real PostgreSQL, a real SMTP sink and the
 * subprocessor simulator over signed HTTP; a fault point armed in this process (lib/fault-points.ts, `throw`) stops an
 * attempt exactly between the side effect and its record, as a crash or a database error there would, and the
 * activity is then run again, as Temporal's retry would.
 */
import { randomUUID } from 'node:crypto';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createOnboardingActivities, type OnboardingStep } from '../activities/onboarding';
import { createRequestNotices } from '../activities/request-notices';
import { createDb, type Db } from '../db/connection';
import { auditEvents } from '../db/repositories/audit-events';
import { subprocessors } from '../db/repositories/subprocessors';
import { armFaultPoints, FaultInjected } from '../lib/fault-points';
import { createMailer, type Mailer } from '../lib/mailer';
import { createSubprocessorClient } from '../lib/subprocessor-client';
import { seedDemoCustomer } from '../scripts/seed-demo-customer';
import { startSmtpSink, type SmtpSink } from './fakes/smtp-sink';
import { startSubprocessorSimulator, type SubprocessorSimulator } from './fakes/subprocessor-simulator';
import { TEST_OUTBOUND_POLICY } from './support/test-outbound';

let db: Db;
let smtp: SmtpSink;
let sim: SubprocessorSimulator;
let mailer: Mailer;
const secret = `secret-${randomUUID().slice(0, 8)}`;

beforeAll(async () => {
  db = createDb(process.env.TEST_DATABASE_URL!, 3);
  smtp = await startSmtpSink();
  sim = await startSubprocessorSimulator({ defaultSecret: secret });
  mailer = createMailer({ url: smtp.url, from: 'Privacy Team <privacy@example.com>' });
});
afterEach(() => armFaultPoints(''));
afterAll(async () => {
  armFaultPoints('');
  mailer?.close();
  await sim?.stop();
  await smtp?.stop();
  await db?.destroy();
});

const onboarding = () =>
  createOnboardingActivities({
    db,
    mailer,
    subprocessorClient: createSubprocessorClient({ timeoutMs: 5000, outbound: TEST_OUTBOUND_POLICY }),
    config: { defaultPrivacyRegime: 'gdpr' },
  });

/** Runs `fn` as attempt `attempt` of an activity (MockActivityEnvironment supplies the activity context). */
const attempt = <R>(n: number, fn: () => Promise<R>) =>
  new MockActivityEnvironment({ attempt: n }).run<[], R, () => Promise<R>>(fn);

/** A seeded customer with a primary contact, as a step of its onboarding. */
async function seededStep(): Promise<OnboardingStep> {
  const { customerId } = await seedDemoCustomer(db, { operationalRows: 0, technicalRows: 0, communicationRows: 0 });
  return { requestId: randomUUID(), customerId, workflowId: `onboarding-${customerId}` };
}

const mailWithId = (messageId: string) => smtp.messages().filter((m) => m.messageId === messageId);

describe('an email goes through the outbox', () => {
  it('when the attempt dies after the SMTP server accepted it, the retry resends the SAME Message-ID and records it once', async () => {
    const step = await seededStep();
    const key = `welcome-${step.customerId}`;
    const messageId = `<${key}@data-lifecycle.local>`;

    armFaultPoints('email.after-accept=throw');
    await expect(attempt(1, () => onboarding().sendWelcomeEmail(step))).rejects.toBeInstanceOf(FaultInjected);
    // Sent, not recorded: the intent is open, nothing else is written.
    expect(mailWithId(messageId)).toHaveLength(1);
    expect(await db('outbox_intents').where({ key }).first()).toMatchObject({
      kind: 'email',
      message_id: messageId,
      attempts: 1,
      completed_at: null,
    });
    expect(await db('communication_records').where({ dedupe_key: key })).toHaveLength(0);
    expect(await auditEvents.list(db, { customerId: step.customerId, action: 'notification.welcome_sent' })).toEqual(
      [],
    );

    armFaultPoints('');
    expect(await attempt(2, () => onboarding().sendWelcomeEmail(step))).toEqual({ alreadySent: false, messageId });
    // The only duplicate is the one of the crash instant, and it carries the same Message-ID.
    expect(mailWithId(messageId)).toHaveLength(2);
    expect(
      new Set(
        smtp
          .messages()
          .filter((m) => m.messageId?.includes(step.customerId))
          .map((m) => m.messageId),
      ),
    ).toEqual(new Set([messageId]));

    // Completed: a third run sends nothing and writes nothing.
    expect(await attempt(3, () => onboarding().sendWelcomeEmail(step))).toEqual({ alreadySent: true, messageId });
    expect(mailWithId(messageId)).toHaveLength(2);
    expect(await db('outbox_intents').where({ key }).first()).toMatchObject({
      attempts: 2,
      completed_at: expect.any(Date),
      result: { messageId },
    });
    expect(await db('communication_records').where({ dedupe_key: key })).toHaveLength(1);
    const events = await auditEvents.list(db, { customerId: step.customerId, action: 'notification.welcome_sent' });
    expect(events).toHaveLength(1);
    expect(events[0]!.details).toMatchObject({ messageId });
    expect((await auditEvents.verify(db, { customerId: step.customerId })).ok).toBe(true);
  });

  it('a request notice killed between acceptance and record is sent once more with its Message-ID and audited once', async () => {
    const step = await seededStep();
    const notices = createRequestNotices({ db, mailer }, { actor: 'system:test', communicationKind: 'test' });
    const dedupeKey = `test-notice-${step.requestId}`;
    await db('lifecycle_requests').insert({
      id: step.requestId,
      type: 'access',
      customer_id: step.customerId,
      workflow_id: `access-request-${step.requestId}`,
      actor: 'staff:test',
      request_hash: 'x',
    });
    const notice = {
      kind: 'acknowledgement',
      dedupeKey,
      recipient: 'requester' as const,
      to: 'requester@example.com',
      mail: { subject: 'We received your request', text: 'Reference: test' },
      action: 'test.acknowledged',
    };

    armFaultPoints('email.after-accept=throw');
    await expect(attempt(1, () => notices.notify(step, notice))).rejects.toBeInstanceOf(FaultInjected);
    armFaultPoints('');
    const second = await attempt(2, () => notices.notify(step, notice));
    const third = await attempt(3, () => notices.notify(step, notice));

    expect(second).toEqual({ alreadySent: false, messageId: `<${dedupeKey}@data-lifecycle.local>` });
    expect(third).toEqual({ alreadySent: true, messageId: second.messageId });
    expect(mailWithId(second.messageId)).toHaveLength(2);
    expect(await db('request_notifications').where({ dedupe_key: dedupeKey })).toHaveLength(1);
    expect(await auditEvents.list(db, { requestId: step.requestId, action: 'test.acknowledged' })).toHaveLength(1);
  });

  it('while the SMTP server refuses, nothing is recorded as sent and the intent stays open for the retry', async () => {
    const step = await seededStep();
    const key = `welcome-${step.customerId}`;
    const dead = createOnboardingActivities({
      db,
      mailer: createMailer({ url: 'smtp://127.0.0.1:9', from: 'Privacy Team <privacy@example.com>' }),
      subprocessorClient: createSubprocessorClient({ timeoutMs: 1000, outbound: TEST_OUTBOUND_POLICY }),
      config: { defaultPrivacyRegime: 'gdpr' },
    });
    await expect(attempt(1, () => dead.sendWelcomeEmail(step))).rejects.toThrow();
    expect(await db('outbox_intents').where({ key }).first()).toMatchObject({ attempts: 1, completed_at: null });
    expect(await attempt(2, () => onboarding().sendWelcomeEmail(step))).toMatchObject({ alreadySent: false });
    expect(mailWithId(`<${key}@data-lifecycle.local>`)).toHaveLength(1);
  });
});

describe('a subprocessor call goes through the outbox', () => {
  async function customerWithSubprocessor(): Promise<OnboardingStep & { subprocessorId: string }> {
    const step = await seededStep();
    const subprocessorId = `crm-outbox-${randomUUID().slice(0, 8)}`;
    await subprocessors.upsert(db, {
      id: subprocessorId,
      name: 'CRM (simulated)',
      baseUrl: sim.baseUrlFor(subprocessorId),
      signingSecret: secret,
      categories: ['business_contact'],
    });
    await db('customer_subprocessors').insert({ customer_id: step.customerId, subprocessor_id: subprocessorId });
    return { ...step, subprocessorId };
  }

  it('killed between the answer and its receipt: the retry uses the same key, one effective call, one receipt, one event', async () => {
    const step = await customerWithSubprocessor();
    const key = `tenant-registration-${step.customerId}-${step.subprocessorId}`;

    armFaultPoints('subprocessor.after-answer=throw');
    await expect(attempt(1, () => onboarding().registerTenant(step))).rejects.toBeInstanceOf(FaultInjected);
    expect(await db('outbox_intents').where({ key }).first()).toMatchObject({
      kind: 'subprocessor_call',
      target: step.subprocessorId,
      completed_at: null,
    });
    armFaultPoints('');

    const receipt = await attempt(2, () => onboarding().registerTenant(step));
    // The subprocessor did it once; the retry heard "already done" for the same key, and that is what is kept.
    const calls = sim.calls({ subprocessorId: step.subprocessorId });
    expect(calls.map((c) => [c.status, c.idempotencyKey])).toEqual([
      [201, key],
      [409, key],
    ]);
    expect(receipt).toMatchObject({ status: 409, alreadyDone: true, idempotencyKey: key });

    // Completed: the next run makes no call and answers the kept receipt.
    expect(await attempt(3, () => onboarding().registerTenant(step))).toEqual(receipt);
    expect(sim.calls({ subprocessorId: step.subprocessorId })).toHaveLength(2);
    const link = await db('customer_subprocessors')
      .where({ customer_id: step.customerId, subprocessor_id: step.subprocessorId })
      .first();
    expect(link.registration_receipt).toEqual(receipt);
    expect(
      await auditEvents.list(db, { customerId: step.customerId, action: 'subprocessor.tenant_registered' }),
    ).toHaveLength(1);
  });

  it('a completed registration is never called again, so its first receipt (201) stays', async () => {
    const step = await customerWithSubprocessor();
    const first = await attempt(1, () => onboarding().registerTenant(step));
    expect(first).toMatchObject({ status: 201, alreadyDone: false });
    expect(await attempt(2, () => onboarding().registerTenant(step))).toEqual(first);
    expect(sim.calls({ subprocessorId: step.subprocessorId })).toHaveLength(1);
  });
});

describe('keyed audit appends', () => {
  it('a second append with the same idempotency key adds nothing and answers the first event', async () => {
    const { customerId } = await seededStep();
    const event = {
      actor: 'system:test',
      action: 'test.fact_recorded',
      subjectType: 'customer',
      subjectId: customerId,
      customerId,
      idempotencyKey: `test-fact-${customerId}`,
    };
    const first = await auditEvents.append(db, { ...event, details: { n: 1 } });
    const again = await auditEvents.append(db, { ...event, details: { n: 2 } });
    expect(again.id).toBe(first.id);
    expect(again.details).toEqual({ n: 1 });
    expect(await auditEvents.list(db, { customerId, action: 'test.fact_recorded' })).toHaveLength(1);
    // Unkeyed events are appended as before, and the chain verifies.
    await auditEvents.append(db, { ...event, idempotencyKey: undefined });
    expect(await auditEvents.list(db, { customerId, action: 'test.fact_recorded' })).toHaveLength(2);
    expect((await auditEvents.verify(db, { customerId })).ok).toBe(true);
  });
});
