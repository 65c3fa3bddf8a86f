// @ts-check
/**
 * One customer: contacts, seller accounts and contract; the retention schedule per data category (what expires when);
 * legal holds (place, release); the customer's requests; its deletion certificates (view the HTML rendering, verify
 * the signature). Each section is shown when the role may call the routes behind it, and only then.
 */
import { api, ApiError, query } from '../api.js';
import { announce, h, replace } from '../dom.js';
import { onSubmit, valueOf } from '../forms.js';
import { day, instant, shortId, typeLabel, URGENCY_LABELS, words } from '../format.js';
import { may } from '../session.js';
import { DATA_CATEGORIES } from '../data-categories.js';

/** @type {import('../app.js').View} */
export async function renderCustomer(main, ctx) {
  const id = ctx.params.id ?? '';
  /** @type {any} */
  let customer = null;
  let missing = '';
  if (may('GET /v1/customers/:id')) {
    try {
      customer = await api('GET', `/v1/customers/${id}`);
    } catch (err) {
      missing =
        err instanceof ApiError && err.status === 404
          ? 'The customer record is gone (erased) or never existed.'
          : String(err);
    }
  }
  main.append(h('h1', {}, customer ? customer.companyName : `Customer ${shortId(id)}`));
  if (missing) main.append(h('p', { class: 'notice warn' }, missing));
  main.append(startLinks(id, customer));
  if (customer) main.append(profileView(customer));

  const sections = [];
  if (may('GET /v1/customers/:id/retention')) sections.push(retentionSection(id));
  if (may('GET /v1/customers/:id/legal-holds')) sections.push(holdsSection(id));
  if (may('GET /v1/requests')) sections.push(requestsSection(id));
  if (may('GET /v1/customers/:id/certificates')) sections.push(certificatesSection(id));
  for (const s of sections) main.append(s.el);
  await Promise.all(sections.map((s) => s.load()));
}

/** @param {string} id @param {any} customer */
function startLinks(id, customer) {
  const kinds = [
    ['access', 'Start an access request', 'POST /v1/customers/:id/access-requests'],
    ['correction', 'Start a correction', 'POST /v1/customers/:id/correction-requests'],
    ['deletion', 'Start a deletion request', 'POST /v1/customers/:id/deletion-requests'],
    ['termination', 'Schedule the termination', 'POST /v1/customers/:id/termination'],
  ].filter(([, , route]) => may(route));
  if (!kinds.length || (customer && customer.status !== 'active')) return null;
  return h(
    'p',
    { class: 'actions' },
    kinds.map(([kind, text]) =>
      h('a', { class: 'button secondary', href: `#/start/${kind}${query({ customer: id })}` }, text),
    ),
  );
}

/** @param {any} c */
function profileView(c) {
  const table = (/** @type {string[]} */ head, /** @type {any[][]} */ rows, /** @type {string} */ empty) =>
    rows.length
      ? h(
          'table',
          {},
          h(
            'thead',
            {},
            h(
              'tr',
              {},
              head.map((t) => h('th', { scope: 'col' }, t)),
            ),
          ),
          h(
            'tbody',
            {},
            rows.map((r) =>
              h(
                'tr',
                {},
                r.map((x) => h('td', {}, x ?? '—')),
              ),
            ),
          ),
        )
      : h('p', {}, empty);
  return h(
    'section',
    { class: 'panel', 'aria-labelledby': 'profile-h' },
    h('h2', { id: 'profile-h' }, 'Customer'),
    h(
      'dl',
      { class: 'facts' },
      [
        ['Id', c.id],
        ['Registration number', c.registrationNumber],
        ['Country', c.country],
        ['Privacy regime', words(c.privacyRegime)],
        ['Status', words(c.status)],
        ['Onboarded', instant(c.createdAt)],
        ['Subprocessors', (c.subprocessors ?? []).map((s) => s.id).join(', ') || 'none'],
      ].map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]),
    ),
    h('h3', {}, 'Contacts'),
    table(
      ['Name', 'Email', 'Phone', 'Role'],
      (c.contacts ?? []).map((x) => [x.name, x.email, x.phone, x.role]),
      'No contacts.',
    ),
    h('h3', {}, 'Seller accounts'),
    table(
      ['Marketplace', 'Account', 'Region'],
      (c.sellerAccounts ?? []).map((a) => [a.marketplace, a.accountId, a.region]),
      'No seller accounts.',
    ),
    h('h3', {}, 'Contract'),
    c.contract
      ? h(
          'dl',
          { class: 'facts' },
          [
            ['Starts', day(c.contract.startsOn)],
            ['Ends', c.contract.endsOn ? day(c.contract.endsOn) : 'open-ended'],
            ['At termination', words(c.contract.terminationDisposition)],
            ['Plan', c.contract.plan ?? '—'],
          ].map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]),
        )
      : h('p', {}, 'No contract recorded.'),
  );
}

