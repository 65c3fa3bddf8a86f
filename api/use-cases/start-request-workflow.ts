/**
 * The one way a recorded lifecycle request gets its workflow: business workflow id, no duplicate runs, who asked in
 * the memo, search attributes for the Web UI.
 *
 * Accept, then start (docs/reliability.md "Outbox and accepted starts"): a use case records the request, the start it
 * is owed and its `*.requested` audit event atomically, in ONE statement ({@link acceptRequest}); only then is the
 * workflow started, within TEMPORAL_START_TIMEOUT. The event is recorded in the audit intake
 * (db/repositories/audit-intake.ts), so accepting never queues for the audit chain's lock, and it is chained beside
 * the start, before the answer. When Temporal is down or slow, or the process dies between the commit and the start,
 * the request stays recorded and owed: the API answers 202 all the same (status `received`), and the start reconciler
 * (a Temporal Schedule, activities/request-starts.ts) chains its event and starts it later through
 * {@link launchRequestWorkflow}.
 * Work once accepted is never answered 5xx. Only a start Temporal refuses for good (another request's run holds a
 * customer-scoped workflow id) closes the request and answers 409; the run of a request that has already ended is
 * only finishing, and the start waits for it (a termination taken again right after one was cancelled).
 */
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { Knex } from 'knex';
import { auditEvents } from '../../db/repositories/audit-events';
import { auditIntake } from '../../db/repositories/audit-intake';
import {
  isTerminal,
  lifecycleRequests,
  type LifecycleRequest,
  type NewLifecycleRequest,
  type RequestType,
} from '../../db/repositories/lifecycle-requests';
import { workflowStarts } from '../../db/repositories/workflow-starts';
import { faultPoint } from '../../lib/fault-points';
import { searchAttributes } from '../../lib/pure/temporal-ids';
import { HttpProblem } from '../problem';

/** How long a start waits for Temporal by default (TEMPORAL_START_TIMEOUT). */
export const DEFAULT_START_TIMEOUT_MS = 5_000;

/**
 * Where a failed start is logged: the API's winston logger, or an activity's logger when a workflow starts a request
 * (activities/contract-end.ts), so the use cases need no Express and no particular logger.
 */
export interface ErrorLog {
  error(message: string, meta?: Record<string, unknown>): unknown;
  warn?(message: string, meta?: Record<string, unknown>): unknown;
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
  /** How the request reads in a refusal, e.g. "the onboarding". */
  description: string;
  /**
   * Default `REJECT_DUPLICATE` (request-scoped ids never repeat). A customer-scoped id such as `termination-<id>` uses
   * `ALLOW_DUPLICATE`: a new run after the previous one closed, never two at once (answered 409; a run whose request
   * has ended is waited for instead, see {@link launchRequestWorkflow}).
   */
  workflowIdReusePolicy?: 'REJECT_DUPLICATE' | 'ALLOW_DUPLICATE';
}

/** What the start-path needs. `config.temporal.startTimeoutMs` is TEMPORAL_START_TIMEOUT. */
export interface StartDeps {
  db: Knex;
  temporal: Client;
  taskQueue: string;
  log: ErrorLog;
  config?: { temporal?: { startTimeoutMs?: number } };
}

/** `started`: Temporal took it now. `pending`: recorded and owed; the start reconciler finishes it. */
export type StartOutcome = 'started' | 'pending';

/** The status an accepted request reads as: `running` once its workflow started, `received` while the start is owed. */
export function acceptedStatus(outcome: StartOutcome): 'running' | 'received' {
  return outcome === 'started' ? 'running' : 'received';
}

/**
 * The status a replayed Idempotency-Key answers: the request's current one (`completed`, `failed`, ...), with a
 * recorded request whose workflow has started reading `running`.
 */
export async function currentStatus(db: Knex, request: { id: string; status: string }): Promise<string> {
  if (request.status !== 'received') return request.status;
  return (await workflowStarts.isStarted(db, request.id)) ? 'running' : 'received';
}

