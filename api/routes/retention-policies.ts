/**
 * `/v1/retention-policies`: reading the retention policy of each data category and changing it (privacy officer).
 * Every change is a new version, audited with the new version number; the running retention workflows of this
 * deployment are told to re-read their policies (and re-read them on their own at least every recheck interval).
 */
import type { OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import { Router, type Response } from 'express';
import { z } from 'zod';
import { retentionPolicies, type StoredRetentionPolicy } from '../../db/repositories/retention-policies';
import { ALLOWED_CLOCKS, isShorterThan } from '../../lib/pure/retention';
import {
  clockProblem,
  IfMatchHeader,
  RetentionCategoryParam,
  RetentionPolicyInput,
  RetentionPolicyList,
  RetentionPolicyView,
  RetentionPolicyWithHistory,
} from '../../lib/schemas/retention-policies';
import { PendingChangeAnswer } from '../../lib/schemas/change-requests';
import type { AppDeps } from '../deps';
import { HttpProblem, parseHeaderOr400, parseOr400, ValidationProblem } from '../problem';
import { notifyRetentionWorkflows, proposeRetentionChangeIfShortening } from '../use-cases/change-retention-policy';

function view(p: StoredRetentionPolicy) {
  return {
    category: p.category,
    period: p.period,
    clockStart: p.clockStart,
    legalBasis: p.legalBasis,
    version: p.version,
    changedBy: p.changedBy,
    changedAt: p.changedAt.toISOString(),
    policySet: p.policySet,
    allowedClocks: [...ALLOWED_CLOCKS[p.category]],
  };
}

function etag(res: Response, p: StoredRetentionPolicy): void {
  res.set('ETag', `"${p.version}"`);
}

export function retentionPoliciesRouter(deps: AppDeps): Router {
  const router = Router();
  const policySet = deps.config.retention.policySet;

  router.get('/v1/retention-policies', async (_req, res) => {
    await retentionPolicies.ensureSet(deps.db, policySet);
    const items = await retentionPolicies.list(deps.db, policySet);
    res.json({ policySet, items: items.map(view) });
  });

  router.get('/v1/retention-policies/:category', async (req, res) => {
    const { category } = parseOr400(RetentionCategoryParam, req.params, 'path');
    await retentionPolicies.ensureSet(deps.db, policySet);
    const current = await retentionPolicies.get(deps.db, policySet, category);
    if (!current) throw new HttpProblem(404, 'Retention policy not found', `no policy for ${category}`);
    const history = await retentionPolicies.history(deps.db, policySet, category);
    etag(res, current);
    res.json({
      ...view(current),
      history: history.map((h) => ({
        version: h.version,
        period: h.period,
        clockStart: h.clockStart,
        legalBasis: h.legalBasis,
        changedBy: h.changedBy,
        changedAt: h.changedAt.toISOString(),
      })),
    });
  });

  router.put('/v1/retention-policies/:category', async (req, res) => {
    const { category } = parseOr400(RetentionCategoryParam, req.params, 'path');
    const ifMatch = parseHeaderOr400(IfMatchHeader, req, 'If-Match');
    const input = parseOr400(RetentionPolicyInput, req.body, 'body');
    const problem = clockProblem(category, input.clockStart);
    if (problem)
      throw new ValidationProblem([{ field: 'body.clockStart', rule: 'clock_not_allowed', message: problem }]);
    // The audit log is the evidence of everything else: no policy may keep it shorter than the floor.
    const floor = deps.config.audit.retentionFloor;
    if (category === 'audit_log' && isShorterThan(input.period, floor)) {
      throw new ValidationProblem([
        {
          field: 'body.period',
          rule: 'audit_retention_floor',
          message: `must be at least ${floor} for audit_log (AUDIT_RETENTION_FLOOR): the audit log may not be kept shorter`,
        },
      ]);
    }

    const actor = res.locals.actor as string;
    await retentionPolicies.ensureSet(deps.db, policySet);
    const expectedVersion = ifMatch === undefined ? undefined : Number(ifMatch.replace(/^W\//, '').replace(/"/g, ''));
    // Shortening (or moving the clock) waits for a second privacy officer: api/use-cases/change-retention-policy.ts.
    const pending = await proposeRetentionChangeIfShortening(deps, { category, input, actor, expectedVersion });
    if (pending) {
      res.status(202).location(pending.changeRequest.links.self).json(pending);
      return;
    }
    const result = await retentionPolicies.update(deps.db, policySet, category, input, { actor, expectedVersion });
    if (!result) throw new HttpProblem(404, 'Retention policy not found', `no policy for ${category}`);
    if (result.outcome === 'version_mismatch') {
      throw new HttpProblem(412, 'Precondition Failed', `the policy is at version ${result.policy.version} now`, {
        currentVersion: result.policy.version,
      });
    }
    const changed = result.outcome === 'changed';
    const notified = changed
      ? await notifyRetentionWorkflows(deps, actor, `retention policy ${category} changed to v${result.policy.version}`)
      : false;
    etag(res, result.policy);
    res.json({ ...view(result.policy), changed, retentionWorkflowsNotified: notified });
  });

  return router;
}

/** Adds the retention policy paths to the OpenAPI document. Problems refer to the `Problem` component. */
export function registerRetentionPoliciesOpenApi(registry: OpenAPIRegistry): void {
  const problem = (description: string) => ({
    description,
    content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
  });
  registry.registerPath({
    method: 'get',
    path: '/v1/retention-policies',
    summary: "The current retention policy of every data category (this deployment's policy set)",
    responses: {
      200: { description: 'All policies', content: { 'application/json': { schema: RetentionPolicyList } } },
    },
  });
  registry.registerPath({
    method: 'get',
    path: '/v1/retention-policies/{category}',
    summary: 'One retention policy with every earlier version (ETag: the version)',
    request: { params: RetentionCategoryParam },
    responses: {
      200: { description: 'The policy', content: { 'application/json': { schema: RetentionPolicyWithHistory } } },
      400: problem('Unknown category'),
    },
  });
  registry.registerPath({
    method: 'put',
    path: '/v1/retention-policies/{category}',
    summary: 'Change a retention policy (privacy officer): a new version, audited',
    description:
      'Replaces period, clock and legal basis. A change creates version n+1, keeps version n in the history, writes ' +
      'a `retention_policy.changed` audit event naming the new version, and asks running retention workflows to ' +
      're-read their policies. Sending the policy as it stands changes nothing (`changed: false`). With ' +
      '`If-Match: "<version>"` the change applies only if the policy is still at that version. Shortening the period ' +
      'or changing the clock is not applied: it answers 202 with a change request that a second privacy officer ' +
      'approves at `/v1/change-requests/{id}/approve` (applied then, if the policy is still at this version).',
    request: {
      params: RetentionCategoryParam,
      headers: z.object({ 'If-Match': z.string().optional() }),
      body: { content: { 'application/json': { schema: RetentionPolicyInput } } },
    },
    responses: {
      200: {
        description: 'The policy after the request',
        content: {
          'application/json': {
            schema: RetentionPolicyView.extend({ changed: z.boolean(), retentionWorkflowsNotified: z.boolean() }),
          },
        },
      },
      202: {
        description: 'A shortening change: it waits for a second privacy officer (Location: the change request)',
        content: { 'application/json': { schema: PendingChangeAnswer } },
      },
      400: problem(
        'Invalid body; `errors` names each field and rule (clock_not_allowed for a clock the category lacks)',
      ),
      409: problem('A change of this policy is already pending'),
      412: problem('If-Match names another version than the current one; nothing was changed'),
    },
  });
}
