/**
 * The erasure workflow end to end on the real dev server and PostgreSQL: exact per-table counts, nothing of the scope
 * left and nothing else touched, statutory retention of invoiced orders, the customer record on termination,
 * resumption after a failed attempt, and subprocessor deletions (synchronous, late by callback, never confirmed,
 * forged callbacks).
 */
import { createHash } from 'node:crypto';
import { auditEvents } from '../db/repositories/audit-events';
import { seedDemoCustomer } from '../scripts/seed-demo-customer';
import { DATA_CATEGORIES, type DataCategory } from '../lib/pure/data-categories';
import { ERASURE_TABLES } from '../lib/pure/erasure-plan';
import { signBody } from '../lib/signature';
import { erasureScopeKey, erasureWorkflowId } from '../lib/pure/temporal-ids';
import { erasureWorkflow, type ErasureInput } from '../workflows/erasure';
import { startTestStack, type TestStack } from './support/test-stack';

const STAFF = 'erasure-staff@example.com';
const INVOICED = ['paid', 'shipped', 'delivered', 'refunded'];
const TABLES = [...ERASURE_TABLES.map((t) => t.table), 'customer_subprocessors'];

let stack: TestStack;
/** Test hook state: fail the first attempt of eraseTables of one customer after N batches. */
let crash: { customerId: string; afterBatches: number } | undefined;
const hookCalls: { customerId: string; attempt: number; batchesThisAttempt: number; stepKey: string; rows: number }[] =
  [];

beforeAll(async () => {
  stack = await startTestStack({
    name: 'erasure',
    env: {
      ERASURE_BATCH_SIZE: '50',
      // Fixed batches, one step at a time: the tests count batches and follow the plan's order.
      ERASURE_BATCH_MAX_SIZE: '50',
      ERASURE_PARALLEL_STEPS: '1',
      STAFF_NOTIFICATION_EMAIL: STAFF,
      LEGAL_HOLD_RECHECK_INTERVAL: 'PT1H',
    },
    activityHooks: {
      erasureTestHooks: {
        afterBatch: (info) => {
          hookCalls.push(info);
          if (crash && info.customerId === crash.customerId && info.attempt === 1) {
            if (info.batchesThisAttempt === crash.afterBatches) throw new Error('injected crash after a batch');
          }
        },
      },
    },
  });
  // Callback URLs must reach this stack's API on its free port.
  stack.config.http.publicBaseUrl = stack.api.url;
});
afterAll(async () => {
  await stack?.stop();
});

async function seed(operationalRows: number, technicalRows = Math.floor(operationalRows / 3)) {
  const { customerId } = await seedDemoCustomer(stack.db, { operationalRows, technicalRows, communicationRows: 40 });
  return customerId;
}

/** Rows per table that belong to a customer (customers: the row itself). */
async function counts(customerId: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const table of TABLES) {
    const [row] = await stack.db(table).where({ customer_id: customerId }).count<{ n: string }[]>({ n: '*' });
    out[table] = Number(row!.n);
  }
  const [c] = await stack.db('customers').where({ id: customerId }).count<{ n: string }[]>({ n: '*' });
  out.customers = Number(c!.n);
  return out;
}

async function link(customerId: string, subprocessorId: string): Promise<void> {
  await stack.db('customer_subprocessors').insert({
    customer_id: customerId,
    subprocessor_id: subprocessorId,
    registered_at: stack.db.fn.now(),
  });
}

function erase(input: ErasureInput) {
  return stack.client.workflow.execute(erasureWorkflow, {
    taskQueue: stack.taskQueue,
    workflowId: erasureWorkflowId(input.customerId, erasureScopeKey(input.reason, input.categories)),
    args: [input],
  });
}

