/**
 * Four eyes on every irreversible or trust-changing decision (README "Approvals"), on the real stack: a contract end
 * brought forward, a shortened retention period and a new subprocessor (or a new URL or secret) wait as change
 * requests until a second staff member approves them; the requester cannot; the answers to "nothing to decide" are
 * 409 for every request type. This file's stack runs with the default outbound protections (no plain http, no
 * private addresses), so subprocessor URLs here are https to a public address literal (never called).
 */
import { randomUUID } from 'node:crypto';
import { auditEvents } from '../db/repositories/audit-events';
import { staffTokens } from '../db/repositories/staff-tokens';
import { loadConfig } from '../lib/config';
import { retentionWorkflowId } from '../lib/pure/temporal-ids';
import { actorOf, onboardCustomer } from './support/corrections';
import { startTestStack, type TestStack } from './support/test-stack';

let stack: TestStack;
let secondOfficer: Record<string, string>;
let secondAdmin: Record<string, string>;
const policySet = `four-eyes-${randomUUID().slice(0, 8)}`;
/** A public address literal: registration checks it without DNS, and nothing here ever calls it. */
const PUBLIC_URL = 'https://93.184.215.14/sp';

beforeAll(async () => {
  stack = await startTestStack({
    name: 'change-requests',
    // The protections as deployed: https only, public addresses only (the test stacks' allowances switched off).
    env: { RETENTION_POLICY_SET: policySet, SUBPROCESSOR_ALLOW_HTTP: 'false', SUBPROCESSOR_ALLOWED_HOSTS: '' },
  });
  const bearer = async (role: 'privacy_officer' | 'admin', name: string) => ({
    Authorization: `Bearer ${(await staffTokens.create(stack.db, { name, role })).token}`,
  });
  secondOfficer = await bearer('privacy_officer', 'second officer');
  secondAdmin = await bearer('admin', 'second admin');
});
afterAll(async () => {
  await stack?.stop();
});

const decide = (id: string, verb: 'approve' | 'reject', body: unknown, headers: Record<string, string>) =>
  stack.http('POST', `/v1/change-requests/${id}/${verb}`, body, headers);

