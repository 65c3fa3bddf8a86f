/**
 * The activity factory: every activity of the service, built from injected dependencies so the worker wires real
 * PostgreSQL/SMTP/HTTP and tests wire the same kinds of servers on local ports.
 */
import { createOnboardingActivities, type OnboardingDeps } from './onboarding';

/** Everything activities may touch. */
export type ActivityDeps = OnboardingDeps;

/** Creates the activity implementations registered on the worker. */
export function createActivities(deps: ActivityDeps) {
  return {
    ...createOnboardingActivities(deps),
  };
}

/** The activity interface that workflows proxy (import it with `import type`). */
export type Activities = ReturnType<typeof createActivities>;
