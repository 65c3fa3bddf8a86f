/**
 * The browser-test harness itself (test/browser/support/): headless Chromium starts as root, pages get their own
 * context, screenshots are written, and the accessibility check fails on what axe calls serious or critical and passes
 * a page that is fine. Needs no stack: the pages are set in the browser directly.
 */
import { readFile, stat } from 'node:fs/promises';
import { accessibilityViolations, expectAccessible } from './support/accessibility';
import { launchBrowser, type BrowserHarness } from './support/browser';

let browser: BrowserHarness;

beforeAll(async () => {
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
});

const GOOD_PAGE = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Fine</title></head>
<body><main><h1>A fine page</h1><form><label for="n">Name</label><input id="n" name="n">
<button type="submit">Send</button></form></main></body></html>`;

describe('the browser-test harness', () => {
  it('drives headless Chromium and writes a full-page screenshot', async () => {
    const page = await browser.newPage({ viewport: 'phone' });
    await page.setContent(GOOD_PAGE);
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('A fine page');
    expect(page.viewportSize()).toEqual({ width: 390, height: 844 });
    const file = await browser.screenshot(page, 'harness-self-test', { docs: false });
    const png = await readFile(file);
    expect(png.subarray(1, 4).toString('ascii')).toBe('PNG');
    expect((await stat(file)).size).toBeGreaterThan(1000);
    expect(browser.pageErrors(page)).toEqual([]);
  });

  it('gives every page its own storage, so a sign-in does not leak into the next page', async () => {
    const serve = async (page: Awaited<ReturnType<BrowserHarness['newPage']>>) => {
      await page.route('http://harness.test/**', (route) =>
        route.fulfill({ status: 200, contentType: 'text/html', body: GOOD_PAGE }),
      );
      await page.goto('http://harness.test/');
    };
    const first = await browser.newPage();
    await serve(first);
    // Expressions, not functions: the project's TypeScript has no DOM types (lib ES2022).
    await first.evaluate("localStorage.setItem('token', 'signed-in'); sessionStorage.setItem('token', 'signed-in')");
    const second = await browser.newPage();
    await serve(second);
    expect(await second.evaluate("[localStorage.getItem('token'), sessionStorage.getItem('token')]")).toEqual([
      null,
      null,
    ]);
    expect(await first.evaluate("localStorage.getItem('token')")).toBe('signed-in');
  });

  it('passes an accessible page and names each serious or critical violation of one that is not', async () => {
    const page = await browser.newPage();
    await page.setContent(GOOD_PAGE);
    await expect(expectAccessible(page)).resolves.toBeUndefined();

    await page.setContent(
      '<!doctype html><html><head><title>Broken</title></head><body><button></button>' +
        '<input type="text"><p style="color:#ddd;background:#fff">faint</p></body></html>',
    );
    const rules = (await accessibilityViolations(page)).map((v) => v.rule).sort();
    expect(rules).toEqual(expect.arrayContaining(['button-name', 'color-contrast', 'html-has-lang', 'label']));
    await expect(expectAccessible(page)).rejects.toThrow(/button-name \(critical\)/);
  });
});
