/**
 * The one way a request workflow moves to a stage. A stage is shown in three places: the workflow's status query
 * (what `GET /v1/requests/{id}` answers while it runs), the `RequestStage` search attribute (what the Web UI filters
 * by) and `lifecycle_requests.stage` (what the API answers once the workflow is gone). `enter` writes all three;
 * `show` writes the first two, for the final stages whose database record is written by the activity that closes
 * the request together with its outcome (so the two can never disagree).
 */
import { upsertSearchAttributes } from '@temporalio/workflow';
import { searchAttributes } from '../lib/pure/temporal-ids';
import type { RequestStageActivities } from '../activities/request-stage';

/** Moves one request through its stages; see the module comment. */
export interface StageTracker<S extends string> {
  /** Shows `stage` in the status query and the search attribute, then records it in the database. */
  enter(stage: S): Promise<void>;
  /** Shows `stage` in the status query and the search attribute only. */
  show(stage: S): void;
}

/**
 * A tracker for the request `requestId` whose status object is `status` (its `stage` is updated in place), recording
 * through the `reportStage` activity of `acts`.
 */
export function stageTracker<S extends string>(
  status: { stage: S },
  requestId: string,
  acts: Pick<RequestStageActivities, 'reportStage'>,
): StageTracker<S> {
  const show = (stage: S): void => {
    status.stage = stage;
    upsertSearchAttributes([{ key: searchAttributes.requestStage, value: stage }]);
  };
  return {
    show,
    async enter(stage) {
      show(stage);
      await acts.reportStage({ requestId, stage });
    },
  };
}
