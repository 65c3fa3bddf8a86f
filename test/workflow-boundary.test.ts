/**
 * The workflow boundary is enforced by lint (eslint.boundary.mjs, part of `npm run lint`): these probes run exactly
 * those rules on made-up workflow and lib/pure files (nothing is written), so the suite fails if the boundary is ever
 * loosened.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';

const ROOT = path.join(__dirname, '..');

const BUILTINS = ['node:fs', 'crypto', 'node:worker_threads', 'http2', 'timers'];
const ALLOWED_IN_WORKFLOW = [
  "import { proxyActivities } from '@temporalio/workflow';",
  "import type { Duration } from '@temporalio/common';",
  "import type { OnboardingActivities } from '../activities/onboarding';",
  "import { DATA_CATEGORIES } from '../lib/pure/data-categories';",
  "import { installApprovalGate } from './approval';",
  'export const x = [proxyActivities, DATA_CATEGORIES, installApprovalGate];',
  'export type Y = [Duration, OnboardingActivities];',
].join('\n');

/** Every probe: a file name (which decides the rules that apply) and its code. */
const PROBES = {
  dbType: ['workflows/probe.ts', "import type { Db } from '../db/connection';\nexport type X = Db;\n"],
  ...Object.fromEntries(
    BUILTINS.map((b) => [`builtin:${b}`, ['workflows/probe.ts', `import * as m from '${b}';\nexport const x = m;\n`]]),
  ),
  impureLib: ['workflows/probe.ts', "import { loadConfig } from '../lib/config';\nexport const x = loadConfig;\n"],
  npmPackage: ['workflows/probe.ts', "import knex from 'knex';\nexport const x = knex;\n"],
  activityValue: [
    'workflows/probe.ts',
    "import { createActivities } from '../activities';\nexport const x = createActivities;\n",
  ],
  allowed: ['workflows/probe.ts', ALLOWED_IN_WORKFLOW],
  pureBuiltin: ['lib/pure/probe.ts', "import { createHash } from 'node:crypto';\nexport const x = createHash;\n"],
  pureKnex: ['lib/pure/probe.ts', "import type { Knex } from 'knex';\nexport type X = Knex;\n"],
  pureConfig: ['lib/pure/probe.ts', "import { loadConfig } from '../config';\nexport const x = loadConfig;\n"],
  pureAllowed: [
    'lib/pure/probe.ts',
    "import { DateTime } from 'luxon';\nimport { DATA_CATEGORIES } from './data-categories';\nexport const x = [DateTime, DATA_CATEGORIES];\n",
  ],
} as Record<string, [file: string, code: string]>;

/**
 * Lints every probe in one ESLint process with only the boundary rules and returns the rule messages per probe.
 * (ESLint's flat config is an ES module, which jest's module sandbox cannot load, so it runs in a child process.)
 */
function lintProbes(): Record<string, string[]> {
  const script = `
    const { ESLint } = require('eslint');
    const eslint = new ESLint({ cwd: process.cwd(), overrideConfigFile: 'eslint.boundary.mjs' });
    const probes = JSON.parse(require('node:fs').readFileSync(0, 'utf8'));
    (async () => {
      const out = {};
      for (const [name, [filePath, code]] of Object.entries(probes)) {
        const [result] = await eslint.lintText(code, { filePath });
        out[name] = result.messages.map((m) => m.ruleId + ': ' + m.message);
      }
      process.stdout.write(JSON.stringify(out));
    })();`;
  const run = spawnSync(process.execPath, ['-e', script], {
    cwd: ROOT,
    input: JSON.stringify(PROBES),
    encoding: 'utf8',
  });
  if (run.status !== 0) throw new Error(`eslint failed: ${run.stderr}`);
  return JSON.parse(run.stdout) as Record<string, string[]>;
}

let messages: Record<string, string[]>;
beforeAll(() => {
  messages = lintProbes();
});

describe('the workflow boundary', () => {
  it('refuses a workflow that imports from db/, even a type', () => {
    expect(messages.dbType!.join('\n')).toContain("'../db/connection' import is restricted");
  });

  it('refuses every Node built-in in a workflow, with and without the node: prefix', () => {
    for (const b of BUILTINS) {
      const refused = messages[`builtin:${b}`]!.some((m) => m.includes('Node built-ins break determinism'));
      expect([b, refused]).toEqual([b, true]);
    }
  });

  it('refuses the impure part of lib, npm packages and activity values, and allows what workflows may use', () => {
    expect(messages.impureLib).not.toEqual([]);
    expect(messages.npmPackage).not.toEqual([]);
    expect(messages.activityValue!.join('\n')).toContain('activity types only');
    expect(messages.allowed).toEqual([]);
  });

  it('keeps lib/pure pure: no built-ins, no knex, nothing from the rest of lib', () => {
    expect(messages.pureBuiltin).not.toEqual([]);
    expect(messages.pureKnex).not.toEqual([]);
    expect(messages.pureConfig).not.toEqual([]);
    expect(messages.pureAllowed).toEqual([]);
  });
});