/** The key of a request's `*.requested` audit event: in the intake, then in the chain. */
export function requestedEventKey(requestId: string): string {
  return `requested:${requestId}`;
}

/**
 * Chains the request's `*.requested` event from the intake. Never rejects: a failure leaves the event in the intake,
 * committed with the request, for the start reconciler to chain; it is logged, and the answer is unaffected.
 */
async function chainRequestedEvent(deps: StartDeps, requestId: string): Promise<void> {
  try {
    await auditIntake.chain(deps.db, requestedEventKey(requestId));
  } catch (err) {
    (deps.log.warn ?? deps.log.error).call(
      deps.log,
      'requested event left in the audit intake: the reconciler chains it',
      {
        requestId,
        err: (err as Error).message,
      },
    );
  }
}

/** The `*.requested` audit event an accepted request is recorded with. */
export interface RequestedEvent {
  /** e.g. `access.requested`. */
  action: string;
  /** The request's customer in the audit log; null when the customer is not known (nothing to chain it to). */
  customerId: string | null;
  details: Record<string, unknown>;
}

/** {@link acceptRequest}'s answer: accepted now, or a concurrent call with the same Idempotency-Key was first. */
export type Acceptance = { accepted: true } | { accepted: false; winner: LifecycleRequest };

/** The rows that record a request: its `lifecycle_requests` row, and rows of its own that reference it. */
export interface AcceptedRows {
  /** The request's row; the start it is owed is added from the {@link RequestWorkflowStart}. */
  request: Omit<NewLifecycleRequest, 'owedStart'>;
  /** INSERTs not yet run (e.g. `corrections.insertChangesQuery`), of rows that reference the request. */
  dependents?: Knex.QueryBuilder[];
}

/**
 * Accepts a request: its row with the workflow start it is owed, the `rows.dependents`, and its `*.requested` event
 * (in the audit intake, keyed, so it is chained once by {@link startRequestWorkflow}), written by ONE statement of
 * data-modifying CTEs. A statement is atomic on its own: all of it commits or nothing does, in one round trip to the
 * database instead of the five of BEGIN, three INSERTs and COMMIT, which is most of what the API adds to a start
 * (docs/benchmarks.md `api-load`). A concurrent call with the same Idempotency-Key that committed first is answered as
 * `winner`, for the caller to replay; any other failure (such as another unique constraint) is thrown as it is.
 */
export async function acceptRequest(
  db: Knex,
  start: RequestWorkflowStart,
  requested: RequestedEvent & { idempotencyKey?: string },
  rows: AcceptedRows,
): Promise<Acceptance> {
  const request = lifecycleRequests.insertQuery(db, {
    ...rows.request,
    owedStart: {
      workflowType: start.workflowType,
      args: start.args,
      reusePolicy: start.workflowIdReusePolicy ?? 'REJECT_DUPLICATE',
    },
  });
  const event = auditIntake.recordQuery(db, {
    actor: start.actor,
    action: requested.action,
    subjectType: 'lifecycle_request',
    subjectId: start.requestId,
    customerId: requested.customerId,
    requestId: start.requestId,
    workflowId: start.workflowId,
    details: requested.details,
    idempotencyKey: requestedEventKey(start.requestId),
  });
  // Rows that reference the request are checked against it at the end of the statement, when it is there.
  let statement = db.with('request', request);
  (rows.dependents ?? []).forEach((dependent, i) => {
    statement = statement.with(`dependent_${i}`, dependent);
  });
  try {
    await statement.with('requested_event', event).select(db.raw('1'));
    return { accepted: true };
  } catch (err) {
    const e = err as { code?: string; constraint?: string };
    const key = requested.idempotencyKey;
    if (key && e.code === '23505' && e.constraint === 'lifecycle_requests_idempotency_key_unique') {
      const winner = await lifecycleRequests.findByIdempotencyKey(db, key);
      if (winner) return { accepted: false, winner };
    }
    throw err;
  }
}

