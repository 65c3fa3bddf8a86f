/**
 * `/v1/subprocessors`: the registry of recipients (GDPR Art. 19 requires being able to list them). Creating one, or
 * changing its URL or secret, waits for a second admin (202 with the change request); the rules, including which
 * URLs the service may call, are in api/use-cases/register-subprocessor.ts.
 */
import { Router } from 'express';
import { subprocessors } from '../../db/repositories/subprocessors';
import { SubprocessorInput } from '../../lib/schemas/subprocessors';
import type { AppDeps } from '../deps';
import { parseOr400 } from '../problem';
import { registerSubprocessor, subprocessorView } from '../use-cases/register-subprocessor';

export function subprocessorsRouter(deps: AppDeps): Router {
  const router = Router();

  router.get('/v1/subprocessors', async (_req, res) => {
    res.json({ items: (await subprocessors.list(deps.db)).map(subprocessorView) });
  });

  router.post('/v1/subprocessors', async (req, res) => {
    const input = parseOr400(SubprocessorInput, req.body, 'body');
    const result = await registerSubprocessor(deps, input, res.locals.actor as string);
    if ('pending' in result) {
      res.status(202).location(result.pending.changeRequest.links.self).json(result.pending);
      return;
    }
    res.status(200).json(result.applied);
  });

  return router;
}
