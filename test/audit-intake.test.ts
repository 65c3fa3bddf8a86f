/**
 * The audit intake (db/repositories/audit-intake.ts): an event recorded without the chain lock, committed with what
 * it describes, is chained into the audit log once (however often and however concurrently it is chained), at the
 * instant it was recorded; an altered row is refused, not chained; the chains verify throughout.
 *
 * As the service's role (TEST_DATABASE_URL): what the intake needs, the service may do. The test database is shared
 * with other files appending at the same time: assertions name this file's own keys.
 */
import { randomUUID } from 'node:crypto';
import { createDb, type Db } from '../db/connection';
import { auditEvents } from '../db/repositories/audit-events';
import { auditIntake, type IntakeEvent } from '../db/repositories/audit-intake';

let db: Db;
let admin: Db;

beforeAll(() => {
  db = createDb(process.env.TEST_DATABASE_URL!, 10);
  admin = createDb(process.env.TEST_DATABASE_ADMIN_URL!, 2);
});
afterAll(async () => {
  await db?.destroy();
  await admin?.destroy();
});

function requested(customerId: string): IntakeEvent {
  const requestId = randomUUID();
  return {
    actor: 'staff:intake-test',
    action: 'onboarding.requested',
    subjectType: 'lifecycle_request',
    subjectId: requestId,
    customerId,
    requestId,
    workflowId: `onboarding-${customerId}`,
    details: { requestHash: 'a'.repeat(64), subprocessors: ['crm'], idempotencyKey: null },
    idempotencyKey: `requested:${requestId}`,
  };
}

async function recordCommitted(event: IntakeEvent): Promise<Date> {
  await db.transaction((trx) => auditIntake.record(trx, event));
  const row = await db('audit_intake').where({ idempotency_key: event.idempotencyKey }).first();
  return row.recorded_at as Date;
}

async function chained(key: string) {
  return db('audit_events').where({ idempotency_key: key }).select('*');
}

it('a recorded event rolls back with its transaction: nothing waits in the intake, nothing is chained', async () => {
  const event = requested(randomUUID());
  await expect(
    db.transaction(async (trx) => {
      await auditIntake.record(trx, event);
      throw new Error('the request could not be recorded');
    }),
  ).rejects.toThrow('the request could not be recorded');
  expect(await db('audit_intake').where({ idempotency_key: event.idempotencyKey })).toHaveLength(0);
  expect(await auditIntake.chain(db, event.idempotencyKey)).toBe('gone');
  expect(await chained(event.idempotencyKey)).toHaveLength(0);
});

it('a committed event is chained once, at the instant it was recorded, and leaves the intake', async () => {
  const customerId = randomUUID();
  const event = requested(customerId);
  const recordedAt = await recordCommitted(event);

  expect(await auditIntake.chain(db, event.idempotencyKey)).toBe('chained');
  expect(await auditIntake.chain(db, event.idempotencyKey)).toBe('gone');
  const [row] = await chained(event.idempotencyKey);
  expect(row).toMatchObject({
    action: 'onboarding.requested',
    actor: 'staff:intake-test',
    customer_id: customerId,
    request_id: event.requestId,
    details: event.details,
  });
  // The chain's own clock never runs backwards, so the event occurs at its recording or, if later, at the head.
  expect((row.occurred_at as Date).getTime()).toBeGreaterThanOrEqual(recordedAt.getTime() - 1);
  expect(await db('audit_intake').where({ idempotency_key: event.idempotencyKey })).toHaveLength(0);
  expect(await auditEvents.verify(db, { customerId })).toMatchObject({ ok: true, checked: 1 });
});

it('chained by the API and the reconciler at once, and recorded again by a replay: one event', async () => {
  const customerId = randomUUID();
  const event = requested(customerId);
  await recordCommitted(event);

  const [api, reconciler] = await Promise.all([
    auditIntake.chain(db, event.idempotencyKey),
    auditIntake.chain(db, event.idempotencyKey),
    auditIntake.chainBacklog(db, new Date(Date.now() + 60_000), 1000),
  ]);
  expect([api, reconciler].filter((o) => o === 'chained').length).toBeLessThanOrEqual(1);
  expect(await chained(event.idempotencyKey)).toHaveLength(1);
  // The same key recorded again after it was chained (a retried accept): chained again, appended nothing new.
  await recordCommitted(event);
  expect(await auditIntake.chain(db, event.idempotencyKey)).toBe('chained');
  expect(await chained(event.idempotencyKey)).toHaveLength(1);
  expect(await auditEvents.verify(db, { customerId })).toMatchObject({ ok: true, checked: 1 });
});

it('what a process left in the intake (it died after its commit) is chained by the backlog pass, oldest first', async () => {
  const events = [requested(randomUUID()), requested(randomUUID()), requested(randomUUID())];
  for (const e of events) await recordCommitted(e);
  const seen: string[] = [];
  const counts = await auditIntake.chainBacklog(db, new Date(Date.now() + 60_000), 1000, {
    onChained: (key) => seen.push(key),
  });
  expect(counts.chained).toBeGreaterThanOrEqual(3);
  const mine = seen.filter((k) => events.some((e) => e.idempotencyKey === k));
  expect(mine).toEqual(events.map((e) => e.idempotencyKey));
  for (const e of events) expect(await chained(e.idempotencyKey)).toHaveLength(1);
  // Rows recorded after the cut-off stay for the process that recorded them.
  const late = requested(randomUUID());
  await recordCommitted(late);
  await auditIntake.chainBacklog(db, new Date(Date.now() - 60_000), 1000);
  expect(await db('audit_intake').where({ idempotency_key: late.idempotencyKey })).toHaveLength(1);
  expect(await auditIntake.waiting(db, new Date(Date.now() + 60_000), 10_000)).toContainEqual({
    key: late.idempotencyKey,
    action: 'onboarding.requested',
    recordedAt: expect.any(Date),
  });
  expect(await auditIntake.chain(db, late.idempotencyKey)).toBe('chained');
});

it('a row altered before it is chained is refused: audit.intake_refused is appended instead of the altered event', async () => {
  const customerId = randomUUID();
  const event = requested(customerId);
  await recordCommitted(event);
  // An insider rewrites who asked, as the database's superuser could.
  await admin('audit_intake')
    .where({ idempotency_key: event.idempotencyKey })
    .update({ event: JSON.stringify({ ...event, idempotencyKey: undefined, actor: 'staff:someone-else' }) });

  expect(await auditIntake.chain(db, event.idempotencyKey)).toBe('refused');
  expect(await chained(event.idempotencyKey)).toHaveLength(0);
  const [refusal] = await chained(`intake_refused:${event.idempotencyKey}`);
  expect(refusal).toMatchObject({
    action: 'audit.intake_refused',
    subject_type: 'audit_intake',
    subject_id: event.idempotencyKey,
    customer_id: null,
    details: { reason: 'mac_mismatch' },
  });
  expect(await db('audit_intake').where({ idempotency_key: event.idempotencyKey })).toHaveLength(0);
});
