/**
 * What must never appear in a log: any email address or phone number, and the personal names the fixtures use.
 * Checked over every log file a test run wrote (test/global-teardown.ts), so a leak from any code path fails the run.
 */
import fs from 'node:fs';
import path from 'node:path';

const PATTERNS: { what: string; pattern: RegExp }[] = [
  { what: 'an email address', pattern: /[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}/ },
  { what: 'a phone number', pattern: /\+[1-9]\d{7,14}\b/ },
  { what: 'a fixture contact name', pattern: /Greta Lindqvist|Jonas Weber/ },
];

/** Every leak found in the `.log` files of `dir`, as `file:line: what`. */
export function findLogLeaks(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  const leaks: string[] = [];
  for (const file of fs.readdirSync(dir).filter((f) => f.endsWith('.log'))) {
    const lines = fs.readFileSync(path.join(dir, file), 'utf8').split('\n');
    lines.forEach((line, i) => {
      for (const { what, pattern } of PATTERNS) {
        if (pattern.test(line)) leaks.push(`${file}:${i + 1}: ${what}`);
      }
    });
  }
  return leaks;
}
