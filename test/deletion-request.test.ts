/**
 * Deletion requests end to end (issue #11): HTTP API -> Temporal dev server -> worker -> PostgreSQL, the SMTP sink and
 * the subprocessor simulator. A registered contact confirms identity with the one-time link; each part is granted or
 * refused with its reason; granted parts are erased here and at the subprocessors; a signed certificate follows.
 * The verification link lives a few seconds, so the unverified case closes quickly.
 */
import { randomUUID } from 'node:crypto';
import { auditEvents } from '../db/repositories/audit-events';
import { seedDemoCustomer } from '../scripts/seed-demo-customer';
import { deletionRequestWorkflowId } from '../lib/pure/temporal-ids';
import type { deletionRequestWorkflow } from '../workflows/deletion-request';
import { confirmVerification, linkToken } from './support/access-export';
import { startTestStack, type TestStack } from './support/test-stack';
import { withSettingDuring } from './support/setting-during';

let stack: TestStack;
let crm: string;
const staffEmail = `deletion-staff-${randomUUID().slice(0, 8)}@example.com`;

beforeAll(async () => {
  stack = await startTestStack({
    name: 'deletion-request',
    env: {
      ACCESS_VERIFICATION_TIMEOUT: 'PT8S',
      STAFF_NOTIFICATION_EMAIL: staffEmail,
      STATUTORY_RETENTION_ORDERS: 'P10Y',
      ERASURE_CONFIRMATION_TIMEOUT: 'PT30S',
    },
  });
  // Subprocessor callbacks must reach this stack's API on its free port.
  stack.config.http.publicBaseUrl = stack.api.url;
  crm = await stack.addSubprocessor('crm', ['business_contact', 'seller_accounts', 'orders', 'inventory']);
});
afterAll(async () => {
  await stack?.stop();
});

/** A seeded customer linked to the simulated CRM, and its contacts by role. */
async function customer() {
  const { customerId } = await seedDemoCustomer(stack.db, {
    operationalRows: 60,
    technicalRows: 6,
    communicationRows: 3,
  });
  await stack.db('customer_subprocessors').insert({
    customer_id: customerId,
    subprocessor_id: crm,
    registered_at: stack.db.fn.now(),
  });
  const contacts = await stack.db('contacts').where({ customer_id: customerId }).orderBy('role');
  const byRole = (role: string) => contacts.find((c: { role: string }) => c.role === role);
  return {
    customerId,
    primary: byRole('primary') as { id: string; email: string },
    billing: byRole('billing') as { id: string; email: string },
  };
}

async function count(table: string, where: Record<string, unknown>): Promise<number> {
  const [row] = await stack.db(table).where(where).count<{ n: string }[]>({ n: '*' });
  return Number(row!.n);
}

const mailTo = (to: string, requestId: string, subject: RegExp) =>
  stack.smtp.waitFor((m) => m.to.includes(to.toLowerCase()) && m.text.includes(requestId) && subject.test(m.subject));

/** Files a deletion request from `email` and confirms it with the link sent to the registered address. */
async function requestAndConfirm(customerId: string, email: string, parts: unknown[]) {
  // A verification timeout of its own, long enough to confirm on a busy machine (the file's 8 s are for the
  // unverified case).
  const res = await withSettingDuring(stack.config.accessRequests, 'verificationTimeoutMs', 10 * 60_000, () =>
    stack.http('POST', `/v1/customers/${customerId}/deletion-requests`, { requesterEmail: email, parts }),
  );
  expect(res.status).toBe(202);
  const requestId = res.body.requestId as string;
  const verification = await mailTo(email, requestId, /^Confirm your data deletion request/);
  const verified = await confirmVerification(stack, linkToken(verification.text, 'verify'));
  expect(verified.status).toBe(200);
  expect(verified.body.message).toMatch(/deletion request/);
  return { requestId, started: res.body };
}

const result = (requestId: string) =>
  stack.client.workflow.getHandle<typeof deletionRequestWorkflow>(deletionRequestWorkflowId(requestId)).result();

