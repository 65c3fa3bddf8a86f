/** `/v1/requests/{requestId}`: where a lifecycle request stands. */
import { Router } from 'express';
import { isTerminal, lifecycleRequests } from '../../db/repositories/lifecycle-requests';
import { RequestIdParam } from '../../lib/schemas/onboarding';
import { erasureStatusQuery } from '../../workflows/erasure';
import { HttpProblem, parseOr400 } from '../problem';
import type { AppDeps } from '../app';

/** How long a status read waits for the workflow to answer its query before falling back to the database. */
const QUERY_DEADLINE_MS = 2000;

export function requestsRouter(deps: AppDeps): Router {
  const router = Router();

  router.get('/v1/requests/:requestId', async (req, res) => {
    const { requestId } = parseOr400(RequestIdParam, req.params, 'path');
    const request = await lifecycleRequests.findById(deps.db, requestId);
    if (!request) throw new HttpProblem(404, 'Request not found', `no request ${requestId}`);

    // A running workflow knows more than the database (e.g. per-subprocessor progress); an ended one is recorded.
    let live: unknown = null;
    if (!isTerminal(request.status)) {
      try {
        live = await deps.temporal.connection.withDeadline(Date.now() + QUERY_DEADLINE_MS, () =>
          deps.temporal.workflow.getHandle(request.workflowId).query('status'),
        );
      } catch (err) {
        deps.log.warn('status query failed; answering from the database', { requestId, err: (err as Error).message });
      }
      // A termination that is erasing shows its erasure child's per-table progress too.
      const erasing = live as { stage?: string; erasureWorkflowId?: string | null } | null;
      if (erasing?.stage === 'erasing' && erasing.erasureWorkflowId) {
        try {
          const erasure = await deps.temporal.connection.withDeadline(Date.now() + QUERY_DEADLINE_MS, () =>
            deps.temporal.workflow.getHandle(erasing.erasureWorkflowId!).query(erasureStatusQuery),
          );
          live = { ...erasing, erasureProgress: erasure };
        } catch (err) {
          deps.log.warn('erasure status query failed', { requestId, err: (err as Error).message });
        }
      }
    }
    res.json({
      id: request.id,
      type: request.type,
      customerId: request.customerId,
      status: request.status,
      stage: (live as { stage?: string } | null)?.stage ?? request.stage,
      progress: live,
      dueOn: request.dueOn,
      receivedAt: request.receivedAt,
      completedAt: request.completedAt,
      outcome: request.outcome,
      failureReason: request.failureReason,
      workflowId: request.workflowId,
    });
  });

  return router;
}
