/**
 * The API the staff console stands on: the request queue (`GET /v1/requests`: order, urgency, filters, keyset paging
 * through more than a page, 400 naming the field, the index that serves it), a request's history, a customer's
 * certificates, the session (role and routes, as the route table says), and the console's static files.
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { auditEvents } from '../db/repositories/audit-events';
import { ROUTE_PERMISSIONS } from '../api/route-permissions';
import { DATA_CATEGORIES } from '../lib/pure/data-categories';
import { addDays, urgencyOf } from '../lib/pure/request-urgency';
import { can, ROLES } from '../lib/roles';
import { startTestStack, type TestStack } from './support/test-stack';

let stack: TestStack;
const seeded: string[] = [];
const today = new Date().toISOString().slice(0, 10);

beforeAll(async () => {
  stack = await startTestStack({ name: 'console-api' });
});
afterAll(async () => {
  await stack?.db('request_extensions').whereIn('request_id', seeded).delete();
  await stack?.db('lifecycle_requests').whereIn('id', seeded).delete();
  await stack?.stop();
});

/**
 * Seeds a request row of one customer. Types other than access and correction: the metrics test counts those by
 * type while it runs beside this one.
 */
async function seed(
  customerId: string,
  r: { type?: string; status?: string; stage?: string; dueOn?: string | null; receivedAt?: Date },
): Promise<string> {
  const id = randomUUID();
  seeded.push(id);
  await stack.db('lifecycle_requests').insert({
    id,
    type: r.type ?? 'deletion',
    customer_id: customerId,
    status: r.status ?? 'running',
    stage: r.stage ?? 'deciding',
    workflow_id: `console-probe-${id}`,
    due_on: r.dueOn ?? null,
    actor: 'system:console-test',
    request_hash: id,
    received_at: r.receivedAt ?? new Date(),
  });
  return id;
}

async function allPages(path: string, role: 'support' | 'auditor' = 'support') {
  const items: any[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const sep: string = path.includes('?') ? '&' : '?';
    const res = await stack.http(
      'GET',
      `${path}${cursor ? `${sep}cursor=${encodeURIComponent(cursor)}` : ''}`,
      undefined,
      {},
      role,
    );
    expect(res.status).toBe(200);
    items.push(...res.body.items);
    cursor = res.body.nextCursor;
    pages++;
  } while (cursor && pages < 100);
  return { items, pages };
}

describe("the console's list of data categories", () => {
  it("is lib/pure/data-categories.ts's list in the same order (the browser cannot import lib/pure)", () => {
    const source = fs.readFileSync(path.join(__dirname, '..', 'console', 'data-categories.js'), 'utf8');
    const listed = [...source.matchAll(/^\s+'([a-z_]+)',$/gm)].map((m) => m[1]);
    expect(listed).toEqual([...DATA_CATEGORIES]);
  });
});

describe('urgency', () => {
  it('is overdue from the day after the due date, due soon within seven days, closed once ended', () => {
    expect(urgencyOf({ open: true, dueOn: addDays(today, -1), today })).toBe('overdue');
    expect(urgencyOf({ open: true, dueOn: today, today })).toBe('due-soon');
    expect(urgencyOf({ open: true, dueOn: addDays(today, 7), today })).toBe('due-soon');
    expect(urgencyOf({ open: true, dueOn: addDays(today, 8), today })).toBe('on-time');
    expect(urgencyOf({ open: true, dueOn: null, today })).toBe('no-deadline');
    expect(urgencyOf({ open: false, dueOn: addDays(today, -30), today })).toBe('closed');
    expect(addDays('2028-02-28', 1)).toBe('2028-02-29');
  });
});

