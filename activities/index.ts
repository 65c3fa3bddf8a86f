/**
 * The activity factory: every activity of the service, built from injected dependencies so the worker wires real
 * PostgreSQL/SMTP/HTTP and tests wire the same kinds of servers on local ports.
 */
import type { AppConfig } from '../lib/config';
import { createErasureActivities, type ErasureTestHooks } from './erasure';
import { createAccessRequestActivities } from './access-request';
import { createAuditIntegrityActivities } from './audit-integrity';
import { createContractEndActivities } from './contract-end';
import { createCorrectionActivities } from './correction';
import { createDeletionRequestActivities } from './deletion-request';
import { createExportActivities, type ExportHooks } from './export';
import { createOnboardingActivities, type OnboardingDeps } from './onboarding';
import { createRetentionActivities } from './retention';
import { createRequestStageActivities } from './request-stage';
import { createRequestStartActivities } from './request-starts';
import { createTerminationActivities } from './termination';

/**
 * Everything activities may touch. `config` carries the validated configuration (durations, directories, secrets)
 * so that a new activity reads its settings from there instead of adding another wiring parameter.
 */
export interface ActivityDeps extends OnboardingDeps {
  config: AppConfig;
  /** Test-only hooks of the export activity (fault injection); never set in production. */
  exportHooks?: ExportHooks;
  /** Test-only failure injection for the erasure (activities/erasure.ts); never set in production wiring. */
  erasureTestHooks?: ErasureTestHooks;
  /** Called with each scheduled audit verification's outcome (the worker's gauge, workers/metrics.ts). */
  onAuditVerified?: (ok: boolean) => void;
}

/** Creates the activity implementations registered on the worker. */
export function createActivities(deps: ActivityDeps) {
  return mergeActivities(
    createRequestStageActivities(deps),
    createOnboardingActivities(deps),
    createAccessRequestActivities(deps),
    createCorrectionActivities(deps),
    createExportActivities(deps),
    createErasureActivities(deps),
    createRetentionActivities(deps),
    createDeletionRequestActivities(deps),
    createTerminationActivities(deps),
    createContractEndActivities(deps),
    createRequestStartActivities(deps),
    createAuditIntegrityActivities(deps),
  );
}

/**
 * Every activity the worker registers. Workflows do not proxy this: each proxies the types of its own modules
 * (e.g. `OnboardingActivities & RequestStageActivities`), so a workflow sees only what it may call.
 */
export type Activities = ReturnType<typeof createActivities>;

type UnionToIntersection<U> = (U extends unknown ? (u: U) => void : never) extends (i: infer I) => void ? I : never;

/**
 * Merges the modules' activities into the one map the worker registers, refusing a name defined twice: with a spread
 * merge a duplicate would silently replace another module's activity (and histories name activities by type).
 */
export function mergeActivities<M extends Record<string, unknown>[]>(...modules: M): UnionToIntersection<M[number]> {
  const merged: Record<string, unknown> = {};
  for (const module of modules) {
    for (const [name, fn] of Object.entries(module)) {
      if (name in merged) throw new Error(`activity "${name}" is defined by two modules: names must be unique`);
      merged[name] = fn;
    }
  }
  return merged as UnionToIntersection<M[number]>;
}
