// @ts-check
/** Customers, a page at a time (`GET /v1/customers`, keyset paged by id), each linking to its customer page. */
import { api, query } from '../api.js';
import { h, replace } from '../dom.js';
import { instant, words } from '../format.js';
import { may } from '../session.js';

/** @type {import('../app.js').View} */
export async function renderCustomers(main) {
  main.append(h('h1', {}, 'Customers'));
  if (!may('GET /v1/customers')) {
    main.append(h('p', {}, 'Your role may not list customers.'));
    return;
  }
  const holder = h('div', { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-label': 'Customers' });
  const pager = h('nav', { class: 'pager', 'aria-label': 'Pages' });
  const go = h(
    'form',
    { class: 'filters', role: 'search', 'aria-label': 'Open a customer' },
    h(
      'div',
      { class: 'field' },
      h('label', { for: 'customer-go' }, 'Customer id'),
      h('input', { id: 'customer-go', name: 'id', size: 38 }),
    ),
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Open')),
  );
  go.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const id = String(new FormData(/** @type {HTMLFormElement} */ (go)).get('id') ?? '').trim();
    if (id) location.hash = `#/customers/${id}`;
  });
  main.append(go, holder, pager);
  const afters = [''];
  async function load(after) {
    const page = await api('GET', `/v1/customers${query({ limit: 50, after })}`);
    replace(
      holder,
      h(
        'table',
        {},
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            ['Company', 'Country', 'Regime', 'Status', 'Since'].map((t) => h('th', { scope: 'col' }, t)),
          ),
        ),
        h(
          'tbody',
          {},
          page.items.map((c) =>
            h(
              'tr',
              {},
              h('td', {}, h('a', { href: `#/customers/${c.id}` }, c.companyName)),
              h('td', {}, c.country),
              h('td', {}, words(c.privacyRegime)),
              h('td', {}, words(c.status)),
              h('td', {}, instant(c.createdAt)),
            ),
          ),
        ),
      ),
    );
    const next = page.items.at(-1)?.id;
    replace(
      pager,
      h(
        'button',
        {
          type: 'button',
          class: 'secondary',
          disabled: afters.length <= 1,
          onclick: () => {
            afters.pop();
            void load(afters.at(-1) || undefined);
          },
        },
        'Previous page',
      ),
      h(
        'button',
        {
          type: 'button',
          class: 'secondary',
          disabled: !page.next,
          onclick: () => {
            afters.push(next);
            void load(next);
          },
        },
        'Next page',
      ),
    );
  }
  await load(undefined);
}