/** The customer's retention lifecycle: each category's rule and when it expires. @param {string} id */
function retentionSection(id) {
  const el = h('section', { 'aria-labelledby': 'retention-h' }, h('h2', { id: 'retention-h' }, 'Retention schedule'));
  const body = h('div');
  el.append(body);
  return {
    el,
    async load() {
      try {
        const r = await api('GET', `/v1/customers/${id}/retention`);
        const rows = Object.entries(r.categories ?? {}).sort(([a], [b]) => a.localeCompare(b));
        replace(
          body,
          h(
            'p',
            {},
            `Lifecycle ${words(r.stage)}; contract end ${r.contractEnd ? instant(r.contractEnd) : 'not set (open-ended)'}; next expiry ` +
              (r.nextExpiry
                ? `${instant(r.nextExpiry.at)} (${r.nextExpiry.categories.join(', ')})`
                : 'none scheduled') +
              '.',
          ),
          h(
            'table',
            {},
            h(
              'thead',
              {},
              h(
                'tr',
                {},
                ['Category', 'Rule', 'State', 'Expires'].map((t) => h('th', { scope: 'col' }, t)),
              ),
            ),
            h(
              'tbody',
              {},
              rows.map(([cat, s]) =>
                h(
                  'tr',
                  {},
                  h('td', {}, words(cat)),
                  h(
                    'td',
                    {},
                    s.clockStart === 'record' || s.state === 'rolling'
                      ? `${s.period} after each record (rolling)`
                      : `${s.period} after the ${words(s.clockStart)}`,
                  ),
                  h('td', {}, words(s.state)),
                  h(
                    'td',
                    {},
                    s.state === 'rolling'
                      ? 'continuously, by record age'
                      : s.expiresAt
                        ? instant(s.expiresAt)
                        : 'when the contract ends',
                  ),
                ),
              ),
            ),
          ),
        );
      } catch (err) {
        replace(
          body,
          h(
            'p',
            {},
            err instanceof ApiError && err.status === 404
              ? 'No retention lifecycle runs for this customer.'
              : String(err),
          ),
        );
      }
    },
  };
}

/** Legal holds: the list, placing one, releasing one (each with the reason asked for). @param {string} id */
function holdsSection(id) {
  const el = h('section', { 'aria-labelledby': 'holds-h' }, h('h2', { id: 'holds-h' }, 'Legal holds'));
  const list = h('div');
  el.append(list);
  async function load() {
    const { items } = await api('GET', `/v1/customers/${id}/legal-holds`);
    replace(
      list,
      items.length
        ? h(
            'table',
            {},
            h(
              'thead',
              {},
              h(
                'tr',
                {},
                ['Placed', 'Categories', 'Reference', 'Reason', 'State', ''].map((t) => h('th', { scope: 'col' }, t)),
              ),
            ),
            h(
              'tbody',
              {},
              items.map((hold) =>
                h(
                  'tr',
                  { 'data-hold': hold.id },
                  h('td', {}, instant(hold.placedAt)),
                  h('td', {}, hold.categories ? hold.categories.map(words).join(', ') : 'all categories'),
                  h('td', {}, hold.reference),
                  h('td', {}, hold.reason),
                  h(
                    'td',
                    {},
                    hold.active
                      ? h('span', { class: 'badge due-soon' }, 'In force')
                      : `Released ${instant(hold.releasedAt)}: ${hold.releaseReason ?? ''}`,
                  ),
                  h('td', {}, hold.active && may('DELETE /v1/legal-holds/:holdId') ? releaseForm(hold, load) : ''),
                ),
              ),
            ),
          )
        : h('p', {}, 'No legal holds.'),
    );
  }
  if (may('POST /v1/customers/:id/legal-holds')) el.append(placeForm(id, load));
  return { el, load };
}

