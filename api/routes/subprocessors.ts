/** `/v1/subprocessors`: the registry of recipients (GDPR Art. 19 requires being able to list them). */
import { Router } from 'express';
import { auditEvents } from '../../db/repositories/audit-events';
import { subprocessors, type Subprocessor } from '../../db/repositories/subprocessors';
import { SubprocessorInput } from '../../lib/schemas/subprocessors';
import type { AppDeps } from '../deps';
import { parseOr400 } from '../problem';

/** Everything but the signing secret. */
function publicView(s: Subprocessor) {
  return { id: s.id, name: s.name, baseUrl: s.baseUrl, categories: s.categories, active: s.active };
}

export function subprocessorsRouter(deps: AppDeps): Router {
  const router = Router();

  router.get('/v1/subprocessors', async (_req, res) => {
    res.json({ items: (await subprocessors.list(deps.db)).map(publicView) });
  });

  router.post('/v1/subprocessors', async (req, res) => {
    const input = parseOr400(SubprocessorInput, req.body, 'body');
    const existed = (await subprocessors.findById(deps.db, input.id)) !== undefined;
    await deps.db.transaction(async (trx) => {
      await subprocessors.upsert(trx, input);
      await auditEvents.append(trx, {
        actor: res.locals.actor as string,
        action: existed ? 'subprocessor.updated' : 'subprocessor.registered',
        subjectType: 'subprocessor',
        subjectId: input.id,
        details: { categories: input.categories, active: input.active, baseUrl: input.baseUrl },
      });
    });
    const saved = await subprocessors.findById(deps.db, input.id);
    res.status(existed ? 200 : 201).json(publicView(saved!));
  });

  return router;
}
