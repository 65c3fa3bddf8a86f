/**
 * The OpenAPI document, generated from the same zod schemas that validate requests, so it cannot drift from them.
 */
import { CustomerIdParam, RequestIdParam } from '../lib/schemas/params';
import { OpenAPIRegistry, OpenApiGeneratorV31 } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';
import { registerAccessRequestsOpenApi } from './routes/access-requests';
import { registerAuditOpenApi } from './routes/audit';
import { registerCertificateKeyOpenApi, registerCertificatesOpenApi } from './routes/certificates';
import { registerContractsOpenApi } from './routes/contracts';
import { registerCorrectionRequestsOpenApi } from './routes/correction-requests';
import { registerDeletionRequestsOpenApi } from './routes/deletion-requests';
import { registerPublicLinksOpenApi } from './routes/public-links';
import { registerRequestQueueOpenApi } from './routes/request-queue';
import { registerRetentionPoliciesOpenApi } from './routes/retention-policies';
import { registerSessionOpenApi } from './routes/session';
import { registerAcknowledgeLinkOpenApi, registerTerminationOpenApi } from './routes/termination';
import { ListCustomersQuery, OnboardingInput } from '../lib/schemas/onboarding';
import { registerLegalHoldPaths, registerSubprocessorCallbackPath } from '../lib/schemas/legal-holds';
import { SubprocessorInput } from '../lib/schemas/subprocessors';
import { PendingChangeAnswer } from '../lib/schemas/change-requests';
import { registerChangeRequestsOpenApi } from './routes/change-requests';

const Problem = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string().optional(),
    instance: z.string().optional(),
    errors: z.array(z.object({ field: z.string(), rule: z.string(), message: z.string() })).optional(),
  })
  .meta({ id: 'Problem' });

const OnboardingStarted = z
  .object({
    requestId: z.uuid(),
    customerId: z.uuid(),
    workflowId: z.string(),
    replayed: z.boolean(),
    status: z
      .enum(['received', 'running', 'completed', 'failed', 'cancelled'])
      .describe(
        '`running` once the workflow started; `received` while its start is owed (Temporal unavailable: the start reconciler starts it); a replayed Idempotency-Key answers the current status',
      ),
    links: z.object({ request: z.string(), customer: z.string() }),
  })
  .meta({ id: 'OnboardingStarted' });

const RequestStatus = z
  .object({
    id: z.uuid(),
    type: z.enum(['onboarding', 'access', 'correction', 'deletion', 'termination', 'retention']),
    customerId: z.uuid(),
    status: z.enum(['received', 'running', 'completed', 'failed', 'cancelled']),
    stage: z.string(),
    progress: z.unknown().nullable(),
    activities: z
      .array(
        z.object({
          activityType: z.string(),
          state: z.string(),
          attempt: z.number().int(),
          summary: z.string().meta({ example: 'retrying after heartbeat timeout, attempt 2' }),
          lastCheckpoint: z.unknown(),
          lastHeartbeatAt: z.string().nullable(),
          lastFailure: z.object({ message: z.string(), timeout: z.string().optional() }).nullable(),
          nextAttemptAt: z.string().nullable(),
        }),
      )
      .nullable()
      .describe("The running request's pending activities as Temporal records them (attempt, last checkpoint)"),
    dueOn: z.string().nullable(),
    receivedAt: z.string(),
    completedAt: z.string().nullable(),
    outcome: z.record(z.string(), z.unknown()).nullable(),
    failureReason: z.string().nullable(),
    reasons: z
      .array(
        z.object({
          kind: z.enum(['extension_reason', 'waiver_reason']),
          text: z.string(),
          actor: z.string(),
          givenAt: z.string(),
        }),
      )
      .meta({ description: 'Reasons staff gave for decisions (kept in the database; workflows carry only their id)' }),
    workflowId: z.string(),
  })
  .meta({ id: 'RequestStatus' });

const problem = (description: string) => ({
  description,
  content: { 'application/problem+json': { schema: Problem } },
});