/** @param {string} id @param {() => Promise<void>} reload */
function placeForm(id, reload) {
  const form = /** @type {HTMLFormElement} */ (
    h(
      'form',
      { id: 'place-hold', 'aria-labelledby': 'place-hold-h', class: 'panel' },
      h('h3', { id: 'place-hold-h' }, 'Place a legal hold'),
      h('div', { class: 'error-summary', tabindex: '-1' }),
      h(
        'div',
        { class: 'field' },
        h('label', { for: 'hold-reason' }, 'Reason'),
        h('textarea', { id: 'hold-reason', name: 'reason', rows: 2, required: true }),
      ),
      h(
        'div',
        { class: 'field' },
        h('label', { for: 'hold-reference' }, 'Case or ticket reference'),
        h('input', { id: 'hold-reference', name: 'reference', required: true }),
      ),
      h(
        'fieldset',
        { 'data-field': 'categories' },
        h('legend', {}, 'Categories (none ticked: every category)'),
        h(
          'div',
          { class: 'checks' },
          DATA_CATEGORIES.map((c) =>
            h('label', {}, h('input', { type: 'checkbox', name: 'categories', value: c }), words(c)),
          ),
        ),
      ),
      h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Place hold')),
    )
  );
  onSubmit(
    form,
    () => {
      const categories = [...form.querySelectorAll('input[name="categories"]:checked')].map(
        (c) => /** @type {HTMLInputElement} */ (c).value,
      );
      return api('POST', `/v1/customers/${id}/legal-holds`, {
        reason: valueOf(form, 'reason'),
        reference: valueOf(form, 'reference'),
        ...(categories.length ? { categories } : {}),
      });
    },
    async () => {
      form.reset();
      announce('Legal hold placed');
      await reload();
    },
  );
  return form;
}

/** @param {any} hold @param {() => Promise<void>} reload */
function releaseForm(hold, reload) {
  const fid = `release-${hold.id}`;
  const form = /** @type {HTMLFormElement} */ (
    h(
      'form',
      { id: fid, 'aria-label': `Release hold ${hold.reference}` },
      h('div', { class: 'error-summary', tabindex: '-1' }),
      h(
        'div',
        { class: 'field' },
        h('label', { for: `${fid}-reason` }, 'Why release it'),
        h('textarea', { id: `${fid}-reason`, name: 'reason', rows: 2, required: true }),
      ),
      h('button', { type: 'submit', class: 'secondary' }, 'Release'),
    )
  );
  onSubmit(
    form,
    () => api('DELETE', `/v1/legal-holds/${hold.id}`, { reason: valueOf(form, 'reason') }),
    async () => {
      announce('Legal hold released');
      await reload();
    },
  );
  return form;
}

