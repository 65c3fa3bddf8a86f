// @ts-check
/**
 * Building the DOM without HTML strings: every value from the API becomes a text node or an attribute, never markup,
 * so nothing a customer typed (a company name, a reason) can inject script into the console.
 */

/**
 * Creates an element. `attrs`: `class`, `for`, `on<event>` handlers, booleans (set when true), anything else as an
 * attribute. Children: strings and numbers become text, null/undefined/false are skipped, arrays are flattened.
 * @param {string} tag
 * @param {Record<string, any>} [attrs]
 * @param {...any} children
 * @returns {HTMLElement}
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2), value);
    else if (key === 'class') el.className = String(value);
    else if (key === 'for') el.setAttribute('for', String(value));
    else if (key === 'value' && 'value' in el) /** @type {HTMLInputElement} */ (el).value = String(value);
    else if (value === true) el.setAttribute(key, '');
    else el.setAttribute(key, String(value));
  }
  append(el, children);
  return el;
}

/**
 * Appends children (see {@link h}).
 * @param {Node} parent
 * @param {any[]} children
 */
export function append(parent, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    parent.appendChild(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/**
 * Replaces an element's content.
 * @param {Element} el
 * @param {...any} children
 */
export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
}

let ids = 0;
/** A document-unique id for label/aria wiring. @param {string} prefix */
export function uid(prefix) {
  ids += 1;
  return `${prefix}-${ids}`;
}

/**
 * A labelled form control: `<label>` + control + hint, the wiring a screen reader needs. The control's `name` is the
 * API field path (e.g. `contacts[0].email`), which is how a 400 problem's `errors[].field` finds it (forms.js).
 * @param {{ label: string, name: string, type?: string, value?: any, required?: boolean, hint?: string,
 *   options?: Array<[string, string]>, attrs?: Record<string, any>, multiline?: boolean }} spec
 */
export function field(spec) {
  const id = uid('f');
  const hintId = spec.hint ? `${id}-hint` : undefined;
  const common = {
    id,
    name: spec.name,
    required: spec.required,
    'aria-describedby': hintId,
    ...(spec.attrs ?? {}),
  };
  let control;
  if (spec.options) {
    control = h(
      'select',
      common,
      spec.options.map(([value, text]) => h('option', { value, selected: String(spec.value ?? '') === value }, text)),
    );
  } else if (spec.multiline) {
    control = h('textarea', { ...common, rows: 3 }, spec.value ?? '');
  } else {
    control = h('input', { ...common, type: spec.type ?? 'text', value: spec.value });
  }
  return h(
    'div',
    { class: 'field' },
    h(
      'label',
      { for: id },
      spec.label,
      spec.required ? h('span', { class: 'req', 'aria-hidden': 'true' }, ' *') : null,
    ),
    spec.hint ? h('p', { class: 'hint', id: hintId }, spec.hint) : null,
    control,
  );
}

/** Announces a message to screen readers (the polite live region of index.html). @param {string} text */
export function announce(text) {
  const live = document.getElementById('announcer');
  if (!live) return;
  live.textContent = '';
  // A new text node after a tick: screen readers announce a change, not a region that already said it.
  setTimeout(() => {
    live.textContent = text;
  }, 50);
}