describe('a contract change that brings the erasure forward', () => {
  it('waits for a second privacy officer: not applied, self-approval 403, applied on approval, decided once', async () => {
    const { customerId } = await onboardCustomer(stack, []);
    const contractBefore = await stack.db('contracts').where({ customer_id: customerId }).first();
    const endedAt = new Date(Date.now() - 3600_000).toISOString();

    const put = await stack.http(
      'PUT',
      `/v1/customers/${customerId}/contract`,
      { endsOn: '2027-12-31', endedAt },
      {},
      'privacy_officer',
    );
    expect(put.status).toBe(202);
    const change = put.body.changeRequest;
    expect(put.body.status).toBe('pending_approval');
    expect(put.headers.get('location')).toBe(`/v1/change-requests/${change.id}`);
    expect(change).toMatchObject({
      kind: 'contract_end',
      status: 'pending',
      subject: { type: 'customer', id: customerId },
      summary: { endedAt: { from: null, to: endedAt } },
      requestedBy: await actorOf(stack, stack.tokens.privacy_officer),
      decidedWith: 'contracts:manage',
      links: { approve: `/v1/change-requests/${change.id}/approve` },
    });
    // Nothing moved: no erasure can start from it.
    expect((await stack.db('contracts').where({ id: contractBefore.id }).first()).ended_at).toBeNull();
    expect(
      (await stack.db('customer_lifecycle_dates').where({ customer_id: customerId }).first()).contract_ended_at,
    ).toBeNull();
    // A second proposal for the same contract is answered with the first one.
    const again = await stack.http(
      'PUT',
      `/v1/customers/${customerId}/contract`,
      { endsOn: '2027-06-30' },
      {},
      'privacy_officer',
    );
    expect(again.status).toBe(409);
    expect(again.body.changeRequest.id).toBe(change.id);

    const self = await stack.http('POST', `/v1/change-requests/${change.id}/approve`, {}, {}, 'privacy_officer');
    expect(self.status).toBe(403);
    expect(self.body.detail).toContain('four-eyes');
    // Support may not decide changes; an admin may decide changes, but not contract ones.
    expect((await stack.http('POST', `/v1/change-requests/${change.id}/approve`, {}, {}, 'support')).status).toBe(403);
    const admin = await stack.http('POST', `/v1/change-requests/${change.id}/approve`, {}, {}, 'admin');
    expect(admin.status).toBe(403);
    expect(admin.body.detail).toContain('contracts:manage');

    const approved = await decide(change.id, 'approve', { reason: 'termination letter checked' }, secondOfficer);
    expect(approved.status).toBe(200);
    expect(approved.body.changeRequest).toMatchObject({
      status: 'applied',
      decidedBy: expect.stringMatching(/^staff:/),
      outcome: { customerId, contract: { endedAt } },
    });
    expect((await stack.db('contracts').where({ id: contractBefore.id }).first()).ended_at.toISOString()).toBe(endedAt);
    // The retention workflow was told, as for a change that needs no approval: its clock now starts at endedAt.
    let retention = await stack.http('GET', `/v1/customers/${customerId}/retention`, undefined, {}, 'privacy_officer');
    for (let i = 0; i < 100 && retention.body.contractEnd !== endedAt; i++) {
      await new Promise((r) => setTimeout(r, 100));
      retention = await stack.http('GET', `/v1/customers/${customerId}/retention`, undefined, {}, 'privacy_officer');
    }
    expect(retention.body.contractEnd).toBe(endedAt);
    await stack.client.workflow.getHandle(retentionWorkflowId(customerId)).terminate('test done');

    const [changed] = await auditEvents.list(stack.db, { customerId, action: 'contract.changed' });
    expect(changed!.actor).toBe(change.requestedBy);
    expect(changed!.details).toMatchObject({
      changeRequestId: change.id,
      approvedBy: approved.body.changeRequest.decidedBy,
    });
    const trail = (await auditEvents.list(stack.db, { customerId })).map((e) => e.action);
    expect(trail).toEqual(expect.arrayContaining(['change_request.proposed', 'change_request.approved']));

    // Decided once: a second approval or a rejection finds nothing to decide.
    expect((await decide(change.id, 'approve', {}, secondOfficer)).status).toBe(409);
    expect((await decide(change.id, 'reject', { reason: 'too late' }, secondOfficer)).status).toBe(409);
    expect((await stack.http('GET', `/v1/change-requests/${change.id}`, undefined, {}, 'auditor')).body.status).toBe(
      'applied',
    );
  });

  it('applies at once when the end moves later (nothing expires earlier)', async () => {
    const { customerId } = await onboardCustomer(stack, []);
    const later = await stack.http(
      'PUT',
      `/v1/customers/${customerId}/contract`,
      { endsOn: '2028-12-31' },
      {},
      'privacy_officer',
    );
    expect(later.status).toBe(200);
    expect(later.body).toMatchObject({ changed: true, contract: { endsOn: '2028-12-31', endedAt: null } });
    expect((await stack.db('contracts').where({ customer_id: customerId }).first()).ends_on).toBe('2028-12-31');
    await stack.client.workflow
      .getHandle(retentionWorkflowId(customerId))
      .terminate('test done')
      .catch(() => undefined);
  });

  it('a stale change (the contract moved since the proposal) is not applied', async () => {
    const { customerId } = await onboardCustomer(stack, []);
    const earlier = await stack.http(
      'PUT',
      `/v1/customers/${customerId}/contract`,
      { endsOn: '2027-01-31' },
      {},
      'privacy_officer',
    );
    expect(earlier.status).toBe(202);
    // Meanwhile the end moves later (applies at once), so the proposal no longer describes the contract.
    await stack.db('contracts').where({ customer_id: customerId }).update({ ends_on: '2029-01-31' });
    await stack
      .db('customer_lifecycle_dates')
      .where({ customer_id: customerId })
      .update({ contract_ends_on: '2029-01-31' });
    const stale = await decide(earlier.body.changeRequest.id, 'approve', {}, secondOfficer);
    expect(stale.status).toBe(409);
    expect(stale.body.title).toBe('Change is stale');
    expect((await stack.db('change_requests').where({ id: earlier.body.changeRequest.id }).first()).status).toBe(
      'superseded',
    );
    expect((await stack.db('contracts').where({ customer_id: customerId }).first()).ends_on).toBe('2029-01-31');
  });
});

