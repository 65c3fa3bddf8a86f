// @ts-check
/**
 * One request: where it stands (stages with their times, the live progress), the deadline and its extension, what is
 * special to its type (changes and receipts of a correction, parts of a deletion, the return and approval of a
 * termination), the audit trail, a link to its workflow in the Temporal Web UI, and the decisions the signed-in role
 * may take. The four-eyes rule is shown, not only enforced: the person who requested the change gets no approve
 * button, and is told why.
 */
import { api, ApiError } from '../api.js';
import { announce, h, replace } from '../dom.js';
import { onSubmit, valueOf } from '../forms.js';
import { day, instant, shortId, typeLabel, URGENCY_LABELS, words } from '../format.js';
import { isMe, may, session, temporalUiLink } from '../session.js';
import { progressView } from './progress.js';

const POLL_MS = 3000;
const ENDED = new Set(['completed', 'failed', 'cancelled']);

/** @type {import('../app.js').View} */
export async function renderRequest(main, ctx) {
  const id = ctx.params.id ?? '';
  let status;
  try {
    status = await api('GET', `/v1/requests/${id}`);
  } catch (err) {
    main.append(h('h1', {}, 'Request not found'), h('p', { role: 'alert' }, err instanceof Error ? err.message : ''));
    return;
  }
  const summary = h('div');
  const live = h('div');
  const actions = h('section', { class: 'panel', 'aria-labelledby': 'actions-h' });
  const trail = h('section', { 'aria-labelledby': 'trail-h' });
  main.append(h('h1', {}, `${typeLabel(status.type)} ${shortId(status.id)}`), summary, actions, live, trail);

  let history = await loadHistory(id);
  let actionsKey = '';
  const draw = () => {
    replace(summary, summaryView(status, history));
    replace(live, detailsView(status, history));
    // The decision forms are rebuilt only when what they depend on changes: never under someone's typing.
    const key = JSON.stringify([status.status, status.stage, status.progress?.extension, receiptsKey(status)]);
    if (key !== actionsKey) {
      actionsKey = key;
      replace(actions, ...actionsView(status, history, refresh));
    }
    replace(trail, trailView(history));
  };
  async function refresh() {
    try {
      status = await api('GET', `/v1/requests/${id}`);
      history = await loadHistory(id);
      draw();
    } catch {
      // keep what is shown; the next poll tries again
    }
  }
  draw();

  let timer = 0;
  let stopped = false;
  const poll = () => {
    if (stopped || ENDED.has(status.status)) return;
    timer = window.setTimeout(async () => {
      await refresh();
      poll();
    }, POLL_MS);
  };
  poll();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}

/** @param {string} id */
async function loadHistory(id) {
  try {
    return await api('GET', `/v1/requests/${id}/history`);
  } catch {
    return { events: [], extensions: [], requestedBy: null };
  }
}

/** @param {any} s */
function receiptsKey(s) {
  return (s.progress?.receipts ?? []).map((r) => `${r.subprocessorId}:${r.status}`).join(',');
}

/** Who an actor is, in words: "you", a staff member, or the system. @param {string | null | undefined} actor */
function who(actor) {
  if (!actor) return '—';
  if (isMe(actor)) return `you (${actor})`;
  return actor;
}

/** @param {any} s @param {any} history */
function summaryView(s, history) {
  const p = s.progress ?? {};
  const urgency = urgencyOf(s);
  const facts = [
    ['Status', `${words(s.status)} — stage: ${words(s.stage)}`],
    [
      'Customer',
      may('GET /v1/customers/:id') ? h('a', { href: `#/customers/${s.customerId}` }, s.customerId) : s.customerId,
    ],
    ['Requested by', who(history.requestedBy)],
    ['Received', instant(s.receivedAt)],
    ['Due', s.dueOn ? [day(s.dueOn), ' ', h('span', { class: `badge ${urgency}` }, URGENCY_LABELS[urgency])] : '—'],
    ['Completed', s.completedAt ? instant(s.completedAt) : '—'],
    s.failureReason ? ['Failure', s.failureReason] : null,
    p.regime ? ['Privacy regime', words(p.regime)] : null,
    [
      'Workflow',
      h(
        'span',
        {},
        h('code', {}, s.workflowId),
        ' ',
        h(
          'a',
          { href: temporalUiLink(s.workflowId), target: '_blank', rel: 'noopener noreferrer' },
          'Open in the Temporal Web UI',
          h('span', { class: 'visually-hidden' }, ' (opens in a new tab)'),
        ),
      ),
    ],
  ].filter(Boolean);
  return h(
    'section',
    { class: 'panel', 'aria-labelledby': 'summary-h' },
    h('h2', { id: 'summary-h' }, 'Summary'),
    h(
      'dl',
      { class: 'facts' },
      facts.map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]),
    ),
  );
}

