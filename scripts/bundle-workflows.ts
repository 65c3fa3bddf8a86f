/**
 * Pre-bundles the workflow code once (webpack via the Temporal SDK), so workers start in milliseconds instead of
 * bundling at every start. `npm run build` writes dist/workflow-bundle.js; tests write their own under .data/.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { WORKFLOWS_PATH } from '../workers/worker';

/** Bundles the workflows into `outFile` and returns its path. */
export async function bundleWorkflowsTo(outFile: string): Promise<string> {
  const { code } = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH });
  await fs.mkdir(path.dirname(outFile), { recursive: true });
  await fs.writeFile(outFile, code);
  return outFile;
}

if (require.main === module) {
  const out = process.argv[2] ?? path.join(__dirname, '..', 'dist', 'workflow-bundle.js');
  bundleWorkflowsTo(out)
    .then((file) => console.log(`workflow bundle written to ${file}`))
    .catch((err: unknown) => {
      console.error(err);
      process.exit(1);
    });
}
