/**
 * Once per fault-suite run: the production workflow bundle, which every worker process of every scenario loads
 * (WORKFLOW_BUNDLE_PATH) instead of bundling at start-up. Each scenario starts its own servers (support/fault-stack.ts).
 */
import fs from 'node:fs';
import path from 'node:path';
import { bundleWorkflowsTo } from '../../scripts/bundle-workflows';

export default async function globalSetup(): Promise<void> {
  if (!process.env.TEMPORAL_CLI)
    throw new Error('TEMPORAL_CLI is not set: run the fault suite with `npm run test:faults` (scripts/test-faults.sh)');
  const dir = path.join(__dirname, '..', '..', '.data', 'faults');
  // Bundles of earlier runs (one per run, named by process id) are not needed any more.
  if (fs.existsSync(dir))
    for (const file of fs.readdirSync(dir))
      if (/^workflow-bundle-\d+\.js$/.test(file)) fs.rmSync(path.join(dir, file), { force: true });
  process.env.FAULTS_WORKFLOW_BUNDLE = await bundleWorkflowsTo(path.join(dir, `workflow-bundle-${process.pid}.js`));
}
