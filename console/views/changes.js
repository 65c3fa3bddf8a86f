// @ts-check
/**
 * Pending changes (`GET /v1/change-requests`): changes to a contract's end, a retention policy or a subprocessor that
 * wait for a second person (README "Approvals"). Each shows what changes, who proposed it and until when it can be
 * decided; approve / reject (with the reason asked for) are offered to a staff member holding the permission the change
 * needs, and never to the one who proposed it: the four-eyes rule is shown, as the API enforces it.
 */
import { api, query } from '../api.js';
import { announce, h, replace } from '../dom.js';
import { onSubmit, valueOf } from '../forms.js';
import { instant, words } from '../format.js';
import { isMe, may, session } from '../session.js';

/** @type {import('../app.js').View} */
export async function renderChanges(main, ctx) {
  const status = ctx.query.get('status') ?? 'pending';
  main.append(h('h1', {}, status === 'pending' ? 'Pending changes' : 'Changes'));
  const list = h('div');
  main.append(
    h(
      'p',
      {},
      'Changes that bring an erasure forward or change whom data is shared with wait for a second person. ',
      status === 'pending'
        ? h('a', { href: '#/changes?status=applied' }, 'Show applied changes')
        : h('a', { href: '#/changes' }, 'Show pending changes'),
    ),
    list,
  );
  async function load() {
    const { items } = await api('GET', `/v1/change-requests${query({ status, limit: 100 })}`);
    replace(list, items.length ? items.map((c) => changeView(c, load)) : h('p', {}, 'No changes.'));
  }
  await load();
}

/** @param {any} c @param {() => Promise<void>} reload */
function changeView(c, reload) {
  const canDecide = may('POST /v1/change-requests/:changeId/approve') && session()?.permissions.includes(c.decidedWith);
  const headingId = `change-${c.id}-h`;
  let decision;
  if (c.status !== 'pending')
    decision = h(
      'p',
      {},
      `${words(c.status)}${c.decidedBy ? ` by ${c.decidedBy}` : ''}${c.decisionReason ? `: “${c.decisionReason}”` : ''}`,
    );
  else if (isMe(c.requestedBy))
    decision = h(
      'p',
      { class: 'notice warn' },
      'You proposed this change, so you cannot approve or reject it: the four-eyes rule needs another person.',
    );
  else if (!canDecide)
    decision = h('p', { class: 'notice' }, `Awaiting a decision by a staff member with ${c.decidedWith}.`);
  else decision = decisionForm(c, reload);
  return h(
    'section',
    { class: 'panel', 'aria-labelledby': headingId, 'data-change': c.id },
    h('h2', { id: headingId }, `${words(c.kind)}: ${c.subject.type} ${c.subject.id}`),
    h(
      'dl',
      { class: 'facts' },
      h('dt', {}, 'What changes'),
      h('dd', {}, h('pre', { class: 'details' }, JSON.stringify(c.summary, null, 2))),
      h('dt', {}, 'Proposed'),
      h('dd', {}, `${instant(c.requestedAt)} by ${isMe(c.requestedBy) ? `you (${c.requestedBy})` : c.requestedBy}`),
      h('dt', {}, 'Decide by'),
      h('dd', {}, instant(c.expiresAt)),
      h('dt', {}, 'Status'),
      h('dd', {}, words(c.status)),
    ),
    decision,
  );
}

/** @param {any} c @param {() => Promise<void>} reload */
function decisionForm(c, reload) {
  const id = `decide-${c.id}`;
  let verb = 'approve';
  const form = /** @type {HTMLFormElement} */ (
    h(
      'form',
      { id, 'aria-label': `Decide the change ${words(c.kind)}` },
      h('div', { class: 'error-summary', tabindex: '-1' }),
      h(
        'div',
        { class: 'field' },
        h('label', { for: `${id}-reason` }, 'Reason'),
        h('p', { class: 'hint', id: `${id}-hint` }, 'Required to reject; recorded with the decision.'),
        h('textarea', { id: `${id}-reason`, name: 'reason', rows: 2, 'aria-describedby': `${id}-hint` }),
      ),
      h(
        'div',
        { class: 'actions' },
        h('button', { type: 'submit', onclick: () => (verb = 'approve') }, 'Approve change'),
        h('button', { type: 'submit', class: 'danger', onclick: () => (verb = 'reject') }, 'Reject change'),
      ),
    )
  );
  onSubmit(
    form,
    () => {
      const reason = valueOf(form, 'reason');
      return api('POST', `/v1/change-requests/${c.id}/${verb}`, reason ? { reason } : {});
    },
    async () => {
      announce(`Change ${verb === 'approve' ? 'approved' : 'rejected'}`);
      await reload();
    },
  );
  return form;
}