/** @param {any} s */
function urgencyOf(s) {
  if (ENDED.has(s.status)) return 'closed';
  if (!s.dueOn) return 'no-deadline';
  const today = new Date().toISOString().slice(0, 10);
  if (s.dueOn < today) return 'overdue';
  const soon = new Date(`${today}T00:00:00Z`);
  soon.setUTCDate(soon.getUTCDate() + (session()?.dueSoonDays ?? 7));
  return s.dueOn <= soon.toISOString().slice(0, 10) ? 'due-soon' : 'on-time';
}

/** @param {any} s @param {any} history */
function detailsView(s, history) {
  const p = s.progress ?? {};
  const parts = [];
  const bar = progressView(s);
  if (bar)
    parts.push(
      h('section', { class: 'panel', 'aria-labelledby': 'progress-h' }, h('h2', { id: 'progress-h' }, 'Progress'), bar),
    );
  parts.push(stagesView(s, history));
  parts.push(deadlineView(s, history));
  if (Array.isArray(p.changes)) parts.push(correctionView(p));
  if (Array.isArray(p.parts)) parts.push(deletionView(p));
  if (s.type === 'termination' && s.progress) parts.push(terminationView(p));
  if (s.outcome) {
    parts.push(
      h(
        'section',
        { 'aria-labelledby': 'outcome-h' },
        h('h2', { id: 'outcome-h' }, 'Outcome'),
        h('pre', { class: 'details' }, JSON.stringify(s.outcome, null, 2)),
        certificateLink(s.outcome.certificateId),
      ),
    );
  }
  return parts;
}

/** @param {string | undefined} certificateId */
function certificateLink(certificateId) {
  if (!certificateId || !may('GET /v1/certificates/:id')) return null;
  return h('p', {}, 'Certificate ', h('code', {}, certificateId), ': view and verify it on the customer page.');
}

/**
 * Stages with their times: a termination reports each stage's start and end; for the other types the times come from
 * the request's record and its audit trail (each step writes an event when it happens).
 * @param {any} s @param {any} history
 */
function stagesView(s, history) {
  const records = s.progress?.stages;
  let rows;
  if (Array.isArray(records)) {
    rows = records.map((r) => [words(r.stage), instant(r.startedAt), r.endedAt ? instant(r.endedAt) : 'now']);
  } else {
    rows = [['received', instant(s.receivedAt), '']];
    for (const e of history.events ?? []) rows.push([words(e.action), instant(e.occurredAt), '']);
    if (!ENDED.has(s.status)) rows.push([`${words(s.stage)} (current)`, '', 'now']);
    else rows.push([words(s.status), instant(s.completedAt), '']);
  }
  return h(
    'section',
    { 'aria-labelledby': 'stages-h' },
    h('h2', { id: 'stages-h' }, 'Stages'),
    h(
      'table',
      {},
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          ['Stage or step', 'Started', 'Ended'].map((t) => h('th', { scope: 'col' }, t)),
        ),
      ),
      h(
        'tbody',
        {},
        rows.map((r) =>
          h(
            'tr',
            {},
            r.map((c) => h('td', {}, c)),
          ),
        ),
      ),
    ),
  );
}

