// @ts-check
/**
 * Live progress of the long steps, read from `GET /v1/requests/{id}` (`progress` is the workflow's status query):
 * an export's rows written of rows in scope, an erasure's categories done and rows deleted. Shared by the queue and
 * the request page.
 */
import { h } from '../dom.js';
import { count } from '../format.js';

/** Stages during which a request has progress worth polling. */
export const PROGRESS_STAGES = new Set(['exporting', 'erasing']);

/**
 * What a status answer says about progress, or null.
 * @param {any} status `GET /v1/requests/{id}`
 * @returns {{ label: string, done: number, total: number | null, text: string } | null}
 */
export function progressOf(status) {
  const p = status?.progress;
  if (!p) return null;
  const exp = p.stage === 'exporting' ? (p.progress ?? p.exportProgress) : null;
  if (exp && typeof exp.rowsDone === 'number') {
    const total = typeof exp.rowsTotal === 'number' ? exp.rowsTotal : null;
    return {
      label: 'Export',
      done: exp.rowsDone,
      total,
      text: `${count(exp.rowsDone)} of ${total === null ? '?' : `${exp.estimated ? '~' : ''}${count(total)}`} rows exported`,
    };
  }
  if (p.stage === 'erasing') {
    const er = p.erasureProgress;
    const categories = er?.categories ? Object.values(er.categories) : [];
    const done = categories.filter((s) => s === 'erased' || s === 'excluded').length;
    const tables = er?.tables ?? p.erasure?.tables ?? {};
    const rows = Object.values(tables).reduce((a, b) => a + Number(b), 0);
    const held = er?.heldCategories?.length ? `, ${er.heldCategories.length} held by a legal hold` : '';
    return {
      label: 'Erasure',
      done,
      total: categories.length || null,
      text: `${done} of ${categories.length || '?'} categories erased, ${count(rows)} rows deleted${held}`,
    };
  }
  return null;
}

/** A labelled progress bar with its figures in text (never colour or a bar alone). @param {any} status */
export function progressView(status) {
  const p = progressOf(status);
  if (!p) return null;
  const bar =
    p.total && p.total > 0
      ? h('progress', {
          max: String(p.total),
          value: String(Math.min(p.done, p.total)),
          'aria-label': `${p.label} progress`,
        })
      : h('progress', { 'aria-label': `${p.label} progress` });
  return h('span', { class: 'progress' }, bar, h('span', { class: 'progress-text' }, `${p.label}: ${p.text}`));
}
