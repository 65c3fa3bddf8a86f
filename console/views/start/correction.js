// @ts-check
/**
 * Start a correction: `POST /v1/customers/{id}/correction-requests` with one or more changes, each naming what it
 * corrects, the contact or seller account it applies to, and the new value. Sensitive changes (legal name,
 * registration number, the primary contact's email, removing a contact, moving the primary role) then wait for a
 * privacy officer other than the requester.
 */
import { api } from '../../api.js';
import { h, uid } from '../../dom.js';
import { compact, onSubmit, valueOf } from '../../forms.js';
import {
  customerDetails,
  customerField,
  customerPath,
  formShell,
  idempotencyKey,
  regimeField,
  requesterField,
} from './common.js';

/** Each kind of change: its label, which record it targets, and whether it takes a value. */
const KINDS = [
  ['company.legalName', 'Company legal name (needs approval)', null],
  ['company.tradingName', 'Trading name', null],
  ['company.registrationNumber', 'Registration number (needs approval)', null],
  ['company.address', 'Address', null],
  ['contact.name', 'Contact name', 'contact'],
  ['contact.email', "Contact email (the primary contact's needs approval)", 'contact'],
  ['contact.phone', 'Contact phone', 'contact'],
  ['contact.role', 'Contact role', 'contact'],
  ['contact.add', 'Add a contact', 'new-contact'],
  ['contact.remove', 'Remove a contact (needs approval)', 'contact-only'],
  ['sellerAccount.marketplace', 'Seller account marketplace', 'seller'],
  ['sellerAccount.accountId', 'Seller account id', 'seller'],
  ['sellerAccount.region', 'Seller account region', 'seller'],
];

/** @param {import('../start.js').StartContext} ctx */
export async function correctionForm(ctx) {
  const customer = await customerDetails(ctx.customerId);
  const list = h('div', { 'data-field': 'changes' });
  /** @type {Array<ReturnType<typeof changeRow>>} */
  const rows = [];
  const renumber = () => rows.forEach((r, i) => r.number(i));
  const add = () => {
    const row = changeRow(customer, () => {
      rows.splice(rows.indexOf(row), 1);
      row.el.remove();
      renumber();
    });
    rows.push(row);
    list.append(row.el);
    renumber();
    return row;
  };
  add();
  const form = formShell(
    'start-correction',
    [
      customerField(ctx.customerId),
      requesterField(customer),
      list,
      h(
        'div',
        { class: 'actions' },
        h('button', { type: 'button', class: 'secondary', onclick: () => add().focus() }, 'Add another change'),
      ),
      regimeField(),
    ],
    'Start correction',
  );
  const key = idempotencyKey();
  onSubmit(
    form,
    () =>
      api(
        'POST',
        customerPath(valueOf(form, 'customerId'), '/correction-requests'),
        compact({
          requesterEmail: valueOf(form, 'requesterEmail'),
          changes: rows.map((r) => r.value()),
          privacyRegime: valueOf(form, 'privacyRegime'),
        }),
        { idempotencyKey: key },
      ),
    (answer) => ctx.navigate(`#/requests/${answer.requestId}`),
  );
  return form;
}

/**
 * One change: a fieldset whose controls are named `changes[i]....` (renumbered when rows come and go), so the API's
 * field errors land on them.
 * @param {any} customer @param {() => void} remove
 */
