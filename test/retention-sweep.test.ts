/**
 * The rolling retention sweep on the real dev server and PostgreSQL: it deletes exactly the rows older than their
 * category's period, except those of a customer under a legal hold for that category, deletes orders whose statutory
 * retention has passed, and records counts per category with the policy version applied. The schedule that runs it
 * is created idempotently (overlap SKIP, catch-up window) and only when asked for.
 *
 * Every sweep here is restricted to this file's customers: the database is shared with other test files.
 */
import { randomUUID } from 'node:crypto';
import { ScheduleNotFoundError } from '@temporalio/client';
import { auditEvents } from '../db/repositories/audit-events';
import type { DataCategory } from '../lib/pure/data-categories';
import {
  auditVerifyScheduleId,
  contractEndCheckScheduleId,
  requestStartReconcilerScheduleId,
  retentionSweepScheduleId,
} from '../lib/pure/temporal-ids';
import { ensureSchedules } from '../workers/schedules';
import type { retentionSweepWorkflow } from '../workflows/retention-sweep';
import { approvedBySecond } from './support/approvals';
import { startTestStack, type TestStack } from './support/test-stack';

let stack: TestStack;
const policySet = `test-sweep-${randomUUID().slice(0, 8)}`;

beforeAll(async () => {
  // A small batch size, so that every category takes several batches.
  stack = await startTestStack({
    name: 'retention-sweep',
    env: { RETENTION_POLICY_SET: policySet, RETENTION_SWEEP_BATCH_SIZE: '4' },
  });
  for (const category of ['authentication_logs', 'api_access_logs', 'communication_records'] as const) {
    // Shortening waits for a second privacy officer (README "Approvals"): approved here by a colleague.
    const res = await approvedBySecond(
      stack,
      await stack.http(
        'PUT',
        `/v1/retention-policies/${category}`,
        { period: 'PT1H', clockStart: 'record_creation', legalBasis: 'Test: one hour of rolling records.' },
        {},
        'privacy_officer',
      ),
    );
    expect(res.body).toMatchObject({ version: 2, period: 'PT1H' });
  }
});
afterAll(async () => {
  await stack?.stop();
});

const ago = (ms: number) => new Date(Date.now() - ms);
const HOUR = 3600_000;

/** A customer row with nothing else: the sweep needs only owners for its rows. */
async function customer(): Promise<string> {
  const id = randomUUID();
  await stack.db('customers').insert({
    id,
    company_name: `Sweep Test ${id.slice(0, 8)} GmbH`,
    registration_number: `HRB S${id.slice(0, 8)}`,
    country: 'DE',
    privacy_regime: 'gdpr',
    status: 'active',
  });
  return id;
}

/** `old` rows two hours old (past the one-hour period) and `fresh` rows ten minutes old, in each rolling table. */
async function rollingRows(customerId: string, old: number, fresh: number): Promise<void> {
  const times = [...Array(old).fill(2 * HOUR), ...Array(fresh).fill(10 * 60_000)].map((ms: number) => ago(ms));
  await stack.db('authentication_logs').insert(
    times.map((t) => ({
      customer_id: customerId,
      event: 'login_succeeded',
      ip_address: '192.0.2.1',
      occurred_at: t,
    })),
  );
  await stack.db('api_access_logs').insert(
    times.map((t) => ({
      customer_id: customerId,
      method: 'GET',
      path: '/v1/orders',
      status_code: 200,
      occurred_at: t,
    })),
  );
  await stack.db('communication_records').insert(
    times.map((t) => ({
      customer_id: customerId,
      channel: 'email',
      direction: 'inbound',
      kind: 'support',
      occurred_at: t,
    })),
  );
}

/** Orders: `expired` with retain_until passed, `retained` with retain_until ahead, `plain` without a mark. */
async function orders(customerId: string, expired: number, retained: number, plain: number): Promise<void> {
  const marks = [
    ...Array(expired).fill(ago(60_000)),
    ...Array(retained).fill(new Date(Date.now() + 365 * 24 * HOUR)),
    ...Array(plain).fill(null),
  ];
  await stack.db('orders').insert(
    marks.map((retainUntil: Date | null, i) => ({
      customer_id: customerId,
      marketplace: 'amazon',
      external_order_id: `O-${customerId.slice(0, 8)}-${i}`,
      status: 'delivered',
      total_amount: '19.99',
      currency: 'EUR',
      ordered_at: ago(400 * 24 * HOUR),
      retain_until: retainUntil,
      retention_reason: retainUntil ? 'tax law: invoiced order kept as an accounting record' : null,
    })),
  );
}

async function hold(customerId: string, categories: DataCategory[] | null): Promise<void> {
  await stack.db('legal_holds').insert({
    id: randomUUID(),
    customer_id: customerId,
    categories,
    reason: 'litigation (test)',
    reference: `CASE-${customerId.slice(0, 8)}`,
    placed_by: 'staff:test',
  });
}

async function count(table: string, customerId: string): Promise<number> {
  const [row] = await stack.db(table).where({ customer_id: customerId }).count<{ count: string }[]>({ count: '*' });
  return Number(row!.count);
}

async function counts(customerId: string) {
  return {
    authentication_logs: await count('authentication_logs', customerId),
    api_access_logs: await count('api_access_logs', customerId),
    communication_records: await count('communication_records', customerId),
    orders: await count('orders', customerId),
  };
}

