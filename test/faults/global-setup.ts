/**
 * Once per fault-suite run: the production workflow bundle, which every worker process of every scenario loads
 * (WORKFLOW_BUNDLE_PATH) instead of bundling at start-up. Each scenario starts its own servers (support/fault-stack.ts).
 */
import path from 'node:path';
import { bundleWorkflowsTo } from '../../scripts/bundle-workflows';

export default async function globalSetup(): Promise<void> {
  if (!process.env.TEMPORAL_CLI)
    throw new Error('TEMPORAL_CLI is not set: run the fault suite with `npm run test:faults` (scripts/test-faults.sh)');
  process.env.FAULTS_WORKFLOW_BUNDLE = await bundleWorkflowsTo(
    path.join(__dirname, '..', '..', '.data', 'faults', `workflow-bundle-${process.pid}.js`),
  );
}
