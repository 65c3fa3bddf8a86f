/**
 * Legal holds: `POST/GET /v1/customers/:id/legal-holds`, `GET/DELETE /v1/legal-holds/:holdId`. Placing and releasing
 * (audited, releases signal waiting erasures) are use cases of their own: api/use-cases/legal-holds.ts.
 */
import { CustomerIdParam } from '../../lib/schemas/params';
import { Router } from 'express';
import { legalHolds, type LegalHold } from '../../db/repositories/legal-holds';
import { HoldIdParam, LegalHoldInput, LegalHoldRelease, ListLegalHoldsQuery } from '../../lib/schemas/legal-holds';
import type { AppDeps } from '../deps';
import { HttpProblem, parseOr400 } from '../problem';
import { placeLegalHold, releaseLegalHold } from '../use-cases/legal-holds';

function view(h: LegalHold) {
  return {
    id: h.id,
    customerId: h.customerId,
    categories: h.categories,
    reason: h.reason,
    reference: h.reference,
    placedBy: h.placedBy,
    placedAt: h.placedAt.toISOString(),
    releasedBy: h.releasedBy,
    releasedAt: h.releasedAt?.toISOString() ?? null,
    releaseReason: h.releaseReason,
    active: h.active,
  };
}

export function legalHoldsRouter(deps: AppDeps): Router {
  const router = Router();

  router.post('/v1/customers/:id/legal-holds', async (req, res) => {
    const { id } = parseOr400(CustomerIdParam, req.params, 'path');
    const input = parseOr400(LegalHoldInput, req.body, 'body');
    const hold = await placeLegalHold(deps, {
      customerId: id,
      categories: input.categories ?? null,
      reason: input.reason,
      reference: input.reference,
      actor: res.locals.actor as string,
    });
    res.status(201).location(`/v1/legal-holds/${hold.id}`).json(view(hold));
  });

  router.get('/v1/customers/:id/legal-holds', async (req, res) => {
    const { id } = parseOr400(CustomerIdParam, req.params, 'path');
    const query = parseOr400(ListLegalHoldsQuery, req.query, 'query');
    let holds = await legalHolds.listForCustomer(deps.db, id, { activeOnly: query.active === 'true' });
    if (query.active === 'false') holds = holds.filter((h) => !h.active);
    res.json({ items: holds.map(view) });
  });

  router.get('/v1/legal-holds/:holdId', async (req, res) => {
    const { holdId } = parseOr400(HoldIdParam, req.params, 'path');
    const hold = await legalHolds.findById(deps.db, holdId);
    if (!hold) throw new HttpProblem(404, 'Legal hold not found', `no legal hold ${holdId}`);
    res.json(view(hold));
  });

  router.delete('/v1/legal-holds/:holdId', async (req, res) => {
    const { holdId } = parseOr400(HoldIdParam, req.params, 'path');
    const { reason } = parseOr400(LegalHoldRelease, req.body, 'body');
    const released = await releaseLegalHold(deps, { holdId, reason, actor: res.locals.actor as string });
    res.json({ ...view(released.hold), resumedErasures: released.resumedErasures });
  });

  return router;
}
