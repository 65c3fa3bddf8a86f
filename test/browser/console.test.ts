/**
 * The staff console in headless Chromium, against the real stack: staff sign in with their token, start an access
 * request and watch its export progress, file a sensitive correction as one staff member and approve it as another
 * (the requester sees no approve button), place and release a legal hold, and view and verify a termination
 * certificate. Every view is checked with axe (WCAG 2.1 A/AA), and the queue, a request page and a customer page are
 * kept as screenshots for the docs.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { staffTokens } from '../../db/repositories/staff-tokens';
import { seedDemoCustomer } from '../../scripts/seed-demo-customer';
import { confirmVerification, linkToken } from '../support/access-export';
import { eventually } from '../support/polling';
import { actorOf, mailAbout, onboardCustomer } from '../support/corrections';
import { onboardingBody } from '../support/fixtures';
import { startTestStack, type TestStack } from '../support/test-stack';
import { expectAccessible } from './support/accessibility';
import { launchBrowser, type BrowserHarness } from './support/browser';

let stack: TestStack;
let browser: BrowserHarness;
/** A second privacy officer: the four-eyes rule needs two. */
let secondOfficer: string;
const exportDir = mkdtempSync(path.join(tmpdir(), 'console-exports-'));
const seeded: string[] = [];

beforeAll(async () => {
  stack = await startTestStack({
    name: 'console-browser',
    env: {
      EXPORT_DIR: exportDir,
      // Small batches and frequent reports: the export of the seeded rows takes long enough to be watched.
      EXPORT_BATCH_ROWS: '2000',
      EXPORT_PARALLEL_TABLES: '1',
      EXPORT_PROGRESS_INTERVAL: 'PT0.2S',
      TEMPORAL_UI_URL: 'http://temporal-ui.test:8233',
    },
    activityHooks: {
      exportHooks: {
        // The export's first attempts stop part-way (as a crashed worker would) and resume from their checkpoint after
        // the retry backoff, so the export runs for seconds and its progress can be watched at the console's pace.
        afterBatch: ({ attempt, rowsDone }) => {
          if (attempt <= 4 && rowsDone >= attempt * 8000) throw new Error(`test: export attempt ${attempt} stops here`);
        },
      },
    },
  });
  secondOfficer = (await staffTokens.create(stack.db, { name: 'Second Officer', role: 'privacy_officer' })).token;
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
  await stack?.db('lifecycle_requests').whereIn('id', seeded).delete();
  await stack?.stop();
  rmSync(exportDir, { recursive: true, force: true });
});