/** The customer's requests of any status, most urgent first, paged. @param {string} id */
function requestsSection(id) {
  const el = h('section', { 'aria-labelledby': 'requests-h' }, h('h2', { id: 'requests-h' }, 'Requests'));
  const body = h('div', {
    class: 'table-wrap',
    tabindex: '0',
    role: 'region',
    'aria-label': 'Requests of the customer',
  });
  const more = h('div');
  el.append(body, more);
  const rows = h('tbody');
  async function load(cursor) {
    const page = await api('GET', `/v1/requests${query({ customerId: id, status: 'all', limit: 50, cursor })}`);
    if (!cursor) {
      replace(
        body,
        page.items.length
          ? h(
              'table',
              {},
              h(
                'thead',
                {},
                h(
                  'tr',
                  {},
                  ['Type', 'Status', 'Stage', 'Due', 'Received', 'Request'].map((t) => h('th', { scope: 'col' }, t)),
                ),
              ),
              rows,
            )
          : h('p', {}, 'No requests.'),
      );
    }
    for (const r of page.items) {
      rows.append(
        h(
          'tr',
          { class: r.urgency },
          h('td', {}, typeLabel(r.type)),
          h('td', {}, words(r.status)),
          h('td', {}, words(r.stage)),
          h(
            'td',
            {},
            day(r.dueOn),
            r.dueOn && r.urgency !== 'closed'
              ? [' ', h('span', { class: `badge ${r.urgency}` }, URGENCY_LABELS[r.urgency])]
              : '',
          ),
          h('td', {}, instant(r.receivedAt)),
          h('td', {}, h('a', { href: `#/requests/${r.id}` }, shortId(r.id))),
        ),
      );
    }
    replace(
      more,
      page.nextCursor
        ? h(
            'button',
            { type: 'button', class: 'secondary', onclick: () => void load(page.nextCursor) },
            'Show more requests',
          )
        : '',
    );
  }
  return { el, load: () => load(undefined) };
}

/** Certificates: view the HTML rendering in a sandboxed frame, verify the signature. @param {string} id */
function certificatesSection(id) {
  const el = h('section', { 'aria-labelledby': 'certs-h' }, h('h2', { id: 'certs-h' }, 'Deletion certificates'));
  const body = h('div');
  const viewer = h('div', { id: 'certificate-viewer' });
  el.append(body, viewer);
  async function view(cert) {
    const html = await api('GET', `/v1/certificates/${cert.id}`, undefined, { accept: 'text/html' });
    // A sandbox without scripts: the rendering is shown as a document of its own, never mixed into the console.
    replace(
      viewer,
      h('h3', { tabindex: '-1', id: 'certificate-view-h' }, `Certificate ${shortId(cert.id)}`),
      h('iframe', { class: 'certificate', title: `Deletion certificate ${cert.id}`, sandbox: '', srcdoc: html }),
    );
    /** @type {HTMLElement} */ (viewer.querySelector('h3')).focus();
  }
  async function verify(cert, out) {
    try {
      const v = await api('GET', `/v1/certificates/${cert.id}/verify`);
      replace(
        out,
        h('span', { class: `badge ${v.valid ? 'ok' : 'bad'}` }, v.valid ? 'Valid' : 'NOT valid'),
        ' ',
        `digest ${v.checks.digest ? 'matches' : 'differs'}, signature ${v.checks.signature ? 'verifies' : 'fails'}, key ${v.checks.keyId ? 'known' : 'unknown'}`,
        v.problems.length ? ` (${v.problems.join('; ')})` : '',
      );
      announce(v.valid ? 'Certificate is valid' : 'Certificate is not valid');
    } catch (err) {
      replace(out, String(err));
    }
  }
  return {
    el,
    async load() {
      const { items } = await api('GET', `/v1/customers/${id}/certificates`);
      replace(
        body,
        items.length
          ? h(
              'table',
              {},
              h(
                'thead',
                {},
                h(
                  'tr',
                  {},
                  ['Issued', 'Kind', 'Request', 'Certificate', 'Verification', ''].map((t) =>
                    h('th', { scope: 'col' }, t),
                  ),
                ),
              ),
              h(
                'tbody',
                {},
                items.map((c) => {
                  const out = h('span', { role: 'status' });
                  return h(
                    'tr',
                    { 'data-certificate': c.id },
                    h('td', {}, instant(c.issuedAt)),
                    h('td', {}, words(c.kind)),
                    h('td', {}, h('a', { href: `#/requests/${c.requestId}` }, shortId(c.requestId))),
                    h('td', {}, h('code', {}, c.id)),
                    h('td', {}, out),
                    h(
                      'td',
                      { class: 'actions' },
                      h(
                        'button',
                        { type: 'button', class: 'secondary', onclick: () => void view(c) },
                        'View certificate',
                      ),
                      h(
                        'button',
                        { type: 'button', class: 'secondary', onclick: () => void verify(c, out) },
                        'Verify signature',
                      ),
                    ),
                  );
                }),
              ),
            )
          : h('p', {}, 'No certificates issued.'),
      );
    },
  };
}