/** Why {@link launchRequestWorkflow} could not start: another request's run holds the workflow id. */
export class StartConflict extends Error {
  constructor(readonly workflowId: string) {
    super(`another request's run holds ${workflowId}`);
    this.name = 'StartConflict';
  }
}

/**
 * Starts the workflow of a recorded request within `timeoutMs`. A run of this same request already there (an earlier
 * start whose answer was lost) counts as started. A run of an earlier request that has ended in the database
 * (cancelled, completed or failed: a customer-scoped id such as `termination-<id>`, taken again right after the
 * previous request ended) is finishing its last workflow task: the start waits for it to close, within the same
 * `timeoutMs`, and is made then.
 * @throws StartConflict when a run of another request holds the id; anything else Temporal throws (unavailable,
 * deadline exceeded, or an ended request's run still open at the deadline), which leaves the start owed.
 */
export async function launchRequestWorkflow(
  temporal: Client,
  db: Knex,
  taskQueue: string,
  start: Pick<
    RequestWorkflowStart,
    'workflowType' | 'workflowId' | 'args' | 'requestId' | 'requestType' | 'customerId' | 'actor'
  > & { workflowIdReusePolicy?: 'REJECT_DUPLICATE' | 'ALLOW_DUPLICATE' },
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const startRun = () =>
    withTimeout(
      temporal.connection.withDeadline(deadline, () =>
        temporal.workflow.start(start.workflowType, {
          taskQueue,
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
        }),
      ),
      Math.max(0, deadline - Date.now()),
    );
  // At most twice: the second time only after an ended request's run has closed.
  for (let attempt = 1; ; attempt++) {
    try {
      await startRun();
      return;
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    }
    const holder = await runHolder(temporal, start.workflowId, deadline);
    if (holder?.requestId === start.requestId) return;
    const closing = attempt === 1 && holder?.requestId !== undefined && (await requestHasEnded(db, holder.requestId));
    // Another request's run, or the id taken again while the ended one closed: held for good.
    if (!closing) throw new StartConflict(start.workflowId);
    if (holder.running) await waitForRunToClose(temporal, start.workflowId, holder.runId, deadline);
  }
}

/** The latest run of a workflow id: whose request it serves (its `RequestId` search attribute) and whether it runs. */
interface RunHolder {
  requestId: string | undefined;
  runId: string;
  running: boolean;
}

async function runHolder(temporal: Client, workflowId: string, deadline: number): Promise<RunHolder | undefined> {
  try {
    const description = await temporal.connection.withDeadline(Math.max(deadline, Date.now() + 1000), () =>
      temporal.workflow.getHandle(workflowId).describe(),
    );
    return {
      requestId: description.typedSearchAttributes.get(searchAttributes.requestId),
      runId: description.runId,
      running: description.status.name === 'RUNNING',
    };
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return undefined;
    throw err;
  }
}

/** Whether the request `requestId` has ended in the database (its run, if still open, is only finishing). */
async function requestHasEnded(db: Knex, requestId: string): Promise<boolean> {
  const request = await lifecycleRequests.findById(db, requestId);
  return request !== undefined && isTerminal(request.status);
}

/** How often {@link waitForRunToClose} looks again. */
const CLOSE_POLL_MS = 100;

/**
 * Waits until the run `runId` of `workflowId` has closed, looking every {@link CLOSE_POLL_MS}.
 * @throws Error when it is still open at `deadline` (the start stays owed; the reconciler tries again later).
 */
async function waitForRunToClose(temporal: Client, workflowId: string, runId: string, deadline: number): Promise<void> {
  const handle = temporal.workflow.getHandle(workflowId, runId);
  for (;;) {
    const remaining = deadline - Date.now();
    if (remaining <= 0) {
      throw new Error(`the run ${runId} of ${workflowId} (an ended request's) was still open at the start deadline`);
    }
    // Bounded as runHolder's look is: one that ends past the deadline is answered, and the next turn names why.
    const description = await temporal.connection.withDeadline(Math.max(deadline, Date.now() + 1000), () =>
      handle.describe(),
    );
    if (description.status.name !== 'RUNNING') return;
    await new Promise((resolve) => setTimeout(resolve, Math.min(CLOSE_POLL_MS, remaining)));
  }
}

