/** `/v1/customers`: onboarding and reading customers. */
import { CustomerIdParam, IdempotencyKeyHeader } from '../../lib/schemas/params';
import { Router } from 'express';
import { customers } from '../../db/repositories/customers';
import { ListCustomersQuery, OnboardingInput } from '../../lib/schemas/onboarding';
import { HttpProblem, parseHeaderOr400, parseOr400 } from '../problem';
import type { AppDeps } from '../deps';
import { startOnboarding } from '../use-cases/start-onboarding';

export function customersRouter(deps: AppDeps): Router {
  const router = Router();

  router.post('/v1/customers', async (req, res) => {
    const idempotencyKey = parseHeaderOr400(IdempotencyKeyHeader, req, 'Idempotency-Key');
    const input = parseOr400(OnboardingInput, req.body, 'body');
    const result = await startOnboarding(
      { db: deps.db, temporal: deps.temporal, taskQueue: deps.taskQueue, log: deps.log, config: deps.config },
      input,
      { idempotencyKey, actor: res.locals.actor as string },
    );
    res
      .status(202)
      .location(`/v1/requests/${result.requestId}`)
      .json({
        ...result,
        links: { request: `/v1/requests/${result.requestId}`, customer: `/v1/customers/${result.customerId}` },
      });
  });

  router.get('/v1/customers', async (req, res) => {
    const query = parseOr400(ListCustomersQuery, req.query, 'query');
    const page = await customers.list(deps.db, query);
    const last = page.at(-1);
    res.json({
      items: page,
      next: page.length === query.limit && last ? `/v1/customers?limit=${query.limit}&after=${last.id}` : null,
    });
  });

  router.get('/v1/customers/:id', async (req, res) => {
    const { id } = parseOr400(CustomerIdParam, req.params, 'path');
    const customer = await customers.details(deps.db, id);
    if (!customer) throw new HttpProblem(404, 'Customer not found', `no customer ${id}`);
    res.json(customer);
  });

  return router;
}
