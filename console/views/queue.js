// @ts-check
/**
 * The queue: open requests of every type, most urgent first (`GET /v1/requests`, sorted by the server), overdue and
 * due-soon rows highlighted (in words and colour), filters by customer, type and stage kept in the URL, server-side
 * paging with the API's cursor, and live progress of running exports and erasures (polled every few seconds).
 */
import { api, ApiError, query } from '../api.js';
import { h, replace } from '../dom.js';
import { day, instant, shortId, TYPE_LABELS, URGENCY_LABELS, words } from '../format.js';
import { may } from '../session.js';
import { progressView, PROGRESS_STAGES } from './progress.js';

const POLL_MS = 3000;
const PAGE_SIZE = 50;

/** Stages worth filtering by: the ones where staff act or wait. */
const STAGES = [
  'received',
  'awaiting-verification',
  'awaiting-approval',
  'awaiting-acknowledgement',
  'exporting',
  'delivering',
  'delivered',
  'erasing',
  'waiting-for-legal-hold',
  'propagating',
  'scheduled',
  'certifying',
];

/** @type {import('../app.js').View} */
export async function renderQueue(main, ctx) {
  if (!may('GET /v1/requests')) {
    main.append(
      h('h1', {}, 'Nothing to show'),
      h('p', {}, 'Your role may not read requests. Administrators manage tokens and subprocessors with the CLI.'),
    );
    return;
  }
  const q = ctx.query;
  const filters = {
    status: q.get('status') ?? 'open',
    type: q.get('type') ?? '',
    stage: q.get('stage') ?? '',
    customerId: q.get('customerId') ?? '',
  };
  const status = h('p', { class: 'muted', role: 'status' });
  const tableHolder = h('div', { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-label': 'Requests' });
  const pager = h('nav', { class: 'pager', 'aria-label': 'Pages' });
  main.append(
    h('h1', {}, filters.status === 'open' ? 'Open requests' : 'Requests'),
    filterForm(filters, ctx),
    h(
      'div',
      { class: 'actions' },
      status,
      h('button', { type: 'button', class: 'secondary', onclick: () => void load(current) }, 'Refresh'),
    ),
    tableHolder,
    pager,
  );

  /** Cursors of the pages before the current one ('' for the first page). */
  const cursors = [''];
  let timer = 0;
  let stopped = false;

  /** @param {string | undefined} cursor */
  function fetchPage(cursor) {
    const type = filters.type === 'approvals' ? '' : filters.type;
    const stage = filters.type === 'approvals' ? 'awaiting-approval' : filters.stage;
    return api(
      'GET',
      `/v1/requests${query({ status: filters.status, type, stage, customerId: filters.customerId, cursor, limit: PAGE_SIZE })}`,
    );
  }

  /** @type {string | undefined} */
  let current;
  /** @param {string | undefined} cursor */
  async function load(cursor) {
    current = cursor;
    replace(status, 'Loading…');
    let page;
    try {
      page = await fetchPage(cursor);
    } catch (err) {
      replace(status, h('span', { role: 'alert' }, err instanceof ApiError ? err.message : String(err)));
      replace(tableHolder);
      return;
    }
    const overdue = page.items.filter((i) => i.urgency === 'overdue').length;
    const soon = page.items.filter((i) => i.urgency === 'due-soon').length;
    replace(
      status,
      `Page ${cursors.length}: ${page.items.length} request(s)` +
        (overdue ? `, ${overdue} overdue` : '') +
        (soon ? `, ${soon} due within ${page.dueSoonDays} days` : '') +
        ` (as of ${page.today}).`,
    );
    replace(tableHolder, page.items.length ? table(page.items) : h('p', {}, 'No request matches these filters.'));
    replace(
      pager,
      h(
        'button',
        {
          type: 'button',
          class: 'secondary',
          disabled: cursors.length <= 1,
          onclick: () => {
            cursors.pop();
            void load(cursors.at(-1) || undefined);
          },
        },
        'Previous page',
      ),
      h(
        'button',
        {
          type: 'button',
          class: 'secondary',
          disabled: !page.nextCursor,
          onclick: () => {
            cursors.push(page.nextCursor);
            void load(page.nextCursor);
          },
        },
        'Next page',
      ),
    );
    schedulePoll();
  }

  /**
   * Every few seconds: re-reads the page's stages (one query), then asks each row whose export or erasure runs for its
   * progress, and updates those cells in place (rows do not move under the reader; Refresh re-sorts).
   */
  function schedulePoll() {
    clearTimeout(timer);
    if (stopped) return;
    timer = window.setTimeout(async () => {
      try {
        const fresh = await fetchPage(current);
        const stages = new Map(fresh.items.map((i) => [i.id, i.stage]));
        for (const tr of tableHolder.querySelectorAll('tr[data-request]')) {
          const stage = stages.get(tr.getAttribute('data-request'));
          if (stage && stage !== tr.getAttribute('data-stage')) {
            tr.setAttribute('data-stage', stage);
            const cell = tr.querySelector('[data-col="stage"]');
            if (cell) replace(cell, words(stage));
          }
        }
      } catch {
        // the next poll tries again
      }
      const rows = [...tableHolder.querySelectorAll('tr[data-request]')].filter((tr) =>
        PROGRESS_STAGES.has(tr.getAttribute('data-stage') ?? ''),
      );
      await Promise.all(
        rows.map(async (tr) => {
          try {
            const s = await api('GET', `/v1/requests/${tr.getAttribute('data-request')}`);
            tr.setAttribute('data-stage', s.stage);
            const stageCell = tr.querySelector('[data-col="stage"]');
            if (stageCell) replace(stageCell, words(s.stage), h('br'), progressView(s));
          } catch {
            // the next poll tries again
          }
        }),
      );
      schedulePoll();
    }, POLL_MS);
  }

  await load(undefined);
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}

/**
 * @param {{ status: string, type: string, stage: string, customerId: string }} filters
 * @param {import('../app.js').ViewContext} ctx
 */
function filterForm(filters, ctx) {
  const select = (
    /** @type {string} */ name,
    /** @type {string} */ label,
    /** @type {Array<[string,string]>} */ options,
  ) => {
    const id = `filter-${name}`;
    return h(
      'div',
      { class: 'field' },
      h('label', { for: id }, label),
      h(
        'select',
        { id, name },
        options.map(([v, t]) => h('option', { value: v, selected: filters[name] === v }, t)),
      ),
    );
  };
  const form = /** @type {HTMLFormElement} */ (
    h(
      'form',
      { class: 'filters', 'aria-label': 'Filter requests', role: 'search' },
      select('status', 'Status', [
        ['open', 'Open'],
        ['completed', 'Completed'],
        ['failed', 'Failed'],
        ['cancelled', 'Cancelled'],
        ['all', 'All'],
      ]),
      select('type', 'Type', [['', 'All types'], ...Object.entries(TYPE_LABELS), ['approvals', 'Pending approvals']]),
      select('stage', 'Stage', [
        ['', 'Any stage'],
        ...STAGES.map((s) => /** @type {[string,string]} */ ([s, words(s)])),
      ]),
      h(
        'div',
        { class: 'field' },
        h('label', { for: 'filter-customerId' }, 'Customer id'),
        h('input', {
          id: 'filter-customerId',
          name: 'customerId',
          value: filters.customerId,
          size: 38,
          pattern: '[0-9a-fA-F-]{36}',
          placeholder: 'any customer',
        }),
      ),
      h(
        'div',
        { class: 'actions' },
        h('button', { type: 'submit' }, 'Apply filters'),
        h('a', { href: '#/queue' }, 'Clear'),
      ),
    )
  );
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const data = new FormData(form);
    ctx.navigate(
      `#/queue${query({
        status: data.get('status') === 'open' ? '' : data.get('status'),
        type: data.get('type'),
        stage: data.get('stage'),
        customerId: String(data.get('customerId') ?? '').trim(),
      })}`,
    );
  });
  return form;
}

