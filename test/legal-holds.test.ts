/**
 * Legal holds: the API (place, list, read, release; validation; audit), and their effect on erasure on the real dev
 * server and PostgreSQL: a hold suspends exactly the deletions it covers, visibly, and the deletion proceeds when it
 * is released (by signal, or by the periodic re-check when no signal comes); a hold placed mid-erasure stops it after
 * the batch in flight. Also the SQL helpers the rolling sweep uses to respect holds.
 */
import type { WorkflowHandle } from '@temporalio/client';
import fc from 'fast-check';
import { auditEvents } from '../db/repositories/audit-events';
import { activeHoldCovers, heldCategories, legalHolds } from '../db/repositories/legal-holds';
import { seedDemoCustomer } from '../scripts/seed-demo-customer';
import { hashToken } from '../db/repositories/staff-tokens';
import type { DataCategory } from '../lib/pure/data-categories';
import { signBody } from '../lib/signature';
import { erasureScopeKey, erasureWorkflowId, searchAttributes } from '../lib/pure/temporal-ids';
import { erasureStatusQuery, erasureWorkflow, type ErasureInput } from '../workflows/erasure';
import { startTestStack, type TestStack } from './support/test-stack';

let stack: TestStack;
/** Test hook: place a hold on `category` right after the first batch of this customer's erasure. */
let holdAfterFirstBatch: { customerId: string; category: DataCategory; holdId?: string } | undefined;

beforeAll(async () => {
  stack = await startTestStack({
    name: 'legal-holds',
    env: {
      ERASURE_BATCH_SIZE: '50',
      // Fixed batches, one step at a time: the hold lands after the first batch of a known step.
      ERASURE_BATCH_MAX_SIZE: '50',
      ERASURE_PARALLEL_STEPS: '1',
      LEGAL_HOLD_RECHECK_INTERVAL: 'PT1H',
    },
    activityHooks: {
      erasureTestHooks: {
        afterBatch: async (info) => {
          const plan = holdAfterFirstBatch;
          if (!plan || plan.holdId || info.customerId !== plan.customerId) return;
          const hold = await stack.db.transaction((trx) =>
            legalHolds.place(trx, {
              customerId: plan.customerId,
              categories: [plan.category],
              reason: 'regulator request received mid-erasure',
              reference: 'REG-2026-17',
              placedBy: 'system:test',
            }),
          );
          plan.holdId = hold.id;
        },
      },
    },
  });
});
afterAll(async () => {
  await stack?.stop();
});

async function seed(operationalRows = 600) {
  const { customerId } = await seedDemoCustomer(stack.db, {
    operationalRows,
    technicalRows: Math.floor(operationalRows / 3),
    communicationRows: 40,
  });
  return customerId;
}

async function count(table: string, customerId: string): Promise<number> {
  const [row] = await stack.db(table).where({ customer_id: customerId }).count<{ n: string }[]>({ n: '*' });
  return Number(row!.n);
}

const placeHold = (customerId: string, body: unknown) =>
  stack.http('POST', `/v1/customers/${customerId}/legal-holds`, body, {}, 'privacy_officer');
const releaseHold = (holdId: string, reason = 'matter closed, no further preservation needed') =>
  stack.http('DELETE', `/v1/legal-holds/${holdId}`, { reason }, {}, 'privacy_officer');

async function startErasure(input: ErasureInput) {
  return stack.client.workflow.start(erasureWorkflow, {
    taskQueue: stack.taskQueue,
    workflowId: erasureWorkflowId(input.customerId, erasureScopeKey(input.reason, input.categories)),
    args: [input],
  });
}