describe('GET /v1/requests (the queue)', () => {
  it('pages through 130 open requests by due date (none last), each once, with urgency and the company name', async () => {
    const customerId = randomUUID();
    const base = Date.now() - 3_600_000;
    // Due dates from 5 days ago to 60 days ahead, some on the same day (ties broken by receipt, then id), some none.
    for (let i = 0; i < 130; i++) {
      await seed(customerId, {
        type: (['deletion', 'termination', 'retention', 'onboarding'] as const)[i % 4],
        dueOn: i % 10 === 0 ? null : addDays(today, (i % 13) * 5 - 5),
        receivedAt: new Date(base + (i % 7) * 1000),
      });
    }
    // Ended ones are not in the open queue.
    await seed(customerId, { status: 'completed', stage: 'completed', dueOn: addDays(today, -3) });

    const { items, pages } = await allPages(`/v1/requests?customerId=${customerId}&limit=50`);
    expect(pages).toBe(3);
    expect(items).toHaveLength(130);
    expect(new Set(items.map((i) => i.id)).size).toBe(130);
    const keys = items.map((i) => `${i.dueOn ?? '9999-12-31'} ${i.receivedAt} ${i.id}`);
    expect(keys).toEqual([...keys].sort());
    expect(items.slice(-13).every((i) => i.dueOn === null && i.urgency === 'no-deadline')).toBe(true);
    expect(items[0]).toMatchObject({ dueOn: addDays(today, -5), urgency: 'overdue', status: 'running' });
    expect(items.find((i) => i.dueOn === addDays(today, 5))?.urgency).toBe('due-soon');
    expect(items.find((i) => i.dueOn === addDays(today, 10))?.urgency).toBe('on-time');
    expect(items[0]).toHaveProperty('companyName', null); // no customer row for this id
    expect(items[0].workflowId).toMatch(/^console-probe-/);

    const all = await allPages(`/v1/requests?customerId=${customerId}&status=all&limit=200`);
    expect(all.items).toHaveLength(131);
    expect(all.items.find((i) => i.status === 'completed')?.urgency).toBe('closed');
  });

  it('filters by type and stage (stage=awaiting-approval lists the pending approvals)', async () => {
    const customerId = randomUUID();
    const approval = await seed(customerId, { type: 'termination', stage: 'awaiting-approval', dueOn: null });
    await seed(customerId, { type: 'termination', stage: 'erasing' });
    await seed(customerId, { type: 'deletion', stage: 'awaiting-verification', dueOn: addDays(today, 20) });

    const byStage = await stack.http('GET', `/v1/requests?customerId=${customerId}&stage=awaiting-approval`);
    expect(byStage.body.items.map((i: any) => i.id)).toEqual([approval]);
    const byType = await stack.http('GET', `/v1/requests?customerId=${customerId}&type=termination`);
    expect(byType.body.items).toHaveLength(2);
    expect(byType.body).toMatchObject({ nextCursor: null, today, dueSoonDays: 7 });
  });

  it('names the company for roles that read customers, not for an auditor', async () => {
    const onboarded = await stack.http('POST', '/v1/customers', {
      company: { name: 'Queue Naming GmbH', registrationNumber: `QN-${randomUUID().slice(0, 8)}`, country: 'DE' },
      contacts: [{ name: 'Q N', email: `qn-${randomUUID().slice(0, 6)}@example.com`, role: 'primary' }],
      contract: { startsOn: '2026-01-01', terminationDisposition: 'delete' },
    });
    expect(onboarded.status).toBe(202);
    const { customerId } = onboarded.body;
    await stack.client.workflow.getHandle(onboarded.body.workflowId).result();
    const q = `/v1/requests?customerId=${customerId}&status=all`;
    expect((await stack.http('GET', q, undefined, {}, 'support')).body.items[0]).toMatchObject({
      type: 'onboarding',
      status: 'completed',
      companyName: 'Queue Naming GmbH',
      requestedBy: expect.stringMatching(/^staff:/),
    });
    expect((await stack.http('GET', q, undefined, {}, 'auditor')).body.items[0].companyName).toBeNull();
    expect((await stack.http('GET', q, undefined, {}, 'admin')).status).toBe(403);
  });

  it('answers 400 naming each bad parameter and rule, and a cursor it did not make', async () => {
    const bad = await stack.http('GET', '/v1/requests?type=payroll&limit=5000&customerId=nope&colour=red');
    expect(bad.status).toBe(400);
    expect(bad.headers.get('content-type')).toContain('application/problem+json');
    const fields = bad.body.errors.map((e: any) => e.field).sort();
    expect(fields).toEqual(['query.colour', 'query.customerId', 'query.limit', 'query.type']);
    expect(bad.body.errors.find((e: any) => e.field === 'query.colour').rule).toBe('unrecognized_key');

    const forged = Buffer.from(JSON.stringify({ d: 'yesterday', r: 'x', i: 'y' })).toString('base64url');
    for (const cursor of ['!!', forged, 'bm90LWpzb24']) {
      const res = await stack.http('GET', `/v1/requests?cursor=${encodeURIComponent(cursor)}`);
      expect([cursor, res.status]).toEqual([cursor, 400]);
      expect(res.body.errors[0].field).toBe('query.cursor');
    }
  });

  it('reads the open queue through its index, not by sorting the table', async () => {
    const plan = await stack.db.transaction(async (trx) => {
      // A small test table would otherwise be read whole; the question is whether the index can give the order.
      await trx.raw('set local enable_seqscan = off');
      await trx.raw('set local enable_bitmapscan = off');
      const { rows } = await trx.raw(`explain select id from lifecycle_requests lr
        where lr.status in ('received', 'running')
        order by coalesce(lr.due_on, 'infinity'::date) asc, lr.received_at asc, lr.id asc limit 51`);
      return rows.map((r: any) => r['QUERY PLAN']).join('\n');
    });
    expect(plan).toContain('lifecycle_requests_open_queue_idx');
    expect(plan).not.toMatch(/\bSort\b/);
  });
});

