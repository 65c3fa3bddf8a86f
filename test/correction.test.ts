/**
 * Correction requests end to end: HTTP API -> Temporal dev server -> worker -> PostgreSQL, the SMTP sink and the
 * subprocessor simulator. Validation and refusals, verification, four-eyes approval and rejection, the apply with its
 * optimistic concurrency, propagation to exactly the subprocessors holding the data, and the notices.
 */
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { auditEvents } from '../db/repositories/audit-events';
import { staffTokens } from '../db/repositories/staff-tokens';
import { seedDemoCustomer } from '../scripts/seed-demo-customer';
import { startCorrectionRequest } from '../api/use-cases/start-correction-request';
import {
  actorOf,
  auditActions,
  changeStates,
  completedRequest,
  mailAbout,
  onboardCustomer,
  requestStatusWhen,
  verifyAs,
} from './support/corrections';
import { startTestStack, type TestStack } from './support/test-stack';

let stack: TestStack;
let crm: string; // holds business contact data
let shop: string; // holds seller accounts and orders
let logs: string; // holds technical data only
let secondOfficer: string;
const staffEmail = `privacy-staff-${randomUUID().slice(0, 8)}@example.com`;

beforeAll(async () => {
  stack = await startTestStack({
    name: 'correction',
    env: {
      CORRECTION_VERIFICATION_TIMEOUT: 'PT2M',
      // P400D lies before every due date: each running request reminds staff at once (a catch-up reminder).
      CORRECTION_REMINDER_OFFSETS: 'P400D',
      CORRECTION_APPROVAL_TIMEOUT: 'PT2M',
      CORRECTION_RECEIPT_ESCALATION_AFTER: 'PT1M',
      CORRECTION_RETRY_INITIAL_INTERVAL: 'PT1S',
      CORRECTION_RETRY_MAX_INTERVAL: 'PT2S',
      STAFF_NOTIFICATION_EMAIL: staffEmail,
    },
  });
  crm = await stack.addSubprocessor('crm', ['business_contact', 'communication_records']);
  shop = await stack.addSubprocessor('shop', ['seller_accounts', 'orders']);
  logs = await stack.addSubprocessor('logs', ['api_access_logs']);
  secondOfficer = (await staffTokens.create(stack.db, { name: 'second officer', role: 'privacy_officer' })).token;
});
afterAll(async () => {
  await stack?.stop();
});

const fileCorrection = (customerId: string, body: unknown, headers: Record<string, string> = {}) =>
  stack.http('POST', `/v1/customers/${customerId}/correction-requests`, body, headers);

/** Files a correction as the privacy officer of the stack (so that officer cannot approve it), like a use case call. */
async function fileAsOfficer(customerId: string, requesterEmail: string, changes: unknown[]) {
  return startCorrectionRequest(
    { db: stack.db, temporal: stack.client, taskQueue: stack.taskQueue, log: stack.log, config: stack.config },
    customerId,
    { requesterEmail, changes: changes as never },
    { actor: await actorOf(stack, stack.tokens.privacy_officer) },
  );
}

