/** `/v1/requests/{requestId}`: where a lifecycle request stands. */
import { RequestIdParam } from '../../lib/schemas/params';
import { Router } from 'express';
import { isTerminal, lifecycleRequests } from '../../db/repositories/lifecycle-requests';
import { requestTexts } from '../../db/repositories/request-texts';
import type { RequestStatusView } from '../../lib/pure/request-messages';
import { erasureStatusQuery } from '../../workflows/erasure';
import { requestStatusQuery } from '../../workflows/request-status';
import { HttpProblem, parseOr400 } from '../problem';
import type { AppDeps } from '../deps';
import { pendingActivities, type PendingActivityStatus } from '../pending-activities';
import { QUERY_DEADLINE_MS, queryRequest } from '../workflow-calls';

export function requestsRouter(deps: AppDeps): Router {
  const router = Router();

  router.get('/v1/requests/:requestId', async (req, res) => {
    const { requestId } = parseOr400(RequestIdParam, req.params, 'path');
    const request = await lifecycleRequests.findById(deps.db, requestId);
    if (!request) throw new HttpProblem(404, 'Request not found', `no request ${requestId}`);

    // A running workflow knows more than the database (e.g. per-subprocessor progress); an ended one is recorded.
    let live: RequestStatusView | null = null;
    let activities: PendingActivityStatus[] | null = null;
    if (!isTerminal(request.status)) {
      try {
        live = await queryRequest(deps.temporal, request.workflowId, requestStatusQuery);
      } catch (err) {
        deps.log.warn('status query failed; answering from the database', { requestId, err: (err as Error).message });
      }
      // A termination or deletion request that is erasing shows its erasure child's per-table progress too.
      const erasureWorkflowId =
        live?.stage === 'erasing'
          ? (live.erasureWorkflowId ?? (live.erasure as { workflowId?: unknown } | null | undefined)?.workflowId)
          : undefined;
      if (live && typeof erasureWorkflowId === 'string') {
        try {
          live = {
            ...live,
            erasureProgress: await queryRequest(deps.temporal, erasureWorkflowId, erasureStatusQuery),
          };
        } catch (err) {
          deps.log.warn('erasure status query failed', { requestId, err: (err as Error).message });
        }
      }
      // Temporal's own record of the running activities (the erasure child's while erasing): after a crash it says
      // "retrying after heartbeat timeout, attempt N" with the last checkpoint, where the workflow cannot know yet.
      try {
        activities = [
          ...(await pendingActivities(deps.temporal, request.workflowId, QUERY_DEADLINE_MS)),
          ...(typeof erasureWorkflowId === 'string'
            ? await pendingActivities(deps.temporal, erasureWorkflowId, QUERY_DEADLINE_MS)
            : []),
        ];
      } catch (err) {
        deps.log.warn('describing the running activities failed', { requestId, err: (err as Error).message });
      }
    }
    res.json({
      id: request.id,
      type: request.type,
      customerId: request.customerId,
      status: request.status,
      stage: live?.stage ?? request.stage,
      progress: live,
      activities,
      dueOn: request.dueOn,
      receivedAt: request.receivedAt,
      completedAt: request.completedAt,
      outcome: request.outcome,
      failureReason: request.failureReason,
      // Staff reasons live in the database only (workflows carry their ids): shown from there.
      reasons: (await requestTexts.list(deps.db, request.id)).map((t) => ({
        kind: t.kind,
        text: t.text,
        actor: t.actor,
        givenAt: t.createdAt.toISOString(),
      })),
      workflowId: request.workflowId,
    });
  });

  return router;
}
