/**
 * Access requests end to end: HTTP API -> Temporal dev server -> worker -> PostgreSQL, SMTP, the export directory and
 * the public links. Durations are seconds (the download link lives a few seconds, reminders fire at once).
 */
import { createHash, randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startAccessRequest } from '../api/use-cases/start-access-request';
import { auditEvents } from '../db/repositories/audit-events';
import { seedDemoCustomer } from '../scripts/seed-demo-customer';
import { EXPORT_TABLES } from '../activities/export';
import { calendarFor, dateInZone, extendedDueDate, originalPeriodEnd, responseDueDate } from '../lib/pure/deadlines';
import { deliveredArchiveDirectory } from '../lib/export-archive';
import { SCOPE_CATEGORIES } from '../lib/pure/access-scope';
import { AccessRequestInput, ExtendDeadlineInput } from '../lib/schemas/access-request';
import { readEncryptedFile } from '../lib/export-encryption';
import { confirmVerification, expectedTableCsv, linkToken, readTarGz } from './support/access-export';
import { eventually } from './support/polling';
import { startTestStack, type TestStack } from './support/test-stack';
import { withSettingDuring } from './support/setting-during';

let stack: TestStack;
let exportDir: string;
const staffEmail = `privacy-staff-${randomUUID().slice(0, 8)}@example.com`;

beforeAll(async () => {
  exportDir = await mkdtemp(path.join(os.tmpdir(), 'dlo-access-'));
  stack = await startTestStack({
    name: 'access-request',
    env: {
      EXPORT_DIR: exportDir,
      EXPORT_LINK_LIFETIME: 'PT10S',
      ACCESS_VERIFICATION_TIMEOUT: 'PT2M',
      // P400D lies before every receipt date: each running request reminds staff at once (a catch-up reminder).
      ACCESS_REMINDER_OFFSETS: 'P400D',
      STAFF_NOTIFICATION_EMAIL: staffEmail,
      EXPORT_BATCH_ROWS: '100',
    },
  });
});
afterAll(async () => {
  await stack?.stop();
  await rm(exportDir, { recursive: true, force: true });
});

/** A seeded customer (a few hundred operational rows) and its primary contact's address. */
async function seededCustomer(rows = 300) {
  const seed = await seedDemoCustomer(stack.db, { operationalRows: rows, technicalRows: 60, communicationRows: 12 });
  const primary = await stack.db('contacts').where({ customer_id: seed.customerId, role: 'primary' }).first();
  return { customerId: seed.customerId, email: primary.email as string, contactId: primary.id as string };
}

async function requestAccess(customerId: string, body: Record<string, unknown>, headers: Record<string, string> = {}) {
  return stack.http('POST', `/v1/customers/${customerId}/access-requests`, body, headers);
}

const mailAbout = (requestId: string, to: string, subject: RegExp) =>
  stack.smtp.waitFor((m) => m.to.includes(to.toLowerCase()) && m.text.includes(requestId) && subject.test(m.subject));

const requestRow = (id: string) => stack.db('lifecycle_requests').where({ id }).first();

async function actions(requestId: string): Promise<string[]> {
  return (await auditEvents.list(stack.db, { requestId })).map((e) => e.action);
}

