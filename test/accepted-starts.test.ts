/**
 * Accept or refuse atomically at the API (api/use-cases/start-request-workflow.ts): the request, the start it is owed
 * and its `*.requested` event commit together before the workflow start; a start that does not happen (Temporal down,
 * a failure between commit and start) is answered 202 `received` and finished by the start reconciler schedule; a
 * replayed Idempotency-Key answers the request's current status; PostgreSQL or Temporal down answers 503 problem+json
 * with Retry-After, never 500. Real Temporal dev server, real PostgreSQL; the "down" servers are closed local ports.
 */
import net from 'node:net';
import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { createApp } from '../api/app';
import { startServer, type RunningServer } from '../api/server';
import { createDb, type Db } from '../db/connection';
import { auditEvents } from '../db/repositories/audit-events';
import { armFaultPoints } from '../lib/fault-points';
import { requestStartReconcilerScheduleId } from '../lib/pure/temporal-ids';
import { ensureSchedules } from '../workers/schedules';
import { onboardingBody } from './support/fixtures';
import { reconcileStarts, until } from './support/polling';
import { startTestStack, type TestStack } from './support/test-stack';

let stack: TestStack;
let crm: string;
const servers: RunningServer[] = [];
const dbs: Db[] = [];
const connections: Connection[] = [];

beforeAll(async () => {
  // A short start timeout: the API gives Temporal 1 s, the reconciler takes what is older than 2 s.
  stack = await startTestStack({ name: 'accepted-starts', env: { TEMPORAL_START_TIMEOUT: 'PT1S' } });
  crm = await stack.addSubprocessor('crm', ['business_contact']);
});
afterEach(() => armFaultPoints(''));
afterAll(async () => {
  for (const s of servers) await s.stop();
  for (const d of dbs) await d.destroy();
  // A lazy connection to a closed port keeps retrying (and jest waiting) until it is closed.
  for (const c of connections) await c.close();
  await stack?.stop();
});

/** A local port nothing listens on (bound, then closed). */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** The stack's API app, with the database or the Temporal client replaced. */
async function apiWith(overrides: { db?: Db; temporal?: Client }): Promise<string> {
  const server = await startServer(
    createApp({
      db: overrides.db ?? stack.db,
      temporal: overrides.temporal ?? stack.client,
      taskQueue: stack.taskQueue,
      log: stack.log,
      config: stack.config,
      limits: { apiPerMinute: 100_000, authFailuresPer15Minutes: 100_000 },
    }),
    0,
  );
  servers.push(server);
  return server.url;
}

async function call(
  base: string,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
  as: 'support' | 'privacy_officer' = 'support',
) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: {
      Authorization: `Bearer ${stack.tokens[as]}`,
      ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
      ...headers,
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
}

describe('while Temporal is down', () => {
  it('an onboarding is accepted (202 received, row and event committed) and the reconciler starts it; the replay answers completed', async () => {
    const connection = Connection.lazy({ address: `127.0.0.1:${await closedPort()}` });
    connections.push(connection);
    const temporalDown = new Client({ connection, namespace: stack.config.temporal.namespace });
    const api = await apiWith({ temporal: temporalDown });
    const body = onboardingBody([crm]);
    const key = `accept-${randomUUID()}`;

    const startedAt = Date.now();
    const res = await call(api, 'POST', '/v1/customers', body, { 'Idempotency-Key': key });
    stack.log.info('accepted while Temporal was down', { ms: Date.now() - startedAt });
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ status: 'received', replayed: false });
    const { requestId, customerId, workflowId } = res.body;

    // Accepted means recorded: the request, its owed start and its event, with the start's failure noted.
    const row = await stack.db('lifecycle_requests').where({ id: requestId }).first();
    expect(row).toMatchObject({
      status: 'received',
      workflow_type: 'onboardingWorkflow',
      workflow_started_at: null,
      start_attempts: 1,
    });
    expect(row.start_error).toEqual(expect.any(String));
    expect(await auditEvents.list(stack.db, { requestId, action: 'onboarding.requested' })).toHaveLength(1);

    // A route that needs a running workflow answers 503 with Retry-After, not 500.
    const extend = await call(
      api,
      'POST',
      `/v1/requests/${requestId}/extend`,
      { reason: 'complex request' },
      {},
      'privacy_officer',
    );
    expect(extend.status).toBe(503);
    expect(extend.headers.get('content-type')).toContain('application/problem+json');
    expect(extend.headers.get('retry-after')).toMatch(/^\d+$/);

    // Temporal is back (the stack's own client): the reconciler starts the onboarding with its recorded input.
    await until('the request to be older than twice the start timeout', () =>
      Promise.resolve(
        Date.now() - new Date(row.received_at).getTime() > 2 * stack.config.temporal.startTimeoutMs ? true : undefined,
      ),
    );
    expect(await reconcileStarts(stack, [requestId])).toMatchObject({ started: [requestId], closed: [], failed: [] });
    const result = await stack.client.workflow.getHandle(workflowId).result();
    expect(result).toMatchObject({ customerId, status: 'active' });
    // A second pass finds nothing owed.
    expect(await reconcileStarts(stack, [requestId])).toMatchObject({ started: [], closed: [], failed: [] });

    // The replay answers where the request stands now, not "running".
    const replay = await stack.http('POST', '/v1/customers', body, { 'Idempotency-Key': key });
    expect(replay.status).toBe(202);
    expect(replay.body).toMatchObject({ requestId, replayed: true, status: 'completed' });
    expect(await auditEvents.list(stack.db, { requestId, action: 'onboarding.requested' })).toHaveLength(1);
  });
});

