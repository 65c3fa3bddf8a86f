// The workflow boundary (docs/architecture.md), on its own so that test/workflow-boundary.test.ts can run exactly
// these rules on probe files without type information (they need none). eslint.config.mjs includes them.
import tseslint from 'typescript-eslint';
import { builtinModules } from 'node:module';

/** Every Node built-in, bare and with the `node:` prefix. */
const NODE_BUILTINS = [...new Set(builtinModules.flatMap((m) => [m, `node:${m.replace(/^node:/, '')}`]))];
/** Anything a workflow file imports that is not on its allowlist (activities are handled by their own, type-only rule). */
const WORKFLOW_IMPORT_OUTSIDE_BOUNDARY =
  '^(?!@temporalio/(workflow|common)$|\\./[\\w.-]+$|\\.\\./lib/pure/|\\.\\./activities(/|$))';
/** Anything a lib/pure module imports besides other pure modules, @temporalio/common and luxon. */
const PURE_IMPORT_OUTSIDE_BOUNDARY = '^(?!@temporalio/common$|luxon$|\\./[\\w.-]+$)';

/** The rules, for eslint.config.mjs (which has its own parser setup). */
export const boundaryRules = [
  {
    // The workflow boundary (docs/architecture.md): workflow code runs in Temporal's deterministic sandbox and is
    // replayed for years, so it may import only @temporalio/workflow and @temporalio/common, other workflow files,
    // the pure part of lib (lib/pure/), and activity *types*. Everything else (db/, api/, workers/, the rest of lib/,
    // any npm package, every Node built-in) is refused here, type imports included.
    files: ['workflows/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: NODE_BUILTINS.map((name) => ({
            name,
            message: 'Node built-ins break determinism: no I/O in workflows.',
          })),
          patterns: [
            {
              regex: WORKFLOW_IMPORT_OUTSIDE_BOUNDARY,
              message:
                'Workflows import only @temporalio/workflow|common, ./ workflows, ../lib/pure/ and activity types.',
            },
            {
              group: ['../activities', '../activities/*'],
              message: 'Workflows import activity types only (import type).',
              allowTypeImports: true,
            },
          ],
        },
      ],
    },
  },
  {
    // lib/pure is what workflows may import: it must stay free of I/O and of anything that is not itself pure.
    files: ['lib/pure/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: NODE_BUILTINS.map((name) => ({
            name,
            message: 'lib/pure is imported by workflows: no Node built-ins.',
          })),
          patterns: [
            {
              regex: PURE_IMPORT_OUTSIDE_BOUNDARY,
              message: 'lib/pure imports only other lib/pure modules, @temporalio/common and luxon.',
            },
          ],
        },
      ],
    },
  },
];

/** Standalone: the parser and plugin, then the rules (no type information needed). */
export default [
  {
    files: ['**/*.ts'],
    languageOptions: { parser: tseslint.parser },
    plugins: { '@typescript-eslint': tseslint.plugin },
  },
  ...boundaryRules,
];
