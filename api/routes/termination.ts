/**
 * Contract termination:
 * - `POST /v1/customers/{id}/termination`: schedule it (effective date, reason; a privacy officer may override the
 *   contract's disposition). 202 with the request; 409 while one runs.
 * - `DELETE /v1/customers/{id}/termination`: cancel it before its effective date (an update the workflow validates;
 *   the workflow records and audits the cancellation). 409 once it took effect.
 * - `POST /v1/customers/{id}/termination/acknowledgement`: staff record that the customer acknowledged the returned
 *   data (e.g. by phone or letter), as the acknowledgement link does.
 * - `GET /acknowledge/{token}`: the page of the public acknowledgement link mailed to the primary contact (what is
 *   acknowledged, a button); it changes nothing. `POST /acknowledge` with `token` in the body (the page's form) or
 *   `POST /acknowledge/{token}`: acknowledge; single use, expiring with the grace period. Pages for people, JSON for
 *   clients that ask for it (api/pages/acknowledgement.ts).
 */
import type { OpenAPIRegistry, ResponseConfig } from '@asteasolutions/zod-to-openapi';
import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import { PublicLinkParam } from '../../lib/schemas/access-request';
import { CustomerIdParam } from '../../lib/schemas/params';
import { TerminationInput, TerminationStarted } from '../../lib/schemas/termination';
import { TERMINATION_NOT_CANCELLABLE } from '../../lib/pure/termination-messages';
import { cancelTerminationUpdate } from '../../workflows/termination';
import type { AppDeps } from '../deps';
import { executeRequestUpdate } from '../workflow-calls';
import { acknowledgedPage, acknowledgementPage } from '../pages/acknowledgement';
import { pageErrorHandler, sendPage, wantsJson } from '../pages/render';
import { HttpProblem, parseOr400 } from '../problem';
import { describeAcknowledgeLink } from '../use-cases/public-link-pages';
import { acknowledgeReturnAsStaff, acknowledgeReturnByLink } from '../use-cases/acknowledge-return';
import { linkFormBody } from './public-links';
import { runningTermination, startTermination } from '../use-cases/start-termination';

export function terminationRouter(deps: AppDeps): Router {
  const router = Router();

  async function running(customerId: string) {
    const request = await runningTermination(deps.db, customerId);
    if (!request) throw new HttpProblem(404, 'No termination running', `customer ${customerId} has none running`);
    return request;
  }

  router.post('/v1/customers/:id/termination', async (req, res) => {
    const { id } = parseOr400(CustomerIdParam, req.params, 'path');
    const input = parseOr400(TerminationInput, req.body, 'body');
    const staff = res.locals.staff as { role: string };
    if (input.disposition !== undefined && staff.role !== 'privacy_officer') {
      throw new HttpProblem(403, 'Privacy officer only', 'body.disposition: only a privacy officer may override it', {
        errors: [{ field: 'body.disposition', rule: 'privacy_officer_only', message: 'only a privacy officer' }],
      });
    }
    const effectiveAt = input.effectiveAt ? new Date(input.effectiveAt) : new Date();
    const started = await startTermination(deps, {
      customerId: id,
      actor: res.locals.actor as string,
      effectiveAt,
      reason: input.reason,
      ...(input.disposition ? { dispositionOverride: input.disposition } : {}),
    });
    res
      .status(202)
      .location(`/v1/requests/${started.requestId}`)
      .json({ ...started, links: { request: `/v1/requests/${started.requestId}` } });
  });

  router.delete('/v1/customers/:id/termination', async (req, res) => {
    const { id } = parseOr400(CustomerIdParam, req.params, 'path');
    const request = await running(id);
    const actor = res.locals.actor as string;
    const { cancelledAt } = await executeRequestUpdate(
      deps.temporal,
      request.workflow_id,
      cancelTerminationUpdate,
      [{ actor }],
      {
        refusal: (f) =>
          f.type === TERMINATION_NOT_CANCELLABLE ? new HttpProblem(409, 'Cannot cancel', f.message) : undefined,
        ended: new HttpProblem(409, 'Cannot cancel', 'the termination has ended'),
      },
    );
    res.json({ requestId: request.id, status: 'cancelled', cancelledAt });
  });

  router.post('/v1/customers/:id/termination/acknowledgement', async (req, res) => {
    const { id } = parseOr400(CustomerIdParam, req.params, 'path');
    res.json(await acknowledgeReturnAsStaff(deps, id, res.locals.actor as string));
  });

  router.get('/acknowledge/:token', async (req, res) => {
    const { token } = parseOr400(PublicLinkParam, req.params, 'path');
    const view = await describeAcknowledgeLink(deps, token);
    if (wantsJson(req)) {
      res.set('Cache-Control', 'no-store').json({
        status: 'awaiting_acknowledgement',
        requestId: view.requestId,
        companyName: view.companyName,
        returned: view.archive ?? null,
        linkExpiresAt: view.linkExpiresAt.toISOString(),
        acknowledge: { method: 'POST', href: '/acknowledge', body: { token } },
      });
      return;
    }
    sendPage(res, deps.config.brand, 200, acknowledgementPage(deps.config.brand, view, token));
  });

  async function acknowledge(req: Request, res: Response, token: string) {
    const answer = await acknowledgeReturnByLink(deps, token);
    if (!wantsJson(req)) {
      sendPage(res, deps.config.brand, 200, acknowledgedPage(deps.config.brand, answer));
      return;
    }
    res.json({
      status: 'acknowledged',
      ...answer,
      message: 'Thank you: receipt is acknowledged. You will receive a deletion certificate once the deletion is done.',
    });
  }

  // The page's form posts the token in the body; the path form stays for clients of the first version.
  router.post('/acknowledge', linkFormBody, async (req, res) => {
    const { token } = parseOr400(PublicLinkParam, req.body, 'body');
    await acknowledge(req, res, token);
  });
  router.post('/acknowledge/:token', async (req, res) => {
    const { token } = parseOr400(PublicLinkParam, req.params, 'path');
    await acknowledge(req, res, token);
  });

  // Refusals of the public link are pages for people (the staff routes above answer problem+json: they ask JSON).
  router.use('/acknowledge', pageErrorHandler({ brand: deps.config.brand, log: deps.log }));
  return router;
}