function changeRow(customer, remove) {
  const legend = h('legend');
  const kindId = uid('kind');
  const kind = /** @type {HTMLSelectElement} */ (
    h(
      'select',
      { id: kindId, 'data-name': 'change' },
      KINDS.map(([v, t]) => h('option', { value: v }, t)),
    )
  );
  const target = h('div');
  const el = h(
    'fieldset',
    {},
    legend,
    h(
      'div',
      { class: 'row' },
      h('div', { class: 'field' }, h('label', { for: kindId }, 'What to correct'), kind),
      target,
    ),
    h('button', { type: 'button', class: 'secondary', onclick: remove }, 'Remove this change'),
  );
  let index = 0;

  const labelled = (/** @type {string} */ label, /** @type {HTMLElement} */ control) => {
    const id = uid('c');
    control.id = id;
    return h('div', { class: 'field' }, h('label', { for: id }, label), control);
  };
  const recordSelect = (
    /** @type {string} */ dataName,
    /** @type {Array<[string, string]>} */ options,
    /** @type {string} */ label,
  ) =>
    labelled(
      label,
      options.length
        ? h(
            'select',
            { 'data-name': dataName },
            h('option', { value: '' }, 'Choose…'),
            options.map(([v, t]) => h('option', { value: v }, t)),
          )
        : h('input', { 'data-name': dataName, size: 38, placeholder: 'record id' }),
    );
  const contacts = (customer?.contacts ?? []).map((c) => [c.id, `${c.name} <${c.email}> (${c.role})`]);
  const sellers = (customer?.sellerAccounts ?? []).map((a) => [a.id, `${a.marketplace} ${a.accountId}`]);
  const roles = ['primary', 'billing', 'technical', 'legal', 'other'];

  const draw = () => {
    const k = KINDS.find(([v]) => v === kind.value)?.[2] ?? null;
    const parts = [];
    if (k === 'contact' || k === 'contact-only') parts.push(recordSelect('contactId', contacts, 'Contact'));
    if (k === 'seller') parts.push(recordSelect('sellerAccountId', sellers, 'Seller account'));
    if (k === 'new-contact') {
      parts.push(labelled('Name', h('input', { 'data-name': 'contact.name' })));
      parts.push(labelled('Email', h('input', { 'data-name': 'contact.email', type: 'email' })));
      parts.push(labelled('Phone (optional, E.164)', h('input', { 'data-name': 'contact.phone', type: 'tel' })));
      parts.push(
        labelled(
          'Role',
          h(
            'select',
            { 'data-name': 'contact.role' },
            roles.map((r) => h('option', { value: r, selected: r === 'other' }, r)),
          ),
        ),
      );
    } else if (kind.value === 'contact.role') {
      parts.push(
        labelled(
          'New role',
          h(
            'select',
            { 'data-name': 'value' },
            roles.map((r) => h('option', { value: r }, r)),
          ),
        ),
      );
    } else if (k !== 'contact-only') {
      parts.push(
        labelled('New value (empty clears it, where allowed)', h('input', { 'data-name': 'value', size: 40 })),
      );
    }
    target.replaceChildren(...parts);
    number(index);
  };
  const number = (/** @type {number} */ i) => {
    index = i;
    legend.textContent = `Change ${i + 1}`;
    el.setAttribute('data-field', `changes[${i}]`);
    el.querySelectorAll('[data-name]').forEach((c) =>
      c.setAttribute('name', `changes[${i}].${c.getAttribute('data-name')}`),
    );
  };
  kind.addEventListener('change', draw);
  draw();

  return {
    el,
    number,
    focus: () => kind.focus(),
    value() {
      const get = (/** @type {string} */ n) =>
        /** @type {HTMLInputElement | null} */ (el.querySelector(`[data-name="${n}"]`))?.value.trim();
      /** @type {Record<string, any>} */
      const change = { change: kind.value };
      if (get('contactId') !== undefined) change.contactId = get('contactId');
      if (get('sellerAccountId') !== undefined) change.sellerAccountId = get('sellerAccountId');
      if (kind.value === 'contact.add') {
        change.contact = compact({
          name: get('contact.name'),
          email: get('contact.email'),
          phone: get('contact.phone'),
          role: get('contact.role'),
        });
      } else if (get('value') !== undefined) {
        const v = get('value');
        const nullable = ['company.tradingName', 'company.address', 'contact.phone', 'sellerAccount.region'];
        change.value = v === '' && nullable.includes(kind.value) ? null : v;
      }
      return change;
    },
  };
}
