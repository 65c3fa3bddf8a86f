/**
 * `npm run bench -- <name> [flags]`: runs one benchmark from bench/<name>.ts. Each benchmark measures itself against a
 * baseline in the same run and prints, as its last line, `<name>: ratio=<measured/baseline> target=<target> ...`.
 * Benchmarks are never part of the test suite; their method and latest figures are in docs/benchmarks.md.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const name = process.argv[2];
const available = fs
  .readdirSync(__dirname)
  .filter((f) => f.endsWith('.ts') && f !== 'run.ts' && !f.startsWith('_'))
  .map((f) => f.replace(/\.ts$/, ''));

if (!name || !available.includes(name)) {
  console.error(`usage: npm run bench -- <name> [flags]\navailable: ${available.join(', ') || '(none yet)'}`);
  process.exit(2);
}
process.argv.splice(2, 1);
// The benchmarks that run the service's stack start their own Temporal dev servers: the pinned CLI, found (or built
// once) the way `npm start` and `npm test` find it, unless TEMPORAL_CLI names one.
if (!process.env.TEMPORAL_CLI || !fs.existsSync(process.env.TEMPORAL_CLI)) {
  process.env.TEMPORAL_CLI = execFileSync('bash', [path.join(__dirname, '..', 'scripts', 'temporal-cli.sh')], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  }).trim();
}
import(path.join(__dirname, name)).catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
