/**
 * Contract termination end to end on the real dev server, PostgreSQL, SMTP sink and subprocessor simulator, with
 * durations of seconds: delete-only, return then delete (acknowledged, or after the grace period), cancelled before
 * the effective date, blocked by a legal hold, approval refused, a late subprocessor, a worker activity failing
 * mid-erasure. After every completed termination nothing of the customer remains in any customer-owned table of the
 * live schema beyond what the certificate lists as retained, and no export archive is left on disk.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { TERMINATION_EVIDENCE_TABLES } from '../activities/termination';
import { auditEvents } from '../db/repositories/audit-events';
import { staffTokens } from '../db/repositories/staff-tokens';
import { seedDemoCustomer, type SeedResult } from '../scripts/seed-demo-customer';
import type { SignedCertificate } from '../lib/certificate';
import { archiveDirectory } from '../lib/export-archive';
import { startTestStack, type TestStack } from './support/test-stack';
import { reconcileStarts, until } from './support/polling';
import { withSettingDuring } from './support/setting-during';
import type { WorkflowHandle } from '@temporalio/client';
import { searchAttributes } from '../lib/pure/temporal-ids';

let stack: TestStack;
let secondOfficer: string;
const exportDir = mkdtempSync(path.join(tmpdir(), 'termination-exports-'));
/** Fail the first attempt of eraseTables of this customer after this many batches. */
let crash: { customerId: string; afterBatches: number } | undefined;
let crashes = 0;

beforeAll(async () => {
  stack = await startTestStack({
    name: 'termination',
    env: {
      EXPORT_DIR: exportDir,
      ERASURE_BATCH_SIZE: '40',
      ERASURE_BATCH_MAX_SIZE: '40',
      ERASURE_PARALLEL_STEPS: '1',
      ERASURE_CONFIRMATION_TIMEOUT: 'PT30S',
      LEGAL_HOLD_RECHECK_INTERVAL: 'PT1S',
      TERMINATION_RETURN_GRACE_PERIOD: 'PT6S',
      TERMINATION_RETURN_REMINDER_OFFSETS: 'PT3S',
      TERMINATION_APPROVAL_REMINDER_INTERVAL: 'PT1M',
      STAFF_NOTIFICATION_EMAIL: 'termination-staff@example.com',
    },
    activityHooks: {
      erasureTestHooks: {
        afterBatch: (info) => {
          if (crash?.customerId === info.customerId && info.attempt === 1) {
            if (info.batchesThisAttempt === crash.afterBatches) {
              crashes++;
              throw new Error('injected worker failure mid-erasure');
            }
          }
        },
      },
    },
  });
  // Links and subprocessor callbacks must reach this stack's API on its free port.
  stack.config.http.publicBaseUrl = stack.api.url;
  secondOfficer = (await staffTokens.create(stack.db, { name: 'second officer', role: 'privacy_officer' })).token;
});
afterAll(() => stack?.stop());

async function seed(): Promise<SeedResult & { email: string }> {
  const seeded = await seedDemoCustomer(stack.db, { operationalRows: 240, technicalRows: 60, communicationRows: 12 });
  const { email } = await stack
    .db('contacts')
    .where({ customer_id: seeded.customerId, role: 'primary' })
    .first<{ email: string }>('email');
  return { ...seeded, email };
}

async function linkSubprocessor(customerId: string, name: string): Promise<string> {
  const id = await stack.addSubprocessor(name, ['business_contact', 'orders']);
  await stack.db('customer_subprocessors').insert({
    customer_id: customerId,
    subprocessor_id: id,
    registered_at: stack.db.fn.now(),
  });
  return id;
}

const request = (requestId: string) => stack.http('GET', `/v1/requests/${requestId}`, undefined, {}, 'auditor');

async function waitFor(requestId: string, done: (r: any) => boolean, what: string, timeoutMs = 90_000) {
  const until = Date.now() + timeoutMs;
  let last: any;
  while (Date.now() < until) {
    last = (await request(requestId)).body;
    if (done(last)) return last;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`request ${requestId} never reached ${what}; last: ${JSON.stringify(last)}`);
}
const waitForStage = (requestId: string, stage: string) => waitFor(requestId, (r) => r.stage === stage, stage);
const waitForEnd = (requestId: string) =>
  waitFor(requestId, (r) => ['completed', 'failed', 'cancelled'].includes(r.status), 'its end', 120_000);