describe('a deletion request from a verified registered contact', () => {
  it('grants one part and refuses one for statutory retention with its end date; the granted part is deleted everywhere and certified', async () => {
    const { customerId, primary } = await customer();
    // Every order is invoiced: tax law keeps all of them.
    await stack.db('orders').where({ customer_id: customerId }).update({ status: 'paid' });
    const orders = await count('orders', { customer_id: customerId });
    const inventory = await count('inventory_items', { customer_id: customerId });
    expect(inventory).toBeGreaterThan(0);
    const [row] = await stack
      .db('orders')
      .where({ customer_id: customerId })
      .max<{ latest: Date }[]>({ latest: 'ordered_at' });
    const latest = row!.latest;
    const keptUntil = `${latest.getUTCFullYear() + 11}-01-01T00:00:00.000Z`;

    const { requestId, started } = await requestAndConfirm(customerId, primary.email, [
      { category: 'inventory' },
      { category: 'orders' },
    ]);
    expect(started).toMatchObject({ workflowId: `deletion-request-${requestId}`, status: 'running' });
    expect(started.parts).toEqual([{ category: 'inventory' }, { category: 'orders' }]);

    // The answer: per part what will be deleted and what is refused, why, and until when.
    const decision = await mailTo(primary.email, requestId, /our decision/);
    expect(decision.text).toMatch(/We will delete:\n {2}- category inventory: deleted/);
    expect(decision.text).toContain(`category orders: kept under a legal obligation`);
    expect(decision.text).toContain(keptUntil);

    const done = await result(requestId);
    expect(done).toMatchObject({ result: 'partially_deleted' });
    expect(done.parts).toEqual([
      expect.objectContaining({ kind: 'category', target: 'inventory', decision: 'granted' }),
      expect.objectContaining({
        kind: 'category',
        target: 'orders',
        decision: 'refused',
        rule: 'statutory_retention',
        retainUntil: keptUntil,
      }),
    ]);

    // Deleted here; the refused part untouched (not even marked).
    expect(await count('inventory_items', { customer_id: customerId })).toBe(0);
    expect(await count('orders', { customer_id: customerId })).toBe(orders);
    expect(
      await stack.db('orders').where({ customer_id: customerId }).whereNotNull('retain_until').first(),
    ).toBeUndefined();
    // ...and at the subprocessor, for the granted category only.
    const deletions = stack.sim.calls({ subprocessorId: crm, path: `/v1/tenants/${customerId}/deletions` });
    expect(deletions.map((c) => (c.body as { categories: string[] }).categories)).toEqual([['inventory']]);

    // The certificate: signed, stored, mailed, and it states the deletion, the refusal and the confirmation.
    const cert = await stack.db('certificates').where({ request_id: requestId }).first();
    const content = JSON.parse(cert.canonical_content);
    expect(content).toMatchObject({
      kind: 'deletion_request',
      customerId,
      requestId,
      categories: ['inventory'],
      deleted: { tables: { inventory_items: inventory }, totalRows: inventory },
      refused: [{ part: 'category:orders', until: keptUntil }],
      subprocessors: [{ subprocessorId: crm, status: 'confirmed', categories: ['inventory'] }],
      verification: { verified: true },
    });
    const mailed = await mailTo(primary.email, requestId, /^Deletion certificate/);
    expect(mailed.text).toContain(cert.digest_sha256);
    const verify = await stack.http('GET', `/v1/certificates/${cert.id}/verify`, undefined, {}, 'auditor');
    expect(verify.body).toMatchObject({ valid: true });

    // The request record and the audit trail.
    const status = await stack.http('GET', `/v1/requests/${requestId}`);
    expect(status.body).toMatchObject({
      type: 'deletion',
      status: 'completed',
      outcome: { result: 'partially_deleted', certificateId: cert.id },
    });
    expect(status.body.outcome.parts[1]).toMatchObject({ rule: 'statutory_retention', retainUntil: keptUntil });
    const actions = (await auditEvents.list(stack.db, { requestId })).map((e) => e.action);
    for (const action of [
      'deletion.requested',
      'deletion.identity_verified',
      'deletion.decided',
      'erasure.completed',
      'certificate.issued',
      'deletion.completed',
    ]) {
      expect(actions).toContain(action);
    }
    expect(actions.indexOf('deletion.decided')).toBeLessThan(actions.indexOf('erasure.completed'));
  });

  it('refuses parts under a legal hold and the only primary contact, and deletes exactly the named contact and seller account', async () => {
    const { customerId, primary, billing } = await customer();
    const hold = await stack.http(
      'POST',
      `/v1/customers/${customerId}/legal-holds`,
      { reason: 'Regulator inquiry into automation rules.', reference: 'REG-42', categories: ['workflow_records'] },
      {},
      'privacy_officer',
    );
    expect(hold.status).toBe(201);
    const accounts = await stack.db('seller_accounts').where({ customer_id: customerId }).orderBy('id');
    const account = accounts[0].id as string;
    const pointing = await count('orders', { customer_id: customerId, seller_account_id: account });
    const workflowRecords = await count('workflow_records', { customer_id: customerId });

    const { requestId } = await requestAndConfirm(customerId, primary.email, [
      { category: 'workflow_records' },
      { contactId: primary.id },
      { contactId: billing.id.toUpperCase() },
      { sellerAccountId: account },
    ]);
    const done = await result(requestId);
    expect(done.result).toBe('partially_deleted');
    expect(done.parts!.map((p) => [p.target, p.decision, p.rule ?? null])).toEqual([
      ['workflow_records', 'refused', 'legal_hold'],
      [primary.id, 'refused', 'only_primary_contact'],
      [billing.id, 'granted', null],
      [account, 'granted', null],
    ]);
    expect(done.parts![0]!.details).toEqual({ holdIds: [hold.body.id] });
    const decision = await mailTo(primary.email, requestId, /our decision/);
    expect(decision.text).toContain('a legal hold suspends the deletion');
    expect(decision.text).toContain('the only primary contact');

    // Exactly the named records: the other contacts, the contract and the other seller accounts stay.
    expect(await count('contacts', { id: billing.id })).toBe(0);
    expect(await count('contacts', { customer_id: customerId })).toBe(2);
    expect(await count('contacts', { id: primary.id })).toBe(1);
    expect(await count('contracts', { customer_id: customerId })).toBe(1);
    expect(await count('seller_accounts', { customer_id: customerId })).toBe(accounts.length - 1);
    expect(await count('seller_accounts', { id: account })).toBe(0);
    // Orders that pointed at the deleted account stay, detached; held data untouched.
    expect(pointing).toBeGreaterThan(0);
    expect(await count('orders', { customer_id: customerId, seller_account_id: account })).toBe(0);
    expect(await count('workflow_records', { customer_id: customerId })).toBe(workflowRecords);

    // The subprocessor is asked to delete those records only.
    const [call] = stack.sim.calls({ subprocessorId: crm, path: `/v1/tenants/${customerId}/deletions` });
    expect(call!.body).toMatchObject({
      categories: ['business_contact', 'seller_accounts'],
      records: { contacts: [billing.id], seller_accounts: [account] },
    });
    const cert = await stack.db('certificates').where({ request_id: requestId }).first();
    expect(JSON.parse(cert.canonical_content).deleted.tables).toEqual({ contacts: 1, seller_accounts: 1 });
  });

  it('closes without deleting anything when the identity is not confirmed in time', async () => {
    const { customerId, primary } = await customer();
    const inventory = await count('inventory_items', { customer_id: customerId });
    const res = await stack.http('POST', `/v1/customers/${customerId}/deletion-requests`, {
      requesterEmail: primary.email,
      parts: [{ category: 'inventory' }],
    });
    expect(res.status).toBe(202);
    const requestId = res.body.requestId as string;
    await mailTo(primary.email, requestId, /was closed/);
    expect(await result(requestId)).toMatchObject({ result: 'closed_unverified' });

    expect(await count('inventory_items', { customer_id: customerId })).toBe(inventory);
    expect(await count('erasures', { request_id: requestId })).toBe(0);
    expect(await stack.db('deletion_request_parts').where({ request_id: requestId }).pluck('decision')).toEqual([
      'pending',
    ]);
    const row = await stack.db('lifecycle_requests').where({ id: requestId }).first();
    expect(row).toMatchObject({ status: 'cancelled', stage: 'closed-unverified', payload: null });
  });

  it('refuses a requester who is not a registered contact without deleting anything', async () => {
    const { customerId } = await customer();
    const stranger = `someone-${randomUUID().slice(0, 8)}@example.org`;
    const res = await stack.http('POST', `/v1/customers/${customerId}/deletion-requests`, {
      requesterEmail: stranger,
      parts: [{ category: 'listings' }],
    });
    expect(res.status).toBe(202);
    await mailTo(stranger, res.body.requestId, /^Your data deletion request/);
    expect(await result(res.body.requestId)).toMatchObject({ result: 'refused' });
    expect(await count('listings', { customer_id: customerId })).toBeGreaterThan(0);
    expect(await count('erasures', { request_id: res.body.requestId })).toBe(0);
  });
});