describe('GET /v1/requests/{id}/history', () => {
  it("answers the request's audit trail in order and its deadline extension", async () => {
    const customerId = randomUUID();
    const requestId = await seed(customerId, { type: 'deletion', dueOn: addDays(today, 40) });
    for (const action of ['deletion.requested', 'deletion.acknowledged']) {
      await auditEvents.append(stack.db, {
        actor: 'system:console-test',
        action,
        subjectType: 'lifecycle_request',
        subjectId: requestId,
        customerId,
        requestId,
        details: { step: action },
      });
    }
    await stack.db('request_extensions').insert({
      request_id: requestId,
      actor: 'staff:someone',
      reason: 'many systems to search',
      previous_due_on: addDays(today, 10),
      due_on: addDays(today, 40),
    });
    const res = await stack.http('GET', `/v1/requests/${requestId}/history`, undefined, {}, 'support');
    expect(res.status).toBe(200);
    expect(res.body.requestedBy).toBe('system:console-test');
    expect(res.body.events.map((e: any) => e.action)).toEqual(['deletion.requested', 'deletion.acknowledged']);
    expect(res.body.events[0]).toMatchObject({ actor: 'system:console-test', details: { step: 'deletion.requested' } });
    expect(res.body.extensions).toEqual([
      expect.objectContaining({
        previousDueOn: addDays(today, 10),
        dueOn: addDays(today, 40),
        reason: 'many systems to search',
      }),
    ]);
    expect((await stack.http('GET', `/v1/requests/${randomUUID()}/history`)).status).toBe(404);
    expect((await stack.http('GET', `/v1/requests/${requestId}/history`, undefined, {}, 'admin')).status).toBe(403);
  });
});

describe('GET /v1/session', () => {
  it('tells each role who it is and exactly the routes of the table it may call', async () => {
    for (const role of ROLES) {
      const res = await stack.http('GET', '/v1/session', undefined, {}, role);
      expect(res.status).toBe(200);
      expect(res.body.staff).toMatchObject({ role, actor: `staff:${res.body.staff.id}` });
      const expected = Object.entries(ROUTE_PERMISSIONS)
        .filter(([, permission]) => can(role, permission))
        .map(([route]) => route);
      expect(res.body.routes).toEqual(expected);
      expect(res.body.temporalUi).toEqual({
        baseUrl: stack.config.temporal.uiUrl,
        namespace: stack.config.temporal.namespace,
      });
    }
    const officer = await stack.http('GET', '/v1/session', undefined, {}, 'privacy_officer');
    expect(officer.body.routes).toContain('POST /v1/requests/:requestId/approve');
    const support = await stack.http('GET', '/v1/session', undefined, {}, 'support');
    expect(support.body.routes).not.toContain('POST /v1/requests/:requestId/approve');
    expect((await stack.http('GET', '/v1/session', undefined, {}, null)).status).toBe(401);
  });
});

describe('GET /v1/customers/{id}/certificates', () => {
  it('lists none for a customer without certificates, for roles that read certificates only', async () => {
    const id = randomUUID();
    expect((await stack.http('GET', `/v1/customers/${id}/certificates`, undefined, {}, 'auditor')).body).toEqual({
      items: [],
    });
    expect((await stack.http('GET', `/v1/customers/${id}/certificates`, undefined, {}, 'support')).status).toBe(403);
  });
});

describe('/console', () => {
  it('serves the console without a token, with a strict content security policy, and no token in any URL', async () => {
    const redirect = await fetch(`${stack.api.url}/console`, { redirect: 'manual' });
    expect(redirect.status).toBe(301);
    const page = await fetch(`${stack.api.url}/console/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');
    const csp = page.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toMatch(/https?:\/\//); // no CDN
    const html = await page.text();
    expect(html).toContain('<script type="module" src="app.js">');
    const app = await fetch(`${stack.api.url}/console/app.js`);
    expect(app.headers.get('content-type')).toContain('javascript');
    expect((await fetch(`${stack.api.url}/console/views/queue.js`)).status).toBe(200);
    expect((await fetch(`${stack.api.url}/console/nope.js`)).status).toBe(404);
    expect((await fetch(`${stack.api.url}/console/../package.json`)).status).not.toBe(200);
  });
});