describe('a correction without sensitive fields', () => {
  it('is applied once the requester is verified and propagated to exactly the subprocessors holding its category', async () => {
    const customer = await onboardCustomer(stack, [crm, shop, logs]);
    const key = `correction-${randomUUID()}`;
    const body = {
      requesterEmail: customer.primary.email.toUpperCase(),
      changes: [
        { change: 'contact.phone', contactId: customer.billing.id, value: '+4930555777' },
        { change: 'company.tradingName', value: 'Nordlicht' },
        // Already the current name: reported as unchanged, never sent anywhere.
        { change: 'contact.name', contactId: customer.billing.id, value: customer.body.contacts[1]!.name },
      ],
    };
    const res = await fileCorrection(customer.customerId, body, { 'Idempotency-Key': key });
    expect(res.status).toBe(202);
    const { requestId } = res.body;
    expect(res.body).toMatchObject({
      workflowId: `correction-${requestId}`,
      privacyRegime: 'gdpr',
      clockStarts: 'receipt',
      status: 'running',
      replayed: false,
    });
    expect(res.body.changes.map((c: { state: string; needsApproval: boolean }) => [c.state, c.needsApproval])).toEqual([
      ['pending', false],
      ['pending', false],
      ['unchanged', false],
    ]);
    // The same call again answers the same request and starts nothing new.
    const again = await fileCorrection(customer.customerId, body, { 'Idempotency-Key': key });
    expect(again.body).toMatchObject({ requestId, replayed: true, changes: res.body.changes });
    expect(await stack.db('lifecycle_requests').where({ idempotency_key: key })).toHaveLength(1);

    await mailAbout(stack, requestId, customer.primary.email, /received your correction request/);
    // Nothing changes before the requester's identity is confirmed.
    await requestStatusWhen(stack, requestId, (b) => b.stage === 'awaiting-verification');
    expect((await stack.db('contacts').where({ id: customer.billing.id }).first()).phone).toBe(
      customer.body.contacts[1]!.phone ?? null,
    );
    await verifyAs(stack, requestId, customer.primary.email);

    const done = await completedRequest(stack, requestId);
    expect((await stack.db('contacts').where({ id: customer.billing.id }).first()).phone).toBe('+4930555777');
    expect((await stack.db('customers').where({ id: customer.customerId }).first()).trading_name).toBe('Nordlicht');
    expect(await changeStates(stack, requestId)).toEqual([
      { state: 'applied', rule: null },
      { state: 'applied', rule: null },
      { state: 'unchanged', rule: null },
    ]);

    // Exactly the subprocessor holding business contact data was told, once, signed, with the new values.
    const toCrm = stack.sim.calls({ subprocessorId: crm, path: `/v1/tenants/${customer.customerId}/corrections` });
    expect(toCrm).toHaveLength(1);
    expect(toCrm[0]).toMatchObject({
      status: 200,
      signatureValid: true,
      idempotencyKey: `correction-${requestId}-${crm}`,
      body: {
        correctionId: requestId,
        tenantId: customer.customerId,
        fields: {
          company: { tradingName: 'Nordlicht' },
          contacts: [{ contactId: customer.billing.id, op: 'update', phone: '+4930555777' }],
        },
      },
    });
    expect(stack.sim.calls({ subprocessorId: shop, path: /corrections$/ })).toHaveLength(0);
    expect(stack.sim.calls({ subprocessorId: logs, path: /corrections$/ })).toHaveLength(0);

    // The status shows each change, no decision, and each receipt; the requester is told the outcome.
    const status = await stack.http('GET', `/v1/requests/${requestId}`);
    expect(status.body).toMatchObject({ type: 'correction', status: 'completed' });
    expect(status.body.outcome).toMatchObject({
      result: 'corrected',
      changes: [
        { change: 'contact.phone', state: 'applied' },
        { change: 'company.tradingName', state: 'applied' },
        { change: 'contact.name', state: 'unchanged' },
      ],
      receipts: [
        {
          subprocessorId: crm,
          status: 'delivered',
          httpStatus: 200,
          attempts: 1,
          idempotencyKey: `correction-${requestId}-${crm}`,
        },
      ],
    });
    expect(status.body.outcome.decision).toBeUndefined();
    expect(done.payload).toBeNull();
    const outcome = await mailAbout(stack, requestId, customer.primary.email, /^Your correction request for/);
    expect(outcome.text).toContain('trading name: corrected');
    expect(outcome.text).toContain('already correct');

    // Evidence: before/after as hashes only, every email a communication record of the customer.
    const events = await auditEvents.list(stack.db, { requestId });
    const applied = events.filter((e) => e.action === 'correction.change_applied');
    expect(applied).toHaveLength(2);
    for (const e of applied) {
      expect(e.details).toMatchObject({ beforeSha256: expect.stringMatching(/^[0-9a-f]{64}$/), revalidated: false });
      expect(e.details.afterSha256).not.toBe(e.details.beforeSha256);
    }
    expect(events.map((e) => e.action)).toEqual(
      expect.arrayContaining([
        'correction.requested',
        'correction.acknowledged',
        'correction.verification_sent',
        'correction.verification_link_used',
        'correction.identity_verified',
        'correction.outcome_sent',
        'correction.receipt_received',
        'correction.completed',
      ]),
    );
    const evidence = JSON.stringify(events);
    expect(evidence).not.toContain('+4930555777');
    expect(evidence).not.toContain('Nordlicht"');
    expect(evidence.toLowerCase()).not.toContain(customer.primary.email.toLowerCase());
    const records = await stack.db('communication_records').where({ customer_id: customer.customerId });
    expect(records.map((r: { kind: string }) => r.kind)).toEqual(
      expect.arrayContaining(['correction-acknowledgement', 'correction-verification', 'correction-outcome']),
    );
  });
});