async function sweep(customerIds: string[]) {
  return stack.client.workflow.execute<typeof retentionSweepWorkflow>('retentionSweepWorkflow', {
    taskQueue: stack.taskQueue,
    workflowId: `retention-sweep-test-${randomUUID()}`,
    args: [{ customerIds }],
  });
}

describe('the rolling retention sweep', () => {
  it('deletes exactly the expired rows, keeps what a legal hold covers, and records counts with policy versions', async () => {
    const free = await customer();
    const heldForLogins = await customer();
    const heldForOrders = await customer();
    for (const id of [free, heldForLogins, heldForOrders]) {
      await rollingRows(id, 9, 3);
      await orders(id, 5, 2, 1);
    }
    await hold(heldForLogins, ['authentication_logs']);
    await hold(heldForOrders, ['orders']);

    const summary = await sweep([free, heldForLogins, heldForOrders]);

    expect(await counts(free)).toEqual({
      authentication_logs: 3,
      api_access_logs: 3,
      communication_records: 3,
      orders: 3,
    });
    // The login hold keeps every login row of that customer, and nothing else of it.
    expect(await counts(heldForLogins)).toEqual({
      authentication_logs: 12,
      api_access_logs: 3,
      communication_records: 3,
      orders: 3,
    });
    expect(await counts(heldForOrders)).toEqual({
      authentication_logs: 3,
      api_access_logs: 3,
      communication_records: 3,
      orders: 8,
    });
    // Orders are on the contract-end clock: the sweep left unmarked ones alone and kept future marks.
    expect(await stack.db('orders').where({ customer_id: free }).whereNull('retain_until')).toHaveLength(1);

    expect(summary.categories).toMatchObject({
      authentication_logs: { deleted: 18, policyVersion: 2, period: 'PT1H' },
      api_access_logs: { deleted: 27, policyVersion: 2, period: 'PT1H' },
      communication_records: { deleted: 27, policyVersion: 2, period: 'PT1H' },
    });
    expect(summary.statutory.orders).toMatchObject({ deleted: 10 });
    expect(summary.skipped).toEqual(expect.arrayContaining(['export_archives', 'audit_log']));

    const [event] = (await auditEvents.list(stack.db, { action: 'retention.swept' })).filter(
      (e) => e.subjectId === summary.sweepId,
    );
    expect(event).toMatchObject({
      actor: 'system:retention',
      details: {
        policySet,
        customerIds: [free, heldForLogins, heldForOrders],
        categories: { authentication_logs: { deleted: 18, policyVersion: 2 } },
        statutory: { orders: { deleted: 10 } },
      },
    });
    expect(String(event!.id)).toBe(String(summary.auditEventId));
  });

  it('runs on a schedule that is created once, skips overlaps, catches up, and exists only when asked for', async () => {
    const scheduleId = retentionSweepScheduleId(stack.taskQueue);
    // The test stack does not create it unless asked.
    await expect(stack.client.schedule.getHandle(scheduleId).describe()).rejects.toBeInstanceOf(ScheduleNotFoundError);

    const id = await customer();
    await rollingRows(id, 2, 1);
    // The contract-end check schedule comes along; restricted to no customer, it starts nothing in the shared database.
    const opts = {
      sweep: { customerIds: [id] },
      sweepIntervalMs: 1000,
      contractEndCheck: { customerIds: [] },
      startReconciler: { requestIds: [] },
    };
    const checkScheduleId = contractEndCheckScheduleId(stack.taskQueue);
    const reconcilerScheduleId = requestStartReconcilerScheduleId(stack.taskQueue);
    // The audit chain verification schedule comes along too (workers/schedules.ts).
    const auditScheduleId = auditVerifyScheduleId(stack.taskQueue);
    try {
      expect(await ensureSchedules(stack.client, stack.config, opts)).toEqual({
        retentionSweep: { scheduleId, created: true },
        contractEndCheck: { scheduleId: checkScheduleId, created: true },
        startReconciler: { scheduleId: reconcilerScheduleId, created: true },
        auditVerify: { scheduleId: auditScheduleId, created: true },
      });
      expect(await ensureSchedules(stack.client, stack.config, opts)).toEqual({
        retentionSweep: { scheduleId, created: false },
        contractEndCheck: { scheduleId: checkScheduleId, created: false },
        startReconciler: { scheduleId: reconcilerScheduleId, created: false },
        auditVerify: { scheduleId: auditScheduleId, created: false },
      });
      const described = await stack.client.schedule.getHandle(scheduleId).describe();
      expect(described.policies).toMatchObject({
        overlap: 'SKIP',
        catchupWindow: stack.config.retention.sweepCatchupWindowMs,
      });
      expect(described.action).toMatchObject({ workflowType: 'retentionSweepWorkflow', taskQueue: stack.taskQueue });

      // One sweep deletes the categories one after another: wait for the last of them, not the first.
      const swept = { authentication_logs: 1, api_access_logs: 1, communication_records: 1 };
      const done = async () => {
        const now = await counts(id);
        return Object.entries(swept).every(([table, n]) => now[table as keyof typeof now] === n);
      };
      for (let i = 0; i < 150 && !(await done()); i++) await new Promise((r) => setTimeout(r, 200));
      expect(await counts(id)).toMatchObject(swept);
    } finally {
      await stack.client.schedule.getHandle(scheduleId).delete();
      await stack.client.schedule.getHandle(checkScheduleId).delete();
      await stack.client.schedule.getHandle(reconcilerScheduleId).delete();
      await stack.client.schedule.getHandle(auditScheduleId).delete();
    }
  });
});
