/**
 * The ops CLI (`npm run cli -- ...`, scripts/cli.ts) run as an operator runs it, as a separate process with the
 * service's configuration, against this run's database and Temporal server: requests, retention and schedule status,
 * audit verification and tokens, each with `--json` for scripts.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { auditEvents } from '../db/repositories/audit-events';
import { auditIntake } from '../db/repositories/audit-intake';
import { outboxIntents } from '../db/repositories/outbox-intents';
import { staffTokens } from '../db/repositories/staff-tokens';
import { retentionSweepScheduleId } from '../lib/pure/temporal-ids';
import { onboardingBody } from './support/fixtures';
import { startTestStack, TEST_ACTIVE_PAYLOAD_KEY_ID, TEST_PAYLOAD_KEYS, type TestStack } from './support/test-stack';

const ROOT = path.join(__dirname, '..');
let stack: TestStack;

beforeAll(async () => {
  stack = await startTestStack({ name: 'ops-cli', schedules: { sweep: { customerIds: [] } } });
});
afterAll(async () => {
  await stack?.stop();
});

/** Runs `npm run cli -- <args>` the way npm does (tsx scripts/cli.ts), with the stack's configuration. */
async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(
      path.join(ROOT, 'node_modules', '.bin', 'tsx'),
      [path.join(ROOT, 'scripts', 'cli.ts'), ...args],
      {
        cwd: ROOT,
        env: {
          ...process.env,
          DATABASE_URL: process.env.TEST_DATABASE_URL,
          TEMPORAL_ADDRESS: process.env.TEST_TEMPORAL_ADDRESS,
          TEMPORAL_NAMESPACE: process.env.TEST_TEMPORAL_NAMESPACE,
          TEMPORAL_TASK_QUEUE: stack.taskQueue,
          PAYLOAD_KEYS: TEST_PAYLOAD_KEYS,
          PAYLOAD_ACTIVE_KEY_ID: TEST_ACTIVE_PAYLOAD_KEY_ID,
          RETENTION_POLICY_SET: stack.config.retention.policySet,
        },
      },
    );
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? 1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

async function seedRequest(type: string, status: string, stage: string, dueOn: string | null): Promise<string> {
  const id = randomUUID();
  await stack.db('lifecycle_requests').insert({
    id,
    type,
    customer_id: randomUUID(),
    status,
    stage,
    workflow_id: `ops-cli-${id}`,
    due_on: dueOn,
    actor: 'system:ops-cli-test',
    request_hash: id,
  });
  return id;
}