describe('shortening a retention period', () => {
  const body = (period: string) => ({
    period,
    clockStart: 'record_creation',
    legalBasis: 'Test: security monitoring of API access.',
  });

  it('waits for a second privacy officer; a rejection leaves the policy; an approval makes the new version', async () => {
    const before = await stack.http('GET', '/v1/retention-policies/api_access_logs', undefined, {}, 'auditor');
    const put = await stack.http('PUT', '/v1/retention-policies/api_access_logs', body('P30D'), {}, 'privacy_officer');
    expect(put.status).toBe(202);
    expect(put.body.changeRequest).toMatchObject({
      kind: 'retention_policy',
      summary: { category: 'api_access_logs', period: { from: before.body.period, to: 'P30D' } },
    });
    expect(
      (await stack.http('GET', '/v1/retention-policies/api_access_logs', undefined, {}, 'auditor')).body,
    ).toMatchObject({ version: before.body.version, period: before.body.period });

    const self = await stack.http(
      'POST',
      `/v1/change-requests/${put.body.changeRequest.id}/reject`,
      { reason: 'mine' },
      {},
      'privacy_officer',
    );
    expect(self.status).toBe(403);
    expect((await decide(put.body.changeRequest.id, 'reject', {}, secondOfficer)).status).toBe(400);
    const rejected = await decide(put.body.changeRequest.id, 'reject', { reason: 'legal says 90 days' }, secondOfficer);
    expect(rejected.status).toBe(200);
    expect(rejected.body.changeRequest).toMatchObject({ status: 'rejected', decisionReason: 'legal says 90 days' });
    expect((await decide(put.body.changeRequest.id, 'approve', {}, secondOfficer)).status).toBe(409);
    expect(
      (await stack.http('GET', '/v1/retention-policies/api_access_logs', undefined, {}, 'auditor')).body.version,
    ).toBe(before.body.version);

    const retry = await stack.http(
      'PUT',
      '/v1/retention-policies/api_access_logs',
      body('P30D'),
      {},
      'privacy_officer',
    );
    expect(retry.status).toBe(202);
    const approved = await decide(retry.body.changeRequest.id, 'approve', {}, secondOfficer);
    expect(approved.status).toBe(200);
    expect(approved.body.changeRequest.outcome).toMatchObject({ version: before.body.version + 1, period: 'P30D' });
    const after = await stack.http('GET', '/v1/retention-policies/api_access_logs', undefined, {}, 'auditor');
    expect(after.body).toMatchObject({ period: 'P30D', version: before.body.version + 1 });
    const [event] = (await auditEvents.list(stack.db, { action: 'retention_policy.changed' })).filter(
      (e) => e.subjectId === `${policySet}/api_access_logs`,
    );
    expect(event!.details).toMatchObject({ changeRequestId: retry.body.changeRequest.id, period: { to: 'P30D' } });
    // The stored proposal is cleared once decided.
    expect((await stack.db('change_requests').where({ id: retry.body.changeRequest.id }).first()).payload).toBeNull();

    // Lengthening expires nothing earlier: at once.
    const longer = await stack.http(
      'PUT',
      '/v1/retention-policies/api_access_logs',
      body('P60D'),
      {},
      'privacy_officer',
    );
    expect(longer.status).toBe(200);
    expect(longer.body).toMatchObject({ period: 'P60D', changed: true });
  });

  it('the audit log too', async () => {
    const put = await stack.http(
      'PUT',
      '/v1/retention-policies/audit_log',
      { period: 'P6Y6M', clockStart: 'record_creation', legalBasis: 'Accountability, GDPR Art. 5(2).' },
      {},
      'privacy_officer',
    );
    expect(put.status).toBe(202);
    const list = await stack.http('GET', '/v1/change-requests?status=pending', undefined, {}, 'auditor');
    expect(list.body.items.map((c: { id: string }) => c.id)).toContain(put.body.changeRequest.id);
    expect((await decide(put.body.changeRequest.id, 'reject', { reason: 'keep 7 years' }, secondOfficer)).status).toBe(
      200,
    );
  });
});

