// @ts-check
/** Pieces the start forms share: the customer field, the requester's address, the regime override, the answer. */
import { api } from '../../api.js';
import { field, h } from '../../dom.js';
import { may } from '../../session.js';

/** The customer the request is for (its id is the `{id}` of the route; a 400 on `path.id` shows here). */
export function customerField(/** @type {string} */ customerId) {
  return field({
    label: 'Customer id',
    name: 'customerId',
    value: customerId,
    required: true,
    hint: 'The customer the request is about (prefilled from the customer page).',
    attrs: { size: 38, autocomplete: 'off' },
  });
}

/** The customer's record when the role may read it (contacts for the requester list, ids for corrections). */
export async function customerDetails(/** @type {string} */ customerId) {
  if (!customerId || !may('GET /v1/customers/:id')) return null;
  try {
    return await api('GET', `/v1/customers/${customerId}`);
  } catch {
    return null;
  }
}

/** The address the request came from; the contacts are offered as suggestions. @param {any} customer */
export function requesterField(customer) {
  const listId = 'requester-contacts';
  return [
    field({
      label: 'Requester email',
      name: 'requesterEmail',
      type: 'email',
      required: true,
      hint: 'The address the request came from. Only a registered contact is served; the workflow checks it by email.',
      attrs: { list: customer ? listId : undefined, autocomplete: 'off' },
    }),
    customer
      ? h(
          'datalist',
          { id: listId },
          (customer.contacts ?? []).map((c) => h('option', { value: c.email }, `${c.name} (${c.role})`)),
        )
      : null,
  ];
}

export function regimeField() {
  return field({
    label: 'Privacy regime (optional)',
    name: 'privacyRegime',
    options: [
      ['', "The customer's regime"],
      ['gdpr', 'GDPR'],
      ['uk_gdpr', 'UK GDPR'],
      ['ccpa', 'CCPA'],
    ],
  });
}

/** A fresh Idempotency-Key per form: a double submission (or a retry after a timeout) replays, never starts twice. */
export function idempotencyKey() {
  return `console-${crypto.randomUUID()}`;
}

/** The form shell: heading, error summary, fields, submit button. @param {string} id @param {any[]} fields @param {string} submit */
export function formShell(id, fields, submit) {
  return /** @type {HTMLFormElement} */ (
    h(
      'form',
      { id, class: 'start-form' },
      h('div', { class: 'error-summary', tabindex: '-1' }),
      fields,
      h('div', { class: 'actions' }, h('button', { type: 'submit' }, submit)),
    )
  );
}

/** The path of a customer route, refusing an empty id in the browser (the API would answer 404, not name the field). */
export function customerPath(/** @type {string} */ customerId, /** @type {string} */ suffix) {
  return `/v1/customers/${encodeURIComponent(customerId || '-')}${suffix}`;
}
