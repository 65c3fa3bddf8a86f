/**
 * Regression tests of the two defects issue #11 found in a trial of retention and erasure:
 *
 * - "The retention clock depends on data it erases": business_contact expired first, its erasure deleted the contracts
 *   row, and every other contract-end category lost its clock (and `PUT .../contract` answered 409). The contract dates
 *   now live in the customer's lifecycle dates record until the last contract-end category is erased.
 * - "Erased data stays downloadable": after an erasure reported `verified: true`, an earlier access export link still
 *   served the archive holding the erased categories. Erasure now deletes such archives (files and rows), their links
 *   answer 410, and the verification counts them.
 *
 * Real dev server, PostgreSQL, SMTP sink; retention periods of seconds in this file's own policy set.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { auditEvents } from '../db/repositories/audit-events';
import { seedDemoCustomer } from '../scripts/seed-demo-customer';
import type { DataCategory } from '../lib/pure/data-categories';
import { erasureScopeKey, erasureWorkflowId, retentionWorkflowId } from '../lib/pure/temporal-ids';
import { erasureWorkflow } from '../workflows/erasure';
import { retentionStatusQuery, type RetentionStatus } from '../workflows/retention';
import { confirmVerification, linkToken } from './support/access-export';
import { eventually } from './support/polling';
import { onboardingBody } from './support/fixtures';
import { approvedBySecond } from './support/approvals';
import { startTestStack, type TestStack } from './support/test-stack';

let stack: TestStack;
let exportDir: string;
const policySet = `test-evidence-${randomUUID().slice(0, 8)}`;
/** Contract-end categories other than business_contact: they expire well after it. */
const LATER: DataCategory[] = ['seller_accounts', 'orders', 'inventory', 'listings', 'workflow_records'];

beforeAll(async () => {
  exportDir = await mkdtemp(path.join(os.tmpdir(), 'dlo-evidence-'));
  stack = await startTestStack({
    name: 'retention-clock-and-archives',
    env: {
      RETENTION_POLICY_SET: policySet,
      RETENTION_JITTER_MAX: 'PT1S',
      RETENTION_RECHECK_INTERVAL: 'PT5M',
      EXPORT_DIR: exportDir,
      EXPORT_LINK_LIFETIME: 'PT10M',
      ACCESS_VERIFICATION_TIMEOUT: 'PT2M',
    },
  });
  const policies: [DataCategory, string][] = [
    ['business_contact', 'PT2S'],
    ...LATER.map((c) => [c, 'PT15S'] as [DataCategory, string]),
  ];
  for (const [category, period] of policies) {
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
    expect([category, res.status]).toEqual([category, 200]);
  }
});
afterAll(async () => {
  await stack?.stop();
  await rm(exportDir, { recursive: true, force: true });
});

async function count(table: string, customerId: string): Promise<number> {
  const [row] = await stack.db(table).where({ customer_id: customerId }).count<{ n: string }[]>({ n: '*' });
  return Number(row!.n);
}

const retention = (customerId: string) => stack.client.workflow.getHandle(retentionWorkflowId(customerId));

async function retentionStatus(customerId: string, done: (s: RetentionStatus) => boolean): Promise<RetentionStatus> {
  return eventually(
    async () => {
      try {
        return await retention(customerId).query(retentionStatusQuery);
      } catch {
        return undefined;
      }
    },
    (s) => s !== undefined && s.lastCheckedAt !== null && done(s),
    60_000,
  ) as Promise<RetentionStatus>;
}

