/**
 * Staff authentication and role-based access: every route in the permission table, for every role, with and without
 * a token; the limits around authentication; the CLI that issues tokens.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { createApp } from '../api/app';
import { ROUTE_PERMISSIONS, type ProtectedRoute } from '../api/route-permissions';
import { startServer } from '../api/server';
import { auditEvents } from '../db/repositories/audit-events';
import { can, ROLES } from '../lib/roles';
import { onboardingBody } from './support/fixtures';
import { startTestStack, type TestStack } from './support/test-stack';

const run = promisify(execFile);
let stack: TestStack;

beforeAll(async () => {
  stack = await startTestStack({ name: 'authorization' });
});
afterAll(async () => {
  await stack?.stop();
});

/** A concrete request for a route pattern: ids filled with fresh uuids, write routes with an empty body. */
function concrete(route: ProtectedRoute): { method: string; path: string; body?: unknown } {
  const [method, pattern] = route.split(' ') as [string, string];
  const urlPath = pattern.replace(/:[A-Za-z]+/g, () => randomUUID());
  return { method, path: urlPath, body: method === 'GET' ? undefined : {} };
}

const table = Object.keys(ROUTE_PERMISSIONS) as ProtectedRoute[];

describe('route x role', () => {
  it.each(table)(
    '%s: 401 without a token, 403 for roles without its permission, served for roles with it',
    async (route) => {
      const req = concrete(route);
      const anonymous = await stack.http(req.method, req.path, req.body, {}, null);
      expect(anonymous.status).toBe(401);
      expect(anonymous.headers.get('www-authenticate')).toBe('Bearer');

      for (const role of ROLES) {
        const res = await stack.http(req.method, req.path, req.body, {}, role);
        if (can(role, ROUTE_PERMISSIONS[route])) {
          expect([role, res.status]).not.toEqual([role, 401]);
          expect([role, res.status]).not.toEqual([role, 403]);
        } else {
          expect([role, res.status]).toEqual([role, 403]);
          expect(res.body.detail).toContain(ROUTE_PERMISSIONS[route]);
        }
      }
    },
  );

  it('refuses an unknown or malformed token', async () => {
    for (const authorization of ['Bearer dlo_not-a-real-token', 'Basic dXNlcjpwYXNz', 'Bearer']) {
      const res = await stack.http('GET', '/v1/customers', undefined, { Authorization: authorization }, null);
      expect(res.status).toBe(401);
    }
  });

  it('denies by default: a path that no table entry names is not served, even with a valid token', async () => {
    expect((await stack.http('GET', '/v1/internal/secrets', undefined, {}, 'admin')).status).toBe(404);
    expect((await stack.http('DELETE', '/v1/customers', undefined, {}, 'admin')).status).toBe(404);
    expect((await stack.http('GET', '/v1/internal/secrets', undefined, {}, null)).status).toBe(401);
  });

  it('serves health, readiness and the API description without a token', async () => {
    for (const p of ['/healthz', '/readyz', '/openapi.json', '/docs/']) {
      expect([p, (await stack.http('GET', p, undefined, {}, null)).status]).toEqual([p, 200]);
    }
  });
});

describe('who acted', () => {
  it('records the staff member on the request, its workflow start and its audit event', async () => {
    const res = await stack.http('POST', '/v1/customers', onboardingBody([]), {}, 'support');
    expect(res.status).toBe(202);
    const request = await stack.db('lifecycle_requests').where({ id: res.body.requestId }).first();
    const supportToken = await stack
      .db('staff_tokens')
      .where({ role: 'support' })
      .orderBy('created_at', 'desc')
      .first();
    expect(request.actor).toMatch(/^staff:[0-9a-f-]{36}$/);
    const tokenRow = await stack
      .db('staff_tokens')
      .where({ id: request.actor.slice('staff:'.length) })
      .first();
    expect(tokenRow.role).toBe('support');
    expect(supportToken).toBeDefined();
    const [requested] = await auditEvents.list(stack.db, {
      requestId: res.body.requestId,
      action: 'onboarding.requested',
    });
    expect(requested!.actor).toBe(request.actor);
    await stack.client.workflow.getHandle(res.body.workflowId).result();
  });
});

