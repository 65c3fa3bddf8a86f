/**
 * Correction requests and their subprocessors (GDPR Art. 19): retries with one idempotency key until the correction
 * is in, escalation to staff when a subprocessor keeps failing, and a privacy officer's waiver. Real dev server,
 * PostgreSQL, SMTP sink and subprocessor simulator; retry intervals and escalation delay in seconds.
 */
import { randomUUID } from 'node:crypto';
import { auditEvents } from '../db/repositories/audit-events';
import {
  actorOf,
  completedRequest,
  mailAbout,
  onboardCustomer,
  requestStatusWhen,
  verifyAs,
} from './support/corrections';
import { startTestStack, type TestStack } from './support/test-stack';

let stack: TestStack;
const staffEmail = `privacy-staff-${randomUUID().slice(0, 8)}@example.com`;

beforeAll(async () => {
  stack = await startTestStack({
    name: 'correction-propagation',
    env: {
      CORRECTION_VERIFICATION_TIMEOUT: 'PT2M',
      CORRECTION_REMINDER_OFFSETS: 'none',
      CORRECTION_RECEIPT_ESCALATION_AFTER: 'PT3S',
      CORRECTION_RETRY_INITIAL_INTERVAL: 'PT1S',
      CORRECTION_RETRY_MAX_INTERVAL: 'PT1S',
      STAFF_NOTIFICATION_EMAIL: staffEmail,
    },
  });
});
afterAll(async () => {
  await stack?.stop();
});

/** Files a non-sensitive correction of the billing contact's phone and verifies it; returns the request id. */
async function correctPhone(customerId: string, requesterEmail: string, contactId: string): Promise<string> {
  const res = await stack.http('POST', `/v1/customers/${customerId}/correction-requests`, {
    requesterEmail,
    changes: [{ change: 'contact.phone', contactId, value: '+4930444333' }],
  });
  expect(res.status).toBe(202);
  await verifyAs(stack, res.body.requestId, requesterEmail);
  return res.body.requestId as string;
}