/** Builds the OpenAPI 3.1 document. */
export function buildOpenApiDocument(): ReturnType<OpenApiGeneratorV31['generateDocument']> {
  const registry = new OpenAPIRegistry();
  const bearer = registry.registerComponent('securitySchemes', 'bearer', {
    type: 'http',
    scheme: 'bearer',
    description: 'Staff token created with `npm run cli -- token create --role <role> --name <name>`',
  });
  const security = [{ [bearer.name]: [] }];
  registry.registerPath({
    method: 'post',
    path: '/v1/customers',
    summary: 'Onboard a customer (starts the onboarding workflow)',
    request: {
      headers: z.object({ 'Idempotency-Key': z.string().optional() }),
      body: { content: { 'application/json': { schema: OnboardingInput } } },
    },
    responses: {
      202: {
        description: 'Onboarding started (or replayed for the same Idempotency-Key)',
        content: { 'application/json': { schema: OnboardingStarted } },
      },
      400: problem('Invalid input; `errors` names each field and rule. Nothing was started.'),
      409: problem('A customer with this registration number exists or is being onboarded'),
      422: problem('Idempotency-Key reused with a different body'),
      503: problem(
        'the database is unavailable (Retry-After): nothing was accepted. Temporal unavailable is no error: 202 with status received',
      ),
    },
  });
  registry.registerPath({
    method: 'get',
    path: '/v1/customers',
    summary: 'List customers (keyset pagination)',
    request: { query: ListCustomersQuery },
    responses: { 200: { description: 'A page of customers' }, 400: problem('Invalid query') },
  });
  registry.registerPath({
    method: 'get',
    path: '/v1/customers/{id}',
    summary: 'A customer with contacts, seller accounts, contract and subprocessors',
    request: { params: CustomerIdParam },
    responses: { 200: { description: 'The customer' }, 404: problem('No such customer') },
  });
  registry.registerPath({
    method: 'get',
    path: '/v1/requests/{requestId}',
    summary: 'Stage, progress, due date and outcome of a lifecycle request',
    request: { params: RequestIdParam },
    responses: {
      200: { description: 'The request', content: { 'application/json': { schema: RequestStatus } } },
      404: problem('No such request'),
    },
  });
  registry.registerPath({
    method: 'get',
    path: '/v1/subprocessors',
    summary: 'The subprocessor registry (secrets are never returned)',
    responses: { 200: { description: 'All subprocessors' } },
  });
  registry.registerPath({
    method: 'post',
    path: '/v1/subprocessors',
    summary: 'Register or update a subprocessor (admin); a new one, or a new URL or secret, waits for a second admin',
    description:
      'The URL must be https (plain http only with SUBPROCESSOR_ALLOW_HTTP outside production) and resolve to public ' +
      'addresses only (loopback, private, link-local and metadata addresses are refused unless listed in ' +
      'SUBPROCESSOR_ALLOWED_HOSTS). Creating a subprocessor or changing its URL or secret answers 202 with a change ' +
      'request that another admin approves at `/v1/change-requests/{id}/approve`; a change of name, categories or ' +
      'active flag applies at once (200).',
    request: { body: { content: { 'application/json': { schema: SubprocessorInput } } } },
    responses: {
      200: { description: 'Updated (name, categories or active flag)' },
      202: {
        description: 'Waits for a second admin (Location: the change request)',
        content: { 'application/json': { schema: PendingChangeAnswer } },
      },
      400: problem(
        'Invalid input; `errors` names each field and rule (body.baseUrl: https_required, not_public_address, ' +
          'metadata_address, unresolvable, credentials_in_url)',
      ),
      409: problem('A change of this subprocessor is already pending'),
    },
  });
  registerChangeRequestsOpenApi(registry);
  registerAuditOpenApi(registry);
  registerAccessRequestsOpenApi(registry, problem);
  registerCorrectionRequestsOpenApi(registry, problem);
  registerDeletionRequestsOpenApi(registry, problem);
  registerRetentionPoliciesOpenApi(registry);
  registerContractsOpenApi(registry);
  registerLegalHoldPaths(registry, problem);
  registerCertificatesOpenApi(registry, problem);
  registerTerminationOpenApi(registry, problem);
  registerRequestQueueOpenApi(registry, problem);
  registerSessionOpenApi(registry);
  // Every /v1 route needs a staff token; say so once for all of them.
  for (const def of registry.definitions) {
    if (def.type === 'route' && def.route.path.startsWith('/v1/')) {
      def.route.security = security;
      def.route.responses[401] ??= problem('No or invalid bearer token');
      def.route.responses[403] ??= problem('The token role lacks the permission this route needs');
    }
  }
  // Registered after the loop above: authenticated by its body signature, not by a staff token.
  registerSubprocessorCallbackPath(registry, problem);
  registerPublicLinksOpenApi(registry, problem);
  registerCertificateKeyOpenApi(registry);
  registerAcknowledgeLinkOpenApi(registry, problem);
  for (const path of ['/healthz', '/readyz']) {
    registry.registerPath({
      method: 'get',
      path,
      responses: { 200: { description: 'OK' }, 503: { description: 'Not ready' } },
    });
  }
  return new OpenApiGeneratorV31(registry.definitions).generateDocument({
    openapi: '3.1.0',
    info: {
      title: 'Data lifecycle orchestration API',
      version: '1',
      description:
        'Starts and reports durable privacy processes (onboarding, access, correction, retention, termination).',
    },
  });
}
