/**
 * The one way routes talk to a running request workflow: typed query and update definitions (never names as strings),
 * a deadline on every call, and one mapping of what can go wrong to problem+json answers. A route only adds the
 * refusals of its own message (e.g. "extension not allowed"); the rest is the same for every request type:
 *
 * | what happened                                             | answer |
 * |-----------------------------------------------------------|--------|
 * | the workflow refused the update in its validator, with a failure type the route maps | the route's answer |
 * | four-eyes rule (`FourEyesViolation`)                      | 403    |
 * | no decision awaited (`NotAwaitingDecision`), or the workflow type has no handler for the update (e.g. approve on an access request) | 409 |
 * | the workflow has ended (not found)                        | 409    |
 * | Temporal did not answer in time                           | 503    |
 */
import {
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  WorkflowUpdateRPCTimeoutOrCancelledError,
  type Client,
} from '@temporalio/client';
import { ApplicationFailure, type QueryDefinition, type UpdateDefinition } from '@temporalio/common';
import { FOUR_EYES_VIOLATION, NOT_AWAITING_DECISION } from '../workflows/approval';
import { HttpProblem } from './problem';

/** How long a route waits by default for a workflow to accept or refuse an update (503 after that). */
export const UPDATE_DEADLINE_MS = 10_000;

/** How long a status read waits for a workflow's query before the route falls back to the database. */
export const QUERY_DEADLINE_MS = 2_000;

/** Prefix of the SDK's own rejection of an update the workflow type does not handle. */
const NO_HANDLER = 'No registered handler for update';

/** A refusal the workflow's validator raised, as the route's answer; undefined lets the common mapping decide. */
export type RefusalMapper = (failure: ApplicationFailure) => HttpProblem | undefined;

/**
 * Sends `update` to the workflow `workflowId` and returns its result, or throws the {@link HttpProblem} that answers
 * the failure (see the module comment). `ended` replaces the 409 answered when the workflow is gone.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the SDK's own constraint on update arguments
export async function executeRequestUpdate<Ret, Args extends [any, ...any[]]>(
  temporal: Client,
  workflowId: string,
  update: UpdateDefinition<Ret, Args>,
  args: Args,
  opts: { refusal?: RefusalMapper; ended?: HttpProblem; deadlineMs?: number } = {},
): Promise<Ret> {
  const deadlineMs = opts.deadlineMs ?? UPDATE_DEADLINE_MS;
  let timer: NodeJS.Timeout | undefined;
  // The gRPC deadline alone does not bound the client's retries while the server is unreachable (~20 s seen).
  const bound = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(
      () =>
        reject(new HttpProblem(503, 'Workflow busy', `"${update.name}" was not confirmed in time; check the request`)),
      deadlineMs,
    );
  });
  try {
    return await Promise.race([
      temporal.connection.withDeadline(Date.now() + deadlineMs, () =>
        temporal.workflow.getHandle(workflowId).executeUpdate(update, { args }),
      ),
      bound,
    ]);
  } catch (err) {
    if (err instanceof HttpProblem) throw err;
    throw updateProblem(err, update.name, opts) ?? err;
  } finally {
    clearTimeout(timer);
  }
}

/** The answer to a failed update, or undefined for an error this module does not know (the error handler's 500). */
export function updateProblem(
  err: unknown,
  updateName: string,
  opts: { refusal?: RefusalMapper; ended?: HttpProblem } = {},
): HttpProblem | undefined {
  if (err instanceof WorkflowNotFoundError) {
    return opts.ended ?? new HttpProblem(409, 'Request has ended', 'the request has ended');
  }
  if (err instanceof WorkflowUpdateFailedError) {
    const cause = err.cause;
    if (cause instanceof ApplicationFailure) {
      const mapped = opts.refusal?.(cause);
      if (mapped) return mapped;
      if (cause.type === FOUR_EYES_VIOLATION) return new HttpProblem(403, 'Four-eyes rule', cause.message);
      if (cause.type === NOT_AWAITING_DECISION) return new HttpProblem(409, 'Not awaiting a decision', cause.message);
      if (cause.message.startsWith(NO_HANDLER)) {
        return new HttpProblem(409, 'Not awaiting a decision', `this type of request takes no "${updateName}"`);
      }
    }
    return new HttpProblem(409, 'Refused by the request', cause?.message ?? err.message);
  }
  if (err instanceof WorkflowUpdateRPCTimeoutOrCancelledError || (err as { code?: number }).code === 4) {
    return new HttpProblem(503, 'Workflow busy', `"${updateName}" was not confirmed in time; check the request`);
  }
  return undefined;
}

/**
 * Runs `query` on the workflow `workflowId` within {@link QUERY_DEADLINE_MS} (also while Temporal is unreachable);
 * throws what the client throws, or a timeout Error.
 */
export async function queryRequest<Ret>(
  temporal: Client,
  workflowId: string,
  query: QueryDefinition<Ret, []>,
): Promise<Ret> {
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`query not answered within ${QUERY_DEADLINE_MS} ms`)), QUERY_DEADLINE_MS);
  });
  try {
    return await Promise.race([
      temporal.connection.withDeadline(Date.now() + QUERY_DEADLINE_MS, () =>
        temporal.workflow.getHandle(workflowId).query(query),
      ),
      bound,
    ]);
  } finally {
    clearTimeout(timer);
  }
}