describe('a change nobody decided in time', () => {
  it('lapses: listed as expired, approval answers 409 and records the lapse, a new proposal is possible', async () => {
    const body = { period: 'P6M', clockStart: 'record_creation', legalBasis: 'Test: communication kept half a year.' };
    const put = await stack.http('PUT', '/v1/retention-policies/communication_records', body, {}, 'privacy_officer');
    expect(put.status).toBe(202);
    const id = put.body.changeRequest.id as string;
    // CHANGE_APPROVAL_TIMEOUT (P7D) passed: moved into the past rather than waited for.
    await stack
      .db('change_requests')
      .where({ id })
      .update({ expires_at: new Date(Date.now() - 1000) });
    const pending = await stack.http('GET', '/v1/change-requests?status=pending', undefined, {}, 'auditor');
    expect(pending.body.items.map((c: { id: string }) => c.id)).not.toContain(id);
    const expired = await stack.http('GET', '/v1/change-requests?status=expired', undefined, {}, 'auditor');
    expect(expired.body.items.find((c: { id: string }) => c.id === id)).toMatchObject({ status: 'expired' });

    const late = await decide(id, 'approve', {}, secondOfficer);
    expect(late.status).toBe(409);
    expect(late.body.detail).toContain('expired');
    expect(await stack.db('change_requests').where({ id }).first()).toMatchObject({ status: 'expired', payload: null });
    const [lapse] = (await auditEvents.list(stack.db, { action: 'change_request.expired' })).filter(
      (e) => e.subjectId === id,
    );
    expect(lapse).toBeDefined();
    const policy = await stack.http('GET', '/v1/retention-policies/communication_records', undefined, {}, 'auditor');
    expect(policy.body.period).toBe('P3Y');
    expect(
      (await stack.http('PUT', '/v1/retention-policies/communication_records', body, {}, 'privacy_officer')).status,
    ).toBe(202);
  });
});

