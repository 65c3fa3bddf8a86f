/**
 * The API process while the servers it needs are away (api/unavailable.ts, api/use-cases/start-request-workflow.ts):
 *
 * - the private PostgreSQL stopped (`pg_ctl stop -m immediate`): every route answers 503 problem+json with
 *   Retry-After, never 500; nothing is accepted;
 * - the Temporal dev server killed (SIGKILL): onboardings are accepted within TEMPORAL_START_TIMEOUT (202,
 *   `received`, the request and its `onboarding.requested` event committed); once the server is back, a worker's start
 *   reconciler schedule starts them and they complete; a replayed Idempotency-Key answers `completed`.
 */
import { auditEvents } from '../../db/repositories/audit-events';
import { onboardingBody } from '../support/fixtures';
import { startFaultStack, type FaultStack } from './support/fault-stack';
import { reportFigures, secondsSince } from './support/figures';
import { SUBPROCESSORS } from './support/onboardings';
import { waitUntil } from './support/processes';

const START_TIMEOUT_MS = 2000;
let stack: FaultStack;

beforeAll(async () => {
  stack = await startFaultStack({
    name: 'api-outages',
    api: true,
    env: { TEMPORAL_START_TIMEOUT: 'PT2S', REQUEST_START_RECONCILE_INTERVAL: 'PT2S' },
  });
});
afterAll(async () => {
  await stack?.stop();
});

/** Calls the API process with a token made beforehand (the database may be down): status, headers, parsed body. */
async function call(token: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const started = Date.now();
  const res = await fetch(`${stack.api!.url}${path}`, {
    method,
    headers: {
      Authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
      ...headers,
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return {
    status: res.status,
    retryAfter: res.headers.get('retry-after'),
    contentType: res.headers.get('content-type') ?? '',
    body: text ? JSON.parse(text) : null,
    ms: Date.now() - started,
  };
}

test('PostgreSQL down: every route answers 503 problem+json with Retry-After, never 500', async () => {
  const token = await stack.token('support');
  const known = await stack.http('POST', '/v1/customers', onboardingBody(SUBPROCESSORS));
  expect(known.status).toBe(202);

  stack.postgres.stop('immediate');
  const answers: Record<string, { status: number; retryAfter: string | null; ms: number }> = {};
  try {
    for (const [method, path, body] of [
      ['GET', '/v1/customers'],
      ['POST', '/v1/customers', onboardingBody(SUBPROCESSORS)],
      ['GET', `/v1/requests/${known.body.requestId}`],
      ['GET', `/v1/customers/${known.body.customerId}`],
      ['GET', '/v1/audit-events'],
    ] as [string, string, unknown?][]) {
      const res = await call(token, method, path, body);
      answers[`${method} ${path}`] = { status: res.status, retryAfter: res.retryAfter, ms: res.ms };
      expect([method, path, res.status, res.contentType.includes('application/problem+json')]).toEqual([
        method,
        path,
        503,
        true,
      ]);
      expect(res.retryAfter).toMatch(/^\d+$/);
    }
  } finally {
    stack.postgres.start();
  }
  reportFigures('api-outages/postgres-down', { answers });
  await waitUntil(
    'the API ready again',
    async () => ((await fetch(`${stack.api!.url}/readyz`)).ok ? true : undefined),
    {
      timeoutMs: 120_000,
      intervalMs: 500,
    },
  );
});

test('Temporal down: onboardings accepted (202 received) within the start timeout, started by the reconciler once it is back', async () => {
  const token = await stack.token('support');
  const started = Date.now();
  await stack.temporal.kill();
  const accepted: { requestId: string; workflowId: string; key: string; body: unknown; ms: number }[] = [];
  for (let i = 0; i < 3; i++) {
    const body = onboardingBody(SUBPROCESSORS);
    const key = `api-outage-${i}-${Date.now()}`;
    const res = await call(token, 'POST', '/v1/customers', body, { 'Idempotency-Key': key });
    expect([res.status, res.body.status]).toEqual([202, 'received']);
    accepted.push({ requestId: res.body.requestId, workflowId: res.body.workflowId, key, body, ms: res.ms });
  }
  // Accepted means recorded: the request and its event, its start owed.
  for (const a of accepted) {
    const row = await stack.db('lifecycle_requests').where({ id: a.requestId }).first();
    expect(row).toMatchObject({ status: 'received', workflow_started_at: null });
    expect(await auditEvents.list(stack.db, { requestId: a.requestId, action: 'onboarding.requested' })).toHaveLength(
      1,
    );
  }

  await stack.temporal.start();
  const back = Date.now();
  // The worker ensures the schedules at start, the start reconciler among them (every 2 s here).
  await stack.startWorker();
  await waitUntil(
    'the accepted onboardings completed',
    async () => {
      const rows = await stack
        .db('lifecycle_requests')
        .whereIn(
          'id',
          accepted.map((a) => a.requestId),
        )
        .select('status');
      return rows.every((r) => r.status === 'completed') ? true : undefined;
    },
    { timeoutMs: 300_000, intervalMs: 500 },
  );
  const replay = await call(token, 'POST', '/v1/customers', accepted[0]!.body, { 'Idempotency-Key': accepted[0]!.key });
  expect(replay.body).toMatchObject({ requestId: accepted[0]!.requestId, replayed: true, status: 'completed' });

  reportFigures('api-outages/temporal-down', {
    seconds: secondsSince(started),
    startTimeoutMs: START_TIMEOUT_MS,
    acceptMs: accepted.map((a) => a.ms),
    secondsToCompleteAfterRestart: secondsSince(back),
  });
});