describe('the ops CLI', () => {
  it('lists requests by type, stage and due date, soonest due first, as JSON', async () => {
    const stage = `ops-cli-${randomUUID().slice(0, 8)}`;
    const early = await seedRequest('access', 'running', stage, '2026-01-10');
    const later = await seedRequest('access', 'running', stage, '2026-02-10');
    const tooLate = await seedRequest('access', 'running', stage, '2026-03-10');
    const otherType = await seedRequest('correction', 'running', stage, '2026-01-05');

    const res = await cli(
      'requests',
      'list',
      '--type',
      'access',
      '--stage',
      stage,
      '--due-before',
      '2026-03-01',
      '--json',
    );
    expect(res.code).toBe(0);
    const listed = JSON.parse(res.stdout) as { id: string; dueOn: string; type: string }[];
    expect(listed.map((r) => r.id)).toEqual([early, later]);
    expect(listed[0]).toMatchObject({ type: 'access', dueOn: '2026-01-10', status: 'running', stage });
    expect(listed.map((r) => r.id)).not.toContain(tooLate);
    expect(listed.map((r) => r.id)).not.toContain(otherType);

    const refused = await cli('requests', 'list', '--due-before', 'next week');
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('must be a date, YYYY-MM-DD');
  });

  it('lists accepted work still owed: a request not started yet and an email not confirmed, past the grace period', async () => {
    const unstarted = await seedRequest('access', 'received', 'received', null);
    await stack
      .db('lifecycle_requests')
      .where({ id: unstarted })
      .update({
        workflow_type: 'accessRequestWorkflow',
        workflow_args: JSON.stringify([]),
        workflow_started_at: null,
        received_at: stack.db.raw(`now() - interval '10 minutes'`),
      });
    const fresh = await seedRequest('access', 'received', 'received', null);
    await stack
      .db('lifecycle_requests')
      .where({ id: fresh })
      .update({
        workflow_type: 'accessRequestWorkflow',
        workflow_args: JSON.stringify([]),
        workflow_started_at: null,
      });
    const owed = `ops-cli-email-${randomUUID()}`;
    const done = `ops-cli-email-${randomUUID()}`;
    for (const key of [owed, done]) {
      await outboxIntents.begin(stack.db, {
        key,
        kind: 'email',
        messageId: `<${key}@test>`,
        target: 'x@example.com',
        operation: 'welcome',
      });
    }
    await outboxIntents.complete(stack.db, done, { accepted: true });
    await stack
      .db('outbox_intents')
      .whereIn('key', [owed, done])
      .update({ created_at: stack.db.raw(`now() - interval '10 minutes'`) });

    // An audit event recorded in the intake by an API that died before chaining it (the reconciler's work).
    const unchained = `requested:${randomUUID()}`;
    await stack.db.transaction((trx) =>
      auditIntake.record(trx, {
        actor: 'staff:ops-cli-test',
        action: 'access.requested',
        subjectType: 'lifecycle_request',
        subjectId: unstarted,
        idempotencyKey: unchained,
      }),
    );
    await stack
      .db('audit_intake')
      .where({ idempotency_key: unchained })
      .update({ recorded_at: stack.db.raw(`now() - interval '10 minutes'`) });

    const res = await cli('pending', '--older-than', 'PT5M', '--json');
    expect(res.code).toBe(0);
    const pending = JSON.parse(res.stdout) as {
      unstartedRequests: { requestId: string }[];
      unchainedAuditEvents: { key: string; action: string }[];
      openIntents: { key: string; messageId: string }[];
    };
    expect(pending.unchainedAuditEvents).toContainEqual(
      expect.objectContaining({ key: unchained, action: 'access.requested' }),
    );
    await auditIntake.chain(stack.db, unchained);
    const requestIds = pending.unstartedRequests.map((r) => r.requestId);
    expect(requestIds).toContain(unstarted);
    expect(requestIds).not.toContain(fresh); // within the grace period: the API or the reconciler is on it
    expect(pending.openIntents.map((i) => i.key)).toContain(owed);
    expect(pending.openIntents.map((i) => i.key)).not.toContain(done);

    const bad = await cli('pending', '--older-than', 'soon');
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('must be a positive ISO 8601 duration');
  });

  it("shows one request with its audit trail, and the customer's retention lifecycle through the status query", async () => {
    const onboarding = await stack.http('POST', '/v1/customers', onboardingBody([]));
    expect(onboarding.status).toBe(202);
    await stack.client.workflow.getHandle(onboarding.body.workflowId).result();

    const shown = await cli('requests', 'show', onboarding.body.requestId, '--json');
    expect(shown.code).toBe(0);
    const request = JSON.parse(shown.stdout) as { type: string; status: string; audit: { action: string }[] };
    expect(request).toMatchObject({ id: onboarding.body.requestId, type: 'onboarding', status: 'completed' });
    expect(request.audit.map((e) => e.action)).toContain('customer.recorded');
    expect(shown.stdout).not.toContain('@nordlicht.example');

    let retention = await cli('retention', 'status', onboarding.body.customerId, '--json');
    for (let i = 0; i < 20 && !retention.stdout.includes('"lastCheckedAt": "'); i++) {
      await new Promise((r) => setTimeout(r, 250));
      retention = await cli('retention', 'status', onboarding.body.customerId, '--json');
    }
    expect(retention.code).toBe(0);
    expect(JSON.parse(retention.stdout)).toMatchObject({
      workflowId: `retention-${onboarding.body.customerId}`,
      customerId: onboarding.body.customerId,
      contractEnd: '2028-01-01T00:00:00.000Z',
    });

    const unknown = await cli('retention', 'status', randomUUID());
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toContain('no retention lifecycle for customer');
  });

  it('reports the retention sweep schedule, verifies the audit chain, and manages tokens', async () => {
    const schedule = await cli('schedules', 'status', '--json');
    expect(schedule.code).toBe(0);
    expect(JSON.parse(schedule.stdout)).toMatchObject({
      scheduleId: retentionSweepScheduleId(stack.taskQueue),
      paused: false,
      intervals: [{ every: stack.config.retention.sweepIntervalMs }],
    });

    const audit = await cli('audit', 'verify', '--json');
    expect(audit.code).toBe(0);
    expect(JSON.parse(audit.stdout)).toMatchObject({ ok: true, chain: 'global' });

    const name = `ops-cli ${randomUUID().slice(0, 8)}`;
    const created = await cli('token', 'create', '--role', 'auditor', '--name', name, '--json');
    expect(created.code).toBe(0);
    const token = JSON.parse(created.stdout) as { id: string; role: string; token: string };
    expect(token.role).toBe('auditor');
    // The new token works against the API at once.
    const read = await stack.http('GET', '/v1/audit/verify', undefined, { Authorization: `Bearer ${token.token}` });
    expect(read.status).toBe(200);
    const listed = JSON.parse((await cli('token', 'list', '--json')).stdout) as { id: string; name: string }[];
    expect(listed.find((t) => t.id === token.id)).toMatchObject({ name, revoked: null });
    expect(JSON.stringify(listed)).not.toContain(token.token);
  });
});