describe('erasing a scope', () => {
  it('deletes exactly the scope from every table, in batches, and leaves other categories and customers untouched', async () => {
    const a = await seed(600);
    const b = await seed(600);
    const before = await counts(a);
    const beforeB = await counts(b);
    const categories: DataCategory[] = [
      'inventory',
      'listings',
      'workflow_records',
      'communication_records',
      'api_access_logs',
      'seller_accounts',
    ];

    const result = await erase({ customerId: a, categories, reason: 'retention', policyVersions: { inventory: 3 } });

    expect(result).toMatchObject({ customerId: a, verified: true, retained: {}, subprocessors: {} });
    expect(result.tables).toEqual({
      communication_records: before.communication_records,
      api_access_logs: before.api_access_logs,
      listings: before.listings,
      inventory_items: before.inventory_items,
      workflow_records: before.workflow_records,
      seller_accounts: 3,
      // Walked with the seller accounts (it holds corrections of them); this customer has none.
      correction_changes: 0,
    });
    expect(before.listings).toBeGreaterThan(100);
    const after = await counts(a);
    expect(after).toEqual({
      ...before,
      communication_records: 0,
      api_access_logs: 0,
      listings: 0,
      inventory_items: 0,
      workflow_records: 0,
      seller_accounts: 0,
    });
    // Orders stay (out of scope) but no longer point at the deleted seller accounts.
    expect(after.orders).toBe(before.orders);
    const linked = await stack.db('orders').where({ customer_id: a }).whereNotNull('seller_account_id').count('* as n');
    expect(Number(linked[0]!.n)).toBe(0);
    expect(await counts(b)).toEqual(beforeB);

    // Short transactions: 150 listings in batches of 50.
    const step = await stack
      .db('erasure_progress')
      .join('erasures', 'erasures.id', 'erasure_progress.erasure_id')
      .where({ 'erasures.customer_id': a, step_key: 'listings:listings:delete' })
      .first('rows', 'batches', 'completed');
    expect(step).toMatchObject({
      rows: String(before.listings),
      batches: Math.ceil(before.listings! / 50),
      completed: true,
    });

    // Evidence: started, tables erased, completed with the counts and the policy versions; no personal data.
    const events = await auditEvents.list(stack.db, { customerId: a });
    const erasureEvents = events.filter((e) => e.actor === 'system:erasure');
    expect(erasureEvents.map((e) => e.action)).toEqual([
      'erasure.started',
      'erasure.tables_erased',
      'erasure.completed',
    ]);
    expect(erasureEvents[2]!.details).toMatchObject({
      tables: result.tables,
      verified: true,
      policyVersions: { inventory: 3 },
      reason: 'retention',
    });
    const erasure = await stack.db('erasures').where({ customer_id: a }).first();
    expect(erasure).toMatchObject({ status: 'completed', verified: true, tables: result.tables });
  });

  it('keeps invoiced orders under statutory retention with their own expiry and deletes the rest', async () => {
    const a = await seed(400);
    const invoiced = (await stack
      .db('orders')
      .where({ customer_id: a })
      .whereIn('status', INVOICED)
      .pluck('id')) as string[];
    const [{ n: total }] = (await stack.db('orders').where({ customer_id: a }).count('* as n')) as any;
    // Five invoiced orders whose retention already ran out: they go now.
    const expired = invoiced.slice(0, 5);
    await stack
      .db('orders')
      .whereIn('id', expired)
      .update({ retain_until: stack.db.raw("now() - interval '1 day'"), retention_reason: 'tax law (expired)' });
    expect(invoiced.length).toBeGreaterThan(20);

    const result = await erase({ customerId: a, categories: ['orders'], reason: 'retention' });

    const kept = invoiced.length - expired.length;
    expect(result.tables).toEqual({ orders: Number(total) - kept });
    expect(result.retained.orders).toMatchObject({
      rows: kept,
      reason: 'tax law: invoiced order kept as an accounting record',
    });
    expect(result.verified).toBe(true);
    const remaining = await stack.db('orders').where({ customer_id: a }).select('id', 'status', 'retention_reason');
    expect(remaining).toHaveLength(kept);
    expect(remaining.every((o: any) => INVOICED.includes(o.status) && !expired.includes(o.id))).toBe(true);
    // Kept ten years (STATUTORY_RETENTION_ORDERS default P10Y) from the end of the year of the order.
    const [check] = (
      await stack.db.raw(
        `select count(*) filter (where retain_until = date_trunc('year', ordered_at, 'UTC') + interval '11 years')::int as exact,
                to_char(max(retain_until) at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as until
           from orders where customer_id = ?`,
        [a],
      )
    ).rows;
    expect(check.exact).toBe(kept);
    expect(result.retained.orders!.until).toBe(check.until);
  });

  it('resumes after its activity failed mid-way, with exact counts and nothing deleted twice', async () => {
    const a = await seed(600);
    const before = await counts(a);
    crash = { customerId: a, afterBatches: 2 };

    const result = await erase({
      customerId: a,
      categories: ['listings', 'inventory', 'workflow_records'],
      reason: 'retention',
    });
    crash = undefined;

    const mine = hookCalls.filter((c) => c.customerId === a);
    const first = mine.filter((c) => c.attempt === 1);
    const second = mine.filter((c) => c.attempt === 2);
    expect(first).toHaveLength(2);
    // The retry continued the step it was in (the third and last batch of listings), not from the start.
    expect(second[0]).toMatchObject({ stepKey: 'listings:listings:delete', rows: before.listings! - 100 });
    expect(result.tables).toEqual({
      listings: before.listings,
      inventory_items: before.inventory_items,
      workflow_records: before.workflow_records,
    });
    expect(mine.reduce((sum, c) => sum + c.rows, 0)).toBe(
      before.listings! + before.inventory_items! + before.workflow_records!,
    );
    const after = await counts(a);
    expect([after.listings, after.inventory_items, after.workflow_records]).toEqual([0, 0, 0]);
    expect(after.orders).toBe(before.orders);
    expect(result.verified).toBe(true);
  });
});