/** @param {any} s @param {any} history */
function deadlineView(s, history) {
  const p = s.progress ?? {};
  const ext = history.extensions ?? [];
  return h(
    'section',
    { 'aria-labelledby': 'deadline-h' },
    h('h2', { id: 'deadline-h' }, 'Deadline'),
    h(
      'dl',
      { class: 'facts' },
      h('dt', {}, 'Due'),
      h('dd', {}, day(s.dueOn ?? p.dueOn)),
      p.clockStarts ? [h('dt', {}, 'Clock starts at'), h('dd', {}, words(p.clockStarts))] : null,
      'clockStartedOn' in p
        ? [h('dt', {}, 'Clock started'), h('dd', {}, p.clockStartedOn ?? 'not yet (stopped)')]
        : null,
      p.deadline
        ? [
            h('dt', {}, 'Reminders'),
            h('dd', {}, `${p.deadline.remindersSent} sent${p.deadline.escalated ? '; escalated' : ''}`),
          ]
        : null,
      p.respondedOn ? [h('dt', {}, 'Answered on'), h('dd', {}, p.respondedOn)] : null,
    ),
    h('h3', {}, 'Extensions'),
    ext.length
      ? h(
          'table',
          {},
          h(
            'thead',
            {},
            h(
              'tr',
              {},
              ['Decided', 'By', 'From', 'To', 'Reason'].map((t) => h('th', { scope: 'col' }, t)),
            ),
          ),
          h(
            'tbody',
            {},
            ext.map((e) =>
              h(
                'tr',
                {},
                [instant(e.decidedAt), who(e.actor), e.previousDueOn, e.dueOn, e.reason].map((c) => h('td', {}, c)),
              ),
            ),
          ),
        )
      : h('p', {}, 'None.'),
  );
}

/** @param {any} p */
function correctionView(p) {
  return h(
    'section',
    { 'aria-labelledby': 'changes-h' },
    h('h2', { id: 'changes-h' }, 'Changes'),
    h(
      'table',
      {},
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          ['#', 'Change', 'Sensitive', 'State'].map((t) => h('th', { scope: 'col' }, t)),
        ),
      ),
      h(
        'tbody',
        {},
        p.changes.map((c) =>
          h(
            'tr',
            {},
            h('td', {}, String(c.index + 1)),
            h('td', {}, c.change),
            h('td', {}, c.sensitive ? 'yes (needs approval)' : 'no'),
            h('td', {}, words(c.state), c.rule ? ` (${words(c.rule)})` : ''),
          ),
        ),
      ),
    ),
    p.decision
      ? h(
          'p',
          {},
          `Decision: ${p.decision.decision} by ${who(p.decision.actor)}`,
          p.decision.reason ? ` — “${p.decision.reason}”` : '',
        )
      : null,
    Array.isArray(p.receipts) && p.receipts.length
      ? [
          h('h3', {}, 'Subprocessor receipts'),
          h(
            'table',
            {},
            h(
              'thead',
              {},
              h(
                'tr',
                {},
                ['Subprocessor', 'Categories', 'Receipt', 'Escalated'].map((t) => h('th', { scope: 'col' }, t)),
              ),
            ),
            h(
              'tbody',
              {},
              p.receipts.map((r) =>
                h(
                  'tr',
                  {},
                  h('td', {}, r.subprocessorId),
                  h('td', {}, (r.categories ?? []).join(', ')),
                  h('td', {}, words(r.status), r.waivedBy ? ` by ${who(r.waivedBy)}` : ''),
                  h('td', {}, r.escalated ? 'yes' : 'no'),
                ),
              ),
            ),
          ),
        ]
      : null,
  );
}

/** @param {any} p */
function deletionView(p) {
  return h(
    'section',
    { 'aria-labelledby': 'parts-h' },
    h('h2', { id: 'parts-h' }, 'Parts'),
    h(
      'table',
      {},
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          ['Part', 'Decision', 'Why'].map((t) => h('th', { scope: 'col' }, t)),
        ),
      ),
      h(
        'tbody',
        {},
        p.parts.map((part) =>
          h(
            'tr',
            {},
            h('td', {}, `${words(part.kind)}: ${part.target}`),
            h('td', {}, part.decision, part.rule ? ` (${words(part.rule)})` : ''),
            h('td', {}, part.reason ?? '', part.retainUntil ? ` Kept until ${day(part.retainUntil)}.` : ''),
          ),
        ),
      ),
    ),
  );
}

