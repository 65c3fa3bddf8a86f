// @ts-check
/** How the console writes dates, stages, types and ids: one place, so every view reads the same. */

/** `2026-12-02T06:28:39.123Z` -> `2026-12-02 06:28 UTC`. @param {string | null | undefined} iso */
export function instant(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  return `${d.toISOString().slice(0, 10)} ${d.toISOString().slice(11, 16)} UTC`;
}

/** A calendar date as the API gives it, or a dash. @param {string | null | undefined} date */
export function day(date) {
  return date ? String(date).slice(0, 10) : '—';
}

/** `awaiting-approval` -> `awaiting approval`. @param {string | null | undefined} slug */
export function words(slug) {
  return slug ? String(slug).replace(/[-_.]/g, ' ') : '—';
}

/** @type {Record<string, string>} */
export const TYPE_LABELS = {
  onboarding: 'Onboarding',
  access: 'Access request',
  correction: 'Correction',
  deletion: 'Deletion request',
  termination: 'Termination',
  retention: 'Retention expiry',
};

/** @param {string} type */
export function typeLabel(type) {
  return TYPE_LABELS[type] ?? words(type);
}

/** @type {Record<string, string>} */
export const URGENCY_LABELS = {
  overdue: 'Overdue',
  'due-soon': 'Due soon',
  'on-time': 'On time',
  'no-deadline': 'No deadline',
  closed: 'Closed',
};

/** The first block of a uuid: enough to tell requests apart in a list. @param {string} id */
export function shortId(id) {
  return String(id).slice(0, 8);
}

/** `1234567` -> `1,234,567`. @param {number | null | undefined} n */
export function count(n) {
  return typeof n === 'number' ? n.toLocaleString('en') : '—';
}
