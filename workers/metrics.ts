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

/**
 * A callback for the scheduled audit verification (activities/audit-integrity.ts) that sets
 * `dlo_audit_chain_scheduled_ok` to 1 when the chain verified against its keys and checkpoints, 0 when it is broken.
 * Call after the Runtime is installed.
 */
export function auditChainGauge(): (ok: boolean) => void {
  const gauge = Runtime.instance().metricMeter.createGauge(
    'dlo_audit_chain_scheduled_ok',
    'int',
    undefined,
    'Whether the last scheduled verification of the audit chain (keys, signed checkpoints) passed (1) or found a break (0)',
  );
  return (ok) => gauge.set(ok ? 1 : 0);
}
