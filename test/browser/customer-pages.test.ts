/**
 * The customer pages in headless Chromium, as the people the emails go to see them: the link is read from the fake
 * SMTP mailbox, opened, read, and its button pressed; the outcome is checked in the database, the audit log, the
 * workflow and the downloaded bytes. Each page passes the automated accessibility check (axe, WCAG 2.1 AA).
 *
 * Also here, over plain HTTP: a GET of a verification link, whatever it asks for, changes nothing (a mail scanner's
 * prefetch must not confirm a request).
 */
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { auditEvents } from '../../db/repositories/audit-events';
import { signLinkToken } from '../../lib/signed-links';
import { seedDemoCustomer } from '../../scripts/seed-demo-customer';
import { linkToken, readTarGz } from '../support/access-export';
import { eventually } from '../support/polling';
import { startTestStack, type TestStack } from '../support/test-stack';
import { expectAccessible } from './support/accessibility';
import { launchBrowser, type BrowserHarness } from './support/browser';

const BRAND = { name: 'Acme Privacy Desk', support: 'help-desk@acme.example' };

let stack: TestStack;
let browser: BrowserHarness;
let exportDir: string;

beforeAll(async () => {
  exportDir = await mkdtemp(path.join(os.tmpdir(), 'dlo-pages-'));
  stack = await startTestStack({
    name: 'customer-pages',
    env: {
      EXPORT_DIR: exportDir,
      EXPORT_LINK_LIFETIME: 'PT10M',
      ACCESS_VERIFICATION_TIMEOUT: 'PT10M',
      BRAND_NAME: BRAND.name,
      BRAND_SUPPORT_EMAIL: BRAND.support,
      // The return of a termination waits long enough for the page to be used, and the erasure is quick.
      TERMINATION_RETURN_GRACE_PERIOD: 'PT10M',
      TERMINATION_RETURN_REMINDER_OFFSETS: 'none',
      ERASURE_CONFIRMATION_TIMEOUT: 'PT30S',
      STAFF_NOTIFICATION_EMAIL: 'pages-staff@example.com',
    },
    // Every page and download comes from 127.0.0.1: the per-address limit of the public links would throttle the test.
    limits: { publicLinksPerMinute: 10_000 },
  });
  // Emailed links point at this stack's API (its free port), as they point at PUBLIC_BASE_URL in production.
  stack.config.http.publicBaseUrl = stack.api.url;
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
  await stack?.stop();
  await rm(exportDir, { recursive: true, force: true });
});

async function seededCustomer(rows = 40) {
  const seed = await seedDemoCustomer(stack.db, { operationalRows: rows, technicalRows: 20, communicationRows: 6 });
  const primary = await stack.db('contacts').where({ customer_id: seed.customerId, role: 'primary' }).first();
  return { customerId: seed.customerId, email: primary.email as string };
}

const mailAbout = (requestId: string, to: string, subject: RegExp) =>
  stack.smtp.waitFor((m) => m.to.includes(to.toLowerCase()) && m.text.includes(requestId) && subject.test(m.subject));

/** A started access request and the verification link from its email. */
async function accessRequestAwaitingVerification(scope = 'all') {
  const { customerId, email } = await seededCustomer();
  const res = await stack.http('POST', `/v1/customers/${customerId}/access-requests`, { requesterEmail: email, scope });
  expect(res.status).toBe(202);
  const requestId = res.body.requestId as string;
  const mail = await mailAbout(requestId, email, /^Confirm your data access request/);
  // Settled: the stage recorded and the link's email audited (the mail arrives just before that commit).
  await eventually(
    () => verificationState(requestId),
    (s) =>
      s.stage === 'awaiting-verification' &&
      s.request.stage === 'awaiting-verification' &&
      s.audit.includes('access.verification_sent'),
  );
  const link = /(http\S+\/verify\/\S+)/.exec(mail.text)![1]!;
  return { customerId, email, requestId, link, token: linkToken(mail.text, 'verify') };
}

