/**
 * The per-customer retention lifecycle end to end: onboarding starts `retention-<customerId>`; it learns the contract
 * end (the date in the database, a contract change through the API, the termination process's signal), sleeps on
 * durable timers until each contract-end category's expiry and runs the erasure child for it; policy changes reach
 * it. Policies of seconds (orders PT2S, listings PT8S after contract end) in this file's own policy set.
 */
import { randomUUID } from 'node:crypto';
import { auditEvents } from '../db/repositories/audit-events';
import { retentionWorkflowId } from '../lib/pure/temporal-ids';
import { contractEndedSignal, retentionStatusQuery, type RetentionStatus } from '../workflows/retention';
import { onboardingBody } from './support/fixtures';
import { approvedBySecond } from './support/approvals';
import { startTestStack, type TestStack } from './support/test-stack';

let stack: TestStack;
const policySet = `test-lifecycle-${randomUUID().slice(0, 8)}`;

beforeAll(async () => {
  stack = await startTestStack({
    name: 'retention-lifecycle',
    env: { RETENTION_POLICY_SET: policySet, RETENTION_JITTER_MAX: 'PT1S', RETENTION_RECHECK_INTERVAL: 'PT5M' },
  });
  for (const [category, period] of [
    ['orders', 'PT2S'],
    ['listings', 'PT8S'],
  ] as const) {
    // Shortening waits for a second privacy officer (README "Approvals"): approved here by a colleague.
    const res = await approvedBySecond(
      stack,
      await stack.http(
        'PUT',
        `/v1/retention-policies/${category}`,
        { period, clockStart: 'contract_end', legalBasis: 'Test: seconds after the contract ends.' },
        {},
        'privacy_officer',
      ),
    );
    expect(res.body).toMatchObject({ version: 2, period });
  }
});
afterAll(async () => {
  await stack?.stop();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `probe` until `done` holds for its value (or gives up after ~60 s and returns the last value). */
async function eventually<T>(probe: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
  let value = await probe();
  for (let i = 0; i < 300 && !done(value); i++) {
    await sleep(200);
    value = await probe();
  }
  return value;
}

/** Onboards a customer without subprocessors and waits until onboarding completed. */
async function onboard(): Promise<string> {
  const res = await stack.http('POST', '/v1/customers', onboardingBody([]));
  expect(res.status).toBe(202);
  await stack.client.workflow.getHandle(res.body.workflowId).result();
  return res.body.customerId as string;
}

const retention = (customerId: string) => stack.client.workflow.getHandle(retentionWorkflowId(customerId));

/** The status once the lifecycle has read its context (and, optionally, once it satisfies `done`). */
async function status(
  customerId: string,
  done: (s: RetentionStatus) => boolean = () => true,
): Promise<RetentionStatus> {
  return eventually(
    async () => {
      try {
        return await retention(customerId).query(retentionStatusQuery);
      } catch {
        return undefined;
      }
    },
    (s) => s !== undefined && s.lastCheckedAt !== null && done(s),
  ) as Promise<RetentionStatus>;
}

async function count(table: string, customerId: string): Promise<number> {
  const [row] = await stack.db(table).where({ customer_id: customerId }).count<{ count: string }[]>({ count: '*' });
  return Number(row!.count);
}

describe('the per-customer retention lifecycle', () => {
  it('is started by onboarding and waits for the contract end date with a timer per contract-end category', async () => {
    const customerId = await onboard();
    const s = await status(customerId);

    // Fixture contract: ends on 2027-12-31, so the clock starts at 2028-01-01T00:00Z.
    expect(s).toMatchObject({ stage: 'waiting', policySet, contractEnd: '2028-01-01T00:00:00.000Z', runs: 1 });
    expect(s.categories.orders).toMatchObject({
      clockStart: 'contract_end',
      period: 'PT2S',
      policyVersion: 2,
      state: 'pending',
      expiresAt: '2028-01-01T00:00:02.000Z',
    });
    expect(Date.parse(s.categories.orders!.wakeAt!) - Date.parse(s.categories.orders!.expiresAt!)).toBe(s.jitterMs);
    expect(s.categories.authentication_logs).toMatchObject({ state: 'rolling' });
    expect(s.nextExpiry).toEqual({ at: s.categories.orders!.wakeAt, categories: ['orders'] });

    const described = await retention(customerId).describe();
    expect(described.status.name).toBe('RUNNING');
    expect(described.parentExecution?.workflowId).toBe(`onboarding-${customerId}`);

    const api = await stack.http('GET', `/v1/customers/${customerId}/retention`);
    expect(api.status).toBe(200);
    expect(api.body).toMatchObject({ workflowId: retentionWorkflowId(customerId), stage: 'waiting' });
  });

  it('erases each category at its own expiry after the contract end set through the API, orders before listings', async () => {
    const customerId = await onboard();
    await stack.db('orders').insert(
      [0, 1, 2, 3].map((i) => ({
        customer_id: customerId,
        marketplace: 'ebay',
        external_order_id: `L-${customerId.slice(0, 8)}-${i}`,
        status: i % 2 ? 'cancelled' : 'pending',
        total_amount: '5.00',
        currency: 'EUR',
        ordered_at: new Date(),
      })),
    );
    await stack.db('listings').insert(
      [0, 1, 2].map((i) => ({
        customer_id: customerId,
        sku: `SKU-${i}`,
        title: `Listing ${i}`,
        price: '9.90',
        currency: 'EUR',
        status: 'active',
      })),
    );
    await status(customerId);

    const endedAt = new Date().toISOString();
    // Ending the contract brings the erasure forward: it waits for a second privacy officer, approved here.
    const changed = await approvedBySecond(
      stack,
      await stack.http(
        'PUT',
        `/v1/customers/${customerId}/contract`,
        { endsOn: endedAt.slice(0, 10), endedAt },
        {},
        'privacy_officer',
      ),
    );
    expect(changed.status).toBe(200);
    expect(changed.body).toMatchObject({
      customerId,
      changed: true,
      contract: { endsOn: endedAt.slice(0, 10), endedAt },
      retention: { workflowId: retentionWorkflowId(customerId), notified: true },
    });

    // Row counts over time: orders go first, listings after them.
    const timeline: { orders: number; listings: number }[] = [];
    await eventually(
      async () => {
        const point = { orders: await count('orders', customerId), listings: await count('listings', customerId) };
        timeline.push(point);
        return point;
      },
      (p) => p.orders === 0 && p.listings === 0,
    );
    const ordersGone = timeline.findIndex((p) => p.orders === 0);
    const listingsGone = timeline.findIndex((p) => p.listings === 0);
    expect(ordersGone).toBeGreaterThanOrEqual(0);
    expect(listingsGone).toBeGreaterThanOrEqual(ordersGone);
    expect(timeline[0]).toEqual({ orders: 4, listings: 3 });

    // The lifecycle records each erasure once its child workflow has finished (after the rows are gone).
    const s = await status(customerId, (x) => x.categories.listings?.state === 'erased');

    // The audit trail: the contract change by the privacy officer, then each expiry and its erasure, in order.
    const events = await auditEvents.list(stack.db, { customerId });
    const retentionEvents = events
      .filter((e) => e.action.startsWith('retention.'))
      .map((e) => [e.action, (e.details as { categories: string[] }).categories]);
    expect(retentionEvents).toEqual([
      ['retention.expired', ['orders']],
      ['retention.erased', ['orders']],
      ['retention.expired', ['listings']],
      ['retention.erased', ['listings']],
    ]);
    const contractChange = events.find((e) => e.action === 'contract.changed');
    expect(contractChange?.actor).toMatch(/^staff:/);
    expect(contractChange?.details).toMatchObject({ endedAt: { from: null, to: endedAt } });
    const erased = events.filter((e) => e.action === 'retention.erased');
    expect(erased.map((e) => e.details)).toEqual([
      expect.objectContaining({
        policyVersions: { orders: 2 },
        tables: expect.objectContaining({ orders: 4 }),
        verified: true,
      }),
      expect.objectContaining({
        policyVersions: { listings: 2 },
        tables: expect.objectContaining({ listings: 3 }),
        verified: true,
      }),
    ]);

    // The erasures ran as children with reason retention; the customer's other data waits for its own expiry.
    expect(s).toMatchObject({ stage: 'waiting', contractEnd: endedAt });
    expect(s.categories.orders).toMatchObject({ state: 'erased', policyVersion: 2 });
    expect(s.categories.business_contact).toMatchObject({ state: 'pending', period: 'P90D' });
    expect(s.runs).toBeGreaterThanOrEqual(3); // continued as new after each erasure
    const childId = s.categories.orders!.erasureWorkflowId!;
    expect((await stack.client.workflow.getHandle(childId).describe()).status.name).toBe('COMPLETED');
    expect(await count('contacts', customerId)).toBeGreaterThan(0);
  });

  it('records the contract end the termination process signals and re-plans from it', async () => {
    const customerId = await onboard();
    await status(customerId);
    const endedAt = new Date(Date.now() - 60_000).toISOString();
    await retention(customerId).signal(contractEndedSignal, { endedAt, source: 'termination' });

    const s = await status(customerId, (x) => x.contractEnd === endedAt);
    expect(s.contractEnd).toBe(endedAt);
    const contract = await stack.db('contracts').where({ customer_id: customerId }).first();
    expect(contract.ended_at.toISOString()).toBe(endedAt);
    const [event] = await auditEvents.list(stack.db, { customerId, action: 'contract.ended' });
    expect(event).toMatchObject({ actor: 'system:termination', details: { endedAt, previousEndedAt: null } });
  });

  it('re-reads its policies when a policy changes', async () => {
    const customerId = await onboard();
    expect((await status(customerId)).categories.workflow_records).toMatchObject({ period: 'P90D', policyVersion: 1 });

    const res = await approvedBySecond(
      stack,
      await stack.http(
        'PUT',
        '/v1/retention-policies/workflow_records',
        { period: 'P1D', clockStart: 'contract_end', legalBasis: 'Test: automation rules kept a day.' },
        {},
        'privacy_officer',
      ),
    );
    expect(res.body).toMatchObject({ version: 2, changed: true, retentionWorkflowsNotified: true });
    const s = await status(customerId, (x) => x.categories.workflow_records?.policyVersion === 2);
    expect(s.categories.workflow_records).toMatchObject({
      period: 'P1D',
      policyVersion: 2,
      expiresAt: '2028-01-02T00:00:00.000Z',
    });
  });

  it('refuses invalid contract changes naming field and rule, and lets only the privacy officer make them', async () => {
    const customerId = await onboard();
    const put = (body: unknown, as: 'privacy_officer' | 'support' = 'privacy_officer') =>
      stack.http('PUT', `/v1/customers/${customerId}/contract`, body, {}, as);
    const future = await put({ endsOn: '2030-01-01', endedAt: new Date(Date.now() + 3600_000).toISOString() });
    expect(future.status).toBe(400);
    expect(future.body.errors).toContainEqual(expect.objectContaining({ field: 'body.endedAt', rule: 'in_future' }));
    const early = await put({ endsOn: '2025-12-31' });
    expect(early.status).toBe(400);
    expect(early.body.errors).toContainEqual(expect.objectContaining({ field: 'body.endsOn', rule: 'before_start' }));
    expect((await put({ endsOn: 'tomorrow' })).body.errors).toContainEqual(
      expect.objectContaining({ field: 'body.endsOn' }),
    );
    expect((await put({ endsOn: '2030-01-01' }, 'support')).status).toBe(403);
    const unknown = await stack.http(
      'PUT',
      `/v1/customers/${randomUUID()}/contract`,
      { endsOn: null },
      {},
      'privacy_officer',
    );
    expect(unknown.status).toBe(404);

    const contract = await stack.db('contracts').where({ customer_id: customerId }).first();
    expect({ endsOn: contract.ends_on, endedAt: contract.ended_at }).toEqual({ endsOn: '2027-12-31', endedAt: null });
    expect(await auditEvents.list(stack.db, { customerId, action: 'contract.changed' })).toHaveLength(0);
  });
});
