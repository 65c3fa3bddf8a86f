/**
 * The database side of a request's stage (workflows/request-stage.ts): `lifecycle_requests.stage`, which the API
 * answers from once the workflow has ended. Every request workflow proxies this module beside its own.
 */
import type { Knex } from 'knex';
import { lifecycleRequests } from '../db/repositories/lifecycle-requests';

/** Creates the stage activity; its name (`reportStage`) is part of running histories. */
export function createRequestStageActivities(deps: { db: Knex }) {
  return {
    /** Records the stage the workflow reached; a no-op on a request that has already ended. */
    async reportStage(step: { requestId: string; stage: string }): Promise<void> {
      await lifecycleRequests.setStage(deps.db, step.requestId, step.stage);
    },
  };
}

export type RequestStageActivities = ReturnType<typeof createRequestStageActivities>;
