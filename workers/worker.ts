/**
 * Creates the Temporal worker for the service. Shared by the production entry point, the dev stack and the tests so
 * that all three register the same workflows and activities the same way.
 */
import path from 'node:path';
import type { DataConverter } from '@temporalio/common';
import { Worker, type NativeConnection, type WorkerOptions as SdkWorkerOptions } from '@temporalio/worker';
import { createActivities, type ActivityDeps } from '../activities';

export interface WorkerOptions {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  deps: ActivityDeps;
  /**
   * Path of a pre-built workflow bundle (see scripts/bundle-workflows.ts). Without one the worker bundles the workflow
   * sources at start-up, which takes seconds and is only meant for development.
   */
  workflowBundlePath?: string;
  /** Caps concurrent activity executions (default: the SDK's). */
  maxConcurrentActivityTaskExecutions?: number;
  /**
   * The service's data converter (lib/data-converter.ts: payload encryption, encoded failure messages). A pre-built
   * workflow bundle must have been built with the same failure converter (scripts/bundle-workflows.ts does).
   */
  dataConverter?: DataConverter;
  /** Sinks that workflow interceptors bundled with the code call (bench/timers.ts counts settled workflows so). */
  sinks?: SdkWorkerOptions['sinks'];
}

/** Where the workflow sources start. */
export const WORKFLOWS_PATH = require.resolve(path.join(__dirname, '..', 'workflows'));

/** Builds (but does not run) a worker. */
export async function createWorker(opts: WorkerOptions): Promise<Worker> {
  return Worker.create({
    connection: opts.connection,
    namespace: opts.namespace,
    taskQueue: opts.taskQueue,
    activities: createActivities(opts.deps),
    ...(opts.workflowBundlePath
      ? { workflowBundle: { codePath: opts.workflowBundlePath } }
      : { workflowsPath: WORKFLOWS_PATH }),
    maxConcurrentActivityTaskExecutions: opts.maxConcurrentActivityTaskExecutions,
    // Bounded (TEMPORAL_MAX_CACHED_WORKFLOWS, default 100) rather than the SDK's heap-sized default: see lib/config.ts.
    maxCachedWorkflows: opts.deps.config.temporal.maxCachedWorkflows,
    dataConverter: opts.dataConverter,
    sinks: opts.sinks,
  });
}
