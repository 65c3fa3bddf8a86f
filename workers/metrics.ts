/**
 * The worker's own metrics, recorded through the SDK's metric meter so that they are served by the same Prometheus
 * exporter as the SDK's Runtime telemetry (WORKER_METRICS_PORT, see lib/logger.ts `installTemporalLogging`).
 */
import { Runtime } from '@temporalio/worker';
import type { SubprocessorFailureKind } from '../lib/subprocessor-client';

/**
 * A callback for `createSubprocessorClient({ onFailure })` that counts failed subprocessor calls in
 * `dlo_subprocessor_call_failures_total{subprocessor, kind}` (kind: `unavailable`, retried; `rejected`, permanent).
 * Call after the Runtime is installed.
 */
export function subprocessorFailureCounter(): (subprocessorId: string, kind: SubprocessorFailureKind) => void {
  const counter = Runtime.instance().metricMeter.createCounter(
    'dlo_subprocessor_call_failures',
    undefined,
    'Failed calls to subprocessors (protocol v1), by subprocessor and kind',
  );
  return (subprocessor, kind) => counter.add(1, { subprocessor, kind });
}