/** @param {any} p */
function terminationView(p) {
  return h(
    'section',
    { 'aria-labelledby': 'term-h' },
    h('h2', { id: 'term-h' }, 'Termination'),
    h(
      'dl',
      { class: 'facts' },
      h('dt', {}, 'Takes effect'),
      h('dd', {}, instant(p.effectiveAt)),
      h('dt', {}, 'Disposition'),
      h('dd', {}, `${words(p.disposition)} (${words(p.dispositionSource)})`),
      p.returned
        ? [
            h('dt', {}, 'Data returned'),
            h(
              'dd',
              {},
              `${p.returned.rows} rows, manifest SHA-256 ${p.returned.manifestSha256}; grace period ends ${instant(p.returned.graceEndsAt)}` +
                (p.returned.closedBy ? ` (closed: ${words(p.returned.closedBy)})` : ''),
            ),
          ]
        : null,
      h('dt', {}, 'Approval'),
      h('dd', {}, p.approval ? `${p.approval.decision} by ${who(p.approval.actor)}` : 'none yet'),
      h('dt', {}, 'Legal holds waited for'),
      h('dd', {}, String(p.legalHolds ?? 0)),
      p.certificateId ? [h('dt', {}, 'Certificate'), h('dd', {}, h('code', {}, p.certificateId))] : null,
    ),
  );
}

/**
 * The decisions the role may take now. Approve/reject while the request awaits approval (not for its requester:
 * the four-eyes rule), extend while the deadline may move, waive a correction receipt that is not in.
 * @param {any} s @param {any} history @param {() => Promise<void>} refresh
 * @returns {any[]}
 */
function actionsView(s, history, refresh) {
  const out = [h('h2', { id: 'actions-h' }, 'Decisions')];
  if (ENDED.has(s.status)) {
    out.push(h('p', {}, `The request has ended (${words(s.status)}): nothing left to decide.`));
    return out;
  }
  const requester = history.requestedBy;
  const awaiting = s.stage === 'awaiting-approval';
  const mayDecide = may('POST /v1/requests/:requestId/approve');
  if (awaiting) {
    if (!mayDecide) {
      out.push(h('p', { class: 'notice' }, 'Awaiting the approval of a privacy officer (four-eyes rule).'));
    } else if (isMe(requester)) {
      out.push(
        h(
          'p',
          { class: 'notice warn', 'data-testid': 'four-eyes' },
          'You requested this, so you cannot approve or reject it: the four-eyes rule needs another privacy officer.',
        ),
      );
    } else {
      out.push(decisionForm(s, refresh));
    }
  }
  const p = s.progress ?? {};
  if (may('POST /v1/requests/:requestId/extend') && s.dueOn && p.clockStartedOn && !p.extension && !p.respondedOn) {
    out.push(extendForm(s, refresh));
  }
  if (may('POST /v1/requests/:requestId/receipts/:subprocessorId/waive') && Array.isArray(p.receipts)) {
    for (const r of p.receipts.filter((x) => x.status === 'pending' || x.status === 'failed')) {
      out.push(waiveForm(s, r.subprocessorId, refresh));
    }
  }
  if (out.length === 1) out.push(h('p', {}, 'Nothing awaits a decision from you at this stage.'));
  return out;
}