/** A page signed in with `token` (a role of the stack, or a token of its own). */
async function signedIn(token: string): Promise<Page> {
  const page = await browser.newPage({ baseURL: stack.api.url });
  await page.goto('/console/');
  await page.getByLabel('Staff token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('button', { name: 'Sign out' }).waitFor();
  return page;
}

/** The text of the page's main region. */
const mainText = (page: Page) => page.locator('main').innerText();

/** Waits until the main region's text matches (the request page polls every 3 s). */
async function waitForText(page: Page, pattern: RegExp, timeoutMs = 60_000): Promise<void> {
  await eventually(
    () => mainText(page),
    (t) => pattern.test(t),
    timeoutMs,
  );
}

async function confirmByLink(requestId: string, email: string, subject: RegExp): Promise<void> {
  const mail = await mailAbout(stack, requestId, email, subject);
  const res = await confirmVerification(stack, linkToken(mail.text, 'verify'));
  expect(res.status).toBe(200);
}

/** A few open requests of a customer, due at different distances, so the queue shows every kind of urgency. */
async function seedQueue(customerId: string): Promise<void> {
  const today = new Date();
  const day = (n: number) => new Date(today.getTime() + n * 86_400_000).toISOString().slice(0, 10);
  const rows: Array<[string, string, string | null]> = [
    ['deletion', 'deciding', day(-2)],
    ['deletion', 'awaiting-verification', day(3)],
    ['termination', 'awaiting-approval', null],
    ['retention', 'waiting', day(25)],
  ];
  for (const [type, stage, dueOn] of rows) {
    const id = randomUUID();
    seeded.push(id);
    await stack.db('lifecycle_requests').insert({
      id,
      type,
      customer_id: customerId,
      status: 'running',
      stage,
      workflow_id: `console-queue-probe-${id}`,
      due_on: dueOn,
      actor: 'system:console-test',
      request_hash: id,
    });
  }
}

describe('the staff console', () => {
  it('signs in with a token kept in session storage only, refuses a bad one, and shows only what the role may do', async () => {
    const page = await browser.newPage({ baseURL: stack.api.url });
    await page.goto('/console/');
    await expectAccessible(page);
    await page.getByLabel('Staff token').fill('dlo_not-a-token');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').waitFor();
    expect(await page.getByRole('alert').innerText()).toContain('401');
    await expectAccessible(page);

    // By keyboard alone: the token field, Enter; the new view's heading then has the focus.
    await page.getByLabel('Staff token').focus();
    await page.keyboard.press('Control+A');
    await page.keyboard.type(stack.tokens.auditor);
    await page.keyboard.press('Enter');
    await page.getByRole('button', { name: 'Sign out' }).waitFor();
    await page.getByRole('heading', { level: 1, name: 'Open requests' }).waitFor();
    // Once the view has loaded its data, the focus is on its heading.
    await eventually(
      () => page.evaluate('document.activeElement.tagName'),
      (tag) => tag === 'H1',
    );
    // The skip link moves the focus to the content and leaves the view as it is.
    await page.keyboard.press('Shift+Tab');
    await page.getByRole('link', { name: 'Skip to content' }).focus();
    await page.keyboard.press('Enter');
    expect(await page.evaluate('document.activeElement.id')).toBe('main');
    expect(page.url()).toMatch(/\/console\/(#\/queue)?$/);
    expect(page.url()).not.toContain(stack.tokens.auditor);
    expect(await page.evaluate("sessionStorage.getItem('dlo.console.token')")).toBe(stack.tokens.auditor);
    expect(await page.evaluate('localStorage.length')).toBe(0);
    // An auditor reads requests but starts nothing and lists no customers.
    expect(await page.getByRole('link', { name: 'Queue' }).count()).toBe(1);
    expect(await page.getByRole('link', { name: 'Start a request' }).count()).toBe(0);
    expect(await page.getByRole('link', { name: 'Customers' }).count()).toBe(0);
    expect(browser.pageErrors(page)).toEqual([]);
  });

  it('starts an access request from the customer page (errors at the field first), and shows the export progressing', async () => {
    const seed = await seedDemoCustomer(stack.db, {
      operationalRows: 60_000,
      technicalRows: 0,
      communicationRows: 5,
      companyName: 'Nordwind Crossborder Trading GmbH',
    });
    const customerId = seed.customerId;
    const primary = await stack.db('contacts').where({ customer_id: customerId, role: 'primary' }).first();
    await seedQueue(customerId);
    const page = await signedIn(stack.tokens.support);

    // The queue, filtered to this customer: most urgent first, overdue and due-soon said in words.
    await page.goto(`/console/#/queue?customerId=${customerId}`);
    await page.locator('tbody tr').first().waitFor();
    const rows = await page.locator('tbody tr').allInnerTexts();
    expect(rows[0]).toMatch(/Overdue/);
    expect(rows[1]).toMatch(/Due soon/);
    expect(await page.locator('tr.overdue').count()).toBe(1);
    await expectAccessible(page);

    await page.goto(`/console/#/customers/${customerId}`);
    await page.getByRole('heading', { level: 1, name: 'Nordwind Crossborder Trading GmbH' }).waitFor();
    await page.getByRole('link', { name: 'Start an access request' }).click();
    await page.getByRole('heading', { level: 1, name: 'Start: Access request' }).waitFor();
    await expectAccessible(page);

    // What the API's schema refuses is shown at the field, and nothing starts.
    await page.getByLabel('Requester email').fill('not-an-address');
    await page.getByRole('button', { name: 'Start access request' }).click();
    await page.locator('.error-summary ul').waitFor();
    const email = page.getByLabel('Requester email');
    expect(await email.getAttribute('aria-invalid')).toBe('true');
    expect(await page.locator('.field-error').allInnerTexts()).toEqual(
      expect.arrayContaining([expect.stringMatching(/^requesterEmail: /), expect.stringMatching(/^scope: /)]),
    );
    await expectAccessible(page);
    expect(await stack.db('lifecycle_requests').where({ customer_id: customerId, type: 'access' })).toHaveLength(0);

    await email.fill(primary.email);
    await page.getByLabel('Scope').selectOption('all');
    await page.getByRole('button', { name: 'Start access request' }).click();
    await page.waitForURL(/#\/requests\/[0-9a-f-]{36}$/);
    const requestId = page.url().split('/').at(-1)!;
    await waitForText(page, /awaiting verification/);
    const link = page.getByRole('link', { name: /Open in the Temporal Web UI/ });
    expect(await link.getAttribute('href')).toBe(
      `http://temporal-ui.test:8233/namespaces/${stack.config.temporal.namespace}/workflows/access-request-${requestId}`,
    );

    // The customer confirms through the emailed link (the pages' own test clicks it); the page follows by polling.
    await confirmByLink(requestId, primary.email, /^Confirm your data access request/);
    // The queue polls the rows whose export or erasure is running and shows their progress in place.
    await page.goto(`/console/#/queue?customerId=${customerId}`);
    const row = page.locator(`tr[data-request="${requestId}"]`);
    await row.getByRole('progressbar', { name: 'Export progress' }).waitFor({ timeout: 60_000 });
    expect(await row.innerText()).toMatch(/Export: [\d,]+ of ~?[\d,]+ rows exported/);
    await browser.screenshot(page, 'console-queue');

    await page.goto(`/console/#/requests/${requestId}`);
    await page.getByRole('progressbar', { name: 'Export progress' }).waitFor({ timeout: 60_000 });
    expect(await mainText(page)).toMatch(/Export: [\d,]+ of ~?[\d,]+ rows exported/);
    await expectAccessible(page);
    await browser.screenshot(page, 'console-request-page');

    await waitForText(page, /stage: (delivered|completed)/, 120_000);
    expect(await mainText(page)).toMatch(/access\.delivered|access\.link_sent|delivered/);
    expect(browser.pageErrors(page)).toEqual([]);
  });

  it('files a sensitive correction as support, and a privacy officer approves it; the requester gets no approve button', async () => {
    const crm = await stack.addSubprocessor('console-crm', ['business_contact']);
    const customer = await onboardCustomer(stack, [crm]);
    const support = await signedIn(stack.tokens.support);
    await support.goto(`/console/#/start/correction?customer=${customer.customerId}`);
    await support.getByRole('heading', { level: 1, name: 'Start: Correction' }).waitFor();
    await support.getByLabel('Requester email').fill(customer.primary.email);
    await support.getByLabel('What to correct').selectOption('contact.email');
    await support.getByLabel('Contact', { exact: true }).selectOption(customer.primary.id);
    const newEmail = `greta.new.${randomUUID().slice(0, 6)}@nordlicht.example`;
    await support.getByLabel(/New value/).fill(newEmail);
    await expectAccessible(support);
    await support.getByRole('button', { name: 'Start correction' }).click();
    await support.waitForURL(/#\/requests\/[0-9a-f-]{36}$/);
    const requestId = support.url().split('/').at(-1)!;
    await confirmByLink(requestId, customer.primary.email, /^Confirm your correction request/);
    await waitForText(support, /stage: awaiting approval/);
    // Support may not decide at all: the page says who must, and offers no button.
    expect(await support.getByRole('button', { name: 'Approve' }).count()).toBe(0);
    expect(await mainText(support)).toContain('Awaiting the approval of a privacy officer');
    await expectAccessible(support);

    const officer = await signedIn(stack.tokens.privacy_officer);
    await officer.goto(`/console/#/requests/${requestId}`);
    await officer.getByRole('button', { name: 'Approve' }).waitFor();
    await expectAccessible(officer);
    // A rejection needs a reason: the API's 400 is shown at the reason field.
    await officer.getByRole('button', { name: 'Reject' }).click();
    await officer.locator('#decision-form .field-error').waitFor();
    expect(await officer.getByLabel('Reason', { exact: true }).getAttribute('aria-invalid')).toBe('true');
    await officer.getByLabel('Reason', { exact: true }).fill('address confirmed by phone with the customer');
    await officer.getByRole('button', { name: 'Approve' }).click();
    await waitForText(officer, /Decision: approved by you/);
    await eventually(
      () => stack.db('contacts').where({ id: customer.primary.id }).first(),
      (c) => c.email === newEmail,
      60_000,
    );
    const approver = await actorOf(stack, stack.tokens.privacy_officer);
    // The decision as recorded (before the change was applied): the same whether the workflow still runs or has ended.
    const request = await stack.http('GET', `/v1/requests/${requestId}`);
    expect(request.body.outcome.decision).toMatchObject({ decision: 'approved', actor: approver });
    expect(browser.pageErrors(officer)).toEqual([]);
  });

  it('places and releases a legal hold, then terminates: the requesting officer cannot approve, a second one does, and the certificate verifies', async () => {
    const body = onboardingBody([]);
    body.contract.terminationDisposition = 'delete';
    const onboarded = await stack.http('POST', '/v1/customers', body);
    await stack.client.workflow.getHandle(onboarded.body.workflowId).result();
    const customerId = onboarded.body.customerId as string;

    const officer = await signedIn(stack.tokens.privacy_officer);
    await officer.goto(`/console/#/customers/${customerId}`);
    await officer.getByRole('heading', { name: 'Legal holds' }).waitFor();
    await officer.getByRole('heading', { name: 'Retention schedule' }).waitFor();
    await waitForText(officer, /business contact/);

    await officer.getByLabel('Reason', { exact: true }).fill('Regulator inquiry about marketplace fees');
    await officer.getByLabel('Case or ticket reference').fill('REG-2026-117');
    await officer.getByRole('checkbox', { name: 'orders' }).check();
    await officer.getByRole('button', { name: 'Place hold' }).click();
    await officer.getByRole('cell', { name: 'REG-2026-117', exact: true }).waitFor();
    expect(await officer.locator('tr[data-hold]').innerText()).toContain('In force');
    const [hold] = await stack.db('legal_holds').where({ customer_id: customerId });
    expect(hold).toMatchObject({ reference: 'REG-2026-117', released_at: null });
    await expectAccessible(officer);
    await browser.screenshot(officer, 'console-customer-page');

    await officer.getByLabel('Why release it').fill('Inquiry closed without findings');
    await officer.getByRole('button', { name: 'Release' }).click();
    await officer.getByText(/Released .*Inquiry closed without findings/).waitFor();
    expect((await stack.db('legal_holds').where({ id: hold.id }).first()).released_at).not.toBeNull();

    // The officer schedules the termination: they are its requester, so the four-eyes rule keeps them from approving.
    await officer.getByRole('link', { name: 'Schedule the termination' }).click();
    await officer.getByLabel('Reason').fill('Customer ended the contract in writing');
    await officer.getByRole('button', { name: 'Schedule termination' }).click();
    await officer.waitForURL(/#\/requests\/[0-9a-f-]{36}$/);
    const requestId = officer.url().split('/').at(-1)!;
    await waitForText(officer, /stage: awaiting approval/, 90_000);
    await officer.getByText(/You requested this/).waitFor();
    expect(await officer.getByRole('button', { name: 'Approve' }).count()).toBe(0);

    const second = await signedIn(secondOfficer);
    await second.goto(`/console/#/requests/${requestId}`);
    await second.getByRole('button', { name: 'Approve' }).click();
    await waitForText(second, /stage: completed/, 120_000);
    expect(browser.pageErrors(second)).toEqual([]);

    await second.goto(`/console/#/customers/${customerId}`);
    await second.getByRole('heading', { name: 'Deletion certificates' }).waitFor();
    await second.getByRole('button', { name: 'View certificate' }).click();
    const frame = second.frameLocator('iframe.certificate');
    await frame.getByText('Certificate of deletion on contract termination').waitFor();
    await second.getByRole('button', { name: 'Verify signature' }).click();
    await second.getByText(/Valid.*signature verifies/).waitFor();
    await expectAccessible(second, { exclude: ['iframe.certificate'] });
    const [certificate] = await stack.db('certificates').where({ request_id: requestId });
    expect(certificate).toBeDefined();
    expect(await second.locator(`tr[data-certificate="${certificate.id}"]`).count()).toBe(1);
  });
  it('shows a contract change that waits for a second officer: no approve button for its proposer, approved by the other', async () => {
    const onboarded = await stack.http('POST', '/v1/customers', onboardingBody([]));
    await stack.client.workflow.getHandle(onboarded.body.workflowId).result();
    const customerId = onboarded.body.customerId as string;
    // Bringing the contract's end forward brings erasure forward: it waits for a second privacy officer.
    const proposed = await stack.http(
      'PUT',
      `/v1/customers/${customerId}/contract`,
      { endsOn: '2027-06-30' },
      {},
      'privacy_officer',
    );
    expect(proposed.status).toBe(202);
    const changeId = proposed.body.changeRequest.id as string;

    const proposer = await signedIn(stack.tokens.privacy_officer);
    await proposer.getByRole('link', { name: 'Pending changes' }).click();
    const mine = proposer.locator(`section[data-change="${changeId}"]`);
    await mine.getByText(/You proposed this change/).waitFor();
    expect(await mine.getByRole('button', { name: 'Approve change' }).count()).toBe(0);
    await expectAccessible(proposer);

    const second = await signedIn(secondOfficer);
    await second.goto('/console/#/changes');
    const theirs = second.locator(`section[data-change="${changeId}"]`);
    await theirs.getByRole('button', { name: 'Approve change' }).click();
    await eventually(
      () => stack.http('GET', `/v1/change-requests/${changeId}`, undefined, {}, 'auditor'),
      (r) => r.body.status === 'applied',
    );
    await second.locator(`section[data-change="${changeId}"]`).waitFor({ state: 'detached' }); // no longer pending
    const contract = await stack.db('contracts').where({ customer_id: customerId }).first();
    expect(contract.ends_on).toBe('2027-06-30');
    expect(browser.pageErrors(second)).toEqual([]);
  });
  it('onboards a customer and starts a deletion request through the forms, each refusal shown at its field', async () => {
    const page = await signedIn(stack.tokens.support);
    await page.goto('/console/#/start/onboarding');
    await page.getByRole('heading', { level: 1, name: 'Start: Onboarding' }).waitFor();
    const tag = randomUUID().slice(0, 6);
    await page.getByLabel('Legal name').fill(`Formular Handel ${tag} GmbH`);
    await page.getByLabel('Registration number').fill(`HRB F${tag}`);
    await page.getByLabel('Country (ISO code)').fill('Germany');
    await page.getByLabel(/^Name/).fill('Frieda Form');
    await page.getByLabel(/^Email/).fill('frieda-at-example');
    await page.getByLabel('Starts on').fill('2026-02-01');
    await page.getByLabel('At termination').selectOption('delete');
    await page.getByRole('button', { name: 'Onboard customer' }).click();
    await page.locator('.error-summary ul').waitFor();
    expect(await page.getByLabel('Country (ISO code)').getAttribute('aria-invalid')).toBe('true');
    expect(await page.getByLabel(/^Email/).getAttribute('aria-invalid')).toBe('true');
    expect(await page.locator('.error-summary').innerText()).toMatch(/company\.country: .*ISO 3166-1/);
    await expectAccessible(page);

    await page.getByLabel('Country (ISO code)').fill('DE');
    const email = `frieda.${tag}@formular.example`;
    await page.getByLabel(/^Email/).fill(email);
    await page.getByRole('button', { name: 'Onboard customer' }).click();
    await page.waitForURL(/#\/requests\/[0-9a-f-]{36}$/);
    await waitForText(page, /stage: completed/);
    const customer = await stack
      .db('customers')
      .where({ registration_number: `HRB F${tag}` })
      .first();
    expect(customer.status).toBe('active');

    await page.goto(`/console/#/start/deletion?customer=${customer.id}`);
    await page.getByRole('heading', { level: 1, name: 'Start: Deletion request' }).waitFor();
    await page.getByLabel('Requester email').fill(email);
    await page.getByRole('button', { name: 'Start deletion request' }).click();
    await page.locator('fieldset[aria-invalid="true"]').waitFor(); // no part ticked: the parts are refused
    expect(await page.locator('.field-error').innerText()).toMatch(/^parts: /);
    await page.getByRole('checkbox', { name: 'All orders' }).check();
    await page.getByRole('button', { name: 'Start deletion request' }).click();
    await page.waitForURL(/#\/requests\/[0-9a-f-]{36}$/);
    await waitForText(page, /Deletion request/);
    const [request] = await stack.db('lifecycle_requests').where({ customer_id: customer.id, type: 'deletion' });
    expect(page.url()).toContain(request.id);
    expect(browser.pageErrors(page)).toEqual([]);
  });
});
