/**
 * The start reconciler's activity (workflows/request-start-reconciler.ts, run by a Temporal Schedule every
 * REQUEST_START_RECONCILE_INTERVAL): finishes what the API accepted but could not start. A request recorded with the
 * start it is owed (api/use-cases/start-request-workflow.ts) and still unstarted after twice TEMPORAL_START_TIMEOUT
 * (so the API's own attempt is over) is started with its recorded input, exactly as the API would have, once its
 * `*.requested` event is chained from the audit intake where the API did not live to chain it
 * (db/repositories/audit-intake.ts); a run of the same request already there (the API's start whose answer was lost)
 * is only marked. A start Temporal refuses for good (another request's run holds a customer-scoped workflow id)
 * closes the request as failed, audited.
 */
import { activityInfo, Context, log } from '@temporalio/activity';
import type { Knex } from 'knex';
import { auditIntake } from '../db/repositories/audit-intake';
import { workflowStarts } from '../db/repositories/workflow-starts';
import {
  closeRefusedStart,
  launchRequestWorkflow,
  requestedEventKey,
  StartConflict,
} from '../api/use-cases/start-request-workflow';
import type { AppConfig } from '../lib/config';

/** What the reconciler needs. The Temporal client is the worker's own (activity context). */
export interface RequestStartDeps {
  db: Knex;
  config: Pick<AppConfig, 'temporal'>;
}

/** Who the audit log names when the reconciler closes a request. */
export const RECONCILER_ACTOR = 'system:start-reconciler';

/** What one pass did, by request id, and how many `*.requested` events it chained from the audit intake. */
export interface ReconcileSummary {
  /** Events a process recorded with their request and died before chaining (db/repositories/audit-intake.ts). */
  eventsChained: number;
  started: string[];
  closed: string[];
  /** Still owed (Temporal refused or timed out); the next pass tries again. */
  failed: string[];
}

/** Builds the reconciler activity from its dependencies. */
export function createRequestStartActivities(deps: RequestStartDeps) {
  return {
    /**
     * Starts (or closes) up to `limit` accepted requests left unstarted, oldest first; `requestIds` restricts the pass
     * (tests sharing a database). Idempotent: a second pass finds started requests marked.
     */
    async reconcileRequestStarts(input: { limit?: number; requestIds?: string[] } = {}): Promise<ReconcileSummary> {
      const timeoutMs = deps.config.temporal.startTimeoutMs;
      const receivedBefore = new Date(Date.now() - 2 * timeoutMs);
      // The requests' events first, so that every start below follows its request's event in the audit chain.
      const intake = await auditIntake.chainBacklog(deps.db, receivedBefore, input.limit ?? 100, {
        only: input.requestIds?.map(requestedEventKey),
        onChained: (key) => Context.current().heartbeat(key),
      });
      if (intake.refused > 0)
        log.error('audit intake rows refused: their MAC does not match', { refused: intake.refused });
      let owed = await workflowStarts.unstarted(deps.db, receivedBefore, input.limit ?? 100);
      if (input.requestIds) owed = owed.filter((r) => input.requestIds!.includes(r.requestId));
      const client = Context.current().client;
      const taskQueue = activityInfo().taskQueue;
      const summary: ReconcileSummary = { eventsChained: intake.chained, started: [], closed: [], failed: [] };
      for (const r of owed) {
        try {
          await launchRequestWorkflow(
            client,
            deps.db,
            taskQueue,
            { ...r, requestType: r.type, workflowIdReusePolicy: r.reusePolicy },
            timeoutMs,
          );
          await workflowStarts.markStarted(deps.db, r.requestId);
          summary.started.push(r.requestId);
          log.info('accepted request started by the reconciler', { requestId: r.requestId, workflowId: r.workflowId });
        } catch (err) {
          if (err instanceof StartConflict) {
            await closeRefusedStart(deps.db, { ...r, requestType: r.type }, RECONCILER_ACTOR);
            summary.closed.push(r.requestId);
            log.warn('accepted request closed: its workflow id is held by another request', {
              requestId: r.requestId,
              workflowId: r.workflowId,
            });
            continue;
          }
          await workflowStarts.recordFailure(deps.db, r.requestId, (err as Error).message);
          summary.failed.push(r.requestId);
        }
        Context.current().heartbeat(r.requestId);
      }
      return summary;
    },
  };
}

export type RequestStartActivities = ReturnType<typeof createRequestStartActivities>;