describe('subprocessors: whom the service trusts and calls', () => {
  const input = (id: string, over: Record<string, unknown> = {}) => ({
    id,
    name: 'Mail delivery',
    baseUrl: PUBLIC_URL,
    signingSecret: `a-shared-secret-of-at-least-32-chars-${id}`,
    categories: ['business_contact'],
    ...over,
  });

  it('a new one, a new URL or a new secret wait for a second admin; name and categories apply at once', async () => {
    const id = `mail-${randomUUID().slice(0, 8)}`;
    const created = await stack.http('POST', '/v1/subprocessors', input(id), {}, 'admin');
    expect(created.status).toBe(202);
    expect(created.body.changeRequest).toMatchObject({ kind: 'subprocessor', summary: { created: true } });
    expect(JSON.stringify(created.body)).not.toContain('a-shared-secret');
    expect(await stack.db('subprocessors').where({ id }).first()).toBeUndefined();
    expect((await stack.http('POST', created.body.changeRequest.links.approve, {}, {}, 'admin')).status).toBe(403);
    // A privacy officer decides changes, but not subprocessor ones.
    expect((await decide(created.body.changeRequest.id, 'approve', {}, secondOfficer)).status).toBe(403);
    const approved = await decide(created.body.changeRequest.id, 'approve', {}, secondAdmin);
    expect(approved.status).toBe(200);
    expect(await stack.db('subprocessors').where({ id }).first()).toMatchObject({ base_url: PUBLIC_URL, active: true });

    const renamed = await stack.http(
      'POST',
      '/v1/subprocessors',
      input(id, { name: 'Mailer', categories: ['orders'] }),
      {},
      'admin',
    );
    expect(renamed.status).toBe(200);
    expect(renamed.body).toMatchObject({ id, name: 'Mailer', categories: ['orders'] });

    const newSecret = input(id, { name: 'Mailer', categories: ['orders'], signingSecret: 'x'.repeat(40) });
    const rekey = await stack.http('POST', '/v1/subprocessors', newSecret, {}, 'admin');
    expect(rekey.status).toBe(202);
    expect(rekey.body.changeRequest.summary).toMatchObject({ secretChanged: true, created: false });
    const moved = await stack.http(
      'POST',
      '/v1/subprocessors',
      input(id, { baseUrl: 'https://93.184.215.15/' }),
      {},
      'admin',
    );
    expect(moved.status).toBe(409);
    await decide(rekey.body.changeRequest.id, 'approve', {}, secondAdmin);
    expect((await stack.db('subprocessors').where({ id }).first()).signing_secret).toBe('x'.repeat(40));
    const events = (await auditEvents.list(stack.db, { action: 'subprocessor.updated' })).filter(
      (e) => e.subjectId === id,
    );
    expect(JSON.stringify(events)).not.toContain('x'.repeat(40));
  });

  it.each([
    ['http://93.184.215.14/sp', 'https_required'],
    ['https://127.0.0.1:8443/', 'not_public_address'],
    ['https://localhost/', 'not_public_address'],
    ['https://[::1]/', 'not_public_address'],
    ['https://10.1.2.3/', 'not_public_address'],
    ['https://192.168.0.10/', 'not_public_address'],
    ['https://172.16.5.5/', 'not_public_address'],
    ['https://100.64.0.1/', 'not_public_address'],
    ['https://[::ffff:10.0.0.1]/', 'not_public_address'],
    ['https://169.254.10.10/', 'not_public_address'],
    ['https://[fe80::1]/', 'not_public_address'],
    ['https://169.254.169.254/latest/meta-data/', 'metadata_address'],
    ['https://[fd00:ec2::254]/', 'metadata_address'],
    ['https://0.0.0.0/', 'not_public_address'],
    ['https://user:pass@93.184.215.14/', 'credentials_in_url'],
  ])('refuses %s at registration (400, body.baseUrl, %s) and records nothing', async (baseUrl, rule) => {
    const id = `bad-${randomUUID().slice(0, 8)}`;
    const res = await stack.http('POST', '/v1/subprocessors', input(id, { baseUrl }), {}, 'admin');
    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual([expect.objectContaining({ field: 'body.baseUrl', rule })]);
    expect(await stack.db('change_requests').where({ subject_id: id })).toEqual([]);
  });

  it('configuration: plain http is refused in production; allowed hosts must be addresses, ranges or names', () => {
    expect(() => loadConfig({ NODE_ENV: 'production', SUBPROCESSOR_ALLOW_HTTP: 'true' })).toThrow(
      /SUBPROCESSOR_ALLOW_HTTP: must be "false" when NODE_ENV=production/,
    );
    expect(() => loadConfig({ SUBPROCESSOR_ALLOWED_HOSTS: '10.0.0.0/99' })).toThrow(/SUBPROCESSOR_ALLOWED_HOSTS/);
    expect(
      loadConfig({ SUBPROCESSOR_ALLOWED_HOSTS: '10.20.0.0/16, crm.internal.example ,127.0.0.1' }).subprocessors
        .outbound,
    ).toEqual({
      allowHttp: false,
      allowedHosts: ['crm.internal.example'],
      allowedCidrs: ['10.20.0.0/16', '127.0.0.1/32'],
    });
  });
});

