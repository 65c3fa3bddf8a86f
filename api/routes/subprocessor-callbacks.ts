/**
 * `POST /v1/subprocessor-callbacks/:subprocessorId`: a subprocessor confirms a deletion (protocol v1). No bearer
 * token (the route is public in api/route-permissions.ts); instead the body must carry `X-Signature`, the HMAC of its
 * exact bytes under that subprocessor's shared secret. The confirmation is recorded (receipt + audit) and then the
 * erasure workflow that waits for it is signalled, found through the deletion request's `workflow_id`.
 */
import { createHash } from 'node:crypto';
import { WorkflowNotFoundError } from '@temporalio/client';
import express, { Router, type RequestHandler } from 'express';
import { auditEvents } from '../../db/repositories/audit-events';
import { deletionRequests } from '../../db/repositories/deletion-requests';
import { subprocessors } from '../../db/repositories/subprocessors';
import { deletionConfirmedSignal } from '../../workflows/erasure';
import { DeletionCallback, SubprocessorCallbackParams } from '../../lib/schemas/legal-holds';
import { IDEMPOTENCY_HEADER, SIGNATURE_HEADER, verifySignature } from '../../lib/signature';
import type { AppDeps } from '../deps';
import { HttpProblem, parseOr400 } from '../problem';

/** Where the callbacks live: `callbackUrl` = PUBLIC_BASE_URL + this + `/<subprocessorId>`. */
export const SUBPROCESSOR_CALLBACK_PATH = '/v1/subprocessor-callbacks';

/**
 * Keeps the raw body bytes of the callback route (mounted on {@link SUBPROCESSOR_CALLBACK_PATH} before the JSON
 * parser, which then leaves the request alone): the signature covers the bytes exactly as sent.
 */
export function subprocessorCallbackBody(): RequestHandler {
  return express.raw({ type: () => true, limit: '64kb' });
}

export function subprocessorCallbacksRouter(deps: AppDeps): Router {
  const router = Router();

  router.post(`${SUBPROCESSOR_CALLBACK_PATH}/:subprocessorId`, async (req, res) => {
    const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const params = SubprocessorCallbackParams.safeParse(req.params);
    const sub = params.success ? await subprocessors.findById(deps.db, params.data.subprocessorId) : undefined;
    // Unknown subprocessor and bad signature answer alike, so the registry cannot be probed.
    if (!sub || !verifySignature(raw, req.get(SIGNATURE_HEADER), sub.signingSecret)) {
      deps.log.warn('subprocessor callback refused: bad signature', {
        event: 'security.bad_callback_signature',
        subprocessorId: params.success ? params.data.subprocessorId : undefined,
        ip: req.ip,
      });
      throw new HttpProblem(401, 'Unauthorized', `${SIGNATURE_HEADER} does not match the body`);
    }
    let json: unknown;
    try {
      json = JSON.parse(raw.toString('utf8'));
    } catch {
      throw new HttpProblem(400, 'Bad Request', 'body is not valid JSON');
    }
    const body = parseOr400(DeletionCallback, json, 'body');

    const outcome = await deps.db.transaction(async (trx) => {
      const deletion = await deletionRequests.lock(trx, body.deletionId);
      if (!deletion || deletion.subprocessorId !== sub.id) return undefined;
      if (body.tenantId !== undefined && body.tenantId !== deletion.customerId) {
        throw new HttpProblem(400, 'Bad Request', 'tenantId is not the tenant of this deletion', {
          errors: [{ field: 'body.tenantId', rule: 'mismatch', message: 'is not the tenant of this deletion' }],
        });
      }
      const confirmed = await deletionRequests.confirm(trx, deletion.id, 'callback', {
        idempotencyKey: req.get(IDEMPOTENCY_HEADER) ?? null,
        bodySha256: createHash('sha256').update(raw).digest('hex'),
      });
      if (confirmed?.newlyConfirmed) {
        await auditEvents.append(trx, {
          actor: `subprocessor:${sub.id}`,
          action: 'subprocessor.deletion_confirmed',
          subjectType: 'subprocessor',
          subjectId: sub.id,
          customerId: deletion.customerId,
          workflowId: deletion.workflowId,
          details: { deletionId: deletion.id, via: 'callback', late: deletion.status === 'escalated' },
        });
      }
      return confirmed?.deletion;
    });
    if (!outcome?.confirmedAt) {
      throw new HttpProblem(404, 'Not Found', `no deletion ${body.deletionId} for subprocessor ${sub.id}`);
    }

    const confirmedAt = outcome.confirmedAt.toISOString();
    try {
      await deps.temporal.workflow.getHandle(outcome.workflowId).signal(deletionConfirmedSignal, {
        deletionId: outcome.id,
        subprocessorId: sub.id,
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
    res.json({ deletionId: outcome.id, status: 'confirmed', confirmedAt });
  });

  return router;
}