describe('termination', () => {
  it('erases every category, keeps retained invoices with their customer record, and tells subprocessors', async () => {
    const a = await seed(300);
    const crm = await stack.addSubprocessor('crm', ['business_contact', 'orders']);
    await link(a, crm);
    const before = await counts(a);
    const invoiced = await stack.db('orders').where({ customer_id: a }).whereIn('status', INVOICED).count('* as n');

    const result = await erase({ customerId: a, categories: [...DATA_CATEGORIES], reason: 'termination' });

    expect(result.excludedCategories).toEqual({ audit_log: expect.stringContaining('audit module') });
    expect(result.customerRecord).toBe('retained');
    expect(result.retained.orders!.rows).toBe(Number(invoiced[0]!.n));
    expect(result.retained.customers).toEqual({
      rows: 1,
      until: result.retained.orders!.until,
      reason: 'counterparty of invoices kept under tax law',
    });
    expect(result.tables).toMatchObject({
      contacts: 3,
      contracts: 1,
      seller_accounts: 3,
      listings: before.listings,
      orders: before.orders! - Number(invoiced[0]!.n),
      authentication_logs: before.authentication_logs,
    });
    expect(result.verified).toBe(true);
    const after = await counts(a);
    for (const table of TABLES.filter((t) => t !== 'orders')) {
      expect([table, after[table]]).toEqual([table, 0]);
    }
    expect(after.orders).toBe(Number(invoiced[0]!.n));
    const customer = await stack.db('customers').where({ id: a }).first('status', 'retain_until');
    expect(customer.status).toBe('terminated');
    expect(customer.retain_until.toISOString()).toBe(result.retained.orders!.until);

    // The subprocessor: one signed, idempotency-keyed deletion with a callback URL on this API, confirmed at once.
    const receipt = result.subprocessors[crm]!;
    expect(receipt).toMatchObject({ status: 'confirmed', confirmedAt: expect.any(String) });
    const [call] = stack.sim.calls({ subprocessorId: crm, path: `/v1/tenants/${a}/deletions` });
    expect(call).toMatchObject({
      signatureValid: true,
      idempotencyKey: `deletion-${receipt.deletionId}`,
      body: {
        deletionId: receipt.deletionId,
        categories: ['business_contact', 'orders'],
        callbackUrl: `${stack.api.url}/v1/subprocessor-callbacks/${crm}`,
      },
    });
    const row = await stack.db('deletion_requests').where({ id: receipt.deletionId }).first();
    expect(row).toMatchObject({ status: 'confirmed', confirmed_via: 'sync', customer_id: a });
  });

  it('removes the customer record and its subprocessor links when nothing must be kept', async () => {
    const a = await seed(0, 30);
    const crm = await stack.addSubprocessor('crm-two', ['business_contact']);
    await link(a, crm);

    const result = await erase({ customerId: a, categories: [...DATA_CATEGORIES], reason: 'termination' });

    expect(result.customerRecord).toBe('deleted');
    expect(result.tables).toMatchObject({ customers: 1, customer_subprocessors: 1, contacts: 3 });
    expect(result.verified).toBe(true);
    expect(Object.values(await counts(a)).every((n) => n === 0)).toBe(true);
    // The evidence outlives the customer.
    expect(await stack.db('erasures').where({ customer_id: a }).first('status')).toEqual({ status: 'completed' });
    const completed = await auditEvents.list(stack.db, { customerId: a, action: 'erasure.completed' });
    expect(completed).toHaveLength(1);
  });
});

