/**
 * The audit log against an insider (README "Security"): keyed links, signed checkpoints outside the database, the
 * scheduled verification with its alert, the retention floor and the service's least-privilege database role.
 *
 * Tampering is committed (the API, the CLI and the worker must see it from their own connections), so this file runs
 * on a database of its own, provisioned like the run's (db/roles.ts: an owner role migrates, the service's role runs),
 * with its own checkpoint file; each tamper is undone afterwards by the server's superuser.
 */
import { execFile } from 'node:child_process';
import { createHmac, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Knex } from 'knex';
import type { Db } from '../db/connection';
import { auditEvents, type AuditEvent } from '../db/repositories/audit-events';
import type { DatabaseRoles } from '../db/roles';
import { auditContentHash, chainLinkHash, type AuditContent } from '../lib/audit-hash';
import { readCheckpoints } from '../lib/audit-checkpoints';
import { auditVerifyScheduleId } from '../lib/pure/temporal-ids';
import type { AuditVerification } from '../activities/audit-integrity';
import { createPrivateDatabase, type PrivateDatabase } from './support/private-database';
import { startTestStack, TEST_ACTIVE_PAYLOAD_KEY_ID, TEST_PAYLOAD_KEYS, type TestStack } from './support/test-stack';

jest.setTimeout(180_000);

const ROOT = path.join(__dirname, '..');
const ALERT_EMAIL = 'audit-alerts@example.com';
const checkpointPath = path.join(ROOT, '.data', 'test', `audit-checkpoints-${process.pid}-integrity.jsonl`);

let database: PrivateDatabase;
let roles: DatabaseRoles;
let admin: Db;
let owner: Db;
let stack: TestStack;

beforeAll(async () => {
  database = await createPrivateDatabase('integrity');
  ({ roles, admin, owner } = database);
  stack = await startTestStack({
    name: 'audit-integrity',
    databaseUrl: roles.serviceUrl,
    env: { AUDIT_CHECKPOINT_PATH: checkpointPath, AUDIT_ALERT_EMAIL: ALERT_EMAIL },
    schedules: {},
  });
});

afterAll(async () => {
  await stack?.stop();
  await database?.drop();
  fs.rmSync(checkpointPath, { force: true });
});

/** Appends `n` events of one new customer through the service (keyed, as every service process appends). */
async function appendSome(n: number): Promise<AuditEvent[]> {
  const customerId = randomUUID();
  const out: AuditEvent[] = [];
  for (let i = 0; i < n; i++) {
    out.push(
      await auditEvents.append(stack.db, {
        actor: 'system:integrity-test',
        action: 'test.event',
        subjectType: 'thing',
        subjectId: `${i}`,
        customerId,
        details: { i },
      }),
    );
  }
  return out;
}

