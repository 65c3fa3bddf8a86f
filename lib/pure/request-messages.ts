/**
 * What every request workflow answers, whatever its type: the `status` query, whose answer has at least a `stage`.
 * `GET /v1/requests/{id}` asks it through the typed definition in workflows/request-status.ts.
 */

/** Name of the status query every request workflow (and the retention and erasure workflows) handles. */
export const REQUEST_STATUS_QUERY = 'status';

/** The part of every status answer the API relies on; each workflow type adds its own fields. */
export interface RequestStatusView {
  stage: string;
  [field: string]: unknown;
}
