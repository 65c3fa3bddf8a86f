// @ts-check
/** Start an access request: `POST /v1/customers/{id}/access-requests` with the requester's address and the scope. */
import { api } from '../../api.js';
import { field } from '../../dom.js';
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

/** @param {import('../start.js').StartContext} ctx */
export async function accessForm(ctx) {
  const customer = await customerDetails(ctx.customerId);
  const form = formShell(
    'start-access',
    [
      customerField(ctx.customerId),
      requesterField(customer),
      field({
        label: 'Scope',
        name: 'scope',
        required: true,
        options: [
          ['', 'Choose…'],
          ['contact_information', 'Business contact information'],
          ['service_records', 'Service records (operational and technical data)'],
          ['all', 'Everything'],
        ],
      }),
      regimeField(),
    ],
    'Start access request',
  );
  const key = idempotencyKey();
  onSubmit(
    form,
    () =>
      api(
        'POST',
        customerPath(valueOf(form, 'customerId'), '/access-requests'),
        compact({
          requesterEmail: valueOf(form, 'requesterEmail'),
          scope: valueOf(form, 'scope'),
          privacyRegime: valueOf(form, 'privacyRegime'),
        }),
        { idempotencyKey: key },
      ),
    (answer) => ctx.navigate(`#/requests/${answer.requestId}`),
  );
  return form;
}
