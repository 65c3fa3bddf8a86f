/**
 * Automated accessibility check of a page in the browser tests: axe-core (through `@axe-core/playwright`) runs the
 * WCAG 2.1 A and AA rules (contrast, labels, names of buttons and links, landmarks, document language, ...) on what
 * the page shows now, and the test fails on every serious or critical violation, listing rule, help and elements.
 *
 * Check each state worth checking (a form, its error state, a dialog) after it is on screen:
 * `await expectAccessible(page)`; `{ include: 'main' }` limits the check to a part of the page.
 */
import AxeBuilder from '@axe-core/playwright';
import type { Page } from 'playwright-core';

/** How bad a violation is, in axe's words. */
export type Impact = 'minor' | 'moderate' | 'serious' | 'critical';

/** The rule sets checked: WCAG 2.0 and 2.1, levels A and AA. */
export const WCAG_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];

export interface AccessibilityOptions {
  /** CSS selector of the part of the page to check (default: all of it). */
  include?: string;
  /** CSS selectors to leave out (e.g. a third-party widget). */
  exclude?: string[];
  /** Impacts that fail the check (default: serious and critical). */
  failOn?: Impact[];
}

/** One violation, trimmed to what a failure message needs. */
export interface AccessibilityViolation {
  rule: string;
  impact: Impact | null;
  help: string;
  helpUrl: string;
  /** Selectors of the offending elements, with axe's summary of what is wrong with each. */
  nodes: Array<{ target: string; summary: string }>;
}

/** Runs axe on the page and returns the violations of the given impacts. */
export async function accessibilityViolations(
  page: Page,
  opts: AccessibilityOptions = {},
): Promise<AccessibilityViolation[]> {
  const failOn = new Set<Impact>(opts.failOn ?? ['serious', 'critical']);
  let builder = new AxeBuilder({ page }).withTags(WCAG_TAGS);
  if (opts.include) builder = builder.include(opts.include);
  for (const selector of opts.exclude ?? []) builder = builder.exclude(selector);
  const results = await builder.analyze();
  return results.violations
    .filter((v) => v.impact && failOn.has(v.impact))
    .map((v) => ({
      rule: v.id,
      impact: v.impact ?? null,
      help: v.help,
      helpUrl: v.helpUrl,
      nodes: v.nodes.map((n) => ({ target: n.target.join(' '), summary: n.failureSummary ?? '' })),
    }));
}

/** Readable list of violations for a failure message. */
export function formatViolations(violations: AccessibilityViolation[]): string {
  return violations
    .map(
      (v) =>
        `- ${v.rule} (${v.impact}): ${v.help} <${v.helpUrl}>\n` +
        v.nodes.map((n) => `    ${n.target}: ${n.summary.replace(/\n/g, ' ')}`).join('\n'),
    )
    .join('\n');
}

/** Fails (throws) when the page has serious or critical accessibility violations (or those of `failOn`). */
export async function expectAccessible(page: Page, opts: AccessibilityOptions = {}): Promise<void> {
  const violations = await accessibilityViolations(page, opts);
  if (violations.length > 0) {
    throw new Error(
      `${violations.length} accessibility violation(s) on ${page.url()}:\n${formatViolations(violations)}`,
    );
  }
}