/** @param {any[]} items */
function table(items) {
  return h(
    'table',
    {},
    h('caption', { class: 'visually-hidden' }, 'Requests, most urgent first'),
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        ['Due', 'Urgency', 'Type', 'Customer', 'Stage', 'Received', 'Request'].map((t) => h('th', { scope: 'col' }, t)),
      ),
    ),
    h(
      'tbody',
      {},
      items.map((r) =>
        h(
          'tr',
          { class: r.urgency, 'data-request': r.id, 'data-stage': r.stage },
          h('td', {}, day(r.dueOn)),
          h('td', {}, h('span', { class: `badge ${r.urgency}` }, URGENCY_LABELS[r.urgency] ?? r.urgency)),
          h('td', {}, TYPE_LABELS[r.type] ?? r.type),
          h(
            'td',
            {},
            may('GET /v1/customers/:id')
              ? h('a', { href: `#/customers/${r.customerId}` }, r.companyName ?? shortId(r.customerId))
              : (r.companyName ?? shortId(r.customerId)),
          ),
          h('td', { 'data-col': 'stage' }, words(r.stage)),
          h('td', {}, instant(r.receivedAt)),
          h(
            'td',
            {},
            h(
              'a',
              { href: `#/requests/${r.id}`, 'aria-label': `Open ${TYPE_LABELS[r.type] ?? r.type} ${shortId(r.id)}` },
              shortId(r.id),
            ),
          ),
        ),
      ),
    ),
  );
}
