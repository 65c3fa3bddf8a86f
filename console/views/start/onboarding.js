// @ts-check
/**
 * Onboard a customer: `POST /v1/customers` with the company, its contacts (exactly one primary), seller accounts, the
 * contract and the subprocessors it uses. Controls are named by the API's field paths (`contacts[1].email`), so each
 * 400 error lands on its field.
 */
import { api } from '../../api.js';
import { field, h } from '../../dom.js';
import { compact, onSubmit, valueOf } from '../../forms.js';
import { formShell, idempotencyKey } from './common.js';

const ROLES = ['primary', 'billing', 'technical', 'legal', 'other'];

/** @param {import('../start.js').StartContext} ctx */
export function onboardingForm(ctx) {
  const contacts = repeating('contacts', 'Contact', (i) => [
    field({ label: 'Name', name: `contacts[${i}].name`, required: true }),
    field({ label: 'Email', name: `contacts[${i}].email`, type: 'email', required: true }),
    field({ label: 'Phone (optional, E.164 such as +4930123456)', name: `contacts[${i}].phone`, type: 'tel' }),
    field({
      label: 'Role',
      name: `contacts[${i}].role`,
      options: ROLES.map((r) => [r, r]),
      value: i === 0 ? 'primary' : 'other',
    }),
  ]);
  const accounts = repeating(
    'sellerAccounts',
    'Seller account',
    (i) => [
      field({ label: 'Marketplace', name: `sellerAccounts[${i}].marketplace`, hint: 'e.g. amazon, ebay' }),
      field({ label: 'Account id', name: `sellerAccounts[${i}].accountId` }),
      field({ label: 'Region (optional)', name: `sellerAccounts[${i}].region` }),
    ],
    0,
  );
  const form = formShell(
    'start-onboarding',
    [
      h(
        'fieldset',
        {},
        h('legend', {}, 'Company'),
        h(
          'div',
          { class: 'row' },
          field({ label: 'Legal name', name: 'company.name', required: true }),
          field({ label: 'Registration number', name: 'company.registrationNumber', required: true }),
          field({
            label: 'Country (ISO code)',
            name: 'company.country',
            required: true,
            hint: 'e.g. DE',
            attrs: { size: 4 },
          }),
          field({
            label: 'Privacy regime (optional)',
            name: 'company.privacyRegime',
            options: [
              ['', 'By country / default'],
              ['gdpr', 'GDPR'],
              ['uk_gdpr', 'UK GDPR'],
              ['ccpa', 'CCPA'],
            ],
          }),
        ),
      ),
      contacts.el,
      accounts.el,
      h(
        'fieldset',
        {},
        h('legend', {}, 'Contract'),
        h(
          'div',
          { class: 'row' },
          field({ label: 'Starts on', name: 'contract.startsOn', type: 'date', required: true }),
          field({ label: 'Ends on (optional)', name: 'contract.endsOn', type: 'date' }),
          field({
            label: 'At termination',
            name: 'contract.terminationDisposition',
            required: true,
            options: [
              ['', 'Choose…'],
              ['delete', 'Delete the data'],
              ['return_then_delete', 'Return the data, then delete'],
            ],
          }),
          field({ label: 'Plan (optional)', name: 'contract.plan' }),
        ),
      ),
      field({
        label: 'Subprocessors (optional)',
        name: 'subprocessors',
        hint: 'Ids separated by commas, e.g. crm, analytics.',
      }),
    ],
    'Onboard customer',
  );
  const key = idempotencyKey();
  onSubmit(
    form,
    () => {
      const v = (/** @type {string} */ n) => valueOf(form, n);
      const body = {
        company: compact({
          name: v('company.name'),
          registrationNumber: v('company.registrationNumber'),
          country: v('company.country'),
          privacyRegime: v('company.privacyRegime'),
        }),
        contacts: contacts.indexes().map((i) =>
          compact({
            name: v(`contacts[${i}].name`),
            email: v(`contacts[${i}].email`),
            phone: v(`contacts[${i}].phone`),
            role: v(`contacts[${i}].role`),
          }),
        ),
        sellerAccounts: accounts.indexes().map((i) =>
          compact({
            marketplace: v(`sellerAccounts[${i}].marketplace`),
            accountId: v(`sellerAccounts[${i}].accountId`),
            region: v(`sellerAccounts[${i}].region`),
          }),
        ),
        contract: compact({
          startsOn: v('contract.startsOn'),
          endsOn: v('contract.endsOn'),
          terminationDisposition: v('contract.terminationDisposition'),
          plan: v('contract.plan'),
        }),
        subprocessors: v('subprocessors')
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean),
      };
      return api('POST', '/v1/customers', body, { idempotencyKey: key });
    },
    (answer) => ctx.navigate(`#/requests/${answer.requestId}`),
  );
  return form;
}

/**
 * A list of fieldsets (contacts, seller accounts) with add/remove. Rows keep the index they were created with, and
 * the body is built from the rows present, renumbered in order; so a removed row's index is never reused, each row is
 * rebuilt with the index of its position before a submission.
 * @param {string} name @param {string} label @param {(i: number) => any[]} build @param {number} [initial]
 */
function repeating(name, label, build, initial = 1) {
  const list = h('div', { 'data-field': name });
  /** @type {HTMLElement[]} */
  let rows = [];
  const values = () =>
    rows.map((r) =>
      Object.fromEntries(
        [...r.querySelectorAll('[name]')].map((c) => [
          c.getAttribute('name')?.replace(/^[^.]+\./, ''),
          /** @type {HTMLInputElement} */ (c).value,
        ]),
      ),
    );
  const redraw = (/** @type {Array<Record<string,string>>} */ data) => {
    rows = data.map((d, i) => {
      const row = h(
        'fieldset',
        {},
        h('legend', {}, `${label} ${i + 1}`),
        h('div', { class: 'row' }, build(i)),
        h(
          'button',
          {
            type: 'button',
            class: 'secondary',
            onclick: () => {
              const now = values();
              now.splice(i, 1);
              redraw(now);
            },
          },
          `Remove ${label.toLowerCase()} ${i + 1}`,
        ),
      );
      for (const [k, v] of Object.entries(d)) {
        const c = /** @type {HTMLInputElement | null} */ (row.querySelector(`[name="${name}[${i}].${k}"]`));
        if (c) c.value = v;
      }
      return row;
    });
    list.replaceChildren(...rows);
  };
  redraw(Array.from({ length: initial }, () => ({})));
  const el = h(
    'div',
    {},
    list,
    h(
      'div',
      { class: 'actions' },
      h(
        'button',
        {
          type: 'button',
          class: 'secondary',
          onclick: () => {
            redraw([...values(), {}]);
            /** @type {HTMLElement | null} */ (rows.at(-1)?.querySelector('input, select'))?.focus();
          },
        },
        `Add ${label.toLowerCase()}`,
      ),
    ),
  );
  return { el, indexes: () => rows.map((_, i) => i) };
}