describe('an access request from a registered contact', () => {
  it('verifies the contact, exports every table in scope exactly, delivers a signed link, and deletes the archive when it expires', async () => {
    const { customerId, email, contactId } = await seededCustomer();
    const today = dateInZone(Date.now(), calendarFor('gdpr').timeZone);

    // The address is matched case-insensitively against the registered contacts.
    const res = await requestAccess(customerId, { requesterEmail: email.toUpperCase(), scope: 'all' });
    expect(res.status).toBe(202);
    const { requestId } = res.body;
    expect(res.body).toMatchObject({
      workflowId: `access-request-${requestId}`,
      privacyRegime: 'gdpr',
      receivedOn: today,
      dueOn: responseDueDate('gdpr', today, calendarFor('gdpr')),
      clockStarts: 'receipt',
      status: 'running',
    });
    expect(res.headers.get('location')).toBe(`/v1/requests/${requestId}`);

    await mailAbout(requestId, email, /received your data access request/);
    const verification = await mailAbout(requestId, email, /^Confirm your data access request/);
    const status = await eventually(
      () => stack.http('GET', `/v1/requests/${requestId}`),
      (r) => r.body.stage === 'awaiting-verification',
    );
    expect(status.body).toMatchObject({ type: 'access', status: 'running', dueOn: res.body.dueOn });
    expect((await requestRow(requestId)).payload).toMatchObject({ scope: 'all' });

    const verified = await confirmVerification(stack, linkToken(verification.text, 'verify'));
    expect(verified.status).toBe(200);
    expect(verified.body).toMatchObject({ status: 'verified', requestId, dueOn: res.body.dueOn });

    const delivery = await mailAbout(requestId, email, /^Your data export for .* is ready/);
    const delivered = await eventually(
      () => stack.http('GET', `/v1/requests/${requestId}`),
      (r) => r.body.stage === 'delivered',
    );
    expect(delivered.body.progress.progress.rowsDone).toBeGreaterThan(0);
    expect(delivered.body.progress.progress.rowsDone).toBe(delivered.body.progress.progress.rowsTotal);
    // Once verified, the requester's address is no longer kept with the request.
    expect((await requestRow(requestId)).payload).toBeNull();

    // Download: a .tar.gz with one CSV per table in scope and the manifest.
    const token = linkToken(delivery.text, 'download');
    const download = await fetch(`${stack.api.url}/exports/${token}`);
    expect(download.status).toBe(200);
    expect(download.headers.get('content-type')).toContain('application/gzip');
    const files = readTarGz(Buffer.from(await download.arrayBuffer()));
    const prefix = `access-export-${requestId}`;
    const manifest = JSON.parse(files.get(`${prefix}/manifest.json`)!.toString('utf8'));
    expect(manifest).toMatchObject({ requestId, customerId, scope: 'all', format: 'csv' });
    expect(manifest.policy.version).toMatch(/^access-export\//);
    expect(manifest.codeVersion).toMatch(/@\d+\.\d+\.\d+$/);
    expect(new Date(manifest.generatedAt).getTime()).toBeLessThanOrEqual(Date.now());

    const categories = SCOPE_CATEGORIES.all;
    const inScope = EXPORT_TABLES.filter((t) => t.categories.some((c) => categories.includes(c)));
    expect(manifest.tables.map((t: { table: string }) => t.table)).toEqual(inScope.map((t) => t.table));
    let totalRows = 0;
    for (const spec of inScope) {
      const entry = manifest.tables.find((t: { table: string }) => t.table === spec.table);
      const file = files.get(`${prefix}/${entry.file}`)!;
      // The file is exactly what the database holds for this customer, and the manifest's hash and count say so.
      expect([spec.table, file.equals(await expectedTableCsv(stack.db, spec, customerId, categories))]).toEqual([
        spec.table,
        true,
      ]);
      expect(entry.sha256).toBe(createHash('sha256').update(file).digest('hex'));
      expect(entry.bytes).toBe(file.length);
      const [row] = await stack
        .db(spec.table)
        .where(spec.owner, customerId)
        .whereIn('data_category', [...categories])
        .count<{ count: string }[]>({ count: '*' });
      expect([spec.table, entry.rows]).toEqual([spec.table, Number(row!.count)]);
      totalRows += entry.rows;
    }
    expect(totalRows).toBe(300 + 60 + 12 + 1 + 3 + 3 + 1); // bulk rows + customer, contacts, seller accounts, contract
    expect(manifest.totals.rows).toBe(totalRows);
    expect(delivered.body.progress.progress.rowsTotal).toBe(totalRows);
    const manifestText = files.get(`${prefix}/manifest.json`)!;
    expect(delivery.text).toContain(createHash('sha256').update(manifestText).digest('hex'));

    // The archive's lifetime ends: the durable timer deletes it, the link answers 410, the request completes.
    const done = await eventually(
      () => requestRow(requestId),
      (r) => r.status === 'completed',
    );
    expect(done.stage).toBe('completed');
    expect(done.outcome).toMatchObject({ result: 'delivered', archiveDeleted: true, respondedOn: today });
    const archive = await stack.db('export_archives').where({ request_id: requestId }).first();
    expect(archive.status).toBe('deleted');
    await expect(stat(path.join(exportDir, archive.id))).rejects.toThrow();
    const after = await stack.http('GET', `/exports/${token}`, undefined, {}, null);
    expect(after.status).toBe(410);

    // Evidence: one event per step, the download counted, and no address or name anywhere in the log.
    const events = await auditEvents.list(stack.db, { requestId });
    expect(events.map((e) => e.action)).toEqual(
      expect.arrayContaining([
        'access.requested',
        'access.acknowledged',
        'access.verification_sent',
        'access.verification_link_used',
        'access.identity_verified',
        'access.export_started',
        'access.export_completed',
        'access.export_delivered',
        'access.export_downloaded',
        'access.archive_deleted',
        'access.completed',
      ]),
    );
    expect(events.find((e) => e.action === 'access.identity_verified')!.details).toMatchObject({ contactId });
    expect(events.find((e) => e.action === 'access.export_completed')!.details).toMatchObject({
      rows: totalRows,
      manifestSha256: createHash('sha256').update(manifestText).digest('hex'),
    });
    expect(JSON.stringify(events).toLowerCase()).not.toContain(email.toLowerCase());
    expect(JSON.stringify(events)).not.toContain('Anna');
  });

  it('answers a retried POST with the same Idempotency-Key with the first answer and starts nothing new', async () => {
    const { customerId, email } = await seededCustomer(10);
    const key = `access-${randomUUID()}`;
    const body = { requesterEmail: email, scope: 'contact_information' };
    const first = await requestAccess(customerId, body, { 'Idempotency-Key': key });
    const second = await requestAccess(customerId, body, { 'Idempotency-Key': key });
    expect(first.status).toBe(202);
    expect(second.body).toMatchObject({ requestId: first.body.requestId, dueOn: first.body.dueOn, replayed: true });
    expect(await stack.db('lifecycle_requests').where({ idempotency_key: key })).toHaveLength(1);
    const other = await requestAccess(customerId, { ...body, scope: 'all' }, { 'Idempotency-Key': key });
    expect(other.status).toBe(422);
    await stack.client.workflow.getHandle(first.body.workflowId).terminate('test done');
  });

  it('answers approve or reject with 409 (never 500): an access request awaits no decision', async () => {
    const { customerId, email } = await seededCustomer(10);
    const res = await requestAccess(customerId, { requesterEmail: email, scope: 'contact_information' });
    const { requestId, workflowId } = res.body;
    const approve = await stack.http('POST', `/v1/requests/${requestId}/approve`, {}, {}, 'privacy_officer');
    const reject = await stack.http('POST', `/v1/requests/${requestId}/reject`, { reason: 'x' }, {}, 'privacy_officer');
    expect([approve.status, approve.body.title]).toEqual([409, 'Not awaiting a decision']);
    expect([reject.status, reject.body.detail]).toEqual([409, 'this type of request takes no "reject"']);
    expect(await actions(requestId)).not.toContain('request.approved');
    await stack.client.workflow.getHandle(workflowId).terminate('test done');
  });

  it('refuses the second use of the verification link', async () => {
    const { customerId, email } = await seededCustomer(10);
    const res = await requestAccess(customerId, { requesterEmail: email, scope: 'contact_information' });
    const { requestId } = res.body;
    const mail = await mailAbout(requestId, email, /^Confirm your data access request/);
    const token = linkToken(mail.text, 'verify');

    const [a, b] = await Promise.all([confirmVerification(stack, token), confirmVerification(stack, token)]);
    expect([a.status, b.status].sort()).toEqual([200, 410]);
    const third = await confirmVerification(stack, token);
    expect(third.status).toBe(410);
    expect(third.body.detail).toContain('used already');
    const link = await stack.db('public_links').where({ request_id: requestId, purpose: 'verify' }).first();
    expect(link.use_count).toBe(1);
    expect((await actions(requestId)).filter((a) => a === 'access.verification_link_used')).toHaveLength(1);

    // A token that is not ours, or ours with its signature broken, is simply not found.
    const tampered = `${token.slice(0, -2)}${token.endsWith('AA') ? 'BB' : 'AA'}`;
    expect((await confirmVerification(stack, tampered)).status).toBe(404);
    expect((await confirmVerification(stack, 'not-a-token')).status).toBe(404);
    expect((await stack.http('GET', `/verify/${tampered}`, undefined, {}, null)).status).toBe(404);
    await mailAbout(requestId, email, /^Your data export for .* is ready/);
  });
});

describe('a requester who is not a registered contact', () => {
  it('gets a refusal that reads the same for an unknown address and an unknown customer, and nothing is disclosed', async () => {
    const { customerId, email } = await seededCustomer(10);
    const stranger = `someone-${randomUUID().slice(0, 8)}@elsewhere.example`;
    const strangerToo = `other-${randomUUID().slice(0, 8)}@elsewhere.example`;
    const unknownCustomer = randomUUID();

    const known = await requestAccess(customerId, { requesterEmail: stranger, scope: 'all' });
    const unknown = await requestAccess(unknownCustomer, { requesterEmail: strangerToo, scope: 'all' });
    // The API answers the same way: 202 and a running request, whatever the customer id.
    for (const res of [known, unknown]) {
      expect(res.status).toBe(202);
      expect(Object.keys(res.body).sort()).toEqual(Object.keys(known.body).sort());
      expect(res.body).toMatchObject({ status: 'running', privacyRegime: 'gdpr', dueOn: known.body.dueOn });
    }

    const refusals = [];
    for (const [res, to] of [
      [known, stranger],
      [unknown, strangerToo],
    ] as const) {
      await mailAbout(res.body.requestId, to, /received your data access request/);
      refusals.push(await mailAbout(res.body.requestId, to, /^Your data access request \(ref/));
      const row = await eventually(
        () => requestRow(res.body.requestId),
        (r) => r.status === 'completed',
      );
      expect(row).toMatchObject({ stage: 'refused', payload: null });
      expect(row.outcome).toMatchObject({ result: 'refused', rule: 'requester_not_registered_contact' });
      expect(row.failure_reason).toBeTruthy();
      expect(await actions(res.body.requestId)).toEqual(
        expect.arrayContaining(['access.requested', 'access.acknowledged', 'access.refused']),
      );
      expect(await stack.db('public_links').where({ request_id: res.body.requestId })).toHaveLength(0);
    }
    // Same words, apart from the reference: an unknown customer cannot be told apart from an unknown contact.
    const strip = (text: string, requestId: string) => text.replaceAll(requestId, '<ref>');
    expect(strip(refusals[0]!.text, known.body.requestId)).toBe(strip(refusals[1]!.text, unknown.body.requestId));
    expect(refusals[0]!.text).not.toContain('Nordwind');
    // No link went anywhere, and the registered contact was not bothered.
    expect(stack.smtp.messagesTo(email)).toHaveLength(0);
    // The unknown customer has no audit chain of its own.
    expect(await auditEvents.list(stack.db, { customerId: unknownCustomer })).toHaveLength(0);
  });

  it('refuses invalid input with 400 naming the field, and records nothing', async () => {
    const customerId = randomUUID();
    const bad = await requestAccess(customerId, { requesterEmail: 'not-an-address', scope: 'everything' });
    expect(bad.status).toBe(400);
    expect(bad.body.errors.map((e: { field: string }) => e.field).sort()).toEqual([
      'body.requesterEmail',
      'body.scope',
    ]);
    expect((await stack.http('POST', '/v1/customers/not-a-uuid/access-requests', {})).status).toBe(400);
    expect(await stack.db('lifecycle_requests').where({ customer_id: customerId })).toHaveLength(0);
  });
});

describe('hostile input', () => {
  it('gets 4xx from both write routes, never starts a workflow and writes nothing', async () => {
    const customerId = randomUUID();
    const requestId = randomUUID();
    const hostile = fc.oneof(
      fc.constantFrom("'; DROP TABLE contacts; --", '<script>x</script>', '\u0000', 'a@b', '../../etc/passwd', ''),
      fc.string({ maxLength: 300 }),
      fc.integer(),
      fc.constant(null),
      fc.array(fc.string(), { maxLength: 2 }),
      fc.object({ maxDepth: 1 }),
    );
    const accessBodies = fc
      .record(
        {
          requesterEmail: fc.oneof(fc.constant('greta@nordlicht.example'), hostile),
          scope: fc.oneof(fc.constantFrom('all', 'service_records'), hostile),
          privacyRegime: hostile,
          extra: hostile,
        },
        { requiredKeys: [] },
      )
      .filter((body) => !AccessRequestInput.safeParse(body).success);
    const extendBodies = fc
      .oneof(fc.record({ reason: hostile }, { requiredKeys: [] }), hostile)
      .filter((body) => !ExtendDeadlineInput.safeParse(body).success);

    await fc.assert(
      fc.asyncProperty(accessBodies, async (body) => {
        const res = await requestAccess(customerId, body);
        return res.status === 400;
      }),
      { numRuns: 300 },
    );
    await fc.assert(
      fc.asyncProperty(extendBodies, async (body) => {
        const res = await stack.http('POST', `/v1/requests/${requestId}/extend`, body, {}, 'privacy_officer');
        return res.status === 400;
      }),
      { numRuns: 300 },
    );
    expect(await stack.db('lifecycle_requests').where({ customer_id: customerId })).toHaveLength(0);
    expect(await stack.db('request_extensions').where({ request_id: requestId })).toHaveLength(0);
    expect(await auditEvents.list(stack.db, { requestId })).toHaveLength(0);
    expect(Object.keys(Object.prototype)).toEqual([]);
  });
});

describe('the deadline clock', () => {
  it('extends the deadline within the original period, tells the requester with the reason, and moves the due date', async () => {
    const { customerId, email } = await seededCustomer(10);
    const res = await requestAccess(customerId, { requesterEmail: email, scope: 'all' });
    const { requestId, receivedOn, dueOn } = res.body;
    // Staff were reminded at once (the configured offset lies before the receipt).
    const reminder = await stack.smtp.waitFor((m) => m.to.includes(staffEmail) && m.subject.includes(requestId));
    expect(reminder.subject).toBe(`Reminder: access request ${requestId} is due on ${dueOn}`);

    const reason = 'The request covers several million service records across three marketplaces.';
    expect((await stack.http('POST', `/v1/requests/${requestId}/extend`, {}, {}, 'privacy_officer')).status).toBe(400);
    expect((await stack.http('POST', `/v1/requests/${requestId}/extend`, { reason }, {}, 'support')).status).toBe(403);
    const extended = await stack.http('POST', `/v1/requests/${requestId}/extend`, { reason }, {}, 'privacy_officer');
    expect(extended.status).toBe(200);
    const newDue = extendedDueDate('gdpr', receivedOn, calendarFor('gdpr'));
    expect(extended.body).toEqual({ requestId, previousDueOn: dueOn, dueOn: newDue });

    const notice = await mailAbout(requestId, email, /^More time is needed/);
    expect(notice.text).toContain(reason);
    expect(notice.text).toContain(newDue);
    expect((await requestRow(requestId)).due_on).toBe(newDue);
    const ext = await stack.db('request_extensions').where({ request_id: requestId }).first();
    expect(ext).toMatchObject({ previous_due_on: dueOn, due_on: newDue, reason });
    expect(ext.actor).toMatch(/^staff:/);
    const [event] = await auditEvents.list(stack.db, { requestId, action: 'access.deadline_extended' });
    expect(event!.actor).toBe(ext.actor);
    expect(event!.details).toMatchObject({ previousDueOn: dueOn, dueOn: newDue });
    expect(JSON.stringify(event!.details)).not.toContain('marketplaces');
    // The clock moved its timers: the status shows the new due date, and a reminder for it was sent.
    const live = await stack.http('GET', `/v1/requests/${requestId}`);
    expect(live.body.dueOn).toBe(newDue);
    expect(live.body.progress.extension).toMatchObject({ previousDueOn: dueOn, dueOn: newDue });
    await stack.smtp.waitFor(
      (m) => m.to.includes(staffEmail) && m.subject.includes(`${requestId} is due on ${newDue}`),
    );

    // One extension only.
    const again = await stack.http('POST', `/v1/requests/${requestId}/extend`, { reason }, {}, 'privacy_officer');
    expect(again.status).toBe(409);
    expect(again.body.rule).toBe('already_extended');
    await stack.client.workflow.getHandle(res.body.workflowId).terminate('test done');
  });

  it('refuses an extension after the original period (409 naming the rule) and escalates the overdue request', async () => {
    const { customerId, email } = await seededCustomer(10);
    // Received 40 days ago: the one-month period is over and so is the due date.
    const started = await startAccessRequest(
      { db: stack.db, temporal: stack.client, taskQueue: stack.taskQueue, log: stack.log, config: stack.config },
      customerId,
      { requesterEmail: email, scope: 'contact_information' },
      { actor: 'staff:test', now: new Date(Date.now() - 40 * 24 * 3600 * 1000) },
    );
    const escalation = await stack.smtp.waitFor(
      (m) => m.to.includes(staffEmail) && m.subject.startsWith(`OVERDUE: access request ${started.requestId}`),
    );
    expect(escalation.subject).toContain(started.dueOn!);

    const res = await stack.http(
      'POST',
      `/v1/requests/${started.requestId}/extend`,
      { reason: 'Too late, but we try anyway.' },
      {},
      'privacy_officer',
    );
    expect(res.status).toBe(409);
    expect(res.body).toMatchObject({
      rule: 'within_original_period',
      originalPeriodEnd: originalPeriodEnd('gdpr', started.receivedOn),
    });
    expect(res.body.detail).toContain('GDPR Art. 12(3)');
    expect((await requestRow(started.requestId)).due_on).toBe(started.dueOn);
    expect(await stack.db('request_extensions').where({ request_id: started.requestId })).toHaveLength(0);
    // The notice is recorded (with its audit event) right after the email leaves.
    await eventually(
      () => actions(started.requestId),
      (a) => a.includes('access.deadline_escalated'),
    );
    const status = await stack.http('GET', `/v1/requests/${started.requestId}`);
    expect(status.body.progress.deadline).toMatchObject({ escalated: true });
    await stack.client.workflow.getHandle(started.workflowId).terminate('test done');
  });

  it('UK GDPR: the clock starts at identity confirmation, and nothing can be extended before', async () => {
    const { customerId, email } = await seededCustomer(10);
    const res = await requestAccess(customerId, {
      requesterEmail: email,
      scope: 'contact_information',
      privacyRegime: 'uk_gdpr',
    });
    expect(res.body).toMatchObject({ privacyRegime: 'uk_gdpr', dueOn: null, clockStarts: 'identity-confirmed' });
    const { requestId } = res.body;
    const mail = await mailAbout(requestId, email, /^Confirm your data access request/);

    const early = await stack.http(
      'POST',
      `/v1/requests/${requestId}/extend`,
      { reason: 'We would like more time already.' },
      {},
      'privacy_officer',
    );
    expect(early.status).toBe(409);
    expect(early.body.rule).toBe('clock_not_started');
    expect((await requestRow(requestId)).due_on).toBeNull();

    const verified = await confirmVerification(stack, linkToken(mail.text, 'verify'));
    const calendar = calendarFor('uk_gdpr');
    const expected = responseDueDate('uk_gdpr', dateInZone(Date.now(), calendar.timeZone), calendar);
    expect(verified.body.dueOn).toBe(expected);
    const row = await eventually(
      () => requestRow(requestId),
      (r) => r.due_on !== null,
    );
    expect(row.due_on).toBe(expected);
    const [event] = await auditEvents.list(stack.db, { requestId, action: 'access.identity_verified' });
    expect(event!.details).toMatchObject({
      clockStartedOn: dateInZone(Date.now(), calendar.timeZone),
      dueOn: expected,
    });
    await mailAbout(requestId, email, /^Your data export for .* is ready/);
  });
});

describe('the archive on disk', () => {
  it('holds the manifest and one file per table while the link lives', async () => {
    const { customerId, email } = await seededCustomer(20);
    // The files are read after delivery: a link lifetime of its own, so a busy machine cannot expire them first.
    const res = await withSettingDuring(stack.config.exports, 'linkLifetimeMs', 10 * 60_000, () =>
      requestAccess(customerId, { requesterEmail: email, scope: 'service_records' }),
    );
    const mail = await mailAbout(res.body.requestId, email, /^Confirm your data access request/);
    await confirmVerification(stack, linkToken(mail.text, 'verify'));
    await mailAbout(res.body.requestId, email, /^Your data export for .* is ready/);
    const archive = await stack.db('export_archives').where({ request_id: res.body.requestId }).first();
    // The delivered archive is content-addressed: its directory is named after the manifest's hash.
    const delivered = deliveredArchiveDirectory(exportDir, archive.id, archive.manifest_sha256);
    const manifestBytes = await readEncryptedFile(
      path.join(delivered, 'manifest.json'),
      stack.config.exports.encryption,
    );
    const manifest = JSON.parse(manifestBytes.toString('utf8'));
    expect(manifest.categories).toEqual(SCOPE_CATEGORIES.service_records);
    expect(manifest.tables.map((t: { table: string }) => t.table)).not.toContain('contacts');
    expect(manifest.tables.map((t: { table: string }) => t.table)).toContain('seller_accounts');
    expect(archive.manifest_sha256).toBe(createHash('sha256').update(manifestBytes).digest('hex'));
  });
});
