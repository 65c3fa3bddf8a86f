/**
 * The activity factory: every activity of the service, built from injected dependencies so the worker wires real
 * PostgreSQL/SMTP/HTTP and tests wire the same kinds of servers on local ports.
 */
import type { AppConfig } from '../lib/config';
import { createErasureActivities, type ErasureTestHooks } from './erasure';
import { createAccessRequestActivities } from './access-request';
import { createDeletionRequestActivities } from './deletion-request';
import { createExportActivities, type ExportHooks } from './export';
import { createOnboardingActivities, type OnboardingDeps } from './onboarding';
import { createRetentionActivities } from './retention';

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
}

/** Creates the activity implementations registered on the worker. */
export function createActivities(deps: ActivityDeps) {
  return {
    ...createOnboardingActivities(deps),
    ...createAccessRequestActivities(deps),
    ...createExportActivities(deps),
    ...createErasureActivities(deps),
    ...createRetentionActivities(deps),
    ...createDeletionRequestActivities(deps),
  };
}

/** The activity interface that workflows proxy (import it with `import type`). */
export type Activities = ReturnType<typeof createActivities>;