describe('review procedures', () => {
  const DAY = 24 * 3600_000;
  const ago = (ms: number) => new Date(Date.now() - ms);
  const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

  it('refuses an expired token with 401, and records when a token was last used', async () => {
    const fresh = await staffTokens.create(stack.db, { name: `fresh ${randomUUID().slice(0, 8)}`, role: 'auditor' });
    expect(fresh.expiresAt.getTime() - Date.now()).toBeGreaterThan(89 * DAY);
    expect((await stack.http('GET', '/v1/audit/verify', undefined, bearer(fresh.token))).status).toBe(200);
    let row = await stack.db('staff_tokens').where({ id: fresh.id }).first();
    for (let i = 0; i < 50 && !row.last_used_at; i++) {
      await new Promise((r) => setTimeout(r, 100));
      row = await stack.db('staff_tokens').where({ id: fresh.id }).first();
    }
    expect(row.last_used_at).toBeInstanceOf(Date);

    const short = await staffTokens.create(stack.db, { name: 'short-lived', role: 'auditor', ttlMs: 1000 });
    await new Promise((r) => setTimeout(r, 1500));
    const refused = await stack.http('GET', '/v1/audit/verify', undefined, bearer(short.token));
    expect(refused.status).toBe(401);
    expect(refused.headers.get('www-authenticate')).toBe('Bearer');
  });

  it('access-review lists tokens by role, age and last use, flags stale, never used and expired ones, audited', async () => {
    const tag = randomUUID().slice(0, 8);
    const make = async (name: string, times: { created: Date; lastUsed: Date | null; expires: Date }) => {
      const t = await staffTokens.create(stack.db, { name: `${name} ${tag}`, role: 'support' });
      await stack
        .db('staff_tokens')
        .where({ id: t.id })
        .update({ created_at: times.created, last_used_at: times.lastUsed, expires_at: times.expires });
      return t.id;
    };
    const active = await make('active', { created: ago(10 * DAY), lastUsed: ago(DAY), expires: ago(-80 * DAY) });
    const stale = await make('stale', { created: ago(80 * DAY), lastUsed: ago(45 * DAY), expires: ago(-10 * DAY) });
    const unused = await make('unused', { created: ago(40 * DAY), lastUsed: null, expires: ago(-50 * DAY) });
    const expired = await make('expired', { created: ago(100 * DAY), lastUsed: ago(20 * DAY), expires: ago(DAY) });

    const review = await cli('--actor', 'alice.reviewer', 'access-review', '--json');
    // Flagged tokens make the review fail, for a scheduled job to notice.
    expect(review.code).toBe(2);
    const { summary, tokens } = JSON.parse(review.stdout) as {
      summary: Record<string, unknown>;
      tokens: { id: string; role: string; ageDays: number; daysSinceLastUse: number | null; flags: string[] }[];
    };
    const byId = new Map(tokens.map((t) => [t.id, t]));
    expect(byId.get(active)).toMatchObject({ role: 'support', ageDays: 10, daysSinceLastUse: 1, flags: [] });
    expect(byId.get(stale)).toMatchObject({ ageDays: 80, daysSinceLastUse: 45, flags: ['expiring_soon', 'stale'] });
    expect(byId.get(unused)).toMatchObject({ daysSinceLastUse: null, flags: ['never_used'] });
    expect(byId.get(expired)).toMatchObject({ flags: ['expired'] });
    expect(summary).toMatchObject({ reviewedBy: 'cli:alice.reviewer', staleAfterDays: 30 });
    // Grouped by role: every support token before the first auditor token.
    const roles = tokens.map((t) => t.role);
    expect(roles.lastIndexOf('support')).toBeLessThan(
      roles.indexOf('auditor') === -1 ? Infinity : roles.indexOf('auditor'),
    );

    const [event] = (await auditEvents.list(stack.db, { action: 'staff_tokens.reviewed' })).filter((e) =>
      (e.details.flagged as string[]).includes(stale),
    );
    expect(event!.actor).toBe('cli:alice.reviewer');
    expect(event!.details.flagged).toEqual(expect.arrayContaining([stale, unused, expired]));

    const human = await cli('access-review', '--stale-after', 'P60D');
    expect(human.stdout).toContain('support (');
    expect(human.stdout).toContain(`stale ${tag}`);
    expect(human.stdout).toMatch(/active tokens; \d+ expired, \d+ stale/);
  });

  it('audits CLI changes with the operator: --actor, else the operating-system user; never cli:unknown', async () => {
    const created = await cli('token', 'create', '--role', 'support', '--name', 'rotated', '--ttl', 'P7D', '--json');
    expect(created.code).toBe(0);
    const token = JSON.parse(created.stdout) as { id: string; expiresAt: string };
    expect(Date.parse(token.expiresAt) - Date.now()).toBeGreaterThan(6.9 * DAY);
    expect(Date.parse(token.expiresAt) - Date.now()).toBeLessThan(7.1 * DAY);
    expect((await cli('token', 'revoke', token.id, '--actor', 'bob@example.com')).code).toBe(0);
    const actions = (await auditEvents.list(stack.db, {}))
      .filter((e) => e.subjectId === token.id)
      .map((e) => [e.action, e.actor]);
    expect(actions).toEqual([
      ['staff_token.created', `cli:${os.userInfo().username}`],
      ['staff_token.revoked', 'cli:bob@example.com'],
    ]);

    const bad = await cli('--actor', 'rm -rf /', 'token', 'list');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('--actor must be a name');
    const badTtl = await cli('token', 'create', '--role', 'support', '--name', 'x', '--ttl', 'forever');
    expect(badTtl.stderr).toContain('--ttl must be a positive ISO 8601 duration');
  });
});