async function approve(requestId: string, token = stack.tokens.privacy_officer) {
  await waitForStage(requestId, 'awaiting-approval');
  const res = await stack.http('POST', `/v1/requests/${requestId}/approve`, {}, { Authorization: `Bearer ${token}` });
  expect(res.status).toBe(200);
}

async function certificateOf(requestId: string): Promise<SignedCertificate> {
  const ended = await waitForEnd(requestId);
  expect(ended).toMatchObject({ status: 'completed', outcome: { result: 'terminated', verified: true } });
  const res = await stack.http('GET', `/v1/certificates/${ended.outcome.certificateId}`, undefined, {}, 'auditor');
  expect(res.status).toBe(200);
  const verify = await stack.http('POST', '/v1/certificates/verify', res.body, {}, 'auditor');
  expect(verify.body.valid).toBe(true);
  return res.body as SignedCertificate;
}

/**
 * The promise of the issue: a query over every customer-owned table (every table of the live schema with a
 * customer_id column, and customers itself, except the evidence tables) finds no row of the customer beyond what the
 * certificate lists as retained, and no export archive of the customer is left on disk.
 */
async function expectNothingBeyondRetained(customerId: string, certificate: SignedCertificate) {
  const { rows } = await stack.db.raw<{ rows: { table_name: string }[] }>(
    `select distinct table_name from information_schema.columns
      where table_schema = current_schema() and column_name = 'customer_id'`,
  );
  const tables = ['customers', ...rows.map((r) => r.table_name)].filter((t) => !(t in TERMINATION_EVIDENCE_TABLES));
  expect(tables).toEqual(expect.arrayContaining(['contacts', 'orders', 'seller_accounts', 'export_archives']));
  const retained = Object.fromEntries(certificate.certificate.retained.map((r) => [r.table, r.rows]));
  for (const table of tables) {
    const column = table === 'customers' ? 'id' : 'customer_id';
    const [row] = await stack.db(table).where(column, customerId).count<{ n: string }[]>({ n: '*' });
    expect([table, Number(row!.n)]).toEqual([table, retained[table] ?? 0]);
  }
  expect(await stack.db('termination_recipients').where({ customer_id: customerId }).first()).toBeUndefined();
  const archives = await auditEvents.list(stack.db, { customerId, action: 'access.export_started' });
  for (const e of archives) expect(existsSync(archiveDirectory(exportDir, e.subjectId))).toBe(false);
  expect(certificate.certificate.verification).toMatchObject({
    verified: true,
    remaining: {},
    exportArchivesOnDisk: 0,
  });
}

/** Deleted + retained equals what was seeded, per table. */
function expectExactCounts(seeded: SeedResult, certificate: SignedCertificate) {
  const deleted = certificate.certificate.deleted.tables;
  const retained = Object.fromEntries(certificate.certificate.retained.map((r) => [r.table, r.rows]));
  for (const [table, n] of Object.entries(seeded.rows)) {
    expect([table, (deleted[table] ?? 0) + (retained[table] ?? 0)]).toEqual([table, n]);
  }
}