describe('a failure between the commit and the workflow start', () => {
  it('answers 202 received; the reconciler schedule chains its event and starts the access request, which then runs', async () => {
    const customer = await stack.http('POST', '/v1/customers', onboardingBody([crm]));
    await stack.client.workflow.getHandle(customer.body.workflowId).result();
    const key = `accept-${randomUUID()}`;
    const input = { requesterEmail: 'someone-unknown@example.com', scope: 'contact_information' };

    armFaultPoints('api.after-accept=throw');
    const res = await stack.http('POST', `/v1/customers/${customer.body.customerId}/access-requests`, input, {
      'Idempotency-Key': key,
    });
    armFaultPoints('');
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ status: 'received' });
    const { requestId } = res.body;
    // As if the API died right after its commit: the event waits in the audit intake, committed with the request.
    expect(await stack.db('audit_intake').where({ idempotency_key: `requested:${requestId}` })).toHaveLength(1);
    expect(await auditEvents.list(stack.db, { requestId, action: 'access.requested' })).toHaveLength(0);

    const scheduleId = requestStartReconcilerScheduleId(stack.taskQueue);
    try {
      const ensured = await ensureSchedules(stack.client, stack.config, {
        startReconciler: { requestIds: [requestId] },
        startReconcileIntervalMs: 1000,
        sweep: { customerIds: [] },
        contractEndCheck: { customerIds: [] },
      });
      expect(ensured.startReconciler).toEqual({ scheduleId, created: true });
      await until('the reconciler to start the request', async () => {
        const row = await stack.db('lifecycle_requests').where({ id: requestId }).first();
        return row.workflow_started_at ? row : undefined;
      });
    } finally {
      for (const id of [
        scheduleId,
        `retention-sweep-${stack.taskQueue}`,
        `contract-end-check-${stack.taskQueue}`,
        `audit-verify-${stack.taskQueue}`,
      ]) {
        await stack.client.schedule.getHandle(id).delete();
      }
    }
    // The reconciler chained the event before it started the request, once.
    expect(await auditEvents.list(stack.db, { requestId, action: 'access.requested' })).toHaveLength(1);
    expect(await stack.db('audit_intake').where({ idempotency_key: `requested:${requestId}` })).toHaveLength(0);
    // It runs as any access request: the address given gets the acknowledgement.
    await stack.smtp.waitFor((m) => m.to.includes('someone-unknown@example.com'));
    const replay = await stack.http('POST', `/v1/customers/${customer.body.customerId}/access-requests`, input, {
      'Idempotency-Key': key,
    });
    expect(replay.body).toMatchObject({ requestId, replayed: true });
    expect(['running', 'completed']).toContain(replay.body.status);
  });
});

describe('while PostgreSQL is down', () => {
  it('every route answers 503 problem+json with Retry-After, never 500', async () => {
    const dead = createDb(`postgres://postgres@127.0.0.1:${await closedPort()}/data_lifecycle`, 1);
    dbs.push(dead);
    const api = await apiWith({ db: dead });
    const routes: [string, string, unknown?][] = [
      ['GET', '/v1/customers'],
      ['POST', '/v1/customers', onboardingBody([crm])],
      ['GET', `/v1/requests/${randomUUID()}`],
      ['GET', '/v1/audit-events'],
      ['GET', '/readyz'],
    ];
    for (const [method, path, body] of routes) {
      const res = await call(api, method, path, body);
      expect([method, path, res.status]).toEqual([method, path, 503]);
      if (path !== '/readyz') {
        expect(res.headers.get('content-type')).toContain('application/problem+json');
        expect(res.headers.get('retry-after')).toMatch(/^\d+$/);
        expect(res.body).toMatchObject({ status: 503, title: 'Service Unavailable' });
      }
    }
  });
});
