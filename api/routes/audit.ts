/** `/v1/audit-events` and `/v1/audit/verify`: reading and verifying the hash-chained audit log. */
import type { OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import { Router } from 'express';
import { verifyAuditIntegrity } from '../../db/audit-integrity';
import { auditEvents } from '../../db/repositories/audit-events';
import { AuditEventPage, AuditVerifyReport, ListAuditEventsQuery, VerifyAuditQuery } from '../../lib/schemas/audit';
import { parseOr400 } from '../problem';
import type { AppDeps } from '../deps';

/** Link to the page after the one that ended with `lastId`, keeping the filters. */
function nextPage(query: ListAuditEventsQuery, lastId: string): string {
  const params = new URLSearchParams();
  for (const key of ['customerId', 'requestId', 'actor', 'action', 'from', 'to'] as const) {
    const value = query[key];
    if (value !== undefined) params.set(key, value);
  }
  params.set('limit', String(query.limit));
  params.set('after', lastId);
  return `/v1/audit-events?${params.toString()}`;
}

export function auditRouter(deps: Pick<AppDeps, 'db'>): Router {
  const router = Router();

  router.get('/v1/audit-events', async (req, res) => {
    const query = parseOr400(ListAuditEventsQuery, req.query, 'query');
    const page = await auditEvents.list(deps.db, {
      customerId: query.customerId,
      requestId: query.requestId,
      actor: query.actor,
      action: query.action,
      from: query.from === undefined ? undefined : new Date(query.from),
      to: query.to === undefined ? undefined : new Date(query.to),
      after: query.after,
      limit: query.limit,
    });
    const last = page.at(-1);
    res.json({ items: page, next: page.length === query.limit && last ? nextPage(query, last.id) : null });
  });

  router.get('/v1/audit/verify', async (req, res) => {
    const { customerId } = parseOr400(VerifyAuditQuery, req.query, 'query');
    res.json(await verifyAuditIntegrity(deps.db, { customerId }));
  });

  return router;
}

/** Adds both audit paths to the OpenAPI document. Problems refer to the `Problem` component of api/openapi.ts. */
export function registerAuditOpenApi(registry: OpenAPIRegistry): void {
  const problem = (description: string) => ({
    description,
    content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
  });
  registry.registerPath({
    method: 'get',
    path: '/v1/audit-events',
    summary: 'Audit events, filtered, in id (chain) order with keyset pagination',
    description:
      'Every state change leaves an event. Events carry ids, counts and hashes, never personal data, plus their ' +
      'content hash and their links in the global chain and (when they name a customer) the customer chain.',
    request: { query: ListAuditEventsQuery },
    responses: {
      200: { description: 'A page of events', content: { 'application/json': { schema: AuditEventPage } } },
      400: problem('Invalid query; `errors` names each parameter and rule'),
    },
  });
  registry.registerPath({
    method: 'get',
    path: '/v1/audit/verify',
    summary: 'Verify the global audit chain, or one customer chain',
    description:
      'Walks the chain from its latest retention anchor (or the genesis hash) and reports the first event whose ' +
      'content, previous-hash link, chain hash, position or MAC (HMAC under AUDIT_HMAC_KEYS) does not hold; for the ' +
      'global chain also checks the signed checkpoints and purge anchors of AUDIT_CHECKPOINT_PATH (a truncated tail, ' +
      'a rewrite, a purge nobody signed). A broken chain is a finding, answered 200 with ok=false.',
    request: { query: VerifyAuditQuery },
    responses: {
      200: { description: 'The verification report', content: { 'application/json': { schema: AuditVerifyReport } } },
      400: problem('Invalid query'),
    },
  });
}
