/**
 * Onboarding end to end: HTTP API -> Temporal dev server -> worker -> PostgreSQL, SMTP and subprocessor HTTP.
 */
import { WorkflowFailedError } from '@temporalio/client';
import { auditEvents } from '../db/repositories/audit-events';
import { verifySignature } from '../lib/signature';
import { onboardingBody } from './support/fixtures';
import type { RecordedCall } from './fakes/subprocessor-simulator';
import { startTestStack, type TestStack } from './support/test-stack';

const tenantOf = (call: RecordedCall) => (call.body as { tenantId?: string } | undefined)?.tenantId;

let stack: TestStack;
let crm: string;
let analytics: string;

beforeAll(async () => {
  stack = await startTestStack({ name: 'onboarding' });
  crm = await stack.addSubprocessor('crm', ['business_contact']);
  analytics = await stack.addSubprocessor('analytics', ['orders', 'listings']);
});
afterAll(async () => {
  await stack?.stop();
});

async function onboard(body: unknown, headers: Record<string, string> = {}) {
  return stack.http('POST', '/v1/customers', body, headers);
}

async function requestCount(): Promise<number> {
  const [row] = await stack.db('lifecycle_requests').count<{ count: string }[]>({ count: '*' });
  return Number(row!.count);
}

describe('onboarding a customer through the API', () => {
  it('records the customer, registers the tenant with each subprocessor, welcomes the primary contact and activates it', async () => {
    const body = onboardingBody([crm, analytics]);
    const res = await onboard(body);
    expect(res.status).toBe(202);
    expect(res.headers.get('location')).toBe(`/v1/requests/${res.body.requestId}`);
    const { requestId, customerId, workflowId } = res.body;

    const result = await stack.client.workflow.getHandle(workflowId).result();
    expect(result).toMatchObject({ customerId, status: 'active' });

    // Database: the customer and its parts, the request completed, its personal-data payload cleared.
    const customer = await stack.http('GET', `/v1/customers/${customerId}`);
    expect(customer.status).toBe(200);
    expect(customer.body).toMatchObject({
      id: customerId,
      companyName: body.company.name,
      registrationNumber: body.company.registrationNumber,
      status: 'active',
      contract: { startsOn: '2026-01-01', endsOn: '2027-12-31', terminationDisposition: 'return_then_delete' },
    });
    expect(customer.body.contacts.map((c: { email: string }) => c.email).sort()).toEqual(
      body.contacts.map((c) => c.email).sort(),
    );
    expect(customer.body.sellerAccounts).toHaveLength(2);
    expect(
      customer.body.subprocessors.map((s: { id: string; registeredAt: string | null }) => [
        s.id,
        s.registeredAt !== null,
      ]),
    ).toEqual(
      [
        [analytics, true],
        [crm, true],
      ].sort(),
    );
    const request = await stack.http('GET', `/v1/requests/${requestId}`);
    expect(request.body).toMatchObject({
      id: requestId,
      type: 'onboarding',
      status: 'completed',
      stage: 'completed',
      customerId,
    });
    expect(Object.keys(request.body.outcome.subprocessors).sort()).toEqual([analytics, crm].sort());
    const stored = await stack.db('lifecycle_requests').where({ id: requestId }).first();
    expect(stored.payload).toBeNull();

    // Subprocessors: one signed, idempotency-keyed tenant registration each, with the categories each holds.
    for (const [id, categories] of [
      [crm, ['business_contact']],
      [analytics, ['orders', 'listings']],
    ] as const) {
      const calls = stack.sim.calls({ subprocessorId: id, path: '/v1/tenants' });
      expect(calls).toHaveLength(1);
      expect(calls[0]!.signatureValid).toBe(true);
      expect(calls[0]!.idempotencyKey).toBe(`tenant-registration-${customerId}-${id}`);
      expect(calls[0]!.body).toEqual({ tenantId: customerId, categories });
    }

    // Mailbox: the welcome email reached the primary contact, not the billing one.
    const primary = body.contacts[0]!.email;
    const mail = await stack.smtp.waitFor((m) => m.to.includes(primary));
    expect(mail.subject).toContain(body.company.name);
    expect(mail.text).toContain('Greta Lindqvist');
    expect(stack.smtp.messagesTo(body.contacts[1]!.email)).toHaveLength(0);

    // Audit log: one event per step, in order, with no plaintext personal data.
    const events = await auditEvents.list(stack.db, { requestId });
    expect(events.map((e) => e.action)).toEqual([
      'onboarding.requested',
      'customer.recorded',
      ...['subprocessor.tenant_registered', 'subprocessor.tenant_registered'],
      'notification.welcome_sent',
      'customer.activated',
    ]);
    expect(JSON.stringify(events)).not.toContain(primary);
    expect(JSON.stringify(events)).not.toContain('Greta');
  });

  it('answers a retried POST with the same Idempotency-Key with the first answer and starts nothing new', async () => {
    const body = onboardingBody([crm]);
    const key = `retry-${Date.now()}`;
    const first = await onboard(body, { 'Idempotency-Key': key });
    const second = await onboard(body, { 'Idempotency-Key': key });
    expect(first.status).toBe(202);
    expect(second.status).toBe(202);
    expect(second.body).toMatchObject({
      requestId: first.body.requestId,
      customerId: first.body.customerId,
      replayed: true,
    });
    expect(first.body.replayed).toBe(false);

    await stack.client.workflow.getHandle(first.body.workflowId).result();
    const rows = await stack.db('lifecycle_requests').where({ idempotency_key: key });
    expect(rows).toHaveLength(1);
    expect(await stack.db('customers').where({ registration_number: body.company.registrationNumber })).toHaveLength(1);
    expect(stack.sim.calls({ subprocessorId: crm }).filter((c) => tenantOf(c) === first.body.customerId)).toHaveLength(
      1,
    );

    const otherBody = await onboard(onboardingBody([crm]), { 'Idempotency-Key': key });
    expect(otherBody.status).toBe(422);
    expect(otherBody.headers.get('content-type')).toContain('application/problem+json');
  });

  it('refuses a second onboarding of the same registration number with 409 and records nothing', async () => {
    const body = onboardingBody([]);
    const first = await onboard(body);
    expect(first.status).toBe(202);
    // While the first is live, and after it completed: both refused.
    const during = await onboard({ ...body, contacts: onboardingBody().contacts });
    expect(during.status).toBe(409);
    await stack.client.workflow.getHandle(first.body.workflowId).result();
    const before = await requestCount();
    const after = await onboard({ ...body, contacts: onboardingBody().contacts });
    expect(after.status).toBe(409);
    expect(after.body).toMatchObject({ status: 409, customerId: first.body.customerId });
    expect(await requestCount()).toBe(before);
  });

  it('keeps retrying a subprocessor that answers 503 and completes once it recovers', async () => {
    stack.sim.failNext(analytics, { status: 503, times: 2 });
    const res = await onboard(onboardingBody([analytics]));
    expect(res.status).toBe(202);
    const result = await stack.client.workflow.getHandle(res.body.workflowId).result();
    expect(result.status).toBe('active');
    const calls = stack.sim
      .calls({ subprocessorId: analytics, path: '/v1/tenants' })
      .filter((c) => tenantOf(c) === res.body.customerId);
    expect(calls.map((c) => c.status)).toEqual([503, 503, 201]);
    expect(new Set(calls.map((c) => c.idempotencyKey)).size).toBe(1);
    const customer = await stack.db('customers').where({ id: res.body.customerId }).first();
    expect(customer.status).toBe('active');
  });

  it('fails onboarding clearly, without retrying or welcoming, when a subprocessor rejects the tenant with 422', async () => {
    stack.sim.failNext(crm, { status: 422, times: 1, body: { error: 'unsupported region' } });
    const body = onboardingBody([crm]);
    const res = await onboard(body);
    expect(res.status).toBe(202);

    const failure = await stack.client.workflow
      .getHandle(res.body.workflowId)
      .result()
      .then(
        () => null,
        (err: unknown) => err,
      );
    expect(failure).toBeInstanceOf(WorkflowFailedError);
    const cause = (failure as WorkflowFailedError).cause;
    expect(cause?.message).toContain(crm);
    expect(cause?.message).toContain('HTTP 422');

    const calls = stack.sim
      .calls({ subprocessorId: crm, path: '/v1/tenants' })
      .filter((c) => tenantOf(c) === res.body.customerId);
    expect(calls).toHaveLength(1);
    const request = await stack.http('GET', `/v1/requests/${res.body.requestId}`);
    expect(request.body).toMatchObject({ status: 'failed', stage: 'failed' });
    expect(request.body.failureReason).toContain('unsupported region');
    expect(request.body.outcome).toEqual({ failedSubprocessors: [crm] });
    const customer = await stack.db('customers').where({ id: res.body.customerId }).first();
    expect(customer.status).toBe('onboarding_failed');
    expect(stack.smtp.messagesTo(body.contacts[0]!.email)).toHaveLength(0);
    const actions = (await auditEvents.list(stack.db, { requestId: res.body.requestId })).map((e) => e.action);
    expect(actions).toContain('onboarding.failed');
    expect(actions).not.toContain('customer.activated');
  });

  it('signs every registration with the subprocessor secret over the exact body bytes', async () => {
    const res = await onboard(onboardingBody([crm]));
    await stack.client.workflow.getHandle(res.body.workflowId).result();
    const call = stack.sim.calls({ subprocessorId: crm }).find((c) => tenantOf(c) === res.body.customerId)!;
    expect(verifySignature(JSON.stringify(call.body), call.headers['x-signature'], 'wrong-secret')).toBe(false);
    expect(call.signatureValid).toBe(true);
  });
});