/** Rejects after `ms` if `promise` has not settled: a bound no retry inside the client can stretch. */
async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`Temporal did not take the start within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Closes a request whose start Temporal refused for good (another request's run holds its workflow id): the request
 * fails with the reason and the refusal is audited. Answers whether this call closed it.
 */
export async function closeRefusedStart(
  db: Knex,
  start: Pick<RequestWorkflowStart, 'requestId' | 'customerId' | 'workflowId' | 'requestType'>,
  actor: string,
): Promise<void> {
  await db.transaction(async (trx) => {
    await lifecycleRequests.fail(trx, start.requestId, `another run holds the workflow id ${start.workflowId}`);
    await auditEvents.append(trx, {
      actor,
      action: `${start.requestType}.start_refused`,
      subjectType: 'lifecycle_request',
      subjectId: start.requestId,
      customerId: start.customerId,
      requestId: start.requestId,
      workflowId: start.workflowId,
      details: { reason: 'workflow_id_held_by_another_request' },
      idempotencyKey: `start_refused:${start.requestId}`,
    });
  });
}

/**
 * Starts the workflow of a request that was recorded and committed with its owed start (see the module comment).
 * Answers `started`, or `pending` when Temporal did not take it within TEMPORAL_START_TIMEOUT (the reconciler will).
 * @throws HttpProblem 409 when another request's run holds the workflow id (the request is closed as failed).
 */
export async function startRequestWorkflow(deps: StartDeps, start: RequestWorkflowStart): Promise<StartOutcome> {
  try {
    // Right after the commit: `kill` here leaves the event in the audit intake and the start owed (the reconciler's
    // case), `throw` skips both as a failure there would.
    await faultPoint('api.after-accept');
  } catch (err) {
    return leaveStartOwed(deps, start, err as Error);
  }
  // Beside the start, not before it: chaining waits for the audit chain's lock, the start for Temporal.
  const chaining = chainRequestedEvent(deps, start.requestId);
  try {
    return await launchAccepted(deps, start, chaining);
  } finally {
    await chaining;
  }
}

async function launchAccepted(
  deps: StartDeps,
  start: RequestWorkflowStart,
  requestedChained: Promise<void>,
): Promise<StartOutcome> {
  const timeoutMs = deps.config?.temporal?.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS;
  try {
    await launchRequestWorkflow(deps.temporal, deps.db, deps.taskQueue, start, timeoutMs);
  } catch (err) {
    if (err instanceof StartConflict) {
      // The refusal follows the request's own event in the chain.
      await requestedChained;
      await closeRefusedStart(deps.db, start, start.actor);
      throw new HttpProblem(409, 'Already running', `${start.description} is already running (${start.workflowId})`);
    }
    return leaveStartOwed(deps, start, err as Error);
  }
  // Recording it is a convenience: the reconciler finds the run and marks it if this write is lost.
  await workflowStarts.markStarted(deps.db, start.requestId).catch((err: Error) => {
    deps.log.error('could not mark a started workflow', { requestId: start.requestId, err: err.message });
  });
  return 'started';
}

/** A start that did not happen now: noted on the request, for the start reconciler. */
async function leaveStartOwed(deps: StartDeps, start: RequestWorkflowStart, err: Error): Promise<'pending'> {
  const meta = { requestId: start.requestId, workflowType: start.workflowType, err: err.message };
  (deps.log.warn ?? deps.log.error).call(deps.log, 'workflow start owed: the start reconciler will start it', meta);
  await workflowStarts.recordFailure(deps.db, start.requestId, err.message).catch(() => undefined);
  return 'pending';
}
