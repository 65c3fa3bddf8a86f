/**
 * `npm run histories:record [-- <test files>]`: refreshes the replay fixtures in test/histories/ (docs/versioning.md).
 *
 * Runs the full-stack tests that drive every workflow type through its main paths (or the test files given) with
 * RECORD_HISTORIES_DIR set, so each test stack saves the histories of its task queue when it stops; then names each
 * history after the path it took, keeps one per name and writes it as test/histories/<workflowType>/<scenario>.json.
 *
 * Nothing is deleted: a fixture of the same name is overwritten (same scenario, same code version), every other fixture
 * stays. Histories that passed a `patched()` carry the patch id in their file name, so after a deliberate change the
 * new recordings land beside the fixtures of the previous version, which keep proving that runs started before the
 * change still replay. Writes nothing when a test fails.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import * as workflows from '../workflows';
import {
  HISTORIES_DIR,
  RECORD_HISTORIES_ENV,
  listFixtures,
  readStagedHistories,
  selectFixtures,
} from '../test/support/histories';

const ROOT = path.join(__dirname, '..');

/** The tests whose scenarios cover every production workflow type's main paths. */
const DEFAULT_TEST_FILES = [
  'test/onboarding.test.ts', // onboarding completed and failed; retention lifecycle started and waiting
  'test/access-request.test.ts', // delivered and completed, refused, extended, escalated
  'test/access-request-timeouts.test.ts', // closed unverified
  'test/erasure.test.ts', // erasure for retention and termination, subprocessor confirmations and escalations
  'test/legal-holds.test.ts', // erasure waiting for a legal hold
  'test/retention-lifecycle.test.ts', // retention erasing at expiry and continuing as new, signals
  'test/retention-sweep.test.ts', // rolling sweep
  'test/termination.test.ts', // delete-only, returned (acknowledged, grace period), cancelled, rejected, legal hold
  'test/correction.test.ts', // applied, approved, rejected
  'test/correction-propagation.test.ts', // receipt waived, nothing to propagate
  'test/deletion-request.test.ts', // erased and certified, closed unverified, refused

  'test/contract-end.test.ts', // contract-end check: nothing due, terminations started
  'test/accepted-starts.test.ts', // start reconciler: accepted requests started
  'test/audit-integrity.test.ts', // audit verification: intact (checkpoint written), broken (alerted)
];

function main(): number {
  const testFiles = process.argv.slice(2);
  const staging = path.join(ROOT, '.data', 'histories-staging');
  fs.rmSync(staging, { recursive: true, force: true });

  const run = spawnSync('bash', ['scripts/test.sh', ...(testFiles.length > 0 ? testFiles : DEFAULT_TEST_FILES)], {
    cwd: ROOT,
    stdio: 'inherit',
    env: { ...process.env, [RECORD_HISTORIES_ENV]: staging },
  });
  if (run.status !== 0) {
    console.error('tests failed: no fixture written');
    return run.status ?? 1;
  }

  const types = new Set(Object.keys(workflows));
  const selected = selectFixtures(readStagedHistories(staging), types);
  const before = new Set(listFixtures().map((f) => f.file));
  for (const { file, staged } of selected) {
    const target = path.join(HISTORIES_DIR, file);
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.writeFileSync(target, `${JSON.stringify(staged.history, null, 2)}\n`);
    console.log(
      `${before.has(file) ? 'refreshed' : 'new      '} ${file} (${staged.history.events.length} events, ${staged.source})`,
    );
  }
  const written = new Set(selected.map((s) => s.file));
  for (const file of [...before].filter((f) => !written.has(f)).sort()) console.log(`kept      ${file}`);
  const covered = new Set(listFixtures().map((f) => f.workflowType));
  const missing = [...types].filter((t) => !covered.has(t));
  if (missing.length > 0) console.warn(`no fixture yet for: ${missing.join(', ')}`);
  fs.rmSync(staging, { recursive: true, force: true });
  return 0;
}

process.exitCode = main();