describe('refusing bad onboarding input', () => {
  async function expectRefused(body: unknown, fields: Record<string, string>) {
    const before = await requestCount();
    const res = await onboard(body);
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    for (const [field, rule] of Object.entries(fields)) {
      expect(res.body.errors).toContainEqual(expect.objectContaining({ field, rule }));
    }
    expect(await requestCount()).toBe(before);
    return res;
  }

  it('names each invalid field and the rule it broke', async () => {
    const body = onboardingBody([]);
    await expectRefused(
      {
        ...body,
        company: { ...body.company, country: 'Germany' },
        contacts: [{ ...body.contacts[0], email: 'not-an-email', phone: '030 123' }],
        contract: { ...body.contract, endsOn: '2025-01-01' },
      },
      {
        'body.company.country': 'invalid_format:regex',
        'body.contacts[0].email': 'invalid_format:email',
        'body.contacts[0].phone': 'invalid_format:regex',
        'body.contract.endsOn': 'custom',
      },
    );
  });

  it('rejects unknown fields, missing sections and a missing primary contact', async () => {
    const body = onboardingBody([]);
    await expectRefused({ ...body, isAdmin: true }, { 'body.isAdmin': 'unrecognized_key' });
    await expectRefused(
      { company: body.company },
      { 'body.contacts': 'invalid_type', 'body.contract': 'invalid_type' },
    );
    await expectRefused({ ...body, contacts: [body.contacts[1]] }, { 'body.contacts': 'custom' });
  });

  it('rejects a subprocessor that is not in the registry, naming its position', async () => {
    await expectRefused(onboardingBody([crm, 'no-such-processor']), {
      'body.subprocessors[1]': 'unknown_subprocessor',
    });
  });

  it('rejects a malformed JSON body and a malformed Idempotency-Key', async () => {
    const before = await requestCount();
    const res = await stack.http('POST', '/v1/customers', '{"company": ', {});
    expect(res.status).toBe(400);
    expect(res.body.detail).toBe('body is not valid JSON');
    const key = await onboard(onboardingBody([]), { 'Idempotency-Key': 'x' });
    expect(key.status).toBe(400);
    expect(key.body.errors[0].field).toBe('header.Idempotency-Key');
    expect(await requestCount()).toBe(before);
  });

  it('starts no workflow for refused input', async () => {
    const onboardings = async () => {
      const ids: string[] = [];
      for await (const run of stack.client.workflow.list({
        query: `TaskQueue = '${stack.taskQueue}' AND WorkflowType = 'onboardingWorkflow'`,
      }))
        ids.push(run.workflowId);
      return ids.length;
    };
    const before = await onboardings();
    const res = await onboard({ ...onboardingBody([]), contacts: [] });
    expect(res.status).toBe(400);
    // Visibility is eventually consistent: give a wrongly started run time to show up before counting again.
    await new Promise((r) => setTimeout(r, 1500));
    expect(await onboardings()).toBe(before);
  });
});

describe('reading customers and requests', () => {
  it('answers 404 for an unknown customer or request and 400 for a malformed id', async () => {
    expect((await stack.http('GET', '/v1/customers/6f1e0a52-4a4f-4c1b-9d9e-2f5f6f0f6f0f')).status).toBe(404);
    expect((await stack.http('GET', '/v1/requests/6f1e0a52-4a4f-4c1b-9d9e-2f5f6f0f6f0f')).status).toBe(404);
    const bad = await stack.http('GET', '/v1/customers/not-a-uuid');
    expect(bad.status).toBe(400);
    expect(bad.body.errors[0].field).toBe('path.id');
  });

  it('lists customers page by page', async () => {
    const page = await stack.http('GET', '/v1/customers?limit=1');
    expect(page.status).toBe(200);
    expect(page.body.items).toHaveLength(1);
    const next = await stack.http('GET', page.body.next);
    expect(next.body.items[0].id > page.body.items[0].id).toBe(true);
    expect((await stack.http('GET', '/v1/customers?limit=1000')).status).toBe(400);
  });
});