describe('propagation to subprocessors', () => {
  it('reaches a subprocessor that is down for a while exactly once, with the same idempotency key on every attempt', async () => {
    const crm = await stack.addSubprocessor('crm', ['business_contact']);
    const customer = await onboardCustomer(stack, [crm]);
    stack.sim.failNext(crm, { status: 503, times: 3 });

    const requestId = await correctPhone(customer.customerId, customer.primary.email, customer.billing.id);
    await completedRequest(stack, requestId);

    const calls = stack.sim.calls({ subprocessorId: crm, path: `/v1/tenants/${customer.customerId}/corrections` });
    expect(calls.map((c) => c.status)).toEqual([503, 503, 503, 200]);
    expect(new Set(calls.map((c) => c.idempotencyKey))).toEqual(new Set([`correction-${requestId}-${crm}`]));
    // The same body every time, so the one effective correction is the one asked for.
    expect(new Set(calls.map((c) => JSON.stringify(c.body))).size).toBe(1);
    expect(calls.every((c) => c.signatureValid)).toBe(true);

    const receipt = await stack
      .db('correction_receipts')
      .where({ request_id: requestId, subprocessor_id: crm })
      .first();
    expect(receipt).toMatchObject({ status: 'delivered', http_status: 200, attempts: 4, already_done: false });
    const status = await stack.http('GET', `/v1/requests/${requestId}`);
    expect(status.body.outcome.receipts).toEqual([
      expect.objectContaining({ subprocessorId: crm, status: 'delivered', attempts: 4, alreadyDone: false }),
    ]);
    // A retry of the delivered call is "already done" at the subprocessor: nothing is applied twice.
    const again = await fetch(`${stack.sim.baseUrlFor(crm)}/v1/tenants/${customer.customerId}/corrections`, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/json',
        'Idempotency-Key': calls[0]!.idempotencyKey!,
        'X-Signature': calls[0]!.headers['x-signature']!,
      },
      body: JSON.stringify(calls[3]!.body),
    });
    expect(again.status).toBe(409);
    expect(stack.sim.calls({ subprocessorId: crm, path: /corrections$/ }).filter((c) => c.status === 200)).toHaveLength(
      1,
    );
  });

  it('escalates a subprocessor that keeps failing to staff, and completes once a privacy officer waives its receipt', async () => {
    const flaky = await stack.addSubprocessor('flaky', ['business_contact']);
    const strict = await stack.addSubprocessor('strict', ['business_contact']);
    const steady = await stack.addSubprocessor('steady', ['business_contact']);
    const customer = await onboardCustomer(stack, [flaky, strict, steady]);
    stack.sim.failNext(flaky, { status: 503, times: 10_000 });
    // A permanent refusal (not 408/409/429) is not retried: staff hear of it at once.
    stack.sim.failNext(strict, { status: 422, times: 10_000 });

    const requestId = await correctPhone(customer.customerId, customer.primary.email, customer.billing.id);
    const rejectedMail = await mailAbout(stack, requestId, staffEmail, new RegExp(`subprocessor ${strict} has not`));
    expect(rejectedMail.text).toContain('refused the correction');
    const failingMail = await mailAbout(stack, requestId, staffEmail, new RegExp(`subprocessor ${flaky} has not`));
    expect(failingMail.text).toContain('still being retried');
    expect(failingMail.text).toContain(`/v1/requests/${requestId}/receipts/${flaky}/waive`);

    const waiting = await requestStatusWhen(
      stack,
      requestId,
      (b) =>
        b.stage === 'propagating' &&
        b.progress?.receipts?.find((r: { subprocessorId: string }) => r.subprocessorId === steady)?.status ===
          'delivered',
    );
    expect(waiting.body.status).toBe('running');
    expect(waiting.body.progress.receipts).toEqual([
      expect.objectContaining({ subprocessorId: flaky, status: 'pending', escalated: true }),
      expect.objectContaining({ subprocessorId: steady, status: 'delivered', escalated: false }),
      expect.objectContaining({ subprocessorId: strict, status: 'failed', escalated: true }),
    ]);
    const reason = { reason: 'Vendor confirmed the correction by phone, ticket 4711' };
    const waive = (sp: string, as: 'support' | 'privacy_officer', body: unknown = reason) =>
      stack.http('POST', `/v1/requests/${requestId}/receipts/${sp}/waive`, body, {}, as);

    expect((await waive(flaky, 'support')).status).toBe(403);
    expect((await waive(flaky, 'privacy_officer', { reason: 'ok' })).status).toBe(400);
    expect((await waive(steady, 'privacy_officer')).status).toBe(409);
    expect((await waive('not-told', 'privacy_officer')).status).toBe(404);
    const waived = await waive(flaky, 'privacy_officer');
    expect(waived.status).toBe(200);
    expect(waived.body).toEqual({ requestId, subprocessorId: flaky, status: 'waived' });
    const twice = await waive(flaky, 'privacy_officer');
    expect(twice.status).toBe(409);
    expect(twice.body.rule).toBe('already_waived');
    // Still running: the refused one is not in yet.
    expect((await stack.db('lifecycle_requests').where({ id: requestId }).first()).status).toBe('running');
    expect((await waive(strict, 'privacy_officer')).status).toBe(200);
    // The reasons are kept in the database (the workflow got their ids); refused waivers left none behind.
    const status = await stack.http('GET', `/v1/requests/${requestId}`, undefined, {}, 'auditor');
    expect(status.body.reasons.map((r: { kind: string; text: string }) => [r.kind, r.text])).toEqual([
      ['waiver_reason', reason.reason],
      ['waiver_reason', reason.reason],
    ]);

    await completedRequest(stack, requestId);
    const receipts = await stack.db('correction_receipts').where({ request_id: requestId }).orderBy('subprocessor_id');
    const officer = await actorOf(stack, stack.tokens.privacy_officer);
    expect(receipts.map((r: { subprocessor_id: string; status: string }) => [r.subprocessor_id, r.status])).toEqual(
      [
        [flaky, 'waived'],
        [steady, 'delivered'],
        [strict, 'waived'],
      ].sort((a, b) => a[0]!.localeCompare(b[0]!)),
    );
    expect(receipts.find((r: { subprocessor_id: string }) => r.subprocessor_id === flaky)).toMatchObject({
      waived_by: officer,
      waive_reason: reason.reason,
    });
    expect(receipts.find((r: { subprocessor_id: string }) => r.subprocessor_id === flaky).escalated_at).not.toBeNull();

    const events = await auditEvents.list(stack.db, { requestId });
    const waivers = events.filter((e) => e.action === 'correction.receipt_waived');
    expect(waivers.map((e) => [e.subjectId, e.actor]).sort()).toEqual(
      [
        [flaky, officer],
        [strict, officer],
      ].sort(),
    );
    expect(waivers[0]!.details).toMatchObject({ reasonSha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(events.filter((e) => e.action === 'correction.receipt_escalated')).toHaveLength(2);
    const ended = await waive(flaky, 'privacy_officer');
    expect(ended.status).toBe(409);
    expect(ended.body.rule).toBe('request_ended');
  });

  it('calls no subprocessor when none holds the corrected category', async () => {
    const shop = await stack.addSubprocessor('shop', ['seller_accounts']);
    const customer = await onboardCustomer(stack, [shop]);
    const requestId = await correctPhone(customer.customerId, customer.primary.email, customer.billing.id);
    const done = await completedRequest(stack, requestId);
    expect(done.outcome).toMatchObject({ result: 'corrected', receipts: [] });
    expect(stack.sim.calls({ subprocessorId: shop, path: /corrections$/ })).toHaveLength(0);
  });
});
