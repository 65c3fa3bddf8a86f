/**
 * Placing and releasing legal holds. Both are audited (reason and reference as SHA-256 hashes: free text may name
 * people). Releasing signals the customer's erasures that wait for a hold; each also re-checks on its own interval, so
 * a lost signal only delays it.
 */
import { createHash } from 'node:crypto';
import type { Client } from '@temporalio/client';
import type { Knex } from 'knex';
import { auditEvents } from '../../db/repositories/audit-events';
import { customers } from '../../db/repositories/customers';
import { erasures } from '../../db/repositories/erasures';
import { legalHolds, type LegalHold } from '../../db/repositories/legal-holds';
import type { DataCategory } from '../../lib/pure/data-categories';
import type { Logger } from '../../lib/logger';
import { legalHoldReleasedSignal } from '../../workflows/erasure';
import { HttpProblem } from '../problem';

const sha256 = (value: string) => createHash('sha256').update(value).digest('hex');

/** What placing a hold needs. */
export interface LegalHoldPlacement {
  customerId: string;
  /** Covered categories; null covers every category. */
  categories: DataCategory[] | null;
  reason: string;
  reference: string;
  /** `staff:<id>` of who places it. */
  actor: string;
}

/**
 * Places a hold in one transaction with its audit event. The transaction waits for deletion batches in flight: once
 * it commits, no batch deletes what the hold covers.
 * @throws HttpProblem 404 when the customer does not exist.
 */
export async function placeLegalHold(deps: { db: Knex; log: Logger }, placement: LegalHoldPlacement) {
  const { db } = deps;
  const { customerId, actor } = placement;
  if (!(await customers.findById(db, customerId))) {
    throw new HttpProblem(404, 'Customer not found', `no customer ${customerId}`);
  }
  const hold = await db.transaction(async (trx) => {
    const placed = await legalHolds.place(trx, {
      customerId,
      categories: placement.categories,
      reason: placement.reason,
      reference: placement.reference,
      placedBy: actor,
    });
    await auditEvents.append(trx, {
      actor,
      action: 'legal_hold.placed',
      subjectType: 'legal_hold',
      subjectId: placed.id,
      customerId,
      details: {
        categories: placed.categories ?? 'all',
        reasonSha256: sha256(placed.reason),
        referenceSha256: sha256(placed.reference),
      },
    });
    return placed;
  });
  deps.log.info('legal hold placed', { holdId: hold.id, customerId, categories: hold.categories ?? 'all' });
  return hold;
}

/** A released hold and the erasures that were told (workflow ids). */
export interface LegalHoldReleased {
  hold: LegalHold;
  resumedErasures: string[];
}

/**
 * Releases a hold (audited with the erasures that waited for it) and signals those erasures.
 * @throws HttpProblem 404 when there is no such hold, 409 when it was released already.
 */
export async function releaseLegalHold(
  deps: { db: Knex; temporal: Client; log: Logger },
  release: { holdId: string; reason: string; actor: string },
): Promise<LegalHoldReleased> {
  const { holdId, reason, actor } = release;
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

  const resumedErasures: string[] = [];
  for (const workflowId of result.waiting) {
    try {
      await deps.temporal.workflow.getHandle(workflowId).signal(legalHoldReleasedSignal, { holdId });
      resumedErasures.push(workflowId);
    } catch (err) {
      // The erasure re-checks its holds on its own interval; a failed signal only delays it.
      deps.log.warn('could not signal a waiting erasure', { workflowId, holdId, err: (err as Error).message });
    }
  }
  deps.log.info('legal hold released', {
    holdId,
    customerId: result.hold.customerId,
    resumed: resumedErasures.length,
  });
  return { hold: result.hold, resumedErasures };
}
