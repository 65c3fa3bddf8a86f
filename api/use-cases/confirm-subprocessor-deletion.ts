/**
 * A subprocessor's deletion confirmation (protocol v1, callback): recorded with a receipt and an audit event in one
 * transaction, then the erasure waiting for it is signalled (found through the deletion request's `workflow_id`).
 * The route checks the signature; this takes over once the sender is known.
 */
import { createHash } from 'node:crypto';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { Knex } from 'knex';
import { auditEvents } from '../../db/repositories/audit-events';
import { deletionRequests } from '../../db/repositories/deletion-requests';
import type { Logger } from '../../lib/logger';
import { deletionConfirmedSignal } from '../../workflows/erasure';
import { HttpProblem } from '../problem';

/** A verified callback: who sent it, what it says, and the bytes it was signed over. */
export interface DeletionConfirmation {
  subprocessorId: string;
  deletionId: string;
  /** The tenant the subprocessor names, if it names one: must be the deletion's customer. */
  tenantId?: string;
  idempotencyKey: string | null;
  rawBody: Buffer;
}

/**
 * Records the confirmation (once: a repeated callback changes nothing) and wakes the erasure.
 * @returns the deletion's id and when it was confirmed.
 * @throws HttpProblem 404 (no such deletion for this subprocessor), 400 (tenant mismatch), 503 (recorded, but the
 * erasure could not be told: the subprocessor retries).
 */
export async function confirmSubprocessorDeletion(
  deps: { db: Knex; temporal: Client; log: Logger },
  confirmation: DeletionConfirmation,
): Promise<{ deletionId: string; confirmedAt: string }> {
  const { subprocessorId } = confirmation;
  const outcome = await deps.db.transaction(async (trx) => {
    const deletion = await deletionRequests.lock(trx, confirmation.deletionId);
    if (!deletion || deletion.subprocessorId !== subprocessorId) return undefined;
    if (confirmation.tenantId !== undefined && confirmation.tenantId !== deletion.customerId) {
      throw new HttpProblem(400, 'Bad Request', 'tenantId is not the tenant of this deletion', {
        errors: [{ field: 'body.tenantId', rule: 'mismatch', message: 'is not the tenant of this deletion' }],
      });
    }
    const confirmed = await deletionRequests.confirm(trx, deletion.id, 'callback', {
      idempotencyKey: confirmation.idempotencyKey,
      bodySha256: createHash('sha256').update(confirmation.rawBody).digest('hex'),
    });
    if (confirmed?.newlyConfirmed) {
      await auditEvents.append(trx, {
        actor: `subprocessor:${subprocessorId}`,
        action: 'subprocessor.deletion_confirmed',
        subjectType: 'subprocessor',
        subjectId: subprocessorId,
        customerId: deletion.customerId,
        workflowId: deletion.workflowId,
        details: { deletionId: deletion.id, via: 'callback', late: deletion.status === 'escalated' },
      });
    }
    return confirmed?.deletion;
  });
  if (!outcome?.confirmedAt) {
    throw new HttpProblem(
      404,
      'Not Found',
      `no deletion ${confirmation.deletionId} for subprocessor ${subprocessorId}`,
    );
  }

  const confirmedAt = outcome.confirmedAt.toISOString();
  try {
    await deps.temporal.workflow.getHandle(outcome.workflowId).signal(deletionConfirmedSignal, {
      deletionId: outcome.id,
      subprocessorId,
      confirmedAt,
    });
  } catch (err) {
    // A finished erasure (escalated meanwhile) has nothing to wake: the late confirmation is recorded above.
    if (!(err instanceof WorkflowNotFoundError)) {
      deps.log.warn('could not signal the erasure of a confirmed deletion', {
        deletionId: outcome.id,
        err: (err as Error).message,
      });
      throw new HttpProblem(503, 'Service Unavailable', 'confirmation recorded; retry so the erasure learns of it');
    }
  }
  return { deletionId: outcome.id, confirmedAt };
}
