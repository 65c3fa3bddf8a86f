/**
 * Pre-bundles the workflow code once (webpack via the Temporal SDK), so workers start in milliseconds instead of
 * bundling at every start. `npm run build` writes dist/workflow-bundle.js; tests write their own under .data/.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { FAILURE_CONVERTER_PATH } from '../lib/data-converter';
import { WORKFLOWS_PATH } from '../workers/worker';

/**
 * Bundles the workflows (default: workflows/index.ts) into `outFile` and returns its path. The bundle carries the service's failure converter, so
 * failures raised by workflow code are encrypted like everything else (lib/data-converter.ts).
 */
export async function bundleWorkflowsTo(outFile: string, workflowsPath = WORKFLOWS_PATH): Promise<string> {
  const { code } = await bundleWorkflowCode({
    workflowsPath,
    failureConverterPath: FAILURE_CONVERTER_PATH,
  });
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