/** Polls until `check` holds (or fails after `timeoutMs`). */
async function eventually<T>(read: () => Promise<T>, check: (v: T) => boolean, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (check(value)) return value;
    if (Date.now() > deadline)
      throw new Error(`condition not met in ${timeoutMs} ms; last value ${JSON.stringify(value)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const waitingForHold = (handle: WorkflowHandle) =>
  eventually(
    () => handle.query(erasureStatusQuery),
    (s) => s.stage === 'waiting-for-legal-hold',
  );

describe('the legal holds API', () => {
  it('places, lists, reads and releases a hold, audited without the free text', async () => {
    const customerId = await seed(0);
    const placed = await placeHold(customerId, {
      reason: 'Litigation hold: Müller v. Nordwind, preserve order history',
      reference: 'CASE-4711',
      categories: ['orders', 'communication_records'],
    });
    expect(placed.status).toBe(201);
    expect(placed.headers.get('location')).toBe(`/v1/legal-holds/${placed.body.id}`);
    expect(placed.body).toMatchObject({
      customerId,
      categories: ['communication_records', 'orders'],
      reference: 'CASE-4711',
      active: true,
      placedBy: expect.stringMatching(/^staff:/),
      releasedAt: null,
    });
    const all = await placeHold(customerId, { reason: 'Regulator inquiry', reference: 'DPA-1' });
    expect(all.body.categories).toBeNull();

    const list = await stack.http('GET', `/v1/customers/${customerId}/legal-holds`, undefined, {}, 'auditor');
    expect(list.status).toBe(200);
    expect(list.body.items.map((h: { id: string }) => h.id).sort()).toEqual([placed.body.id, all.body.id].sort());
    expect((await stack.http('GET', `/v1/legal-holds/${placed.body.id}`, undefined, {}, 'auditor')).body).toEqual(
      placed.body,
    );

    const released = await releaseHold(placed.body.id);
    expect(released.status).toBe(200);
    expect(released.body).toMatchObject({ active: false, releaseReason: expect.any(String), resumedErasures: [] });
    expect((await releaseHold(placed.body.id)).status).toBe(409);
    const active = await stack.http(
      'GET',
      `/v1/customers/${customerId}/legal-holds?active=true`,
      undefined,
      {},
      'auditor',
    );
    expect(active.body.items.map((h: { id: string }) => h.id)).toEqual([all.body.id]);

    const events = await auditEvents.list(stack.db, { customerId });
    const holdEvents = events.filter((e) => e.subjectType === 'legal_hold');
    expect(holdEvents.map((e) => [e.action, e.subjectId])).toEqual([
      ['legal_hold.placed', placed.body.id],
      ['legal_hold.placed', all.body.id],
      ['legal_hold.released', placed.body.id],
    ]);
    const officer = await stack
      .db('staff_tokens')
      .where({ token_hash: hashToken(stack.tokens.privacy_officer) })
      .first('id');
    expect(holdEvents.every((e) => e.actor === `staff:${officer.id}`)).toBe(true);
    expect(holdEvents[1]!.details).toMatchObject({
      categories: 'all',
      reasonSha256: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    expect(JSON.stringify(holdEvents)).not.toContain('Müller');
    expect(JSON.stringify(holdEvents)).not.toContain('CASE-4711');
  });

  it('refuses invalid holds, unknown customers and holds, and support staff, and writes nothing', async () => {
    const customerId = await seed(0);
    const bad = await placeHold(customerId, {
      reason: '',
      reference: 'X',
      categories: ['orders', 'orders', 'secrets'],
    });
    expect(bad.status).toBe(400);
    expect(bad.body.errors.map((e: { field: string }) => e.field).sort()).toEqual([
      'body.categories[2]',
      'body.reason',
    ]);
    const repeated = await placeHold(customerId, {
      reason: 'ok reason',
      reference: 'R',
      categories: ['orders', 'orders'],
    });
    expect(repeated.body.errors).toEqual([expect.objectContaining({ field: 'body.categories', rule: 'custom' })]);
    expect((await placeHold(customerId, { reason: 'ok reason', reference: 'R', categories: [] })).status).toBe(400);
    expect((await placeHold(customerId, { reason: 'ok reason', reference: 'R', extra: 1 })).status).toBe(400);
    const missing = '00000000-0000-4000-8000-000000000000';
    expect((await placeHold(missing, { reason: 'ok reason', reference: 'R' })).status).toBe(404);
    expect((await stack.http('GET', `/v1/legal-holds/${missing}`, undefined, {}, 'auditor')).status).toBe(404);
    expect((await releaseHold(missing)).status).toBe(404);
    const asSupport = await stack.http(
      'POST',
      `/v1/customers/${customerId}/legal-holds`,
      { reason: 'ok reason', reference: 'R' },
      {},
      'support',
    );
    expect(asSupport.status).toBe(403);
    expect(await stack.db('legal_holds').where({ customer_id: customerId })).toHaveLength(0);
    expect(await auditEvents.list(stack.db, { customerId, action: 'legal_hold.placed' })).toHaveLength(0);
  });
});

describe('a legal hold and erasure', () => {
  it('suspends exactly the held category, visibly, while the others are erased; release lets it proceed', async () => {
    const customerId = await seed();
    const other = await seed(300);
    const hold = await placeHold(customerId, {
      reason: 'Dispute about support promises',
      reference: 'CASE-88',
      categories: ['communication_records'],
    });
    const before = {
      communication_records: await count('communication_records', customerId),
      workflow_records: await count('workflow_records', customerId),
      inventory_items: await count('inventory_items', customerId),
    };
    const otherComms = await count('communication_records', other);

    const handle = await startErasure({
      customerId,
      categories: ['communication_records', 'workflow_records', 'inventory'],
      reason: 'retention',
    });
    const status = await waitingForHold(handle);
    expect(status.heldCategories).toEqual(['communication_records']);
    expect(status.categories).toEqual({
      communication_records: 'waiting-for-legal-hold',
      inventory: 'erased',
      workflow_records: 'erased',
    });
    // Unheld categories are gone, the held one untouched; another customer's held-category rows untouched too.
    expect(await count('workflow_records', customerId)).toBe(0);
    expect(await count('inventory_items', customerId)).toBe(0);
    expect(await count('communication_records', customerId)).toBe(before.communication_records);
    expect(await count('communication_records', other)).toBe(otherComms);
    // Visible to operators (search attribute) and to the release (the erasure is recorded as waiting).
    await eventually(
      async () => (await handle.describe()).typedSearchAttributes.get(searchAttributes.requestStage),
      (stage) => stage === 'waiting-for-legal-hold',
    );
    expect(
      await stack.db('erasures').where({ workflow_id: handle.workflowId }).first('status', 'held_categories'),
    ).toEqual({
      status: 'waiting-for-legal-hold',
      held_categories: ['communication_records'],
    });

    const released = await releaseHold(hold.body.id);
    expect(released.body.resumedErasures).toEqual([handle.workflowId]);
    const result = await handle.result();

    expect(result.tables).toEqual(before);
    expect(result.verified).toBe(true);
    expect(await count('communication_records', customerId)).toBe(0);
    expect(await count('communication_records', other)).toBe(otherComms);
    const actions = (await auditEvents.list(stack.db, { customerId })).map((e) => e.action);
    expect(actions.indexOf('erasure.waiting_for_legal_hold')).toBeLessThan(actions.indexOf('legal_hold.released'));
    expect(actions.indexOf('legal_hold.released')).toBeLessThan(actions.indexOf('erasure.resumed_after_legal_hold'));
  });

  it('also defers the seller accounts that held orders point at, so held records stay intact', async () => {
    const customerId = await seed(120);
    const hold = await placeHold(customerId, {
      reason: 'Tax audit of order history',
      reference: 'AUD-3',
      categories: ['orders'],
    });
    const handle = await startErasure({ customerId, categories: ['seller_accounts', 'listings'], reason: 'retention' });
    const status = await waitingForHold(handle);
    expect(status.heldCategories).toEqual(['seller_accounts']);
    expect(await count('listings', customerId)).toBe(0);
    expect(await count('seller_accounts', customerId)).toBe(3);
    const linked = await stack.db('orders').where({ customer_id: customerId }).whereNotNull('seller_account_id');
    expect(linked.length).toBe(await count('orders', customerId));

    await releaseHold(hold.body.id);
    const result = await handle.result();
    expect(result.tables).toMatchObject({ seller_accounts: 3 });
    expect(await count('seller_accounts', customerId)).toBe(0);
  });

  it('stops a category after the batch in flight when a hold is placed mid-erasure, and finishes it on release', async () => {
    const customerId = await seed();
    const listings = await count('listings', customerId);
    const inventory = await count('inventory_items', customerId);
    holdAfterFirstBatch = { customerId, category: 'listings' };

    const handle = await startErasure({ customerId, categories: ['listings', 'inventory'], reason: 'retention' });
    const status = await waitingForHold(handle);
    expect(status.heldCategories).toEqual(['listings']);
    // One batch of 50 went before the hold; the rest waits; inventory went on.
    expect(await count('listings', customerId)).toBe(listings - 50);
    expect(await count('inventory_items', customerId)).toBe(0);

    await releaseHold(holdAfterFirstBatch.holdId!);
    holdAfterFirstBatch = undefined;
    const result = await handle.result();
    expect(result.tables).toEqual({ listings, inventory_items: inventory });
    expect(await count('listings', customerId)).toBe(0);
  });

  it('re-checks on its interval, so a release it was not told about still lets it proceed', async () => {
    const customerId = await seed(200);
    const hold = await placeHold(customerId, {
      reason: 'Security investigation',
      reference: 'SEC-9',
      categories: ['inventory'],
    });
    const inventory = await count('inventory_items', customerId);
    const handle = await startErasure({
      customerId,
      categories: ['inventory'],
      reason: 'retention',
      holdRecheckInterval: '1 second',
    });
    await waitingForHold(handle);
    expect(await count('inventory_items', customerId)).toBe(inventory);

    // Released behind the API's back: no signal reaches the workflow.
    await stack
      .db('legal_holds')
      .where({ id: hold.body.id })
      .update({ released_at: stack.db.fn.now(), released_by: 'system:test', release_reason: 'test' });
    const result = await handle.result();
    expect(result.tables).toEqual({ inventory_items: inventory });
  });
});

describe('holds in SQL (for set-based sweeps)', () => {
  it('excludes exactly the held customers and categories', async () => {
    const held = await seed(30);
    const free = await seed(30);
    await placeHold(held, { reason: 'Preserve API logs', reference: 'SEC-1', categories: ['api_access_logs'] });
    const sweepable = (category: string, table: string) =>
      stack
        .db(table)
        .whereIn(`${table}.customer_id`, [held, free])
        .whereRaw('not exists (?)', [activeHoldCovers(stack.db, `${table}.customer_id`, category)])
        .distinct(`${table}.customer_id`)
        .pluck(`${table}.customer_id`);
    expect(await sweepable('api_access_logs', 'api_access_logs')).toEqual([free]);
    expect((await sweepable('authentication_logs', 'authentication_logs')).sort()).toEqual([held, free].sort());

    expect(await heldCategories(stack.db, held, ['orders', 'api_access_logs'])).toEqual(['api_access_logs']);
    await placeHold(free, { reason: 'Everything', reference: 'ALL-1' });
    expect(await heldCategories(stack.db, free, ['orders', 'api_access_logs'])).toEqual(['orders', 'api_access_logs']);
    expect(await sweepable('authentication_logs', 'authentication_logs')).toEqual([held]);
  });
});

describe('hostile input', () => {
  const wrongType = fc.oneof(fc.integer(), fc.boolean(), fc.constant(null), fc.object({ maxDepth: 1 }));
  const hostileString = fc.oneof(
    fc.constantFrom("'; DROP TABLE legal_holds; --", '\u0000', '<script>x</script>', '', ' ', 'all', 'ORDERS'),
    fc.string({ unit: 'binary', maxLength: 50 }),
    fc.string({ minLength: 2001, maxLength: 5000 }),
  );
  const valid = { reason: 'Litigation hold', reference: 'CASE-1' };
  const holdBodies = fc.oneof(
    fc.jsonValue().map((v) => JSON.stringify(v)),
    fc
      .tuple(fc.constantFrom('reason', 'reference'), fc.oneof(wrongType, fc.constantFrom('', ' ', 'x'.repeat(2001))))
      .map(([field, value]) => JSON.stringify({ ...valid, [field]: value })),
    fc.array(hostileString, { minLength: 1, maxLength: 3 }).map((c) => JSON.stringify({ ...valid, categories: c })),
    fc.constantFrom('{', 'null', '[]', '{"reason":"x"}{"b":2}', '{"__proto__":{"isAdmin":true},"reason":"ok reason"}'),
  );

  async function send(method: string, path: string, body: string, headers: Record<string, string> = {}) {
    const res = await fetch(`${stack.api.url}${path}`, {
      method,
      headers: { 'Content-Type': 'application/json', ...headers },
      body,
    });
    await res.arrayBuffer();
    return res.status;
  }

  it('answers malformed hold and release bodies with 4xx and places or releases nothing', async () => {
    const customerId = await seed(0);
    const hold = await placeHold(customerId, valid);
    const auth = { Authorization: `Bearer ${stack.tokens.privacy_officer}` };
    await fc.assert(
      fc.asyncProperty(holdBodies, async (body) => {
        const placed = await send('POST', `/v1/customers/${customerId}/legal-holds`, body, auth);
        const released = await send('DELETE', `/v1/legal-holds/${hold.body.id}`, body, auth);
        expect([placed, released].every((status) => status >= 400 && status < 500)).toBe(true);
      }),
      { numRuns: 300 },
    );
    const holds = await stack.db('legal_holds').where({ customer_id: customerId });
    expect(holds.map((h: { id: string; released_at: Date | null }) => [h.id, h.released_at])).toEqual([
      [hold.body.id, null],
    ]);
  });

  it('refuses every unsigned or missigned callback, and never answers a signed malformed one with 5xx', async () => {
    const sub = await stack.addSubprocessor('fuzzed', ['orders']);
    const secret = stack.sim.secretFor(sub)!;
    const bodies = fc.oneof(
      fc.jsonValue().map((v) => JSON.stringify(v)),
      fc.string({ unit: 'binary', maxLength: 300 }),
      fc
        .record({
          deletionId: fc.oneof(fc.uuid(), hostileString),
          status: fc.oneof(fc.constant('deleted'), hostileString),
        })
        .map((v) => JSON.stringify(v)),
    );
    await fc.assert(
      fc.asyncProperty(bodies, fc.string({ maxLength: 80 }), async (body, forged) => {
        const path = `/v1/subprocessor-callbacks/${sub}`;
        expect(await send('POST', path, body, { 'X-Signature': forged })).toBe(401);
        const signed = await send('POST', path, body, { 'X-Signature': signBody(body, secret) });
        expect(signed >= 400 && signed < 500).toBe(true);
      }),
      { numRuns: 300 },
    );
  });
});
