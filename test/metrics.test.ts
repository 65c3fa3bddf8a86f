import { randomUUID } from 'node:crypto';
import { createPrivateDatabase, type PrivateDatabase } from './support/private-database';
import { startTestStack, type TestStack } from './support/test-stack';

/** One sample of a Prometheus text exposition: `name{labels} value`, labels compared as given. */
function sample(body: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of body.split('\n')) {
    if (line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const found = Object.fromEntries(
      [...(match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]),
    );
    if (Object.entries(labels).every(([key, value]) => found[key] === value)) return Number(match[3]);
  }
  return undefined;
}

/** A UTC calendar date `days` from today. */
function utcDate(days: number): string {
  return new Date(Date.now() + days * 86_400_000).toISOString().slice(0, 10);
}

describe('metrics (/metrics on the metrics port)', () => {
  let database: PrivateDatabase;
  let stack: TestStack;

  // The counters and gauges count the whole database: a database of this file's own, so that requests other test
  // files start meanwhile are not counted between two scrapes.
  beforeAll(async () => {
    database = await createPrivateDatabase('metrics');
    stack = await startTestStack({ name: 'metrics', databaseUrl: database.roles.serviceUrl });
  });
  afterAll(async () => {
    await stack?.stop();
    await database?.drop();
  });

  async function scrape(): Promise<{ status: number; type: string | null; body: string }> {
    const res = await fetch(`${stack.metrics.url}/metrics`);
    return { status: res.status, type: res.headers.get('content-type'), body: await res.text() };
  }

  async function seed(type: string, status: string, stage: string, dueOn: string | null): Promise<void> {
    const id = randomUUID();
    await stack.db('lifecycle_requests').insert({
      id,
      type,
      customer_id: randomUUID(),
      status,
      stage,
      workflow_id: `metrics-probe-${id}`,
      due_on: dueOn,
      actor: 'system:metrics-test',
      request_hash: id,
    });
  }

  it('counts open requests due within 7 days and overdue ones, by type, from the seeded requests', async () => {
    const before = await scrape();
    const dueSoon = (body: string, type: string) => sample(body, 'dlo_requests_due_within_7_days', { type }) ?? 0;
    const overdue = (body: string, type: string) => sample(body, 'dlo_requests_overdue', { type }) ?? 0;

    // Counted as due within 7 days: due today, in 3 days, in 7 days (open: received or running).
    await seed('access', 'running', 'waiting-for-verification', utcDate(0));
    await seed('access', 'received', 'received', utcDate(3));
    await seed('correction', 'running', 'waiting-for-approval', utcDate(7));
    // Counted as overdue: due yesterday and ten days ago, still open.
    await seed('access', 'running', 'exporting', utcDate(-1));
    await seed('access', 'running', 'exporting', utcDate(-10));
    // Counted as neither: due in 8 days; finished (even though past due); no due date.
    await seed('access', 'running', 'exporting', utcDate(8));
    await seed('access', 'completed', 'completed', utcDate(-2));
    await seed('access', 'cancelled', 'closed-unverified', utcDate(1));
    await seed('access', 'running', 'waiting-for-verification', null);

    const after = await scrape();
    expect(after.status).toBe(200);
    expect(after.type).toContain('text/plain');
    expect(dueSoon(after.body, 'access') - dueSoon(before.body, 'access')).toBe(2);
    expect(dueSoon(after.body, 'correction') - dueSoon(before.body, 'correction')).toBe(1);
    expect(overdue(after.body, 'access') - overdue(before.body, 'access')).toBe(2);
    expect(overdue(after.body, 'correction') - overdue(before.body, 'correction')).toBe(0);

    // The same requests in the open-by-stage gauge and the started/finished counters.
    const open = (body: string, stage: string) => sample(body, 'dlo_open_requests', { type: 'access', stage }) ?? 0;
    expect(open(after.body, 'exporting') - open(before.body, 'exporting')).toBe(3);
    const started = (body: string) => sample(body, 'dlo_processes_started_total', { type: 'access' }) ?? 0;
    expect(started(after.body) - started(before.body)).toBe(8);
    const finished = (body: string, outcome: string) =>
      sample(body, 'dlo_processes_finished_total', { type: 'access', outcome }) ?? 0;
    expect(finished(after.body, 'completed') - finished(before.body, 'completed')).toBe(1);
    expect(finished(after.body, 'cancelled') - finished(before.body, 'cancelled')).toBe(1);
  });

  it('times API requests by route template and status, never by the concrete path', async () => {
    const requestId = randomUUID();
    expect((await stack.http('GET', `/v1/requests/${requestId}`)).status).toBe(404);
    const { body } = await scrape();
    const labels = { method: 'GET', route: '/v1/requests/:requestId', status: '404' };
    expect(sample(body, 'dlo_http_request_duration_seconds_count', labels)).toBeGreaterThanOrEqual(1);
    expect(body).not.toContain(requestId);
  });

  it('reports the audit chain as verified', async () => {
    const { body } = await scrape();
    expect(sample(body, 'dlo_audit_chain_ok')).toBe(1);
    expect(sample(body, 'dlo_audit_chain_verified_timestamp_seconds')).toBeGreaterThan(0);
  });

  it('is not served on the API port, where /metrics is refused like any unlisted route', async () => {
    const res = await stack.http('GET', '/metrics', undefined, {}, null);
    expect([401, 404]).toContain(res.status);
  });
});
