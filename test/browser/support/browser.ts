/**
 * The browser-test harness: a headless Chromium (Debian's `chromium`, found or installed by scripts/chromium.sh, which
 * `npm test` runs) driven by `playwright-core`. Each test file launches one browser in beforeAll and closes it in
 * afterAll; each page gets a fresh context (own cookies and session storage), so sign-ins do not leak between tests.
 *
 * ```ts
 * let browser: BrowserHarness;
 * beforeAll(async () => { stack = await startTestStack({ name: 'my-pages' }); browser = await launchBrowser(); });
 * afterAll(async () => { await browser?.close(); await stack?.stop(); });
 * it('...', async () => {
 *   const page = await browser.newPage({ baseURL: stack.api.url });
 *   await page.goto('/verify/...');
 *   await expectAccessible(page);                 // ./accessibility.ts
 *   await browser.screenshot(page, 'verification-page');
 * });
 * ```
 *
 * Root in a container needs `--no-sandbox` (Chromium refuses to start as root with its sandbox on); the tests only
 * ever open pages of the local API under test.
 */
import { existsSync } from 'node:fs';
import { copyFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

const ROOT = path.join(__dirname, '..', '..', '..');
/** Where screenshots for the docs live (README and docs/ reference them). */
export const DOCS_SCREENSHOT_DIR = path.join(ROOT, 'docs', 'screenshots');
/** Where every run's screenshots go (not committed). */
export const RUN_SCREENSHOT_DIR = path.join(ROOT, '.data', 'test', 'screenshots');

/** Viewports the pages are checked at: a laptop and a phone (the customer pages are read on phones). */
export const VIEWPORTS = {
  desktop: { width: 1280, height: 900 },
  phone: { width: 390, height: 844 },
} as const;

/** Default time a page action or navigation may take (the test machine is shared and slow). */
const ACTION_TIMEOUT_MS = 30_000;

/** The Chromium to drive: CHROMIUM_PATH (set by `npm test`), else the usual install locations. */
export function chromiumExecutable(): string {
  const configured = process.env.CHROMIUM_PATH;
  if (configured) return configured;
  for (const candidate of ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome']) {
    if (existsSync(candidate)) return candidate;
  }
  throw new Error(
    "No Chromium for the browser tests: run them with `npm test` (it installs Debian's chromium), run " +
      '`bash scripts/chromium.sh`, or set CHROMIUM_PATH to a Chromium or Chrome binary',
  );
}

export interface NewPageOptions {
  /** Base of relative `page.goto` URLs, usually `stack.api.url`. */
  baseURL?: string;
  /** `desktop` (default) or `phone` (a narrow touch viewport with a phone user agent's scale). */
  viewport?: keyof typeof VIEWPORTS;
}

/** A launched browser and what tests do with it. */
export interface BrowserHarness {
  browser: Browser;
  /**
   * A page in a fresh context (own cookies, storage, downloads allowed). Uncaught page errors are collected in
   * {@link BrowserHarness.pageErrors}.
   */
  newPage(opts?: NewPageOptions): Promise<Page>;
  /** Uncaught script errors of a page opened by {@link newPage} (a page without scripts has none). */
  pageErrors(page: Page): Error[];
  /**
   * Saves a full-page PNG as `.data/test/screenshots/<name>.png`, and as `docs/screenshots/<name>.png` when that file
   * does not exist yet or `UPDATE_SCREENSHOTS=1` (so a normal run does not rewrite committed images); `docs: false`
   * keeps it out of docs/. Returns the run's path.
   */
  screenshot(page: Page, name: string, opts?: { docs?: boolean }): Promise<string>;
  /** Closes every context and the browser; safe to call twice. Call it in afterAll. */
  close(): Promise<void>;
}

/** Launches headless Chromium. */
export async function launchBrowser(): Promise<BrowserHarness> {
  const browser = await chromium.launch({
    executablePath: chromiumExecutable(),
    headless: true,
    chromiumSandbox: false,
    // Containers have a small /dev/shm; software rendering keeps screenshots the same on machines without a GPU.
    args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu', '--font-render-hinting=none'],
    timeout: 60_000,
  });
  const contexts = new Set<BrowserContext>();
  const errors = new WeakMap<Page, Error[]>();
  let closed = false;

  return {
    browser,
    async newPage(opts = {}) {
      const viewport = VIEWPORTS[opts.viewport ?? 'desktop'];
      const context = await browser.newContext({
        ...(opts.baseURL ? { baseURL: opts.baseURL } : {}),
        viewport,
        ...(opts.viewport === 'phone' ? { isMobile: true, hasTouch: true, deviceScaleFactor: 2 } : {}),
        acceptDownloads: true,
        locale: 'en-GB',
        timezoneId: 'UTC',
      });
      context.setDefaultTimeout(ACTION_TIMEOUT_MS);
      context.setDefaultNavigationTimeout(ACTION_TIMEOUT_MS);
      contexts.add(context);
      context.on('close', () => contexts.delete(context));
      const page = await context.newPage();
      const pageErrors: Error[] = [];
      errors.set(page, pageErrors);
      page.on('pageerror', (err) => pageErrors.push(err));
      return page;
    },
    pageErrors(page) {
      return errors.get(page) ?? [];
    },
    async screenshot(page, name, opts = {}) {
      if (!/^[a-z0-9][a-z0-9-]*$/.test(name)) throw new Error(`screenshot name must be kebab-case: ${name}`);
      await mkdir(RUN_SCREENSHOT_DIR, { recursive: true });
      const file = path.join(RUN_SCREENSHOT_DIR, `${name}.png`);
      await page.screenshot({ path: file, fullPage: true, animations: 'disabled' });
      const docsFile = path.join(DOCS_SCREENSHOT_DIR, `${name}.png`);
      if (opts.docs !== false && (process.env.UPDATE_SCREENSHOTS === '1' || !existsSync(docsFile))) {
        await mkdir(DOCS_SCREENSHOT_DIR, { recursive: true });
        await copyFile(file, docsFile);
      }
      return file;
    },
    async close() {
      if (closed) return;
      closed = true;
      await Promise.allSettled([...contexts].map((c) => c.close()));
      await browser.close();
    },
  };
}