describe('a sensitive correction', () => {
  it("waits for a privacy officer other than the filer; approved, the primary contact's old and new address are both told", async () => {
    const customer = await onboardCustomer(stack, [crm]);
    const newEmail = `greta.new.${randomUUID().slice(0, 8)}@nordlicht.example`;
    const started = await fileAsOfficer(customer.customerId, customer.primary.email, [
      { change: 'contact.email', contactId: customer.primary.id, value: newEmail },
    ]);
    const { requestId } = started;
    expect(started.changes).toEqual([expect.objectContaining({ state: 'pending', needsApproval: true })]);

    // Not awaiting a decision yet: 409, not 500.
    const early = await stack.http('POST', `/v1/requests/${requestId}/approve`, {}, {}, null);
    expect(early.status).toBe(401);
    const premature = await stack.http(
      'POST',
      `/v1/requests/${requestId}/approve`,
      {},
      { Authorization: `Bearer ${secondOfficer}` },
    );
    expect(premature.status).toBe(409);

    await verifyAs(stack, requestId, customer.primary.email);
    const waiting = await requestStatusWhen(stack, requestId, (b) => b.stage === 'awaiting-approval');
    expect(waiting.body.progress.changes).toEqual([
      expect.objectContaining({ change: 'contact.email', state: 'awaiting_approval', sensitive: true }),
    ]);
    expect((await stack.db('contacts').where({ id: customer.primary.id }).first()).email).toBe(customer.primary.email);
    await mailAbout(stack, requestId, staffEmail, /^Approval needed/);
    // The wait is covered by the deadline reminders.
    await mailAbout(stack, requestId, staffEmail, /^Reminder: correction request/);

    const self = await stack.http('POST', `/v1/requests/${requestId}/approve`, {}, {}, 'privacy_officer');
    expect(self.status).toBe(403);
    expect(self.body.title).toBe('Four-eyes rule');
    const support = await stack.http('POST', `/v1/requests/${requestId}/approve`, {}, {}, 'support');
    expect(support.status).toBe(403);

    const approved = await stack.http(
      'POST',
      `/v1/requests/${requestId}/approve`,
      {},
      { Authorization: `Bearer ${secondOfficer}` },
    );
    expect(approved.status).toBe(200);
    expect(approved.body).toMatchObject({ decision: 'approved', actor: await actorOf(stack, secondOfficer) });
    const second = await stack.http(
      'POST',
      `/v1/requests/${requestId}/reject`,
      { reason: 'changed my mind' },
      { Authorization: `Bearer ${secondOfficer}` },
    );
    expect(second.status).toBe(409);

    await completedRequest(stack, requestId);
    expect((await stack.db('contacts').where({ id: customer.primary.id }).first()).email).toBe(newEmail);
    const toOld = await mailAbout(stack, requestId, customer.primary.email, /was changed$/);
    const toNew = await mailAbout(stack, requestId, newEmail, /^This address is now registered/);
    expect(toOld.to).toEqual([customer.primary.email]);
    expect(toNew.to).toEqual([newEmail]);
    // The outcome goes to the registered address as it is now.
    await mailAbout(stack, requestId, newEmail, /^Your correction request for/);
    // The old address is not kept once told.
    expect((await stack.db('correction_changes').where({ request_id: requestId }).first()).previous_value).toBeNull();
    const kinds = (await stack.db('communication_records').where({ customer_id: customer.customerId })).map(
      (r: { kind: string }) => r.kind,
    );
    expect(kinds).toEqual(
      expect.arrayContaining(['correction-email-changed-old-address', 'correction-email-changed-new-address']),
    );

    const status = await stack.http('GET', `/v1/requests/${requestId}`);
    expect(status.body.outcome).toMatchObject({
      decision: { decision: 'approved', actor: await actorOf(stack, secondOfficer) },
      changes: [{ change: 'contact.email', state: 'applied', sensitive: true }],
      receipts: [{ subprocessorId: crm, status: 'delivered' }],
    });
    const toCrm = stack.sim.calls({ subprocessorId: crm, path: /corrections$/ });
    expect(toCrm.filter((c) => (c.body as { correctionId: string }).correctionId === requestId)).toHaveLength(1);
    expect(await auditActions(stack, requestId)).toEqual(
      expect.arrayContaining(['correction.approval_requested', 'request.approved', 'correction.approved']),
    );
  });

  it('is not made when rejected, while the other changes are, and the requester is told why', async () => {
    const customer = await onboardCustomer(stack, [crm]);
    const started = await fileAsOfficer(customer.customerId, customer.primary.email, [
      { change: 'company.legalName', value: 'Nordlicht Holding AG' },
      { change: 'company.address', value: 'Unter den Linden 1, 10117 Berlin' },
    ]);
    const { requestId } = started;
    expect(started.changes.map((c) => c.needsApproval)).toEqual([true, false]);
    await verifyAs(stack, requestId, customer.primary.email);
    await requestStatusWhen(stack, requestId, (b) => b.stage === 'awaiting-approval');

    const noReason = await stack.http(
      'POST',
      `/v1/requests/${requestId}/reject`,
      {},
      { Authorization: `Bearer ${secondOfficer}` },
    );
    expect(noReason.status).toBe(400);
    const rejected = await stack.http(
      'POST',
      `/v1/requests/${requestId}/reject`,
      { reason: 'The register extract shows the old name is still the legal one.' },
      { Authorization: `Bearer ${secondOfficer}` },
    );
    expect(rejected.status).toBe(200);

    await completedRequest(stack, requestId);
    const row = await stack.db('customers').where({ id: customer.customerId }).first();
    expect(row.company_name).toBe(customer.body.company.name);
    expect(row.address).toBe('Unter den Linden 1, 10117 Berlin');
    expect(await changeStates(stack, requestId)).toEqual([
      { state: 'rejected', rule: 'approval_rejected' },
      { state: 'applied', rule: null },
    ]);
    const outcome = await mailAbout(stack, requestId, customer.primary.email, /^Your correction request for/);
    expect(outcome.text).toContain('legal company name: not made');
    expect(outcome.text).toContain('the old name is still the legal one');
    // Only the applied change travels.
    const call = stack.sim
      .calls({ subprocessorId: crm, path: /corrections$/ })
      .find((c) => (c.body as { correctionId: string }).correctionId === requestId)!;
    expect((call.body as { fields: unknown }).fields).toEqual({
      company: { address: 'Unter den Linden 1, 10117 Berlin' },
    });
    const status = await stack.http('GET', `/v1/requests/${requestId}`);
    expect(status.body.outcome.decision).toMatchObject({ decision: 'rejected' });
  });

  it('swaps the addresses of two contacts in one transaction (the uniqueness of an address is checked at commit)', async () => {
    const customer = await onboardCustomer(stack, [crm]);
    const started = await fileAsOfficer(customer.customerId, customer.primary.email, [
      { change: 'contact.email', contactId: customer.primary.id, value: customer.billing.email },
      { change: 'contact.email', contactId: customer.billing.id, value: customer.primary.email },
    ]);
    const { requestId } = started;
    await verifyAs(stack, requestId, customer.primary.email);
    await requestStatusWhen(stack, requestId, (b) => b.stage === 'awaiting-approval');
    const approved = await stack.http(
      'POST',
      `/v1/requests/${requestId}/approve`,
      {},
      { Authorization: `Bearer ${secondOfficer}` },
    );
    expect(approved.status).toBe(200);
    await completedRequest(stack, requestId);
    const rows = await stack.db('contacts').where({ customer_id: customer.customerId }).orderBy('id');
    const emailOf = (id: string) => rows.find((r: { id: string }) => r.id === id).email;
    expect([emailOf(customer.primary.id), emailOf(customer.billing.id)]).toEqual([
      customer.billing.email,
      customer.primary.email,
    ]);
    expect((await changeStates(stack, requestId)).map((c) => c.state)).toEqual(['applied', 'applied']);
  });

  it('is re-validated when its row changed between validation and apply: no lost update, no blind overwrite', async () => {
    const customer = await onboardCustomer(stack, [crm]);
    const newEmail = `greta.moved.${randomUUID().slice(0, 8)}@nordlicht.example`;
    const started = await fileAsOfficer(customer.customerId, customer.primary.email, [
      { change: 'contact.email', contactId: customer.primary.id, value: newEmail },
      { change: 'company.tradingName', value: 'Nordlicht Online' },
    ]);
    const { requestId } = started;
    await verifyAs(stack, requestId, customer.primary.email);
    await requestStatusWhen(stack, requestId, (b) => b.stage === 'awaiting-approval');

    // Someone else edits both rows meanwhile: another column of the contact, and the very field being corrected.
    await stack.db('contacts').where({ id: customer.primary.id }).update({ name: 'Greta L. Lindqvist' });
    await stack.db('customers').where({ id: customer.customerId }).update({ trading_name: 'Nordlicht Direct' });

    const approved = await stack.http(
      'POST',
      `/v1/requests/${requestId}/approve`,
      {},
      { Authorization: `Bearer ${secondOfficer}` },
    );
    expect(approved.status).toBe(200);
    await completedRequest(stack, requestId);

    const contact = await stack.db('contacts').where({ id: customer.primary.id }).first();
    expect(contact).toMatchObject({ email: newEmail, name: 'Greta L. Lindqvist' }); // no lost update
    const row = await stack.db('customers').where({ id: customer.customerId }).first();
    expect(row.trading_name).toBe('Nordlicht Direct'); // not overwritten blindly
    expect(await changeStates(stack, requestId)).toEqual([
      { state: 'applied', rule: null },
      { state: 'conflict', rule: 'changed_since_validation' },
    ]);
    const status = await stack.http('GET', `/v1/requests/${requestId}`);
    expect(status.body.outcome).toMatchObject({ revalidated: true });
    const events = await auditEvents.list(stack.db, { requestId });
    expect(events.find((e) => e.action === 'correction.change_applied')!.details).toMatchObject({ revalidated: true });
    expect(events.find((e) => e.action === 'correction.change_not_applied')!.details).toMatchObject({
      rule: 'changed_since_validation',
    });
    const outcome = await mailAbout(stack, requestId, newEmail, /^Your correction request for/);
    expect(outcome.text).toContain('changed by someone else');
  });
});