describe('the retention clock when business_contact expires first', () => {
  it('keeps every other category on its clock, lets the contract change, and forgets the dates after the last erasure', async () => {
    const onboarded = await stack.http('POST', '/v1/customers', onboardingBody([]));
    expect(onboarded.status).toBe(202);
    await stack.client.workflow.getHandle(onboarded.body.workflowId).result();
    const customerId = onboarded.body.customerId as string;
    const tag = customerId.slice(0, 8);
    await stack.db('orders').insert(
      Array.from({ length: 20 }, (_, i) => ({
        customer_id: customerId,
        marketplace: 'ebay',
        external_order_id: `E-${tag}-${i}`,
        status: i % 2 ? 'cancelled' : 'pending',
        total_amount: '12.50',
        currency: 'EUR',
        ordered_at: new Date(),
      })),
    );
    await stack.db('inventory_items').insert(
      Array.from({ length: 8 }, (_, i) => ({
        customer_id: customerId,
        sku: `SKU-${i}`,
        warehouse: 'BER',
        quantity: i,
      })),
    );
    await stack.db('listings').insert(
      Array.from({ length: 10 }, (_, i) => ({
        customer_id: customerId,
        sku: `SKU-${i}`,
        title: `Listing ${i}`,
        price: '9.90',
        currency: 'EUR',
        status: 'active',
      })),
    );
    await stack
      .db('workflow_records')
      .insert(
        Array.from({ length: 4 }, (_, i) => ({ customer_id: customerId, kind: 'repricing_rule', definition: { i } })),
      );
    await retentionStatus(customerId, () => true);

    const endedAt = new Date(Date.now() - 1000).toISOString();
    // Ending the contract brings the erasure forward: it waits for a second privacy officer, approved here.
    const ended = await approvedBySecond(
      stack,
      await stack.http(
        'PUT',
        `/v1/customers/${customerId}/contract`,
        { endsOn: endedAt.slice(0, 10), endedAt },
        {},
        'privacy_officer',
      ),
    );
    expect(ended.status).toBe(200);

    // business_contact goes first: contacts and the contracts row are erased.
    const afterContact = await retentionStatus(customerId, (s) => s.categories.business_contact?.state === 'erased');
    expect(await count('contacts', customerId)).toBe(0);
    expect(await count('contracts', customerId)).toBe(0);
    // The trial's defect: every other contract-end category lost its expiry here. Now each keeps its clock.
    expect(afterContact.contractEnd).toBe(endedAt);
    for (const category of LATER) {
      expect([category, afterContact.categories[category]]).toEqual([
        category,
        expect.objectContaining({ state: 'pending', expiresAt: new Date(Date.parse(endedAt) + 15_000).toISOString() }),
      ]);
    }
    const evidence = await stack.db('customer_lifecycle_dates').where({ customer_id: customerId }).first();
    expect(evidence).toMatchObject({ contract_starts_on: '2026-01-01', contract_ends_on: endedAt.slice(0, 10) });
    expect(evidence.contract_ended_at.toISOString()).toBe(endedAt);

    // The contract route keeps working without the contracts row (it answered 409 "no contract recorded").
    const earlier = new Date(Date.parse(endedAt) - 1000).toISOString();
    const changed = await approvedBySecond(
      stack,
      await stack.http(
        'PUT',
        `/v1/customers/${customerId}/contract`,
        { endsOn: endedAt.slice(0, 10), endedAt: earlier },
        {},
        'privacy_officer',
      ),
    );
    expect(changed.status).toBe(200);
    expect(changed.body).toMatchObject({ changed: true, contract: { startsOn: '2026-01-01', endedAt: earlier } });
    const moved = await retentionStatus(customerId, (s) => s.contractEnd === earlier);
    expect(moved.categories.orders?.expiresAt).toBe(new Date(Date.parse(earlier) + 15_000).toISOString());

    // Every other category is erased at its expiry; then the lifecycle completes and deletes the dates.
    const result = await retention(customerId).result();
    expect(result.outcome).toBe('all-expired-data-erased');
    expect(Object.keys(result.erased).sort()).toEqual(['business_contact', ...LATER].sort());
    for (const table of ['seller_accounts', 'orders', 'inventory_items', 'listings', 'workflow_records']) {
      expect([table, await count(table, customerId)]).toEqual([table, 0]);
    }
    expect(await stack.db('customer_lifecycle_dates').where({ customer_id: customerId }).first()).toBeUndefined();
    const [forgotten] = await auditEvents.list(stack.db, { customerId, action: 'retention.lifecycle_dates_deleted' });
    expect(forgotten).toMatchObject({
      actor: 'system:retention',
      details: { contractStartsOn: '2026-01-01', contractEndedAt: earlier },
    });
    const erasedEvents = await auditEvents.list(stack.db, { customerId, action: 'retention.erased' });
    expect(erasedEvents.every((e) => (e.details as { verified: boolean }).verified)).toBe(true);
  });
});

