// @ts-check
/**
 * The console's shell: sign-in, the navigation the role allows, and a hash router (`#/queue`, `#/requests/<id>`,
 * `#/customers/<id>`, `#/start/<kind>`) that renders one view at a time into <main>. A view may return a cleanup
 * function (it stops its polling when the person navigates away). After each navigation the view's heading gets the
 * focus, so keyboard and screen-reader users land on the new content.
 */
import { h, replace } from './dom.js';
import { may, resume, session, signOut } from './session.js';
import { renderSignIn } from './views/sign-in.js';
import { renderQueue } from './views/queue.js';
import { renderRequest } from './views/request.js';
import { renderCustomer } from './views/customer.js';
import { renderCustomers } from './views/customers.js';
import { renderChanges } from './views/changes.js';
import { renderStart, START_KINDS } from './views/start.js';

const main = /** @type {HTMLElement} */ (document.getElementById('main'));
const nav = /** @type {HTMLElement} */ (document.getElementById('nav'));

/** @type {(() => void) | undefined} */
let cleanup;

/**
 * @typedef {{ params: Record<string, string>, query: URLSearchParams, navigate: (hash: string) => void }} ViewContext
 * @typedef {(main: HTMLElement, ctx: ViewContext) => (void | (() => void) | Promise<void | (() => void)>)} View
 */

/** @type {Array<[RegExp, View, string]>} pattern, view, nav key */
const ROUTES = [
  [/^\/(queue)?$/, renderQueue, 'queue'],
  [/^\/requests\/(?<id>[0-9a-f-]{36})$/, renderRequest, 'queue'],
  [/^\/customers$/, renderCustomers, 'customers'],
  [/^\/customers\/(?<id>[0-9a-f-]{36})$/, renderCustomer, 'customers'],
  [/^\/start\/(?<kind>[a-z]+)$/, renderStart, 'start'],
  [/^\/changes$/, renderChanges, 'changes'],
];

function navigate(/** @type {string} */ hash) {
  if (location.hash === hash) void route();
  else location.hash = hash;
}

function renderNav(/** @type {string} */ active) {
  const s = session();
  if (!s) {
    replace(nav);
    return;
  }
  const link = (/** @type {string} */ href, /** @type {string} */ key, /** @type {string} */ text) =>
    h('li', {}, h('a', { href, 'aria-current': key === active ? 'page' : undefined }, text));
  const startKind = START_KINDS.find((k) => may(k.route));
  replace(
    nav,
    h(
      'ul',
      {},
      may('GET /v1/requests') ? link('#/queue', 'queue', 'Queue') : null,
      may('GET /v1/customers') ? link('#/customers', 'customers', 'Customers') : null,
      startKind ? link(`#/start/${startKind.kind}`, 'start', 'Start a request') : null,
      may('GET /v1/change-requests') ? link('#/changes', 'changes', 'Pending changes') : null,
      h('li', { class: 'who' }, `${s.staff.name} (${s.staff.role.replace('_', ' ')})`),
      h(
        'li',
        {},
        h(
          'button',
          {
            type: 'button',
            onclick: () => {
              signOut();
              navigate('#/');
            },
          },
          'Sign out',
        ),
      ),
    ),
  );
}

async function route() {
  cleanup?.();
  cleanup = undefined;
  const raw = location.hash.replace(/^#/, '') || '/';
  const [path, search] = raw.split('?');
  const query = new URLSearchParams(search ?? '');
  if (!session()) {
    renderNav('');
    document.title = 'Sign in · Staff console';
    renderSignIn(main, { params: {}, query, navigate: () => void route() });
    return;
  }
  for (const [pattern, view, key] of ROUTES) {
    const m = pattern.exec(path ?? '/');
    if (!m) continue;
    renderNav(key);
    replace(main);
    try {
      const result = await view(main, { params: { ...(m.groups ?? {}) }, query, navigate });
      if (typeof result === 'function') cleanup = result;
    } catch (err) {
      replace(main, h('h1', { tabindex: '-1' }, 'Something went wrong'), h('p', { role: 'alert' }, String(err)));
    }
    focusHeading();
    return;
  }
  renderNav('');
  replace(
    main,
    h('h1', { tabindex: '-1' }, 'Page not found'),
    h('p', {}, h('a', { href: '#/queue' }, 'Back to the queue')),
  );
  focusHeading();
}

function focusHeading() {
  const heading = /** @type {HTMLElement | null} */ (main.querySelector('h1'));
  if (heading) {
    heading.setAttribute('tabindex', '-1');
    heading.focus();
    document.title = `${heading.textContent} · Staff console`;
  }
}

// Only `#/...` is a route: the skip link (and any in-page anchor) moves the focus, not the view.
window.addEventListener('hashchange', () => {
  if (location.hash === '' || location.hash.startsWith('#/')) void route();
});
document.querySelector('.skip-link')?.addEventListener('click', (ev) => {
  ev.preventDefault();
  main.focus();
});
// A token revoked or expired mid-session: back to the sign-in page (a refused sign-in shows its error instead).
window.addEventListener('console:signed-out', () => {
  if (!session()) return;
  signOut();
  void route();
});

await resume();
await route();