describe('contract termination', () => {
  it('delete-only (privacy officer override): revokes access, erases, verifies, certifies and mails the certificate', async () => {
    const seeded = await seed();
    const { customerId } = seeded;
    const sp = await linkSubprocessor(customerId, 'crm-delete');
    // Support may start a termination, not override the contract's disposition.
    const refused = await stack.http('POST', `/v1/customers/${customerId}/termination`, {
      reason: 'contract ended',
      disposition: 'delete',
    });
    expect(refused.status).toBe(403);
    const started = await stack.http(
      'POST',
      `/v1/customers/${customerId}/termination`,
      { reason: 'customer asked to close the account', disposition: 'delete' },
      {},
      'privacy_officer',
    );
    expect(started.status).toBe(202);
    expect(started.body).toMatchObject({ disposition: 'delete', dispositionSource: 'privacy_officer_override' });
    const { requestId } = started.body;
    // One at a time per customer.
    const second = await stack.http('POST', `/v1/customers/${customerId}/termination`, { reason: 'again' });
    expect(second.status).toBe(409);

    await waitForStage(requestId, 'awaiting-approval');
    const customer = await stack.db('customers').where({ id: customerId }).first();
    expect(customer).toMatchObject({ status: 'terminating', access_revoked_at: expect.any(Date) });
    const accounts = await stack.db('seller_accounts').where({ customer_id: customerId });
    expect(accounts.every((a: { access_revoked_at: Date | null }) => a.access_revoked_at !== null)).toBe(true);
    // Four eyes: the officer who started it cannot approve it.
    const self = await stack.http('POST', `/v1/requests/${requestId}/approve`, {}, {}, 'privacy_officer');
    expect(self.status).toBe(403);
    await approve(requestId, secondOfficer);

    const certificate = await certificateOf(requestId);
    const c = certificate.certificate;
    expect(c).toMatchObject({
      kind: 'termination',
      customerId,
      requestId,
      contract: { disposition: 'delete', dispositionSource: 'privacy_officer_override' },
      returned: null,
      approval: { requestedBy: expect.stringMatching(/^staff:/), approvedBy: expect.stringMatching(/^staff:/) },
    });
    expect(c.approval!.approvedBy).not.toBe(c.approval!.requestedBy);
    expect(c.subprocessors).toEqual([
      expect.objectContaining({ subprocessorId: sp, status: 'confirmed', confirmedAt: expect.any(String) }),
    ]);
    expect(c.retained.map((r) => r.table).sort()).toEqual(['customers', 'orders']);
    expect(c.retained.find((r) => r.table === 'orders')).toMatchObject({ reason: expect.stringContaining('tax') });
    expect(c.copiesOutsideLiveTables.databaseBackups.goneBy).toEqual(expect.any(String));
    expect(c.policyVersions.retentionPolicies.business_contact).toEqual(expect.any(Number));
    expect(c.issuer.codeVersion).toEqual(expect.any(String));
    // No personal data in the certificate.
    expect(JSON.stringify(certificate)).not.toContain(seeded.email);
    expectExactCounts(seeded, certificate);
    await expectNothingBeyondRetained(customerId, certificate);
    expect(await stack.db('customers').where({ id: customerId }).first('status')).toEqual({ status: 'terminated' });

    // Mailed to the primary contact, whose row is gone by now (the address was kept encrypted until then).
    const mail = await stack.smtp.waitFor((m) => m.to.includes(seeded.email) && m.subject.includes(c.id));
    expect(mail.html).toContain(certificate.digest.value);
    expect(mail.raw).toContain(`certificate-${c.id}.json`);
    const status = await request(requestId);
    expect(status.body.stage).toBe('completed');
    const actions = (await auditEvents.list(stack.db, { requestId })).map((e) => e.action);
    expect(actions).toEqual(
      expect.arrayContaining([
        'termination.requested',
        'termination.access_revoked',
        'termination.recipient_captured',
        'certificate.issued',
        'termination.certificate_sent',
        'termination.recipient_deleted',
        'termination.completed',
      ]),
    );
  });

  it('return then delete after the acknowledgement link: export delivered, acknowledged, erased, certified', async () => {
    const seeded = await seed();
    const { customerId } = seeded;
    // A grace period of its own, long enough for the steps below on a busy machine (the file's 6 s are for the grace
    // period test).
    const { body } = await withSettingDuring(stack.config.termination, 'returnGracePeriodMs', 10 * 60_000, () =>
      stack.http('POST', `/v1/customers/${customerId}/termination`, { reason: 'end' }),
    );
    expect(body).toMatchObject({ disposition: 'return_then_delete', dispositionSource: 'contract' });
    const mail = await stack.smtp.waitFor((m) => m.to.includes(seeded.email) && /termination/.test(m.subject));
    // The email links the download page; the archive itself is at /exports/ with the same token.
    const downloadPage = /(http\S+\/download\/\S+)/.exec(mail.text)![1]!;
    expect((await fetch(downloadPage)).status).toBe(200);
    const download = downloadPage.replace('/download/', '/exports/');
    const acknowledge = /(http\S+\/acknowledge\/\S+)/.exec(mail.text)![1]!;
    expect((await fetch(download)).status).toBe(200);
    expect((await fetch(acknowledge)).status).toBe(200); // the page; changes nothing
    const ack = await fetch(acknowledge, { method: 'POST' });
    expect(ack.status).toBe(200);
    expect((await fetch(acknowledge, { method: 'POST' })).status).toBe(410);
    await approve(body.requestId);

    const certificate = await certificateOf(body.requestId);
    const returned = certificate.certificate.returned!;
    expect(returned).toMatchObject({
      closedBy: 'acknowledged',
      manifestSha256: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    expect(returned.rows).toBeGreaterThan(0);
    expect(certificate.certificate.deleted.tables.export_archives).toBe(1);
    // The download link ends with the data.
    expect((await fetch(download)).status).toBe(410);
    await expectNothingBeyondRetained(customerId, certificate);
  });

  it('return then delete after the grace period, with a reminder', async () => {
    const seeded = await seed();
    const { body } = await stack.http('POST', `/v1/customers/${seeded.customerId}/termination`, { reason: 'end' });
    await stack.smtp.waitFor((m) => m.to.includes(seeded.email) && m.subject.startsWith('Reminder'), {
      timeoutMs: 60_000,
    });
    await approve(body.requestId);
    const certificate = await certificateOf(body.requestId);
    expect(certificate.certificate.returned).toMatchObject({ closedBy: 'grace-period-ended' });
    expect(certificate.certificate.timeline.returnClosedAt).toEqual(expect.any(String));
    await expectNothingBeyondRetained(seeded.customerId, certificate);
  });

  it('cancelled before the effective date: nothing touched, audited, and a new termination may start', async () => {
    const seeded = await seed();
    const { customerId } = seeded;
    const effectiveAt = new Date(Date.now() + 3600_000).toISOString();
    const { body } = await stack.http('POST', `/v1/customers/${customerId}/termination`, { reason: 'x', effectiveAt });
    await waitForStage(body.requestId, 'scheduled');
    const cancelled = await stack.http('DELETE', `/v1/customers/${customerId}/termination`);
    expect(cancelled.status).toBe(200);
    const ended = await waitForEnd(body.requestId);
    expect(ended).toMatchObject({ status: 'cancelled', stage: 'cancelled' });
    expect(await stack.db('customers').where({ id: customerId }).first('status', 'access_revoked_at')).toEqual({
      status: 'active',
      access_revoked_at: null,
    });
    const events = await auditEvents.list(stack.db, { requestId: body.requestId, action: 'termination.cancelled' });
    expect(events[0]!.actor).toMatch(/^staff:/);
    expect((await stack.http('DELETE', `/v1/customers/${customerId}/termination`)).status).toBe(404);

    const again = await stack.http('POST', `/v1/customers/${customerId}/termination`, { reason: 'y', effectiveAt });
    expect(again.status).toBe(202);
    expect((await stack.http('DELETE', `/v1/customers/${customerId}/termination`)).status).toBe(200);
    await waitForEnd(again.body.requestId);
  });

  /**
   * A cancelled termination's request ends in the database one workflow task before its run closes. The run is held
   * open here on purpose (a run under the cancelled request's id on a task queue no worker polls), as a slow moment of
   * the worker would hold it.
   */
  async function cancelledWithItsRunStillOpen(): Promise<{
    customerId: string;
    cancelledId: string;
    holder: WorkflowHandle;
  }> {
    const { customerId } = await seed();
    const effectiveAt = new Date(Date.now() + 3600_000).toISOString();
    const first = await stack.http('POST', `/v1/customers/${customerId}/termination`, { reason: 'x', effectiveAt });
    await waitForStage(first.body.requestId, 'scheduled');
    expect((await stack.http('DELETE', `/v1/customers/${customerId}/termination`)).status).toBe(200);
    await waitForEnd(first.body.requestId);
    await until('the cancelled run to close', async () => {
      const { status } = await stack.client.workflow.getHandle(first.body.workflowId).describe();
      return status.name === 'RUNNING' ? undefined : status.name;
    });
    const holder = await stack.client.workflow.start('terminationWorkflow', {
      taskQueue: `unpolled-${randomUUID()}`,
      workflowId: first.body.workflowId,
      args: [{}],
      workflowIdReusePolicy: 'ALLOW_DUPLICATE',
      typedSearchAttributes: [{ key: searchAttributes.requestId, value: first.body.requestId as string }],
    });
    return { customerId, cancelledId: first.body.requestId as string, holder };
  }

  it("a termination asked for while the cancelled one's run is still closing waits for that run and starts", async () => {
    const { customerId, cancelledId, holder } = await cancelledWithItsRunStillOpen();
    const effectiveAt = new Date(Date.now() + 3600_000).toISOString();
    // Long enough that the wait below cannot run into it on a busy machine.
    await withSettingDuring(stack.config.temporal, 'startTimeoutMs', 60_000, async () => {
      let answered = false;
      const asked = stack
        .http('POST', `/v1/customers/${customerId}/termination`, { reason: 'y', effectiveAt })
        .finally(() => (answered = true));
      const accepted = await until('the second termination to be accepted', () =>
        stack
          .db('lifecycle_requests')
          .where({ customer_id: customerId, type: 'termination' })
          .whereNot({ id: cancelledId })
          .first<{ id: string } | undefined>('id'),
      );
      // Its start found the cancelled request's run open: it waits rather than refusing.
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(answered).toBe(false);
      await holder.terminate('the cancelled run closes');

      const again = await asked;
      expect(again.status).toBe(202);
      expect(again.body).toMatchObject({ requestId: accepted.id, status: 'running' });
      const run = await stack.client.workflow.getHandle(again.body.workflowId).describe();
      expect(run.typedSearchAttributes.get(searchAttributes.requestId)).toBe(accepted.id);
      expect(await auditEvents.list(stack.db, { requestId: accepted.id, action: 'termination.start_refused' })).toEqual(
        [],
      );
      expect((await stack.http('DELETE', `/v1/customers/${customerId}/termination`)).status).toBe(200);
      await waitForEnd(accepted.id);
    });
  });

  it("a termination asked for while the cancelled one's run stays open past the start timeout is left owed, not refused", async () => {
    const { customerId, holder } = await cancelledWithItsRunStillOpen();
    const effectiveAt = new Date(Date.now() + 3600_000).toISOString();
    // Short, so the test need not wait long, and not so short that the first start call itself could outlast it.
    const again = await withSettingDuring(stack.config.temporal, 'startTimeoutMs', 3_000, () =>
      stack.http('POST', `/v1/customers/${customerId}/termination`, { reason: 'y', effectiveAt }),
    );
    expect(again.status).toBe(202);
    expect(again.body).toMatchObject({ status: 'received' });
    const row = await stack.db('lifecycle_requests').where({ id: again.body.requestId }).first();
    expect(row).toMatchObject({ status: 'received', workflow_started_at: null });
    expect(row.start_error).toContain('still open at the start deadline');
    expect(
      await auditEvents.list(stack.db, { requestId: again.body.requestId, action: 'termination.start_refused' }),
    ).toEqual([]);

    // Once the run has closed, the start reconciler makes the start it is owed.
    await holder.terminate('the cancelled run closes');
    await until('the request to be older than twice the start timeout', () =>
      Promise.resolve(
        Date.now() - new Date(row.received_at).getTime() > 2 * stack.config.temporal.startTimeoutMs ? true : undefined,
      ),
    );
    const requestId = again.body.requestId as string;
    expect(await reconcileStarts(stack, [requestId])).toMatchObject({ started: [requestId], closed: [] });
    await waitForStage(requestId, 'scheduled');
    expect((await stack.http('DELETE', `/v1/customers/${customerId}/termination`)).status).toBe(200);
    await waitForEnd(requestId);
  });

  it('an active legal hold makes the approved termination wait, visibly, until it is released', async () => {
    const seeded = await seed();
    const { customerId } = seeded;
    const hold = await stack.http(
      'POST',
      `/v1/customers/${customerId}/legal-holds`,
      { reason: 'litigation', reference: 'CASE-1' },
      {},
      'privacy_officer',
    );
    expect(hold.status).toBe(201);
    const { body } = await stack.http('POST', `/v1/customers/${customerId}/termination`, { reason: 'end' });
    const ack = await (async () => {
      await waitForStage(body.requestId, 'awaiting-acknowledgement');
      return stack.http('POST', `/v1/customers/${customerId}/termination/acknowledgement`);
    })();
    expect(ack.status).toBe(200);
    await approve(body.requestId);
    const waiting = await waitForStage(body.requestId, 'waiting-for-legal-hold');
    expect(waiting.progress).toMatchObject({ legalHolds: 1 });
    expect(await stack.db('contacts').where({ customer_id: customerId }).count<{ n: string }[]>({ n: '*' })).toEqual([
      { n: '3' },
    ]);
    const released = await stack.http(
      'DELETE',
      `/v1/legal-holds/${hold.body.id}`,
      { reason: 'case closed' },
      {},
      'privacy_officer',
    );
    expect(released.status).toBe(200);
    const certificate = await certificateOf(body.requestId);
    await expectNothingBeyondRetained(customerId, certificate);
  });

  it('approval refused: nothing is erased and the request ends rejected', async () => {
    const seeded = await seed();
    const { customerId } = seeded;
    const { body } = await stack.http(
      'POST',
      `/v1/customers/${customerId}/termination`,
      { reason: 'end', disposition: 'delete' },
      {},
      'privacy_officer',
    );
    await waitForStage(body.requestId, 'awaiting-approval');
    const rejected = await stack.http(
      'POST',
      `/v1/requests/${body.requestId}/reject`,
      { reason: 'contract extended' },
      { Authorization: `Bearer ${secondOfficer}` },
    );
    expect(rejected.status).toBe(200);
    const ended = await waitForEnd(body.requestId);
    expect(ended).toMatchObject({ status: 'failed', outcome: { result: 'rejected' } });
    const [orders] = await stack.db('orders').where({ customer_id: customerId }).count<{ n: string }[]>({ n: '*' });
    expect(Number(orders!.n)).toBe(seeded.rows.orders);
    expect(await stack.db('certificates').where({ request_id: body.requestId }).first()).toBeUndefined();
  });

  it('waits for a subprocessor that confirms late by callback and certifies its confirmation', async () => {
    const seeded = await seed();
    const late = await linkSubprocessor(seeded.customerId, 'late-term');
    stack.sim.setDeletionMode(late, 'callback', 3000);
    const { body } = await stack.http(
      'POST',
      `/v1/customers/${seeded.customerId}/termination`,
      { reason: 'end', disposition: 'delete' },
      {},
      'privacy_officer',
    );
    await approve(body.requestId, secondOfficer);
    const certificate = await certificateOf(body.requestId);
    const [receipt] = certificate.certificate.subprocessors;
    expect(receipt).toMatchObject({ subprocessorId: late, status: 'confirmed' });
    expect(Date.parse(receipt!.confirmedAt!)).toBeGreaterThan(
      Date.parse(certificate.certificate.timeline.erasureStartedAt!),
    );
    expect(stack.sim.callbacks().some((cb) => cb.deletionId === receipt!.deletionId)).toBe(true);
  });

  it('a worker activity failing mid-erasure resumes, and the certificate counts stay exact', async () => {
    const seeded = await seed();
    crash = { customerId: seeded.customerId, afterBatches: 3 };
    const { body } = await stack.http(
      'POST',
      `/v1/customers/${seeded.customerId}/termination`,
      { reason: 'end', disposition: 'delete' },
      {},
      'privacy_officer',
    );
    await approve(body.requestId, secondOfficer);
    const certificate = await certificateOf(body.requestId);
    expect(crashes).toBe(1);
    expectExactCounts(seeded, certificate);
    await expectNothingBeyondRetained(seeded.customerId, certificate);
    // A tampered copy of this very certificate fails verification.
    const tampered = structuredClone(certificate);
    tampered.certificate.deleted.tables.orders = (tampered.certificate.deleted.tables.orders ?? 0) - 1;
    const verdict = await stack.http('POST', '/v1/certificates/verify', tampered, {}, 'auditor');
    expect(verdict.body).toMatchObject({ valid: false });
  });
});
