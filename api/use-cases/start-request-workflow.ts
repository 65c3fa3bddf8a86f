/**
 * The one way a recorded lifecycle request gets its workflow: business workflow id, no duplicate runs, who asked in
 * the memo, search attributes for the Web UI. If Temporal refuses or cannot be reached, the request record is removed
 * again and the caller answers 503: nothing is left half-written.
 */
import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import type { Knex } from 'knex';
import { lifecycleRequests, type RequestType } from '../../db/repositories/lifecycle-requests';
import { searchAttributes } from '../../lib/pure/temporal-ids';
import { HttpProblem } from '../problem';

/**
 * Where a failed start is logged: the API's winston logger, or an activity's logger when a workflow starts a request
 * (activities/contract-end.ts), so the use cases need no Express and no particular logger.
 */
export interface ErrorLog {
  error(message: string, meta?: Record<string, unknown>): unknown;
}

/** What to start for which recorded request. */
export interface RequestWorkflowStart {
  workflowType: string;
  workflowId: string;
  args: unknown[];
  requestId: string;
  requestType: RequestType;
  customerId: string;
  /** `staff:<id>` of whoever asked. */
  actor: string;
  /** How the request reads in the 503 answer, e.g. "the onboarding". */
  description: string;
  /**
   * Default `REJECT_DUPLICATE` (request-scoped ids never repeat). A customer-scoped id such as `termination-<id>` uses
   * `ALLOW_DUPLICATE`: a new run after the previous one closed, never two at once (answered 409).
   */
  workflowIdReusePolicy?: 'REJECT_DUPLICATE' | 'ALLOW_DUPLICATE';
}

/** Starts the workflow of an already recorded request, or deletes the record and throws a 503 problem. */
export async function startRequestWorkflow(
  deps: { db: Knex; temporal: Client; taskQueue: string; log: ErrorLog },
  start: RequestWorkflowStart,
): Promise<void> {
  try {
    await deps.temporal.workflow.start(start.workflowType, {
      taskQueue: deps.taskQueue,
      workflowId: start.workflowId,
      args: start.args,
      workflowIdReusePolicy: start.workflowIdReusePolicy ?? 'REJECT_DUPLICATE',
      workflowIdConflictPolicy: 'FAIL',
      // Who asked, visible on the run in the Web UI (memos pass through the payload codec like everything else).
      memo: { requestedBy: start.actor },
      typedSearchAttributes: [
        { key: searchAttributes.customerId, value: start.customerId },
        { key: searchAttributes.requestId, value: start.requestId },
        { key: searchAttributes.requestType, value: start.requestType },
        { key: searchAttributes.requestStage, value: 'received' },
      ],
    });
  } catch (err) {
    // Without a workflow the request record would never progress.
    await lifecycleRequests.delete(deps.db, start.requestId);
    if (err instanceof WorkflowExecutionAlreadyStartedError) {
      throw new HttpProblem(409, 'Already running', `${start.description} is already running (${start.workflowId})`);
    }
    deps.log.error('could not start the workflow of a request', {
      requestId: start.requestId,
      workflowType: start.workflowType,
      err: (err as Error).message,
    });
    throw new HttpProblem(
      503,
      'Workflow service unavailable',
      `${start.description} could not be started; nothing was recorded, try again`,
    );
  }
}
