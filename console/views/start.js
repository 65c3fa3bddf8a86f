// @ts-check
/**
 * Start forms, one module per kind (views/start/*.js). Each builds the body the API route takes and lets the API's
 * zod schemas judge it: a 400 problem's field errors are shown at the fields (forms.js); on success the console opens
 * the new request's page.
 */
import { h, replace } from '../dom.js';
import { query } from '../api.js';
import { may } from '../session.js';
import { onboardingForm } from './start/onboarding.js';
import { accessForm } from './start/access.js';
import { correctionForm } from './start/correction.js';
import { deletionForm } from './start/deletion.js';
import { terminationForm } from './start/termination.js';

/**
 * @typedef {{ customerId: string, navigate: (hash: string) => void }} StartContext
 * @type {Array<{ kind: string, label: string, route: string,
 *   build: (ctx: StartContext) => Promise<HTMLElement> | HTMLElement, needsCustomer: boolean }>}
 */
export const START_KINDS = [
  {
    kind: 'access',
    label: 'Access request',
    route: 'POST /v1/customers/:id/access-requests',
    build: accessForm,
    needsCustomer: true,
  },
  {
    kind: 'correction',
    label: 'Correction',
    route: 'POST /v1/customers/:id/correction-requests',
    build: correctionForm,
    needsCustomer: true,
  },
  {
    kind: 'deletion',
    label: 'Deletion request',
    route: 'POST /v1/customers/:id/deletion-requests',
    build: deletionForm,
    needsCustomer: true,
  },
  {
    kind: 'termination',
    label: 'Termination',
    route: 'POST /v1/customers/:id/termination',
    build: terminationForm,
    needsCustomer: true,
  },
  { kind: 'onboarding', label: 'Onboarding', route: 'POST /v1/customers', build: onboardingForm, needsCustomer: false },
];

/** @type {import('../app.js').View} */
export async function renderStart(main, ctx) {
  const allowed = START_KINDS.filter((k) => may(k.route));
  const current = allowed.find((k) => k.kind === ctx.params.kind);
  const customerId = ctx.query.get('customer') ?? '';
  main.append(h('h1', {}, current ? `Start: ${current.label}` : 'Start a request'));
  if (!allowed.length) {
    main.append(h('p', {}, 'Your role may not start requests.'));
    return;
  }
  main.append(
    h(
      'nav',
      { 'aria-label': 'Kinds of request' },
      h(
        'ul',
        { class: 'actions', role: 'list' },
        allowed.map((k) =>
          h(
            'li',
            {},
            h(
              'a',
              {
                class: `button ${k === current ? '' : 'secondary'}`,
                href: `#/start/${k.kind}${query({ customer: customerId })}`,
                'aria-current': k === current ? 'page' : undefined,
              },
              k.label,
            ),
          ),
        ),
      ),
    ),
  );
  const holder = h('div');
  main.append(holder);
  if (!current) {
    replace(holder, h('p', {}, 'Choose what to start.'));
    return;
  }
  replace(holder, await current.build({ customerId, navigate: ctx.navigate }));
}