describe('subprocessor confirmations', () => {
  it('escalates at once a deletion the subprocessor refuses, and still erases here', async () => {
    const a = await seed(30);
    const refusing = await stack.addSubprocessor('refusing', ['workflow_records']);
    await link(a, refusing);
    stack.sim.failNext(refusing, { status: 403, times: 1, body: { error: 'tenant suspended' } });

    const result = await erase({ customerId: a, categories: ['workflow_records'], reason: 'retention' });

    expect(result.subprocessors[refusing]).toEqual({ status: 'escalated', deletionId: expect.any(String) });
    expect(result.tables).toEqual({ workflow_records: 2 });
    const mail = await stack.smtp.waitFor((m) => m.text.includes(result.subprocessors[refusing]!.deletionId));
    expect(mail.subject).toContain('refused');
    expect(mail.text).toContain('HTTP 403');
    const [event] = await auditEvents.list(stack.db, { customerId: a, action: 'subprocessor.deletion_escalated' });
    expect(event!.details).toMatchObject({ why: 'refused' });
  });

  it('takes a late confirmation by callback, escalates one that never comes, and refuses forged callbacks', async () => {
    const a = await seed(60);
    const late = await stack.addSubprocessor('late', ['orders']);
    const silent = await stack.addSubprocessor('silent', ['orders', 'listings']);
    await link(a, late);
    await link(a, silent);
    stack.sim.setDeletionMode(late, 'callback', 1500);
    stack.sim.setDeletionMode(silent, 'never');

    const result = await erase({
      customerId: a,
      categories: ['orders'],
      reason: 'retention',
      confirmationTimeout: '4 seconds',
    });

    expect(result.subprocessors[late]).toMatchObject({ status: 'confirmed', confirmedAt: expect.any(String) });
    expect(result.subprocessors[silent]).toEqual({ status: 'escalated', deletionId: expect.any(String) });
    const lateId = result.subprocessors[late]!.deletionId;
    const silentId = result.subprocessors[silent]!.deletionId;
    expect(stack.sim.callbacks().find((c) => c.deletionId === lateId)).toMatchObject({ status: 200 });
    expect(await stack.db('deletion_requests').where({ id: lateId }).first('status', 'confirmed_via')).toEqual({
      status: 'confirmed',
      confirmed_via: 'callback',
    });

    // Staff got an escalation naming the deletion, and the evidence says so.
    const mail = await stack.smtp.waitFor((m) => m.to.includes(STAFF) && m.text.includes(silentId));
    expect(mail.subject).toContain('did not confirm');
    expect(mail.text).toContain(a);
    expect(await stack.db('deletion_requests').where({ id: silentId }).first('status')).toEqual({
      status: 'escalated',
    });
    const escalated = await auditEvents.list(stack.db, { customerId: a, action: 'subprocessor.deletion_escalated' });
    expect(escalated.map((e) => e.details.deletionId)).toEqual([silentId]);

    // Forged confirmations: wrong secret, no signature, an unknown subprocessor. Nothing is recorded.
    const body = JSON.stringify({ deletionId: silentId, tenantId: a, status: 'deleted' });
    const post = (sp: string, headers: Record<string, string>) =>
      fetch(`${stack.api.url}/v1/subprocessor-callbacks/${sp}`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', ...headers },
        body,
      });
    const secret = stack.sim.secretFor(silent)!;
    expect((await post(silent, { 'X-Signature': signBody(body, 'not-the-secret') })).status).toBe(401);
    expect((await post(silent, {})).status).toBe(401);
    expect((await post(silent, { 'X-Signature': signBody(`${body} `, secret) })).status).toBe(401);
    expect((await post('no-such-subprocessor', { 'X-Signature': signBody(body, secret) })).status).toBe(401);
    // Correctly signed by the other subprocessor, but not its deletion.
    expect((await post(late, { 'X-Signature': signBody(body, stack.sim.secretFor(late)!) })).status).toBe(404);
    expect(await stack.db('deletion_requests').where({ id: silentId }).first('status')).toEqual({
      status: 'escalated',
    });

    // The real confirmation, late: recorded as such although the erasure has finished.
    const attempt = await stack.sim.completeDeletion(silent, silentId);
    expect(attempt.status).toBe(200);
    const row = await stack.db('deletion_requests').where({ id: silentId }).first();
    expect(row).toMatchObject({ status: 'confirmed', confirmed_via: 'callback' });
    expect(row.confirmation_receipt.bodySha256).toMatch(/^[0-9a-f]{64}$/);
    const confirmed = await auditEvents.list(stack.db, { customerId: a, action: 'subprocessor.deletion_confirmed' });
    expect(confirmed.map((e) => [e.details.deletionId, e.details.late])).toEqual(
      expect.arrayContaining([
        [lateId, false],
        [silentId, true],
      ]),
    );
    // The receipt fingerprints the exact bytes the subprocessor signed (the simulator sends this very body).
    expect(row.confirmation_receipt.bodySha256).toBe(createHash('sha256').update(body).digest('hex'));
  });
});
