// @ts-check
/** Sign-in: the staff token, entered once for this browser tab (kept in sessionStorage, never in the URL). */
import { h } from '../dom.js';
import { onSubmit } from '../forms.js';
import { signIn } from '../session.js';

/** @type {import('../app.js').View} */
export function renderSignIn(main, ctx) {
  const input = h('input', {
    id: 'token',
    name: 'token',
    type: 'password',
    autocomplete: 'off',
    spellcheck: 'false',
    required: true,
    'aria-describedby': 'token-hint',
  });
  const form = /** @type {HTMLFormElement} */ (
    h(
      'form',
      { class: 'sign-in', id: 'sign-in' },
      h('div', { class: 'error-summary', tabindex: '-1' }),
      h(
        'div',
        { class: 'field' },
        h('label', { for: 'token' }, 'Staff token'),
        h(
          'p',
          { class: 'hint', id: 'token-hint' },
          'The token from `npm run cli -- token create` (or .data/dev-tokens.json in a local stack). ' +
            'It stays in this tab only and is forgotten when the tab closes.',
        ),
        input,
      ),
      h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Sign in')),
    )
  );
  main.append(h('h1', {}, 'Sign in'), form);
  onSubmit(
    form,
    () => signIn(/** @type {HTMLInputElement} */ (input).value),
    () => ctx.navigate(location.hash && location.hash !== '#/' ? location.hash : '#/queue'),
  );
}
