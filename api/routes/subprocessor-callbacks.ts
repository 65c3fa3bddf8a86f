/**
 * `POST /v1/subprocessor-callbacks/:subprocessorId`: a subprocessor confirms a deletion (protocol v1). No bearer
 * token (the route is public in api/route-permissions.ts); instead the body must carry `X-Signature`, the HMAC of its
 * exact bytes under that subprocessor's shared secret. Recording the confirmation and waking the erasure is the use
 * case api/use-cases/confirm-subprocessor-deletion.ts.
 */
import express, { Router, type RequestHandler } from 'express';
import { subprocessors } from '../../db/repositories/subprocessors';
import { DeletionCallback, SubprocessorCallbackParams } from '../../lib/schemas/legal-holds';
import { IDEMPOTENCY_HEADER, SIGNATURE_HEADER, verifySignature } from '../../lib/signature';
import type { AppDeps } from '../deps';
import { HttpProblem, parseOr400 } from '../problem';
import { confirmSubprocessorDeletion } from '../use-cases/confirm-subprocessor-deletion';

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

    const confirmed = await confirmSubprocessorDeletion(deps, {
      subprocessorId: sub.id,
      deletionId: body.deletionId,
      ...(body.tenantId !== undefined ? { tenantId: body.tenantId } : {}),
      idempotencyKey: req.get(IDEMPOTENCY_HEADER) ?? null,
      rawBody: raw,
    });
    res.json({ deletionId: confirmed.deletionId, status: 'confirmed', confirmedAt: confirmed.confirmedAt });
  });

  return router;
}
