/**
 * Legal holds: `POST/GET /v1/customers/:id/legal-holds`, `GET/DELETE /v1/legal-holds/:holdId`. Placing and releasing
 * are audited (reason and reference as SHA-256 hashes: free text may name people). Releasing signals the customer's
 * erasures that wait for a hold; each also re-checks on its own interval, so a lost signal only delays it.
 */
import { CustomerIdParam } from '../../lib/schemas/params';
import { createHash } from 'node:crypto';
import { Router } from 'express';
import { auditEvents } from '../../db/repositories/audit-events';
import { customers } from '../../db/repositories/customers';
import { erasures } from '../../db/repositories/erasures';
import { legalHolds, type LegalHold } from '../../db/repositories/legal-holds';
import { legalHoldReleasedSignal } from '../../workflows/erasure';
import { HoldIdParam, LegalHoldInput, LegalHoldRelease, ListLegalHoldsQuery } from '../../lib/schemas/legal-holds';
import type { AppDeps } from '../deps';
import { HttpProblem, parseOr400 } from '../problem';

const sha256 = (value: string) => createHash('sha256').update(value).digest('hex');

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
    if (!(await customers.findById(deps.db, id))) throw new HttpProblem(404, 'Customer not found', `no customer ${id}`);
    const actor = res.locals.actor as string;
    const hold = await deps.db.transaction(async (trx) => {
      // Waits for deletion batches in flight: once this commits, no batch deletes what the hold covers.
      const placed = await legalHolds.place(trx, {
        customerId: id,
        categories: input.categories ?? null,
        reason: input.reason,
        reference: input.reference,
        placedBy: actor,
      });
      await auditEvents.append(trx, {
        actor,
        action: 'legal_hold.placed',
        subjectType: 'legal_hold',
        subjectId: placed.id,
        customerId: id,
        details: {
          categories: placed.categories ?? 'all',
          reasonSha256: sha256(placed.reason),
          referenceSha256: sha256(placed.reference),
        },
      });
      return placed;
    });
    deps.log.info('legal hold placed', { holdId: hold.id, customerId: id, categories: hold.categories ?? 'all' });
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
    const actor = res.locals.actor as string;
    const result = await deps.db.transaction(async (trx) => {
      const r = await legalHolds.release(trx, holdId, actor, reason);
      if (r.outcome !== 'released') return { ...r, waiting: [] as string[] };
      // Read under the hold-change lock: every erasure that found this hold in force is recorded as waiting by now.
      const waiting = await erasures.waitingForCustomer(trx, r.hold.customerId);
      await auditEvents.append(trx, {
        actor,
        action: 'legal_hold.released',
        subjectType: 'legal_hold',
        subjectId: holdId,
        customerId: r.hold.customerId,
        details: {
          categories: r.hold.categories ?? 'all',
          reasonSha256: sha256(reason),
          waitingErasures: waiting,
        },
      });
      return { ...r, waiting };
    });
    if (result.outcome === 'not-found') throw new HttpProblem(404, 'Legal hold not found', `no legal hold ${holdId}`);
    if (result.outcome === 'already-released') {
      throw new HttpProblem(
        409,
        'Already released',
        `legal hold ${holdId} was released at ${result.hold.releasedAt?.toISOString()}`,
      );
    }

    const resumed: string[] = [];
    for (const workflowId of result.waiting) {
      try {
        await deps.temporal.workflow.getHandle(workflowId).signal(legalHoldReleasedSignal, { holdId });
        resumed.push(workflowId);
      } catch (err) {
        // The erasure re-checks its holds on its own interval; a failed signal only delays it.
        deps.log.warn('could not signal a waiting erasure', { workflowId, holdId, err: (err as Error).message });
      }
    }
    deps.log.info('legal hold released', { holdId, customerId: result.hold.customerId, resumed: resumed.length });
    res.json({ ...view(result.hold), resumedErasures: resumed });
  });

  return router;
}
