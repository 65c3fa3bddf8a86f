/**
 * Access requests whose identity is never confirmed: the verification link expires and the request closes on its own,
 * with the reason recorded and the requester told. The wait is a few seconds here (ACCESS_VERIFICATION_TIMEOUT).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { auditEvents } from '../db/repositories/audit-events';
import { seedDemoCustomer } from '../scripts/seed-demo-customer';
import { signLinkToken } from '../lib/signed-links';
import { confirmVerification, linkToken } from './support/access-export';
import { eventually } from './support/polling';
import { startTestStack, type TestStack } from './support/test-stack';

let stack: TestStack;
let exportDir: string;

beforeAll(async () => {
  exportDir = await mkdtemp(path.join(os.tmpdir(), 'dlo-access-timeouts-'));
  stack = await startTestStack({
    name: 'access-request-timeouts',
    env: {
      EXPORT_DIR: exportDir,
      ACCESS_VERIFICATION_TIMEOUT: 'PT3S',
      ACCESS_REMINDER_OFFSETS: 'none',
      STAFF_NOTIFICATION_EMAIL: `staff-${randomUUID().slice(0, 8)}@example.com`,
    },
  });
});
afterAll(async () => {
  await stack?.stop();
  await rm(exportDir, { recursive: true, force: true });
});

async function requestFromPrimaryContact() {
  const seed = await seedDemoCustomer(stack.db, { operationalRows: 10, technicalRows: 0, communicationRows: 0 });
  const primary = await stack.db('contacts').where({ customer_id: seed.customerId, role: 'primary' }).first();
  const res = await stack.http('POST', `/v1/customers/${seed.customerId}/access-requests`, {
    requesterEmail: primary.email,
    scope: 'all',
  });
  expect(res.status).toBe(202);
  const mail = await stack.smtp.waitFor(
    (m) => m.to.includes(primary.email) && m.subject.startsWith('Confirm your data access request'),
  );
  return {
    requestId: res.body.requestId as string,
    email: primary.email as string,
    token: linkToken(mail.text, 'verify'),
  };
}

describe('identity never confirmed', () => {
  it('closes the request after the configured wait, records why, tells the requester and discloses nothing', async () => {
    const { requestId, email } = await requestFromPrimaryContact();
    const row = await eventually(
      () => stack.db('lifecycle_requests').where({ id: requestId }).first(),
      (r) => r.status === 'cancelled',
    );
    expect(row).toMatchObject({ stage: 'closed-unverified', payload: null });
    expect(row.failure_reason).toContain('identity not confirmed');
    expect(row.outcome).toMatchObject({ result: 'closed_unverified', rule: 'identity_not_confirmed' });

    const closure = await stack.smtp.waitFor((m) => m.to.includes(email) && m.subject.includes('was closed'));
    expect(closure.text).toContain(requestId);
    expect(closure.text).not.toContain('Nordwind');
    const actions = (await auditEvents.list(stack.db, { requestId })).map((e) => e.action);
    expect(actions).toEqual(
      expect.arrayContaining(['access.requested', 'access.verification_sent', 'access.closed_unverified']),
    );
    expect(actions).not.toContain('access.export_started');
    expect(await stack.db('export_archives').where({ request_id: requestId })).toHaveLength(0);
    const link = await stack.db('public_links').where({ request_id: requestId }).first();
    expect(link.revoked_at).not.toBeNull();
    expect(link.use_count).toBe(0);

    const status = await stack.http('GET', `/v1/requests/${requestId}`);
    expect(status.body).toMatchObject({ status: 'cancelled', stage: 'closed-unverified' });
  });

  it('answers 410 for the expired link, and 404 for a link that is not a verification link', async () => {
    const { requestId, token } = await requestFromPrimaryContact();
    await eventually(
      () => stack.db('lifecycle_requests').where({ id: requestId }).first(),
      (r) => r.status === 'cancelled',
    );
    const expired = await stack.http('GET', `/verify/${token}`, undefined, { Accept: 'application/json' }, null);
    expect(expired.status).toBe(410);
    expect(expired.headers.get('content-type')).toContain('application/problem+json');
    expect(expired.body.detail).toContain('expired');
    // A browser gets a page saying so, with the same status; confirming is refused the same way.
    const page = await stack.http('GET', `/verify/${token}`, undefined, { Accept: 'text/html' }, null);
    expect([page.status, page.headers.get('content-type')]).toEqual([410, expect.stringContaining('text/html')]);
    expect(page.body).toContain('This link has expired');
    expect((await confirmVerification(stack, token)).status).toBe(410);
    // Still unused: the expiry refused it before anything was counted.
    const link = await stack.db('public_links').where({ request_id: requestId }).first();
    expect(link.use_count).toBe(0);

    // Our own key, the right link id, but minted for downloads: not a verification link.
    const exportToken = signLinkToken(stack.config.links.keyring, {
      purpose: 'export',
      linkId: link.id,
      expiresAtMs: Date.now() + 60_000,
    });
    expect((await confirmVerification(stack, exportToken)).status).toBe(404);
    // A far-future expiry cannot be forged without the key: the signature no longer matches.
    const [payload, signature] = token.split('.') as [string, string];
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
    const forged = `${Buffer.from(JSON.stringify({ ...claims, e: Date.now() + 3_600_000 })).toString('base64url')}.${signature}`;
    expect((await confirmVerification(stack, forged)).status).toBe(404);
  });
});