describe('export archives holding erased categories', () => {
  /** Runs an access request of `scope` for the primary contact through to delivery; returns the download token. */
  async function deliveredExport(customerId: string, email: string, scope: string) {
    const res = await stack.http('POST', `/v1/customers/${customerId}/access-requests`, {
      requesterEmail: email,
      scope,
    });
    expect(res.status).toBe(202);
    const requestId = res.body.requestId as string;
    const about = (subject: RegExp) =>
      stack.smtp.waitFor((m) => m.to.includes(email) && m.text.includes(requestId) && subject.test(m.subject));
    const verification = await about(/^Confirm your data access request/);
    const verified = await confirmVerification(stack, linkToken(verification.text, 'verify'));
    expect(verified.status).toBe(200);
    const delivery = await about(/^Your data export for .* is ready/);
    const archive = await stack.db('export_archives').where({ request_id: requestId }).first();
    return { requestId, archiveId: archive.id as string, token: linkToken(delivery.text, 'download') };
  }

  const download = (token: string) => fetch(`${stack.api.url}/exports/${token}`);

  it('are deleted by the erasure, their links answer 410, and the verification counts them', async () => {
    const { customerId } = await seedDemoCustomer(stack.db, {
      operationalRows: 30,
      technicalRows: 6,
      communicationRows: 3,
    });
    const primary = await stack.db('contacts').where({ customer_id: customerId, role: 'primary' }).first();
    const email = (primary.email as string).toLowerCase();
    const [contactArchive, serviceArchive] = await Promise.all([
      deliveredExport(customerId, email, 'contact_information'),
      deliveredExport(customerId, email, 'service_records'),
    ]);
    expect((await download(contactArchive.token)).status).toBe(200);
    expect((await download(serviceArchive.token)).status).toBe(200);

    const categories: DataCategory[] = ['business_contact'];
    const result = await stack.client.workflow.execute(erasureWorkflow, {
      taskQueue: stack.taskQueue,
      workflowId: erasureWorkflowId(customerId, erasureScopeKey('retention', categories)),
      args: [{ customerId, categories, reason: 'retention' }],
    });

    // The archive holding business contact data is gone: files, row, and its link answers 410.
    expect(result.verified).toBe(true);
    expect(result.tables).toMatchObject({ contacts: 3, contracts: 1, export_archives: 1 });
    expect((await download(contactArchive.token)).status).toBe(410);
    expect(await stack.db('export_archives').where({ id: contactArchive.archiveId }).first()).toBeUndefined();
    await expect(stat(path.join(exportDir, contactArchive.archiveId))).rejects.toMatchObject({ code: 'ENOENT' });
    const [event] = await auditEvents.list(stack.db, { customerId, action: 'erasure.export_archive_deleted' });
    expect(event).toMatchObject({
      subjectId: contactArchive.archiveId,
      details: { accessRequestId: contactArchive.requestId, scope: 'contact_information', revokedLinks: 1 },
    });
    // The archive of service records holds nothing of the erased category and stays downloadable.
    expect((await download(serviceArchive.token)).status).toBe(200);
    expect((await stat(path.join(exportDir, serviceArchive.archiveId))).isDirectory()).toBe(true);

    // The verification counts archives: erasing seller accounts leaves none of them behind either.
    const more: DataCategory[] = ['seller_accounts'];
    const second = await stack.client.workflow.execute(erasureWorkflow, {
      taskQueue: stack.taskQueue,
      workflowId: erasureWorkflowId(customerId, erasureScopeKey('retention', more)),
      args: [{ customerId, categories: more, reason: 'retention' }],
    });
    expect(second).toMatchObject({ verified: true, tables: { seller_accounts: 3, export_archives: 1 } });
    expect((await download(serviceArchive.token)).status).toBe(410);
    const completed = await stack
      .db('erasures')
      .where({ workflow_id: erasureWorkflowId(customerId, erasureScopeKey('retention', more)) })
      .first();
    expect(completed).toMatchObject({ verified: true, tables: expect.objectContaining({ export_archives: 1 }) });
    expect(await count('export_archives', customerId)).toBe(0);
  });
});
