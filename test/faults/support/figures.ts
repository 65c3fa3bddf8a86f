/**
 * Figures of a scenario's run (durations, counts), printed and appended to `.data/faults/figures.jsonl`, from which
 * docs/reliability.md "Fault suite" is updated.
 */
import fs from 'node:fs';
import path from 'node:path';
import { ROOT } from './processes';

/** Prints `<scenario>: key=value ...` and appends the figures as one JSON line. */
export function reportFigures(scenario: string, figures: Record<string, unknown>): void {
  const line = Object.entries(figures)
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' ');
  console.log(`${scenario}: ${line}`);
  const file = path.join(ROOT, '.data', 'faults', 'figures.jsonl');
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.appendFileSync(file, `${JSON.stringify({ scenario, at: new Date().toISOString(), ...figures })}\n`);
}

/** Seconds since `since` (Date.now()), one decimal. */
export const secondsSince = (since: number) => Math.round((Date.now() - since) / 100) / 10;
