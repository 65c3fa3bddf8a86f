/**
 * `npm run migrate [-- latest|rollback|status]`: creates the database if missing and applies, rolls back or lists
 * migrations, connecting as the owner role (MIGRATION_DATABASE_URL, else DATABASE_URL).
 */
import { createDb, ensureDatabase } from '../db/connection';
import { loadConfig } from '../lib/config';
import { databaseTlsOptions } from '../lib/tls-files';

async function main(): Promise<void> {
  const command = process.argv[2] ?? 'latest';
  const config = loadConfig();
  if (await ensureDatabase(config.database.migrationUrl)) console.log('database created');
  const db = createDb(config.database.migrationUrl, 1, databaseTlsOptions(config));
  try {
    if (command === 'latest') {
      const [, applied] = (await db.migrate.latest()) as [number, string[]];
      console.log(applied.length ? `applied: ${applied.join(', ')}` : 'already up to date');
    } else if (command === 'rollback') {
      const [, reverted] = (await db.migrate.rollback()) as [number, string[]];
      console.log(reverted.length ? `rolled back: ${reverted.join(', ')}` : 'nothing to roll back');
    } else if (command === 'status') {
      const [done, pending] = (await db.migrate.list()) as [{ name: string }[], { file: string }[]];
      for (const m of done) console.log(`applied  ${m.name}`);
      for (const m of pending) console.log(`pending  ${m.file}`);
    } else {
      throw new Error(`unknown command "${command}": use latest, rollback or status`);
    }
  } finally {
    await db.destroy();
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