describe('limits', () => {
  async function appWith(limits: Parameters<typeof createApp>[0]['limits']) {
    return startServer(
      createApp({
        db: stack.db,
        temporal: stack.client,
        taskQueue: stack.taskQueue,
        log: stack.log,
        config: stack.config,
        limits,
      }),
      0,
    );
  }

  it('blocks an address after repeated failed authentication and logs it as abnormal activity', async () => {
    const server = await appWith({ authFailuresPer15Minutes: 3, authFailureReportQuietMs: 100 });
    try {
      const statuses = [];
      for (let i = 0; i < 5; i++) {
        statuses.push(
          (await fetch(`${server.url}/v1/customers`, { headers: { Authorization: 'Bearer guess-' + i } })).status,
        );
      }
      expect(statuses).toEqual([401, 401, 401, 429, 429]);
      // Successful requests do not count as failures.
      const ok = await fetch(`${server.url}/healthz`);
      expect(ok.status).toBe(200);
      // One line for the burst (api/login-guard.ts), with its counts.
      const logFile = path.join(__dirname, '..', '.data', 'test', 'logs', 'authorization.log');
      let log = '';
      for (let i = 0; i < 100 && !log.includes('security.auth_failures_exceeded'); i++) {
        await new Promise((r) => setTimeout(r, 100));
        log = fs.readFileSync(logFile, 'utf8');
      }
      expect(log).toContain('abnormal activity: repeated failed authentication');
      expect(log).toContain('security.auth_failures_exceeded');
      expect(log).toMatch(/"event":"security.auth_failures_exceeded","failures":5,/);
      expect(log).toMatch(/"refused429":2,/);
      expect(log).not.toContain('guess-');
    } finally {
      await server.stop();
    }
  });

  it('rate-limits the API and the public links per address', async () => {
    const server = await appWith({ apiPerMinute: 5, publicLinksPerMinute: 2 });
    try {
      const api = [];
      for (let i = 0; i < 6; i++) {
        api.push(
          (await fetch(`${server.url}/v1/customers`, { headers: { Authorization: `Bearer ${stack.tokens.support}` } }))
            .status,
        );
      }
      expect(api).toEqual([200, 200, 200, 200, 200, 429]);
    } finally {
      await server.stop();
    }
    const links = await appWith({ publicLinksPerMinute: 2 });
    try {
      const statuses = [];
      for (let i = 0; i < 3; i++) statuses.push((await fetch(`${links.url}/verify/some-token-${i}`)).status);
      expect(statuses[2]).toBe(429);
    } finally {
      await links.stop();
    }
  });

  it('refuses a body over the size limit with 413 and sends security headers', async () => {
    const big = { ...onboardingBody([]), padding: 'x'.repeat(300 * 1024) };
    const res = await stack.http('POST', '/v1/customers', big);
    expect(res.status).toBe(413);
    const health = await stack.http('GET', '/healthz', undefined, {}, null);
    expect(health.headers.get('x-content-type-options')).toBe('nosniff');
    expect(health.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect(health.headers.get('x-powered-by')).toBeNull();
  });
});

describe('token CLI', () => {
  const cli = (...args: string[]) =>
    run(
      path.join(__dirname, '..', 'node_modules', '.bin', 'tsx'),
      [path.join(__dirname, '..', 'scripts', 'cli.ts'), ...args],
      {
        env: { ...process.env, DATABASE_URL: process.env.TEST_DATABASE_URL },
      },
    );

  it('creates a token printed once and stored only as a hash, lists it without its value, and revokes it', async () => {
    const created = await cli('token', 'create', '--role', 'auditor', '--name', 'Ada Auditor');
    const token = created.stdout.trim();
    expect(token).toMatch(/^dlo_[A-Za-z0-9_-]{40,}$/);
    const row = await stack.db('staff_tokens').where({ name: 'Ada Auditor' }).orderBy('created_at', 'desc').first();
    expect(JSON.stringify(row)).not.toContain(token);

    const asAuditor = (p: string) => stack.http('GET', p, undefined, { Authorization: `Bearer ${token}` }, null);
    expect((await asAuditor('/v1/subprocessors')).status).toBe(200);
    expect((await asAuditor('/v1/customers')).status).toBe(403);

    const listed = await cli('token', 'list');
    expect(listed.stdout).toContain(row.id);
    expect(listed.stdout).not.toContain(token);

    await cli('token', 'revoke', row.id);
    expect((await asAuditor('/v1/subprocessors')).status).toBe(401);
    const actions = (await auditEvents.list(stack.db, {})).filter((e) => e.subjectId === row.id).map((e) => e.action);
    expect(actions).toEqual(['staff_token.created', 'staff_token.revoked']);
  });

  it('refuses an unknown role, naming the allowed ones', async () => {
    const failure = await cli('token', 'create', '--role', 'root', '--name', 'x').catch(
      (err: { stderr: string; code: number }) => err,
    );
    expect((failure as { code: number }).code).toBe(1);
    expect((failure as { stderr: string }).stderr).toContain(
      '--role must be one of support, privacy_officer, auditor, admin',
    );
  });
});
