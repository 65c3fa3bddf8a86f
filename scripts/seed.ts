/**
 * `npm run seed -- --rows 100000 [--technical-rows N] [--database-url URL] [--company "Name"] [--json]`
 *
 * Creates and migrates the database if needed, then loads one demo customer with the requested number of operational
 * rows (see scripts/seed-demo-customer.ts). Progress goes to stderr, the summary to stdout, so the summary can be piped or
 * parsed (`--json`) while the terminal still shows progress. Exits 1 with a one-line reason on any failure.
 *
 * The seeded customer gets the retention lifecycle onboarding would have started (workers/retention-lifecycles.ts)
 * when the Temporal server answers (TEMPORAL_ADDRESS, else the local dev server); otherwise the dev stack starts it at
 * its next start.
 */
import { Command, InvalidArgumentError } from 'commander';
import { createDb, ensureDatabase, migrateLatest } from '../db/connection';
import { Client, Connection } from '@temporalio/client';
import { seedDemoCustomer, type SeedResult } from './seed-demo-customer';
import { loadConfig } from '../lib/config';
import { createDataConverter } from '../lib/data-converter';
import { temporalConnectionOptions } from '../lib/temporal-connection';
import { ensureRetentionLifecycles } from '../workers/retention-lifecycles';

/** Parsed command-line options. */
export interface SeedCliOptions {
  rows: number;
  technicalRows?: number;
  databaseUrl?: string;
  company?: string;
  json?: boolean;
}

/** Accepts `1000000` or `1_000_000`; rejects anything that is not a non-negative integer. */
function rowCount(value: string): number {
  const digits = value.replace(/_/g, '');
  if (!/^\d+$/.test(digits) || !Number.isSafeInteger(Number(digits))) {
    throw new InvalidArgumentError('expected a non-negative integer, e.g. 100000 or 1_000_000');
  }
  return Number(digits);
}

/** The URL without its password, for messages. */
function redact(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(unparseable URL)';
  }
}

/** A one-line reason. pg reports a refused connection to a dual-stack host as an AggregateError with no message. */
function describeError(err: unknown): string {
  if (err instanceof AggregateError && !err.message) return err.errors.map(describeError).join('; ');
  if (err instanceof Error) return err.message || (err as NodeJS.ErrnoException).code || err.name;
  return String(err);
}

function parseOptions(argv: string[]): SeedCliOptions {
  const program = new Command('seed')
    .description('Load a demo customer with bulk operational, technical and communication rows')
    .option('--rows <n>', 'operational rows (orders, inventory, listings, workflow records)', rowCount, 10_000)
    .option('--technical-rows <n>', 'authentication + API access log rows (default: rows / 10)', rowCount)
    .option('--database-url <url>', 'PostgreSQL URL (default: DATABASE_URL from the environment)')
    .option('--company <name>', 'company name of the demo customer')
    .option('--json', 'print the summary as JSON')
    .parse(argv);
  return program.opts<SeedCliOptions>();
}

function printSummary(result: SeedResult, seconds: number, json: boolean): void {
  const total = Object.values(result.rows).reduce((sum, n) => sum + n, 0);
  const rowsPerSecond = Math.round(total / Math.max(seconds, 0.001));
  if (json) {
    console.log(JSON.stringify({ ...result, totalRows: total, elapsedSeconds: seconds, rowsPerSecond }));
    return;
  }
  const lines = [`Seeded customer ${result.customerId} (registration number ${result.registrationNumber})`];
  for (const [table, n] of Object.entries(result.rows)) lines.push(`  ${table.padEnd(24)} ${n.toLocaleString('en')}`);
  lines.push(`  ${'total'.padEnd(24)} ${total.toLocaleString('en')}`);
  lines.push(`Elapsed ${seconds.toFixed(1)} s, ${rowsPerSecond.toLocaleString('en')} rows/s`);
  console.log(lines.join('\n'));
}

/** Runs the seed command; resolves when done, rejects with the reason it could not seed. */
export async function main(argv: string[]): Promise<void> {
  const opts = parseOptions(argv);
  const url = opts.databaseUrl ?? loadConfig().database.url;
  const target = redact(url);

  try {
    if (await ensureDatabase(url)) process.stderr.write(`created database ${target}\n`);
  } catch (err) {
    throw new Error(`cannot reach or create the database ${target}: ${describeError(err)}`, { cause: err });
  }
  // Two connections: one for the seed's statements, one spare for the cleanup path if a statement fails.
  const db = createDb(url, 2);
  try {
    const applied = await migrateLatest(db);
    if (applied.length > 0) process.stderr.write(`applied ${applied.length} migration(s)\n`);

    const started = process.hrtime.bigint();
    const result = await seedDemoCustomer(db, {
      operationalRows: opts.rows,
      technicalRows: opts.technicalRows,
      companyName: opts.company,
      onProgress: (table, done, total) => process.stderr.write(`  ${table}: ${done}/${total}\n`),
    });
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    printSummary(result, seconds, opts.json ?? false);
    process.stderr.write(`${await startRetentionLifecycle(db, result.customerId)}\n`);
  } catch (err) {
    throw new Error(`seeding ${target} failed: ${describeError(err)}`, { cause: err });
  } finally {
    await db.destroy();
  }
}

/** Starts the seeded customer's retention lifecycle if Temporal answers; says what happened either way. */
async function startRetentionLifecycle(db: Parameters<typeof ensureRetentionLifecycles>[0], customerId: string) {
  const config = loadConfig();
  let connection: Connection;
  try {
    connection = await Connection.connect({ ...temporalConnectionOptions(config), connectTimeout: 2000 });
  } catch {
    return 'retention lifecycle: Temporal does not answer; `npm start` starts it at its next start';
  }
  try {
    const client = new Client({
      connection,
      namespace: config.temporal.namespace,
      dataConverter: createDataConverter(config.payloadEncryption.keyring),
    });
    await ensureRetentionLifecycles(db, client, config.temporal.taskQueue, [customerId]);
    return `retention lifecycle started: retention-${customerId}`;
  } finally {
    await connection.close();
  }
}

if (require.main === module) {
  main(process.argv).catch((err: unknown) => {
    console.error(`seed: ${describeError(err)}`);
    // exitCode rather than exit(): lets stdout/stderr flush before the process ends.
    process.exitCode = 1;
  });
}
