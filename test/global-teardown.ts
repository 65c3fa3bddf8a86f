/**
 * Stops the dev server, drops the run's database (and stops the embedded PostgreSQL if the run started one) (set KEEP_TEST_DATABASE=1 to look at it afterwards), then reads
 * every log the run wrote: an email address, phone number or fixture name in any of them fails the run.
 */
import fs from 'node:fs';
import path from 'node:path';
import { dropDatabase } from '../db/connection';
import { dropRoles } from '../db/roles';
import { findLogLeaks } from './support/log-canaries';

export default async function globalTeardown(): Promise<void> {
  const run = globalThis.__testRun;
  if (!run) return;
  await run.env.teardown();
  if (!process.env.KEEP_TEST_DATABASE) {
    await dropDatabase(run.databaseUrl);
    await dropRoles(run.databaseUrl, run.roles);
    fs.rmSync(process.env.AUDIT_CHECKPOINT_PATH ?? '', { force: true });
  } else console.log(`test database kept: ${run.databaseUrl}`);
  await run.databaseServer.stop();
  // The run's workflow bundle (named after its process, so no later run reads it).
  fs.rmSync(process.env.TEST_WORKFLOW_BUNDLE ?? '', { force: true });

  const leaks = findLogLeaks(path.join(__dirname, '..', '.data', 'test', 'logs'));
  if (leaks.length > 0) {
    throw new Error(
      `personal data reached the logs of this run (${leaks.length} lines):\n${leaks.slice(0, 20).join('\n')}`,
    );
  }
}