/** Adds the termination paths to the OpenAPI document. */
export function registerTerminationOpenApi(
  registry: OpenAPIRegistry,
  problem: (description: string) => ResponseConfig,
): void {
  registry.registerPath({
    method: 'post',
    path: '/v1/customers/{id}/termination',
    summary: 'Schedule the contract termination (return or delete everything, everywhere, and certify it)',
    request: {
      params: CustomerIdParam,
      body: { content: { 'application/json': { schema: TerminationInput } } },
    },
    responses: {
      202: { description: 'Scheduled', content: { 'application/json': { schema: TerminationStarted } } },
      400: problem('Invalid input; nothing was started'),
      403: problem('Only a privacy officer may override the disposition'),
      404: problem('No such customer'),
      409: problem('A termination is already running, or the customer is not active'),
      503: problem(
        'the database is unavailable (Retry-After): nothing was accepted. Temporal unavailable is no error: 202 with status received',
      ),
    },
  });
  registry.registerPath({
    method: 'delete',
    path: '/v1/customers/{id}/termination',
    summary: 'Cancel the termination before its effective date',
    request: { params: CustomerIdParam },
    responses: {
      200: { description: 'Cancelled' },
      404: problem('No termination running'),
      409: problem('The termination has taken effect'),
    },
  });
  registry.registerPath({
    method: 'post',
    path: '/v1/customers/{id}/termination/acknowledgement',
    summary: 'Record that the customer acknowledged the returned data (staff)',
    request: { params: CustomerIdParam },
    responses: {
      200: { description: 'Acknowledged; the termination proceeds to approval' },
      404: problem('No termination running'),
      409: problem('The termination is not waiting for an acknowledgement'),
    },
  });
}

/** The public acknowledgement link (no staff token), registered after the /v1 security loop. */
export function registerAcknowledgeLinkOpenApi(
  registry: OpenAPIRegistry,
  problem: (description: string) => ResponseConfig,
): void {
  const html = { 'text/html': { schema: z.string() } };
  registry.registerPath({
    method: 'get',
    path: '/acknowledge/{token}',
    summary: 'Page of the acknowledgement link: what is acknowledged, and the button (changes nothing)',
    request: { params: PublicLinkParam },
    responses: {
      200: { description: 'The page (JSON with Accept: application/json)', content: html },
      404: problem('Not a link of this service'),
      410: problem('Expired, used already, or the return period has closed'),
    },
  });
  for (const path of ['/acknowledge', '/acknowledge/{token}'] as const) {
    registry.registerPath({
      method: 'post',
      path,
      summary:
        path === '/acknowledge'
          ? 'Acknowledge receipt of the data returned on termination: the token in the body (the page form, or JSON)'
          : 'Acknowledge receipt, the token in the path (kept for earlier clients)',
      request:
        path === '/acknowledge'
          ? {
              body: {
                content: {
                  'application/x-www-form-urlencoded': { schema: PublicLinkParam },
                  'application/json': { schema: PublicLinkParam },
                },
              },
            }
          : { params: PublicLinkParam },
      responses: {
        200: { description: 'Acknowledged (a page, or JSON)', content: html },
        404: problem('Not a link of this service'),
        410: problem('Expired, used already, or the return period has closed'),
        503: problem('Could not be recorded; the link stays usable'),
      },
    });
  }
}