/** Everything a use of the link would change: the link's row, the request's row, its audit trail, its stage. */
async function verificationState(requestId: string) {
  const link = await stack.db('public_links').where({ request_id: requestId, purpose: 'verify' }).first();
  const request = await stack.db('lifecycle_requests').where({ id: requestId }).first();
  const events = await auditEvents.list(stack.db, { requestId });
  const status = await stack.http('GET', `/v1/requests/${requestId}`);
  return {
    link: { useCount: link.use_count, firstUsedAt: link.first_used_at, revokedAt: link.revoked_at },
    request: { status: request.status, stage: request.stage, dueOn: request.due_on, payload: request.payload },
    audit: events.map((e) => e.action),
    stage: status.body.stage as string,
  };
}

/** Opens a path and returns the HTTP status of the page. */
async function open(page: Page, urlPath: string): Promise<number> {
  const response = await page.goto(urlPath);
  return response!.status();
}

const heading = (page: Page) => page.getByRole('heading', { level: 1 }).textContent();

describe('verification page', () => {
  it('says what is being confirmed, confirms only with its button, and the export is then downloaded from the download page', async () => {
    const { customerId, email, requestId, link, token } = await accessRequestAwaitingVerification();
    expect(link).toBe(`${stack.api.url}/verify/${token}`);
    const before = await verificationState(requestId);

    // The customer opens the email's link on a phone.
    const page = await browser.newPage({ baseURL: stack.api.url, viewport: 'phone' });
    const requested: string[] = [];
    page.on('request', (r) => requested.push(new URL(r.url()).pathname));
    expect(await open(page, link)).toBe(200);
    expect(await heading(page)).toBe('Confirm your data access request');
    const main = (await page.locator('main').textContent())!;
    expect(main).toContain('Nordwind Crossborder Trading GmbH (Demo)');
    expect(main).toContain(requestId);
    // The registered address, masked: the domain and the first characters only.
    const [local, domain] = email.split('@') as [string, string];
    expect(main).toContain(`${local.slice(0, 2)}***@${domain}`);
    expect(main).not.toContain(email);
    expect(await page.locator('header').textContent()).toContain(BRAND.name);
    expect(await page.locator('footer a').getAttribute('href')).toBe(`mailto:${BRAND.support}`);
    // The token is in the form body, not in the form's address.
    expect(await page.locator('form').getAttribute('action')).toBe('/verify');
    expect(await page.locator('form').getAttribute('method')).toBe('post');
    // The layout's stylesheet applied under the page's strict CSP (which allows it by its hash).
    expect(await page.evaluate("getComputedStyle(document.querySelector('button')).backgroundColor")).toBe(
      'rgb(11, 87, 208)',
    );
    await expectAccessible(page);
    await browser.screenshot(page, 'verification-page');
    // Opening the page changed nothing.
    expect(await verificationState(requestId)).toEqual(before);

    await page.getByRole('button', { name: /confirm/i }).click();
    await page.waitForURL(`${stack.api.url}/verify`);
    expect(await heading(page)).toBe('Thank you: your request is confirmed');
    const dueOn = (await stack.db('lifecycle_requests').where({ id: requestId }).first()).due_on as string;
    expect(await page.locator('.notice').textContent()).toContain(`We will send the data by ${dueOn} at the latest.`);
    await expectAccessible(page);
    await browser.screenshot(page, 'verification-confirmed');
    // The page and its form, nothing else: no scripts, fonts or /favicon.ico (a refused, logged request on the API).
    expect(requested).toEqual([`/verify/${token}`, '/verify']);
    expect(browser.pageErrors(page)).toEqual([]);

    // The request moved on: the link used once, the confirmation audited, the export delivered.
    const link1 = await stack.db('public_links').where({ request_id: requestId, purpose: 'verify' }).first();
    expect(link1.use_count).toBe(1);
    expect(await auditEvents.list(stack.db, { requestId, action: 'access.verification_link_used' })).toHaveLength(1);
    const delivery = await mailAbout(requestId, email, /^Your data export for .* is ready/);
    const downloadToken = linkToken(delivery.text, 'download');
    expect(delivery.text).toContain(`${stack.api.url}/download/${downloadToken}`);

    // The download page: what the archive holds, from the archive's record.
    const archive = await stack.db('export_archives').where({ request_id: requestId }).first();
    const desk = await browser.newPage({ baseURL: stack.api.url });
    expect(await open(desk, `/download/${downloadToken}`)).toBe(200);
    expect(await heading(desk)).toBe('Your data export is ready');
    const facts = (await desk.locator('main').textContent())!;
    expect(facts).toContain(archive.manifest_sha256);
    const rows = (archive.tables as { file: string; rows: number; categories: string[] }[]).map((t) => t.rows);
    expect(facts).toContain(rows.reduce((a, b) => a + b, 0).toLocaleString('en-US'));
    const fileRows = await desk
      .locator('table:not(.facts) tbody tr')
      .evaluateAll((trs) =>
        trs.map((tr) => Array.from((tr as any).cells as ArrayLike<{ textContent: string }>, (c) => c.textContent)),
      );
    expect(fileRows).toEqual(
      (archive.tables as { file: string; rows: number; categories: string[] }[]).map((t) => [
        t.file,
        t.categories.map((c) => c.replaceAll('_', ' ')).join(', '),
        t.rows.toLocaleString('en-US'),
        expect.any(String),
      ]),
    );
    const expires = (await stack.db('public_links').where({ request_id: requestId, purpose: 'export' }).first())
      .expires_at as Date;
    expect(facts).toContain(expires.toISOString().slice(0, 16).replace('T', ' '));
    await expectAccessible(desk);
    await browser.screenshot(desk, 'download-page');
    // Viewing the page is not a download.
    expect(await auditEvents.list(stack.db, { requestId, action: 'access.export_downloaded' })).toHaveLength(0);

    // The button downloads the archive from its route: the bytes match the manifest hash and the database.
    const [download] = await Promise.all([
      desk.waitForEvent('download'),
      desk.getByRole('link', { name: /Download the archive/ }).click(),
    ]);
    expect(download.suggestedFilename()).toBe(`access-export-${requestId}.tar.gz`);
    const files = readTarGz(await readFile(await download.path()));
    const manifest = files.get(`access-export-${requestId}/manifest.json`)!;
    expect(createHash('sha256').update(manifest).digest('hex')).toBe(archive.manifest_sha256);
    expect(JSON.parse(manifest.toString('utf8'))).toMatchObject({ requestId, customerId });
    const downloads = await auditEvents.list(stack.db, { requestId, action: 'access.export_downloaded' });
    expect(downloads).toHaveLength(1);
  });

  it('a plain GET of the verification link changes nothing, whatever the client asks for', async () => {
    const { requestId, token } = await accessRequestAwaitingVerification('contact_information');
    const before = await verificationState(requestId);
    expect(before.link.useCount).toBe(0);
    const url = `${stack.api.url}/verify/${token}`;

    // A browser, a mail scanner (no Accept), a JSON client, a HEAD request, each twice.
    for (let i = 0; i < 2; i++) {
      const html = await fetch(url, { headers: { Accept: 'text/html' } });
      expect([html.status, html.headers.get('content-type')]).toEqual([200, expect.stringContaining('text/html')]);
      expect(html.headers.get('cache-control')).toBe('no-store');
      expect(await html.text()).toContain('Confirm your data access request');
      expect((await fetch(url)).status).toBe(200);
      const json = await fetch(url, { headers: { Accept: 'application/json' } });
      expect(await json.json()).toMatchObject({
        status: 'awaiting_confirmation',
        requestId,
        type: 'access',
        confirm: { method: 'POST', href: '/verify', body: { token } },
      });
      expect((await fetch(url, { method: 'HEAD' })).status).toBe(200);
    }
    await new Promise((r) => setTimeout(r, 1000));
    expect(await verificationState(requestId)).toEqual(before);

    // The link still confirms afterwards, once, by POST.
    const confirmed = await stack.http('POST', '/verify', { token }, { Accept: 'application/json' }, null);
    expect(confirmed.body).toMatchObject({ status: 'verified', requestId });
    expect((await verificationState(requestId)).link.useCount).toBe(1);
  });

  it('used, expired and tampered links get a page saying so, with the right status', async () => {
    const { requestId, link, token } = await accessRequestAwaitingVerification('contact_information');
    // The page open in two tabs; the first confirms.
    const first = await browser.newPage({ baseURL: stack.api.url });
    const second = await browser.newPage({ baseURL: stack.api.url });
    await open(first, link);
    await open(second, link);
    await first.getByRole('button', { name: /confirm/i }).click();
    await first.waitForURL(`${stack.api.url}/verify`);
    expect(await heading(first)).toBe('Thank you: your request is confirmed');

    // Used: confirmed again from the other tab, and opened again.
    const refused = second.waitForResponse((r) => r.url().endsWith('/verify') && r.request().method() === 'POST');
    await second.getByRole('button', { name: /confirm/i }).click();
    expect((await refused).status()).toBe(410);
    await second.waitForURL(`${stack.api.url}/verify`);
    expect(await heading(second)).toBe('This link has been used already');
    const again = await browser.newPage({ baseURL: stack.api.url });
    expect(await open(again, link)).toBe(410);
    expect(await heading(again)).toBe('This link has been used already');
    expect(await again.locator('main').textContent()).toContain(BRAND.support);
    await expectAccessible(again);
    await browser.screenshot(again, 'link-used');

    // Expired: a genuine token of this link whose time is up.
    const linkRow = await stack.db('public_links').where({ request_id: requestId, purpose: 'verify' }).first();
    const expired = signLinkToken(stack.config.links.keyring, {
      purpose: 'verify',
      linkId: linkRow.id,
      expiresAtMs: Date.now() - 1000,
    });
    expect(await open(again, `/verify/${expired}`)).toBe(410);
    expect(await heading(again)).toBe('This link has expired');
    await expectAccessible(again);

    // Tampered: one character of the signature changed, or a truncated link (a mail client broke it over two lines).
    const tampered = `${token.slice(0, -2)}${token.endsWith('AA') ? 'BB' : 'AA'}`;
    for (const broken of [tampered, token.slice(0, 40)]) {
      expect(await open(again, `/verify/${broken}`)).toBe(404);
      expect(await heading(again)).toBe('This link is not valid');
    }
    await expectAccessible(again);
    await browser.screenshot(again, 'link-not-valid');

    // An export link past its archive answers with a page too, not JSON.
    const unknownExport = signLinkToken(stack.config.links.keyring, {
      purpose: 'export',
      linkId: linkRow.id,
      expiresAtMs: Date.now() + 60_000,
    });
    expect(await open(again, `/download/${unknownExport}`)).toBe(404);
    expect(await heading(again)).toBe('This link is not valid');
    // Nothing above used the link a second time.
    expect((await stack.db('public_links').where({ id: linkRow.id }).first()).use_count).toBe(1);
  });
});

