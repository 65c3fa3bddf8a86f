/**
 * Fetches a Temporal CLI the way the TypeScript SDK does for its tests (`executable: { type: 'cached-download' }`:
 * the SDK asks Temporal's download service for the CLI that suits this SDK version, unpacks it into `downloadDir` and
 * starts it), then stops that server again and prints the path of the downloaded executable on stdout.
 *
 * Used by scripts/temporal-cli.sh before falling back to `go install`: `tsx scripts/download-temporal-cli.ts <dir>`.
 * Exits non-zero when the download fails (no internet, say).
 */
import fs from 'node:fs';
import path from 'node:path';
import { TestWorkflowEnvironment } from '@temporalio/testing';

async function main(): Promise<void> {
  const downloadDir = process.argv[2];
  if (!downloadDir) throw new Error('usage: tsx scripts/download-temporal-cli.ts <download directory>');
  fs.mkdirSync(downloadDir, { recursive: true });
  const env = await TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'cached-download', downloadDir, version: 'default' },
      log: { level: 'error', format: 'pretty' },
    },
  });
  await env.teardown();
  // The SDK names the file after the version it chose; the newest executable in the directory is the one just fetched.
  const executables = fs
    .readdirSync(downloadDir)
    .map((name) => path.join(downloadDir, name))
    .filter((file) => fs.statSync(file).isFile() && (fs.statSync(file).mode & 0o111) !== 0)
    .sort((a, b) => fs.statSync(b).mtimeMs - fs.statSync(a).mtimeMs);
  if (!executables[0]) throw new Error(`the SDK reported success but left no executable in ${downloadDir}`);
  console.log(executables[0]);
}

main().catch((err: unknown) => {
  console.error(`SDK download of the Temporal CLI failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
