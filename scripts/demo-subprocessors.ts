/**
 * The simulated subprocessors of the local stacks (`npm start`, `npm run topology`): one simulator speaking the real
 * signed-HTTP protocol (test/fakes/subprocessor-simulator.ts), and the demo subprocessors registered against it in the
 * application database, so every subprocessor call can be seen without outside accounts.
 */
import type { Db } from '../db/connection';
import { subprocessors } from '../db/repositories/subprocessors';
import { startSubprocessorSimulator, type SubprocessorSimulator } from '../test/fakes/subprocessor-simulator';

/** Demo subprocessors served by the simulator, with the categories each holds. */
export const DEMO_SUBPROCESSORS = [
  { id: 'crm', name: 'CRM platform (simulated)', categories: ['business_contact', 'communication_records'] },
  { id: 'analytics', name: 'Product analytics (simulated)', categories: ['orders', 'listings', 'api_access_logs'] },
  { id: 'warehouse', name: 'Fulfilment warehouse (simulated)', categories: ['orders', 'inventory'] },
];

/**
 * Starts the simulator on `port` (0: any free port; HTTPS with `tls`) and registers (upserts) every demo subprocessor in `db` with its
 * URL and signing secret. Stop it with `stop()`.
 */
export async function startDemoSubprocessors(
  db: Db,
  opts: { port: number; log?: (line: string) => void; tls?: { cert: string; key: string } },
): Promise<SubprocessorSimulator> {
  const secrets = Object.fromEntries(DEMO_SUBPROCESSORS.map((s) => [s.id, `dev-secret-${s.id}`]));
  const sim = await startSubprocessorSimulator({ port: opts.port, secrets, log: opts.log, tls: opts.tls });
  for (const s of DEMO_SUBPROCESSORS) {
    await subprocessors.upsert(db, { ...s, baseUrl: sim.baseUrlFor(s.id), signingSecret: secrets[s.id]! });
  }
  return sim;
}