describe('termination return and deletion certificate', () => {
  it('the contact acknowledges the returned data on its page; the certificate is then viewed and checked', async () => {
    const { customerId, email } = await seededCustomer();
    const started = await stack.http('POST', `/v1/customers/${customerId}/termination`, { reason: 'contract ended' });
    expect(started.body).toMatchObject({ disposition: 'return_then_delete' });
    const requestId = started.body.requestId as string;
    const mail = await stack.smtp.waitFor((m) => m.to.includes(email) && /termination/.test(m.subject));
    const ackLink = /(http\S+\/acknowledge\/\S+)/.exec(mail.text)![1]!;
    expect(mail.text).toMatch(/\/download\//);
    const ackState = async () => ({
      link: (await stack.db('public_links').where({ request_id: requestId, purpose: 'acknowledge' }).first())
        .use_count as number,
      audit: (await auditEvents.list(stack.db, { requestId })).map((e) => e.action),
    });
    await eventually(
      () => stack.http('GET', `/v1/requests/${requestId}`, undefined, {}, 'auditor'),
      (r) => r.body.stage === 'awaiting-acknowledgement',
    );
    const before = await ackState();

    const page = await browser.newPage({ baseURL: stack.api.url, viewport: 'phone' });
    expect(await open(page, ackLink)).toBe(200);
    expect(await heading(page)).toBe('Acknowledge receipt of your data');
    const main = (await page.locator('main').textContent())!;
    expect(main).toContain('Nordwind Crossborder Trading GmbH (Demo)');
    const archive = await stack.db('export_archives').where({ request_id: requestId }).first();
    expect(main).toContain(archive.manifest_sha256);
    expect(main).not.toContain(email);
    await expectAccessible(page);
    await browser.screenshot(page, 'acknowledgement-page');
    expect(await ackState()).toEqual(before);

    await page.getByRole('button', { name: /acknowledge/i }).click();
    await page.waitForURL(`${stack.api.url}/acknowledge`);
    expect(await heading(page)).toBe('Thank you: receipt acknowledged');
    await expectAccessible(page);
    const after = await ackState();
    expect(after.link).toBe(1);
    expect(after.audit.filter((a) => a === 'termination.return_acknowledged')).toHaveLength(1);

    // A privacy officer approves the erasure; the termination ends with a signed certificate.
    await eventually(
      () => stack.http('GET', `/v1/requests/${requestId}`, undefined, {}, 'auditor'),
      (r) => r.body.stage === 'awaiting-approval',
      90_000,
    );
    expect((await stack.http('POST', `/v1/requests/${requestId}/approve`, {}, {}, 'privacy_officer')).status).toBe(200);
    const ended = await eventually(
      () => stack.http('GET', `/v1/requests/${requestId}`, undefined, {}, 'auditor'),
      (r) => ['completed', 'failed', 'cancelled'].includes(r.body.status),
      120_000,
    );
    expect(ended.body).toMatchObject({ status: 'completed', outcome: { result: 'terminated' } });
    const certificateId = ended.body.outcome.certificateId as string;
    const signed = (await stack.http('GET', `/v1/certificates/${certificateId}`, undefined, {}, 'auditor')).body;

    // Staff view: the HTML rendering in the same layout, with the verification of the stored copy on top.
    const staff = await browser.newPage({ baseURL: stack.api.url });
    await staff.context().setExtraHTTPHeaders({ Authorization: `Bearer ${stack.tokens.auditor}` });
    expect(await open(staff, `/v1/certificates/${certificateId}`)).toBe(200);
    expect(await heading(staff)).toBe('Certificate of deletion on contract termination');
    expect(await staff.locator('.notice').textContent()).toContain('Signature verified');
    expect(await staff.locator('main').textContent()).toContain(signed.digest.value);
    expect(await staff.locator('main').textContent()).toContain('acknowledged');
    await expectAccessible(staff);
    await browser.screenshot(staff, 'certificate-page');

    // The customer checks the copy they hold on the public page: as issued, then altered, then not JSON.
    const check = await browser.newPage({ baseURL: stack.api.url, viewport: 'phone' });
    expect(await open(check, '/certificates/verify')).toBe(200);
    await expectAccessible(check);
    await check.getByLabel(/Certificate/).fill(JSON.stringify(signed, null, 2));
    await check.getByRole('button', { name: 'Check the certificate' }).click();
    await check.waitForURL(`${stack.api.url}/certificates/verify`);
    expect(await heading(check)).toBe('Certificate of deletion on contract termination');
    expect(await check.locator('.notice').textContent()).toContain('Signature verified');
    await expectAccessible(check);

    const altered = { ...signed, certificate: { ...signed.certificate, categories: ['orders'] } };
    await check.goto('/certificates/verify');
    await check.getByLabel(/Certificate/).fill(JSON.stringify(altered));
    await check.getByRole('button', { name: 'Check the certificate' }).click();
    await check.waitForURL(`${stack.api.url}/certificates/verify`);
    const notice = (await check.locator('.notice').textContent())!;
    expect(notice).toContain('Not verified');
    expect(notice).toContain('digest');
    await expectAccessible(check);
    await browser.screenshot(check, 'certificate-check-failed');

    await check.goto('/certificates/verify');
    await check.getByLabel(/Certificate/).fill('{ not json');
    const answer = check.waitForResponse((r) => r.request().method() === 'POST');
    await check.getByRole('button', { name: 'Check the certificate' }).click();
    expect((await answer).status()).toBe(400);
    expect(await check.getByLabel(/Certificate/).getAttribute('aria-invalid')).toBe('true');
    expect(await check.getByLabel(/Certificate/).inputValue()).toBe('{ not json');
    await expectAccessible(check);
  });
});