/** The scheduled verification's workflow, run once on the stack's worker. */
function runScheduledVerification(): Promise<AuditVerification> {
  return stack.client.workflow.execute('auditVerifyWorkflow', {
    taskQueue: stack.taskQueue,
    workflowId: `audit-verify-test-${randomUUID()}`,
    args: [],
  });
}

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      path.join(ROOT, 'node_modules', '.bin', 'tsx'),
      [path.join(ROOT, 'scripts', 'cli.ts'), ...args],
      {
        cwd: ROOT,
        // The service's configuration, as an operator's shell would have it: same keys, same checkpoint file.
        env: {
          ...process.env,
          DATABASE_URL: roles.serviceUrl,
          AUDIT_CHECKPOINT_PATH: checkpointPath,
          PAYLOAD_KEYS: TEST_PAYLOAD_KEYS,
          PAYLOAD_ACTIVE_KEY_ID: TEST_ACTIVE_PAYLOAD_KEY_ID,
        },
      },
      (err, stdout, stderr) => resolve({ code: err ? Number(err.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/** Runs `fn` as the superuser with every trigger off: the worst insider, who also owns the host's database. */
async function asSuperuserWithoutTriggers(fn: (trx: Knex.Transaction) => Promise<void>): Promise<void> {
  await admin.transaction(async (trx) => {
    await trx.raw('set local session_replication_role = replica');
    await fn(trx);
  });
}

/** The API, the CLI and the scheduled verification all report the break `reason` (at `seq` when given). */
async function expectDetectedEverywhere(reason: string, seq?: string): Promise<void> {
  stack.smtp.clear();
  const api = await stack.http('GET', '/v1/audit/verify', undefined, {}, 'auditor');
  expect(api.status).toBe(200);
  expect(api.body).toMatchObject({ ok: false, firstBroken: { reason, ...(seq ? { seq } : {}) } });

  const run = await cli(['audit', 'verify', '--json']);
  expect(run.code).toBe(1);
  expect(JSON.parse(run.stdout)).toMatchObject({ ok: false, firstBroken: { reason } });

  const scheduled = await runScheduledVerification();
  expect(scheduled).toMatchObject({ ok: false, firstBroken: { reason }, alerted: true });
  const mail = await stack.smtp.waitFor((m) => m.to.includes(ALERT_EMAIL) && m.subject.includes(reason));
  expect(mail.text).toContain(`Reason: ${reason}`);
  // The same break again: no second email.
  expect(await runScheduledVerification()).toMatchObject({ ok: false, alerted: false });
  expect(stack.smtp.messagesTo(ALERT_EMAIL).filter((m) => m.subject.includes(reason))).toHaveLength(1);

  const metrics = await (await fetch(`${stack.metrics.url}/metrics`)).text();
  expect(metrics).toMatch(/^dlo_audit_chain_ok 0$/m);
  expect(metrics).toMatch(/^dlo_audit_integrity_alerts [1-9]/m);
}

/** Removes every event from global position `seq` on (the tamper and what the alerting run appended after it). */
async function cutFrom(seq: string): Promise<void> {
  await asSuperuserWithoutTriggers(async (trx) => {
    await trx('audit_events').where('global_seq', '>=', seq).delete();
  });
}

async function expectIntact(): Promise<void> {
  const api = await stack.http('GET', '/v1/audit/verify', undefined, {}, 'auditor');
  expect(api.body).toMatchObject({ ok: true });
}

describe("the service's database role (least privilege)", () => {
  it('is refused ALTER TABLE ... DISABLE TRIGGER, UPDATE, DELETE and TRUNCATE of audit rows, and writing anchors', async () => {
    const [event] = await appendSome(1);
    await expect(stack.db.raw('alter table audit_events disable trigger audit_events_no_update')).rejects.toThrow(
      /must be owner/,
    );
    await expect(stack.db.raw('alter table audit_events add column note text')).rejects.toThrow(/must be owner/);
    await expect(stack.db('audit_events').where({ id: event!.id }).update({ actor: 'someone' })).rejects.toThrow(
      /permission denied/,
    );
    await expect(stack.db('audit_events').where({ id: event!.id }).delete()).rejects.toThrow(/permission denied/);
    await expect(stack.db.raw('truncate audit_events')).rejects.toThrow(/permission denied/);
    await expect(stack.db.raw("set session_replication_role = 'replica'")).rejects.toThrow(/permission denied/);
    await expect(
      stack.db('audit_chain_anchors').insert({
        chain: 'global',
        last_seq: 1,
        last_event_id: 1,
        last_hash: '0'.repeat(64),
        purged_count: 1,
        cutoff: new Date(),
      }),
    ).rejects.toThrow(/permission denied/);
    // The purge function deletes only below an anchor that names a real event with its hash.
    await expect(
      stack.db.raw('select * from audit_purge_through(?, ?, now())', [event!.chains.global.seq, 'f'.repeat(64)]),
    ).rejects.toThrow(/no event at global position/);
    expect(await auditEvents.list(stack.db, { customerId: event!.customerId! })).toHaveLength(1);
  });
});

describe('an intact chain', () => {
  it('verifies with its MACs, and the scheduled verification signs its head into an append-only 0600 file', async () => {
    const events = await appendSome(3);
    const run = await runScheduledVerification();
    expect(run).toMatchObject({ ok: true, alerted: false, firstBroken: null });
    expect(BigInt(run.checkpointSeq!)).toBeGreaterThanOrEqual(BigInt(events[2]!.chains.global.seq));

    expect(fs.statSync(checkpointPath).mode & 0o777).toBe(0o600);
    const file = readCheckpoints(checkpointPath, stack.config.audit.checkpoints.signer);
    expect(file.invalid).toEqual([]);
    expect(file.valid.at(-1)).toMatchObject({ type: 'checkpoint', seq: run.checkpointSeq, hash: run.head!.hash });

    const api = await stack.http('GET', '/v1/audit/verify', undefined, {}, 'auditor');
    expect(api.body).toMatchObject({
      ok: true,
      keyed: { legacyThroughSeq: '0' },
      checkpoints: { count: file.valid.length, invalidLines: 0, latest: { seq: run.checkpointSeq } },
    });
    expect(api.body.keyed.macsChecked).toBe(api.body.checked);
    const printed = await cli(['audit', 'verify']);
    expect(printed.code).toBe(0);
    expect(printed.stdout).toMatch(/intact \(\d+ events checked, \d+ MACs, \d+ signed checkpoints/);
  });

  it('is verified by the Temporal Schedule audit-verify-<taskQueue>, which a trigger runs at once', async () => {
    const handle = stack.client.schedule.getHandle(auditVerifyScheduleId(stack.taskQueue));
    const described = await handle.describe();
    expect(described.spec.intervals?.[0]?.every).toBe(stack.config.audit.verifyIntervalMs);
    const [event] = await appendSome(1);
    await handle.trigger();
    const deadline = Date.now() + 60_000;
    for (;;) {
      const latest = readCheckpoints(checkpointPath, stack.config.audit.checkpoints.signer).valid.at(-1);
      if (latest && BigInt(latest.seq) >= BigInt(event!.chains.global.seq)) break;
      if (Date.now() > deadline) throw new Error('the scheduled verification wrote no checkpoint within 60 s');
      await new Promise((r) => setTimeout(r, 500));
    }
  });
});

describe('tampering is detected by the API, the CLI and the scheduled verification', () => {
  it('finds an event forged with the chain hashes recomputed (no key: its MAC cannot match)', async () => {
    await appendSome(2);
    await runScheduledVerification();
    // The owner role inserts an event that extends both chains exactly as the service would, except for the key.
    const forgedSeq = await owner.transaction(async (trx) => {
      await trx.raw("select pg_advisory_xact_lock(hashtextextended('audit_events.chain', 0))");
      const head = await trx('audit_events').orderBy('global_seq', 'desc').first('global_seq', 'global_hash');
      const {
        rows: [next],
      } = await trx.raw<{ rows: { id: string; at: Date }[] }>(
        "select nextval(pg_get_serial_sequence('audit_events', 'id'))::text as id, date_trunc('milliseconds', now()) as at",
      );
      const content: AuditContent = {
        id: next!.id,
        occurredAt: next!.at,
        actor: 'staff:someone',
        action: 'erasure.completed',
        subjectType: 'customer',
        subjectId: 'forged',
        customerId: null,
        requestId: null,
        workflowId: null,
        dataCategory: 'audit_log',
        details: { forged: true },
      };
      const contentHash = auditContentHash(content);
      const globalSeq = String(BigInt(head.global_seq) + 1n);
      const globalHash = chainLinkHash(head.global_hash, contentHash);
      await trx('audit_events').insert({
        id: content.id,
        occurred_at: content.occurredAt,
        actor: content.actor,
        action: content.action,
        subject_type: content.subjectType,
        subject_id: content.subjectId,
        details: JSON.stringify(content.details),
        data_category: content.dataCategory,
        content_hash: contentHash,
        global_seq: globalSeq,
        global_prev_hash: head.global_hash,
        global_hash: globalHash,
        mac_key_id: stack.config.audit.keyring.activeKeyId,
        mac: createHmac('sha256', 'a guessed key').update(globalHash).digest('hex'),
      });
      return globalSeq;
    });
    await expectDetectedEverywhere('mac_mismatch', forgedSeq);
    await cutFrom(forgedSeq);
    await expectIntact();
  });

  it('finds a rewrite of an earlier event with every later hash recomputed', async () => {
    const events = await appendSome(3);
    await runScheduledVerification();
    const target = events[1]!;
    const saved = await admin('audit_events').where('global_seq', '>=', target.chains.global.seq).orderBy('global_seq');
    // Rewrite the details and recompute the content hash and every chain hash from there on (global and customer).
    await asSuperuserWithoutTriggers(async (trx) => {
      let prevGlobal = target.chains.global.prevHash;
      const prevCustomer = new Map<string, string>();
      for (const row of saved) {
        const details = row.id === target.id ? { i: 99 } : row.details;
        const contentHash = auditContentHash({
          id: row.id,
          occurredAt: row.occurred_at,
          actor: row.actor,
          action: row.action,
          subjectType: row.subject_type,
          subjectId: row.subject_id,
          customerId: row.customer_id,
          requestId: row.request_id,
          workflowId: row.workflow_id,
          dataCategory: row.data_category,
          details,
        });
        const globalHash = chainLinkHash(prevGlobal, contentHash);
        const update: Record<string, unknown> = {
          details: JSON.stringify(details),
          content_hash: contentHash,
          global_prev_hash: prevGlobal,
          global_hash: globalHash,
        };
        if (row.customer_id) {
          const prev = prevCustomer.get(row.customer_id) ?? row.customer_prev_hash;
          update.customer_prev_hash = prev;
          update.customer_hash = chainLinkHash(prev, contentHash);
          prevCustomer.set(row.customer_id, update.customer_hash as string);
        }
        await trx('audit_events').where({ id: row.id }).update(update);
        prevGlobal = globalHash;
      }
    });
    // Without the MACs, the hashes alone would verify: the chain is consistent again.
    const api = await stack.http('GET', '/v1/audit/verify', undefined, {}, 'auditor');
    expect(api.body.firstBroken).toMatchObject({ id: target.id, reason: 'mac_mismatch' });
    await expectDetectedEverywhere('mac_mismatch', target.chains.global.seq);

    await cutFrom(target.chains.global.seq);
    await asSuperuserWithoutTriggers(async (trx) => {
      await trx('audit_events').insert(saved.map((r) => ({ ...r, details: JSON.stringify(r.details) })));
    });
    await expectIntact();
  });

  it('finds a truncated tail: the head is older than the last signed checkpoint', async () => {
    const events = await appendSome(3);
    const run = await runScheduledVerification();
    expect(run.ok).toBe(true);
    const cut = await admin('audit_events')
      .where('global_seq', '>=', events[1]!.chains.global.seq)
      .orderBy('global_seq');
    await cutFrom(events[1]!.chains.global.seq);
    // The chain that remains is intact in itself: only the checkpoint shows that events are missing.
    expect((await auditEvents.verify(stack.db)).ok).toBe(true);
    await expectDetectedEverywhere('truncated', run.checkpointSeq!);

    await cutFrom(events[1]!.chains.global.seq);
    await asSuperuserWithoutTriggers(async (trx) => {
      await trx('audit_events').insert(cut.map((r) => ({ ...r, details: JSON.stringify(r.details) })));
    });
    await expectIntact();
  });
});

describe('retention of the audit log', () => {
  it('refuses an audit_log policy shorter than AUDIT_RETENTION_FLOOR (PT1S, P5Y), naming the rule', async () => {
    for (const period of ['PT1S', 'P5Y']) {
      const res = await stack.http(
        'PUT',
        '/v1/retention-policies/audit_log',
        { period, clockStart: 'record_creation', legalBasis: 'accountability, GDPR Art. 5(2)' },
        {},
        'privacy_officer',
      );
      expect(res.status).toBe(400);
      expect(res.body.errors).toEqual([
        expect.objectContaining({ field: 'body.period', rule: 'audit_retention_floor' }),
      ]);
    }
    const atFloor = await stack.http(
      'PUT',
      '/v1/retention-policies/audit_log',
      { period: 'P6Y', clockStart: 'record_creation', legalBasis: 'accountability, GDPR Art. 5(2)' },
      {},
      'privacy_officer',
    );
    // At the floor the change is allowed, as a shortening (P7Y -> P6Y) that waits for a second person.
    expect(atFloor.status).toBe(202);
  });

  it('purges only below a signed anchor, records the purge, and stays verifiable; a purge nobody signed is a break', async () => {
    const events = await appendSome(3);
    const cutoff = new Date(events[1]!.occurredAt.getTime());
    const result = await auditEvents.purgeBefore(stack.db, cutoff, { actor: 'system:integrity-test' });
    expect(result.purged).toBeGreaterThan(0);
    const file = readCheckpoints(checkpointPath, stack.config.audit.checkpoints.signer);
    expect(file.valid.filter((l) => l.type === 'purge_anchor').at(-1)).toMatchObject({
      seq: result.anchor!.seq,
      hash: result.anchor!.hash,
      cutoff: cutoff.toISOString(),
    });
    const [purged] = await auditEvents.list(stack.db, { action: 'audit.purged' });
    expect(purged).toMatchObject({ id: result.eventId, details: { anchor: result.anchor } });
    const verified = await stack.http('GET', '/v1/audit/verify', undefined, {}, 'auditor');
    expect(verified.body).toMatchObject({ ok: true, anchor: { seq: result.anchor!.seq } });

    // The owner deletes the next events itself and writes a matching anchor row: no signed anchor says so.
    const first = await admin('audit_events').orderBy('global_seq').first();
    await asSuperuserWithoutTriggers(async (trx) => {
      await trx('audit_chain_anchors').insert({
        chain: 'global',
        last_seq: first.global_seq,
        last_event_id: first.id,
        last_hash: first.global_hash,
        purged_count: 1,
        cutoff: new Date(),
      });
      await trx('audit_events').where({ id: first.id }).delete();
    });
    await expectDetectedEverywhere('unsigned_purge', first.global_seq);
  });
});