describe('approve and reject where nothing awaits a decision', () => {
  it('answer 409 (never 500) for every request type and for change requests', async () => {
    const customer = await onboardCustomer(stack, []);
    const onboarding = await stack
      .db('lifecycle_requests')
      .where({ customer_id: customer.customerId, type: 'onboarding' })
      .first();
    const access = await stack.http('POST', `/v1/customers/${customer.customerId}/access-requests`, {
      requesterEmail: customer.primary.email,
      scope: 'all',
    });
    expect(access.status).toBe(202);
    const correction = await stack.http('POST', `/v1/customers/${customer.customerId}/correction-requests`, {
      requesterEmail: customer.primary.email,
      changes: [{ change: 'company.tradingName', value: 'Nordlicht' }],
    });
    expect(correction.status).toBe(202);
    const deletion = await stack.http('POST', `/v1/customers/${customer.customerId}/deletion-requests`, {
      requesterEmail: customer.primary.email,
      parts: [{ category: 'orders' }],
    });
    expect(deletion.status).toBe(202);
    const ids = {
      onboarding: onboarding.id as string,
      access: access.body.requestId as string,
      correction: correction.body.requestId as string,
      deletion: deletion.body.requestId as string,
    };
    const answers: Record<string, number[]> = {};
    const ask = async (id: string) => [
      (await stack.http('POST', `/v1/requests/${id}/approve`, {}, secondOfficer)).status,
      (await stack.http('POST', `/v1/requests/${id}/reject`, { reason: 'nothing to decide' }, secondOfficer)).status,
    ];
    for (const [type, id] of Object.entries(ids)) answers[type] = await ask(id);

    // A termination's gate opens later: once decided by a second officer, nothing awaits a decision any more.
    const other = await onboardCustomer(stack, []);
    const termination = await stack.http(
      'POST',
      `/v1/customers/${other.customerId}/termination`,
      { reason: 'customer asked to close the account', disposition: 'delete' },
      {},
      'privacy_officer',
    );
    expect(termination.status).toBe(202);
    const terminationId = termination.body.requestId as string;
    const reject = () =>
      stack.http('POST', `/v1/requests/${terminationId}/reject`, { reason: 'customer withdrew' }, secondOfficer);
    let first = await reject();
    for (let i = 0; i < 150 && first.status === 409; i++) {
      await new Promise((r) => setTimeout(r, 200));
      first = await reject();
    }
    expect(first.status).toBe(200);
    answers.termination = await ask(terminationId);

    // A change request that was decided.
    const put = await stack.http(
      'PUT',
      '/v1/retention-policies/authentication_logs',
      { period: 'P1D', clockStart: 'record_creation', legalBasis: 'Test: security monitoring of logins.' },
      {},
      'privacy_officer',
    );
    expect(put.status).toBe(202);
    expect((await decide(put.body.changeRequest.id, 'reject', { reason: 'no' }, secondOfficer)).status).toBe(200);
    answers.change = [
      (await decide(put.body.changeRequest.id, 'approve', {}, secondOfficer)).status,
      (await decide(put.body.changeRequest.id, 'reject', { reason: 'again' }, secondOfficer)).status,
    ];

    expect(answers).toEqual({
      onboarding: [409, 409],
      access: [409, 409],
      correction: [409, 409],
      deletion: [409, 409],
      termination: [409, 409],
      change: [409, 409],
    });
    // Unknown ids are 404, not 500.
    expect((await stack.http('POST', `/v1/requests/${randomUUID()}/approve`, {}, secondOfficer)).status).toBe(404);
    expect((await decide(randomUUID(), 'approve', {}, secondOfficer)).status).toBe(404);
  });
});
