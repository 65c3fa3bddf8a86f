/** Liveness and readiness. Readiness checks the two servers the API cannot work without. */
import { Router } from 'express';
import type { AppDeps } from '../deps';

export function healthRouter(deps: AppDeps): Router {
  const router = Router();
  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  router.get('/readyz', async (_req, res) => {
    const checks: Record<string, string> = {};
    try {
      await deps.db.raw('select 1');
      checks.database = 'ok';
    } catch (err) {
      checks.database = (err as Error).message;
    }
    try {
      await deps.temporal.connection.withDeadline(Date.now() + 2000, () =>
        deps.temporal.connection.workflowService.getSystemInfo({}),
      );
      checks.temporal = 'ok';
    } catch (err) {
      checks.temporal = (err as Error).message;
    }
    const ready = Object.values(checks).every((v) => v === 'ok');
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'not ready', checks });
  });
  return router;
}
