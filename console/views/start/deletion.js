// @ts-check
/**
 * Start a deletion request: `POST /v1/customers/{id}/deletion-requests` with the parts asked for: whole categories,
 * or one contact or seller account (offered from the customer's record when the role may read it).
 */
import { api } from '../../api.js';
import { h } from '../../dom.js';
import { compact, onSubmit, valueOf } from '../../forms.js';
import { words } from '../../format.js';
import { DATA_CATEGORIES } from '../../data-categories.js';
import {
  customerDetails,
  customerField,
  customerPath,
  formShell,
  idempotencyKey,
  regimeField,
  requesterField,
} from './common.js';

/**
 * What a requester may ask to delete as a whole category: not the archives of their own access requests (they go with
 * the categories they hold) nor the audit log (kept as evidence; erasure never deletes it).
 */
const CATEGORIES = DATA_CATEGORIES.filter((c) => c !== 'export_archives' && c !== 'audit_log');

/** @param {import('../start.js').StartContext} ctx */
export async function deletionForm(ctx) {
  const customer = await customerDetails(ctx.customerId);
  /** @type {Array<[string, string, Record<string, string>]>} label, value key, part */
  const options = [
    ...CATEGORIES.map(
      (c) =>
        /** @type {[string, string, Record<string,string>]} */ ([`All ${words(c)}`, `category:${c}`, { category: c }]),
    ),
    ...(customer?.contacts ?? []).map(
      (c) =>
        /** @type {[string, string, Record<string,string>]} */ ([
          `Contact ${c.name} <${c.email}>`,
          `contact:${c.id}`,
          { contactId: c.id },
        ]),
    ),
    ...(customer?.sellerAccounts ?? []).map(
      (a) =>
        /** @type {[string, string, Record<string,string>]} */ ([
          `Seller account ${a.marketplace} ${a.accountId}`,
          `seller:${a.id}`,
          { sellerAccountId: a.id },
        ]),
    ),
  ];
  const byValue = new Map(options.map(([, v, part]) => [v, part]));
  const form = formShell(
    'start-deletion',
    [
      customerField(ctx.customerId),
      requesterField(customer),
      h(
        'fieldset',
        { 'data-field': 'parts' },
        h('legend', {}, 'What to delete (each part is granted or refused on its own)'),
        h(
          'div',
          { class: 'checks' },
          options.map(([label, value]) =>
            h('label', {}, h('input', { type: 'checkbox', name: 'part', value, 'data-part': value }), label),
          ),
        ),
      ),
      regimeField(),
    ],
    'Start deletion request',
  );
  const key = idempotencyKey();
  onSubmit(
    form,
    () => {
      const parts = [...form.querySelectorAll('input[data-part]:checked')].map((el) =>
        byValue.get(/** @type {HTMLInputElement} */ (el).value),
      );
      return api(
        'POST',
        customerPath(valueOf(form, 'customerId'), '/deletion-requests'),
        compact({
          requesterEmail: valueOf(form, 'requesterEmail'),
          parts,
          privacyRegime: valueOf(form, 'privacyRegime'),
        }),
        { idempotencyKey: key },
      );
    },
    (answer) => ctx.navigate(`#/requests/${answer.requestId}`),
  );
  return form;
}