describe('invalid corrections', () => {
  it('are refused with every bad change and rule named, and nothing is started or written', async () => {
    const customer = await onboardCustomer(stack, []);
    const other = await onboardCustomer(stack, []);
    const count = async () => ({
      requests: (await stack.db('lifecycle_requests').where({ customer_id: customer.customerId, type: 'correction' }))
        .length,
      changes: (await stack.db('correction_changes').where({ customer_id: customer.customerId })).length,
    });
    const before = await count();

    const res = await fileCorrection(customer.customerId, {
      requesterEmail: customer.primary.email,
      changes: [
        { change: 'contact.phone', contactId: other.billing.id, value: '+4930111222' },
        { change: 'contact.remove', contactId: customer.primary.id },
        { change: 'company.tradingName', value: 'A' },
        { change: 'company.tradingName', value: 'B' },
        { change: 'contact.add', contact: { name: 'Jonas Weber', email: customer.billing.email.toUpperCase() } },
      ],
    });
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    expect(res.body.errors).toEqual([
      expect.objectContaining({ field: 'body.changes[0].contactId', rule: 'contact_of_customer' }),
      expect.objectContaining({ field: 'body.changes[1]', rule: 'one_primary_contact' }),
      expect.objectContaining({ field: 'body.changes[3]', rule: 'one_change_per_field' }),
      expect.objectContaining({ field: 'body.changes[4].contact.email', rule: 'unique_contact_email' }),
    ]);

    const syntax = await fileCorrection(customer.customerId, {
      requesterEmail: customer.primary.email,
      changes: [
        { change: 'contact.email', contactId: customer.billing.id, value: 'not-an-address' },
        { change: 'contact.phone', contactId: customer.billing.id, value: '030 1234' },
        { change: 'company.favouriteColour', value: 'blue' },
      ],
    });
    expect(syntax.status).toBe(400);
    const fields = syntax.body.errors.map((e: { field: string }) => e.field);
    expect(fields).toEqual(
      expect.arrayContaining(['body.changes[0].value', 'body.changes[1].value', 'body.changes[2].change']),
    );
    expect(await count()).toEqual(before);

    const unknown = await fileCorrection(randomUUID(), {
      requesterEmail: customer.primary.email,
      changes: [{ change: 'company.tradingName', value: 'X' }],
    });
    expect(unknown.status).toBe(404);

    const seeded = await seedDemoCustomer(stack.db, { operationalRows: 0, technicalRows: 0, communicationRows: 0 });
    await stack.db('customers').where({ id: seeded.customerId }).update({ status: 'terminated' });
    const terminated = await fileCorrection(seeded.customerId, {
      requesterEmail: customer.primary.email,
      changes: [{ change: 'company.tradingName', value: 'X' }],
    });
    expect(terminated.status).toBe(409);
    expect(await stack.db('lifecycle_requests').where({ customer_id: seeded.customerId, type: 'correction' })).toEqual(
      [],
    );
  });

  it('answers 4xx to hundreds of hostile bodies, never 5xx, and records nothing', async () => {
    const customer = await onboardCustomer(stack, []);
    const valid = {
      requesterEmail: customer.primary.email,
      changes: [{ change: 'contact.phone', contactId: customer.billing.id, value: '+4930123123' }],
    };
    const hostile = fc.oneof(
      fc.constantFrom(
        "'; DROP TABLE contacts; --",
        '\u0000',
        '__proto__',
        '',
        ' ',
        '../../etc/passwd',
        'Ａ'.repeat(300),
      ),
      fc.string({ maxLength: 200 }),
      fc.integer(),
      fc.constant(null),
      fc.array(fc.integer(), { maxLength: 3 }),
      fc.object({ maxDepth: 1 }),
    );
    // Every mutated place carries a format rule, so any of these bodies is invalid.
    const bodies = fc.oneof(
      fc.anything(),
      hostile.map((v) => ({ ...valid, requesterEmail: v })),
      hostile.map((v) => ({ ...valid, changes: v })),
      hostile.map((v) => ({ ...valid, changes: [{ ...valid.changes[0], contactId: v }] })),
      hostile.map((v) => ({ ...valid, changes: [{ ...valid.changes[0], change: v }] })),
      // null would be valid here (it clears the phone).
      hostile.filter((v) => v !== null).map((v) => ({ ...valid, changes: [{ ...valid.changes[0], value: v }] })),
      hostile.map((v) => ({ ...valid, changes: [valid.changes[0], { change: 'contact.add', contact: v }] })),
      fc.constant(JSON.parse('{"__proto__": {"polluted": true}, "requesterEmail": 1}')),
    );
    const statuses = new Set<number>();
    await fc.assert(
      fc.asyncProperty(bodies, async (body) => {
        const res = await fileCorrection(customer.customerId, body);
        statuses.add(res.status);
        return res.status >= 400 && res.status < 500;
      }),
      { numRuns: 300 },
    );
    expect([...statuses]).toEqual([400]);
    expect(
      await stack.db('lifecycle_requests').where({ customer_id: customer.customerId, type: 'correction' }),
    ).toEqual([]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});
