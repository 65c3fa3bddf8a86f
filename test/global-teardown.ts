/** Stops the dev server and drops the run's database (set KEEP_TEST_DATABASE=1 to look at it afterwards). */
import { dropDatabase } from '../db/connection';

export default async function globalTeardown(): Promise<void> {
  const run = globalThis.__testRun;
  if (!run) return;
  await run.env.teardown();
  if (!process.env.KEEP_TEST_DATABASE) await dropDatabase(run.databaseUrl);
  else console.log(`test database kept: ${run.databaseUrl}`);
}