describe('deletion requests with an Idempotency-Key', () => {
  it('replays the same request for the same body and refuses the key with another body (422)', async () => {
    const { customerId, primary } = await customer();
    const key = `deletion-${randomUUID()}`;
    const body = { requesterEmail: primary.email, parts: [{ category: 'listings' }] };
    const url = `/v1/customers/${customerId}/deletion-requests`;
    const first = await stack.http('POST', url, body, { 'Idempotency-Key': key });
    const again = await stack.http('POST', url, body, { 'Idempotency-Key': key });
    expect(first.status).toBe(202);
    expect(again.body).toMatchObject({ requestId: first.body.requestId, replayed: true });
    const other = await stack.http(
      'POST',
      url,
      { ...body, parts: [{ category: 'inventory' }] },
      { 'Idempotency-Key': key },
    );
    expect(other.status).toBe(422);
    expect(await count('lifecycle_requests', { customer_id: customerId, type: 'deletion' })).toBe(1);
  });
});

describe('invalid deletion requests', () => {
  it('are refused with 400 naming the field and the rule, with nothing started or written', async () => {
    const { customerId, primary } = await customer();
    const before = await count('lifecycle_requests', { customer_id: customerId });
    const bodies: [unknown, string][] = [
      [{ requesterEmail: primary.email }, 'body.parts'],
      [{ requesterEmail: primary.email, parts: [] }, 'body.parts'],
      [{ requesterEmail: primary.email, parts: [{ category: 'everything' }] }, 'body.parts.0'],
      [{ requesterEmail: primary.email, parts: [{ contactId: 'not-a-uuid' }] }, 'body.parts.0'],
      [{ requesterEmail: primary.email, parts: [{ category: 'orders', contactId: randomUUID() }] }, 'body.parts.0'],
      [{ requesterEmail: primary.email, parts: [{ category: 'orders' }, { category: 'orders' }] }, 'body.parts.1'],
      [{ requesterEmail: 'not an address', parts: [{ category: 'orders' }] }, 'body.requesterEmail'],
      [{ requesterEmail: primary.email, parts: [{ category: 'orders' }], extra: true }, 'body'],
    ];
    for (const [body, field] of bodies) {
      const res = await stack.http('POST', `/v1/customers/${customerId}/deletion-requests`, body);
      expect([field, res.status, res.headers.get('content-type')]).toEqual([
        field,
        400,
        expect.stringContaining('application/problem+json'),
      ]);
      expect(res.body.errors).toContainEqual(expect.objectContaining({ field: expect.stringMatching(`^${field}`) }));
    }
    const badId = await stack.http('POST', '/v1/customers/not-a-uuid/deletion-requests', {
      requesterEmail: primary.email,
      parts: [{ category: 'orders' }],
    });
    expect(badId.status).toBe(400);
    expect(
      (await stack.http('POST', `/v1/customers/${customerId}/deletion-requests`, bodies[0]![0], {}, 'auditor')).status,
    ).toBe(403);

    expect(await count('lifecycle_requests', { customer_id: customerId })).toBe(before);
    expect(await count('deletion_request_parts', { customer_id: customerId })).toBe(0);
    const started: string[] = [];
    const query = `WorkflowType = 'deletionRequestWorkflow' AND CustomerId = '${customerId}'`;
    for await (const wf of stack.client.workflow.list({ query })) started.push(wf.workflowId);
    expect(started).toEqual([]);
  });
});