/** @param {any} s @param {() => Promise<void>} refresh */
function decisionForm(s, refresh) {
  const form = /** @type {HTMLFormElement} */ (
    h(
      'form',
      { id: 'decision-form', 'aria-labelledby': 'decision-h' },
      h('h3', { id: 'decision-h' }, 'Approve or reject'),
      h('div', { class: 'error-summary', tabindex: '-1' }),
      h(
        'div',
        { class: 'field' },
        h('label', { for: 'decision-reason' }, 'Reason'),
        h('p', { class: 'hint', id: 'decision-reason-hint' }, 'Required to reject; recorded with the decision.'),
        h('textarea', { id: 'decision-reason', name: 'reason', rows: 3, 'aria-describedby': 'decision-reason-hint' }),
      ),
      h(
        'div',
        { class: 'actions' },
        h('button', { type: 'submit', name: 'verb', value: 'approve' }, 'Approve'),
        h('button', { type: 'submit', name: 'verb', value: 'reject', class: 'danger' }, 'Reject'),
      ),
    )
  );
  let verb = 'approve';
  form.addEventListener('click', (ev) => {
    const b = /** @type {HTMLElement} */ (ev.target).closest('button[name="verb"]');
    if (b) verb = b.getAttribute('value') ?? 'approve';
  });
  onSubmit(
    form,
    () => {
      const reason = valueOf(form, 'reason');
      return api('POST', `/v1/requests/${s.id}/${verb}`, reason ? { reason } : {});
    },
    (answer) => {
      announce(`Request ${answer.decision}`);
      void refresh();
    },
  );
  return form;
}

/** @param {any} s @param {() => Promise<void>} refresh */
function extendForm(s, refresh) {
  const form = /** @type {HTMLFormElement} */ (
    h(
      'form',
      { id: 'extend-form', 'aria-labelledby': 'extend-h' },
      h('h3', { id: 'extend-h' }, 'Extend the deadline'),
      h('p', {}, 'The law allows one extension, decided within the original period; the requester is told the reason.'),
      h('div', { class: 'error-summary', tabindex: '-1' }),
      h(
        'div',
        { class: 'field' },
        h('label', { for: 'extend-reason' }, 'Reason (sent to the requester)'),
        h('textarea', { id: 'extend-reason', name: 'reason', rows: 3, required: true }),
      ),
      h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Extend')),
    )
  );
  onSubmit(
    form,
    () => api('POST', `/v1/requests/${s.id}/extend`, { reason: valueOf(form, 'reason') }),
    (answer) => {
      announce(`Deadline extended to ${answer.dueOn}`);
      void refresh();
    },
  );
  return form;
}

/** @param {any} s @param {string} subprocessorId @param {() => Promise<void>} refresh */
function waiveForm(s, subprocessorId, refresh) {
  const id = `waive-${subprocessorId.replace(/[^a-z0-9-]/gi, '')}`;
  const form = /** @type {HTMLFormElement} */ (
    h(
      'form',
      { id, 'aria-labelledby': `${id}-h` },
      h('h3', { id: `${id}-h` }, `Waive the receipt of ${subprocessorId}`),
      h('div', { class: 'error-summary', tabindex: '-1' }),
      h(
        'div',
        { class: 'field' },
        h('label', { for: `${id}-reason` }, 'Reason (at least 10 characters)'),
        h('textarea', { id: `${id}-reason`, name: 'reason', rows: 2, required: true }),
      ),
      h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Waive receipt')),
    )
  );
  onSubmit(
    form,
    () =>
      api('POST', `/v1/requests/${s.id}/receipts/${encodeURIComponent(subprocessorId)}/waive`, {
        reason: valueOf(form, 'reason'),
      }),
    () => {
      announce(`Receipt of ${subprocessorId} waived`);
      void refresh();
    },
  );
  return form;
}

/** @param {any} history */
function trailView(history) {
  const events = history.events ?? [];
  return [
    h('h2', { id: 'trail-h' }, 'Audit trail'),
    events.length
      ? h(
          'div',
          { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-label': 'Audit trail' },
          h(
            'table',
            {},
            h(
              'thead',
              {},
              h(
                'tr',
                {},
                ['When', 'Action', 'Actor', 'Details'].map((t) => h('th', { scope: 'col' }, t)),
              ),
            ),
            h(
              'tbody',
              {},
              events.map((e) =>
                h(
                  'tr',
                  {},
                  h('td', {}, instant(e.occurredAt)),
                  h('td', {}, e.action),
                  h('td', {}, who(e.actor)),
                  h('td', {}, h('pre', { class: 'details' }, JSON.stringify(e.details))),
                ),
              ),
            ),
          ),
        )
      : h('p', {}, 'No events recorded yet.'),
  ];
}

export { ApiError };
