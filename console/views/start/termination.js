// @ts-check
/** Schedule a contract termination: `POST /v1/customers/{id}/termination` (effective date, reason, disposition). */
import { api } from '../../api.js';
import { field } from '../../dom.js';
import { compact, onSubmit, valueOf } from '../../forms.js';
import { session } from '../../session.js';
import { customerField, customerPath, formShell, idempotencyKey } from './common.js';

/** @param {import('../start.js').StartContext} ctx */
export function terminationForm(ctx) {
  const officer = session()?.staff.role === 'privacy_officer';
  const form = formShell(
    'start-termination',
    [
      customerField(ctx.customerId),
      field({
        label: 'Takes effect (UTC, optional)',
        name: 'effectiveAt',
        type: 'datetime-local',
        hint: 'Empty: now. The termination can be cancelled until then.',
      }),
      field({
        label: 'Reason',
        name: 'reason',
        required: true,
        multiline: true,
        hint: 'Kept only as a hash in the audit log.',
      }),
      officer
        ? field({
            label: 'Disposition (privacy officer override, optional)',
            name: 'disposition',
            options: [
              ['', 'As the contract says'],
              ['delete', 'Delete'],
              ['return_then_delete', 'Return the data, then delete'],
            ],
          })
        : null,
    ],
    'Schedule termination',
  );
  const key = idempotencyKey();
  onSubmit(
    form,
    () => {
      const local = valueOf(form, 'effectiveAt');
      // datetime-local has no zone: the field says UTC, so the value is read as UTC.
      const effectiveAt = local ? `${local.length === 16 ? `${local}:00` : local}Z` : '';
      return api(
        'POST',
        customerPath(valueOf(form, 'customerId'), '/termination'),
        compact({ effectiveAt, reason: valueOf(form, 'reason'), disposition: valueOf(form, 'disposition') }),
        { idempotencyKey: key },
      );
    },
    (answer) => ctx.navigate(`#/requests/${answer.requestId}`),
  );
  return form;
}
