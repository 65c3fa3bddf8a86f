// @ts-check
/**
 * Form submission shared by every form of the console: the API validates with its zod schemas (the same ones that
 * generate the OpenAPI document), and a 400 problem's `errors` are shown at the fields they name, with a summary at
 * the top of the form that links to each field, so the person can fix everything in one go.
 */
import { ApiError } from './api.js';
import { announce, h, replace } from './dom.js';

/**
 * Finds the control an API field path names. `body.contacts[0].email` -> `[name="contacts[0].email"]`; a path with no
 * control of its own (`body.contacts`, `body.changes[1]`) falls back to the nearest control or group that has one.
 * @param {HTMLFormElement} form
 * @param {string} apiField
 * @returns {HTMLElement | null}
 */
export function controlFor(form, apiField) {
  let path = apiField.replace(/^(body|path|query|header)\.?/, '');
  if (apiField.startsWith('path.id')) path = 'customerId';
  while (path) {
    const exact = form.querySelector(`[name="${CSS.escape(path)}"], [data-field="${CSS.escape(path)}"]`);
    if (exact) return /** @type {HTMLElement} */ (exact);
    const prefixed = form.querySelector(`[name^="${CSS.escape(path)}["], [name^="${CSS.escape(path)}."]`);
    if (prefixed) return /** @type {HTMLElement} */ (prefixed);
    const cut = Math.max(path.lastIndexOf('.'), path.lastIndexOf('['));
    path = cut > 0 ? path.slice(0, cut) : '';
  }
  return null;
}

/** Removes the errors a previous submission showed. @param {HTMLFormElement} form */
export function clearErrors(form) {
  form.querySelectorAll('.field-error').forEach((el) => el.remove());
  form.querySelectorAll('[aria-invalid]').forEach((el) => {
    el.removeAttribute('aria-invalid');
    const describedBy = (el.getAttribute('aria-describedby') ?? '')
      .split(' ')
      .filter((id) => id && !id.endsWith('-err'))
      .join(' ');
    if (describedBy) el.setAttribute('aria-describedby', describedBy);
    else el.removeAttribute('aria-describedby');
  });
  const summary = form.querySelector('.error-summary');
  if (summary) replace(summary);
}

/**
 * Shows an API refusal: field errors at their fields and in the summary; any other problem in the summary only.
 * @param {HTMLFormElement} form
 * @param {unknown} err
 */
export function showErrors(form, err) {
  clearErrors(form);
  let summary = form.querySelector('.error-summary');
  if (!summary) {
    summary = h('div', { class: 'error-summary', tabindex: '-1' });
    form.prepend(summary);
  }
  summary.setAttribute('role', 'alert');
  const problem = err instanceof ApiError ? err.problem : { detail: String(err) };
  const errors = err instanceof ApiError && Array.isArray(problem.errors) ? problem.errors : [];
  const items = [];
  let n = 0;
  for (const e of errors) {
    const control = controlFor(form, e.field);
    const label = e.field.replace(/^(body|path|query|header)\./, '');
    if (control) {
      n += 1;
      const id = control.id || `${form.id || 'form'}-ctl-${n}`;
      control.id = id;
      const errId = `${id}-${n}-err`;
      control.setAttribute('aria-invalid', 'true');
      control.setAttribute(
        'aria-describedby',
        [control.getAttribute('aria-describedby'), errId].filter(Boolean).join(' '),
      );
      control.insertAdjacentElement('afterend', h('p', { class: 'field-error', id: errId }, `${label}: ${e.message}`));
      items.push(h('li', {}, h('a', { href: `#${id}`, 'data-focus': id }, `${label}: ${e.message}`)));
    } else {
      items.push(h('li', {}, `${label}: ${e.message}`));
    }
  }
  const title = err instanceof ApiError ? `${problem.title ?? 'Refused'} (${err.status})` : 'Something went wrong';
  replace(summary, h('h2', {}, title), errors.length === 0 ? h('p', {}, problem.detail ?? '') : h('ul', {}, items));
  // In-page links to fields must not change the route (the router reads the hash).
  summary.querySelectorAll('a[data-focus]').forEach((a) =>
    a.addEventListener('click', (ev) => {
      ev.preventDefault();
      document.getElementById(a.getAttribute('data-focus') ?? '')?.focus();
    }),
  );
  /** @type {HTMLElement} */ (summary).focus();
  announce(`${title}: ${errors.length || 1} problem(s)`);
}

/**
 * Wires a form: on submit, builds the body, calls `send`, shows refusals at the fields; `done` gets the answer.
 * The button is disabled while the call runs (no double submission).
 * @param {HTMLFormElement} form
 * @param {() => Promise<any>} send
 * @param {(answer: any) => void} done
 */
export function onSubmit(form, send, done) {
  form.noValidate = true; // the API's schemas decide, and their messages are shown at the fields
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const buttons = form.querySelectorAll('button[type="submit"]');
    buttons.forEach((b) => b.setAttribute('disabled', ''));
    form.setAttribute('aria-busy', 'true');
    try {
      const answer = await send();
      clearErrors(form);
      done(answer);
    } catch (err) {
      showErrors(form, err);
    } finally {
      buttons.forEach((b) => b.removeAttribute('disabled'));
      form.removeAttribute('aria-busy');
    }
  });
}

/** The trimmed value of a named control ('' when absent). @param {HTMLFormElement} form @param {string} name */
export function valueOf(form, name) {
  const el = /** @type {HTMLInputElement | null} */ (form.querySelector(`[name="${CSS.escape(name)}"]`));
  return el ? el.value.trim() : '';
}

/** Leaves out what the person left empty, so the API's "optional" means what it says. @param {Record<string, any>} o */
export function compact(o) {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== '' && v !== undefined));
}
