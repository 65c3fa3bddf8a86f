/**
 * The audit log as evidence: append-only in the database, hash-chained (globally and per customer) without forks under
 * concurrency, verifiable through the repository, the API and the CLI, queryable with filters and keyset pagination,
 * and purgeable for retention without breaking verification of what remains.
 *
 * The test database is shared with other test files that append events at the same time. Global-chain assertions
 * therefore only rely on what foreign events cannot change, and everything destructive (tampering, purging) happens
 * inside transactions that are rolled back, or in a database of its own.
 */
import { execFile } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { OpenAPIRegistry, OpenApiGeneratorV31 } from '@asteasolutions/zod-to-openapi';
import express from 'express';
import type { Knex } from 'knex';
import winston from 'winston';
import { errorHandler } from '../api/problem';
import { auditRouter, registerAuditOpenApi } from '../api/routes/audit';
import { startServer, type RunningServer } from '../api/server';
import { createDb, dropDatabase, ensureDatabase, type Db } from '../db/connection';
import {
  auditEvents,
  auditLogSecurity,
  configureAuditLog,
  type AuditEvent,
  type AuditEventInput,
} from '../db/repositories/audit-events';
import {
  auditContentHash,
  canonicalAuditContent,
  chainLinkHash,
  GENESIS_HASH,
  type AuditContent,
} from '../lib/audit-hash';
import { createLogger } from '../lib/logger';

const ROOT = path.join(__dirname, '..');
const log = createLogger({
  service: 'test-audit-log',
  level: 'debug',
  transports: [new winston.transports.File({ filename: path.join(ROOT, '.data', 'test', 'logs', 'audit-log.log') })],
});

let db: Db;
let api: RunningServer;

beforeAll(async () => {
  // As the server's superuser: this file tests what the database's own triggers refuse to anyone, and tampers as the
  // worst insider would (the service's role is refused far earlier: test/audit-integrity.test.ts).
  db = createDb(process.env.TEST_DATABASE_ADMIN_URL!, 10);
  api = await serve(db);
});
afterAll(async () => {
  await api?.stop();
  await db?.destroy();
  log.close();
});

/** The audit routes alone, on a free port, reading through `source` (the pool, or a transaction to see inside it). */
async function serve(source: Knex): Promise<RunningServer> {
  const app = express();
  app.use(auditRouter({ db: source }));
  app.use(errorHandler(log));
  return startServer(app, 0);
}

async function get(server: RunningServer, urlPath: string): Promise<{ status: number; type: string; body: any }> {
  const res = await fetch(`${server.url}${urlPath}`);
  return { status: res.status, type: res.headers.get('content-type') ?? '', body: await res.json() };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function event(customerId: string | null, overrides: Partial<AuditEventInput> = {}): AuditEventInput {
  return {
    actor: 'system:audit-test',
    action: 'test.happened',
    subjectType: 'test_subject',
    subjectId: randomUUID(),
    customerId,
    details: { n: 1 },
    ...overrides,
  };
}

/** Appends `n` events for a customer one after the other, a few milliseconds apart (distinct `occurredAt`). */
async function appendSeries(customerId: string, n: number, overrides: Partial<AuditEventInput> = {}) {
  const out: AuditEvent[] = [];
  for (let i = 0; i < n; i++) {
    out.push(await auditEvents.append(db, event(customerId, { details: { i }, ...overrides })));
    await sleep(3);
  }
  return out;
}

/** Runs `fn` in a transaction that is always rolled back, so nothing it does is ever seen by anyone else. */
async function inRolledBackTransaction<T>(fn: (trx: Knex.Transaction) => Promise<T>): Promise<T> {
  const trx = await db.transaction();
  try {
    return await fn(trx);
  } finally {
    await trx.rollback();
  }
}

/** Switches triggers off for the rest of `trx` only, as an attacker with database access could. */
async function bypassTriggers(trx: Knex.Transaction): Promise<void> {
  await trx.raw('set local session_replication_role = replica');
}

describe('canonical content and link hashes', () => {
  const content: AuditContent = {
    id: '7',
    occurredAt: new Date('2026-01-02T03:04:05.678Z'),
    actor: 'system:test',
    action: 'customer.recorded',
    subjectType: 'customer',
    subjectId: 'c1',
    customerId: null,
    requestId: null,
    workflowId: 'wf-1',
    dataCategory: 'audit_log',
    details: { b: 2, a: [1, 'x'] },
  };

  it('serialises an event as RFC 8785 JSON with sorted keys, millisecond UTC time and a format version', () => {
    expect(canonicalAuditContent(content)).toBe(
      '{"action":"customer.recorded","actor":"system:test","customerId":null,"dataCategory":"audit_log",' +
        '"details":{"a":[1,"x"],"b":2},"id":"7","occurredAt":"2026-01-02T03:04:05.678Z","requestId":null,' +
        '"subjectId":"c1","subjectType":"customer","v":1,"workflowId":"wf-1"}',
    );
    expect(auditContentHash({ ...content, details: { a: [1, 'x'], b: 2 } })).toBe(auditContentHash(content));
  });

  it('changes the content hash when any hashed field changes', () => {
    const base = auditContentHash(content);
    const variants: Partial<AuditContent>[] = [
      { id: '8' },
      { occurredAt: new Date('2026-01-02T03:04:05.679Z') },
      { actor: 'staff:someone' },
      { action: 'customer.activated' },
      { subjectType: 'contact' },
      { subjectId: 'c2' },
      { customerId: '6f1e0a52-4a4f-4c1b-9d9e-2f5f6f0f6f0f' },
      { requestId: '6f1e0a52-4a4f-4c1b-9d9e-2f5f6f0f6f0f' },
      { workflowId: null },
      { dataCategory: 'other' },
      { details: { b: 3, a: [1, 'x'] } },
    ];
    for (const variant of variants) expect(auditContentHash({ ...content, ...variant })).not.toBe(base);
  });

  it('links a chain position as SHA-256 over the previous hash followed by the content hash', () => {
    const contentHash = auditContentHash(content);
    expect(chainLinkHash(GENESIS_HASH, contentHash)).toBe(
      createHash('sha256')
        .update(GENESIS_HASH + contentHash)
        .digest('hex'),
    );
    expect(() => chainLinkHash('not-a-hash', contentHash)).toThrow(RangeError);
  });
});

describe('the database keeps the audit log append-only', () => {
  it('refuses UPDATE of an audit event and leaves it unchanged', async () => {
    const stored = await auditEvents.append(db, event(randomUUID()));
    await expect(
      db('audit_events')
        .where({ id: stored.id })
        .update({ details: JSON.stringify({ n: 2 }) }),
    ).rejects.toThrow(/audit_events is append-only: UPDATE is not allowed/);
    const [again] = await auditEvents.list(db, { customerId: stored.customerId! });
    expect(again).toEqual(stored);
  });

  it('refuses DELETE and TRUNCATE outside the retention purge', async () => {
    const stored = await auditEvents.append(db, event(randomUUID()));
    await expect(db('audit_events').where({ id: stored.id }).delete()).rejects.toThrow(
      /DELETE is only allowed through the retention purge/,
    );
    await expect(db.raw('truncate audit_events')).rejects.toThrow(/TRUNCATE is not allowed/);
    expect(await auditEvents.list(db, { customerId: stored.customerId! })).toHaveLength(1);
  });

  it('refuses a purge permission that is not bound to the current transaction', async () => {
    const stored = await auditEvents.append(db, event(randomUUID()));
    await inRolledBackTransaction(async (trx) => {
      await trx.raw("select set_config('audit.allow_purge', 'on', true)");
      await expect(trx('audit_events').where({ id: stored.id }).delete()).rejects.toThrow(
        /DELETE is only allowed through the retention purge/,
      );
    });
  });

  it('refuses, even on the purge path, to delete anything but the oldest events, or the oldest without an anchor', async () => {
    const [, middle] = await appendSeries(randomUUID(), 3);
    const openPurgePath = (trx: Knex.Transaction) =>
      trx.raw("select set_config('audit.allow_purge', pg_current_xact_id()::text, true)");
    await inRolledBackTransaction(async (trx) => {
      await openPurgePath(trx);
      await expect(trx('audit_events').where({ id: middle!.id }).delete()).rejects.toThrow(
        /may only delete the oldest events of the global chain/,
      );
    });
    await inRolledBackTransaction(async (trx) => {
      await openPurgePath(trx);
      await expect(
        trx('audit_events').where('global_seq', trx('audit_events').min('global_seq')).delete(),
      ).rejects.toThrow(/has no matching anchor/);
    });
    expect(await auditEvents.list(db, { customerId: middle!.customerId! })).toHaveLength(3);
  });

  it('refuses an inserted event that does not extend its chains', async () => {
    const [last] = await appendSeries(randomUUID(), 1);
    await inRolledBackTransaction(async (trx) => {
      await expect(
        trx('audit_events').insert({
          actor: 'attacker',
          action: 'test.forged',
          subject_type: 'x',
          subject_id: 'y',
          content_hash: 'a'.repeat(64),
          global_seq: last!.chains.global.seq, // a position that is taken: a fork
          global_prev_hash: last!.chains.global.prevHash,
          global_hash: chainLinkHash(last!.chains.global.prevHash, 'a'.repeat(64)),
        }),
      ).rejects.toThrow(/does not extend the global chain/);
    });
  });
});

describe('hash chains', () => {
  it('links every event of a customer to the previous one and verifies after many appends', async () => {
    const customerId = randomUUID();
    const requestId = randomUUID();
    const appended: AuditEvent[] = [];
    for (let i = 0; i < 40; i++) {
      appended.push(
        await auditEvents.append(db, event(customerId, { requestId: i % 2 ? requestId : null, details: { i } })),
      );
    }
    expect(appended.map((e) => e.chains.customer!.seq)).toEqual(appended.map((_, i) => String(i + 1)));
    expect(appended[0]!.chains.customer!.prevHash).toBe(GENESIS_HASH);
    for (let i = 1; i < appended.length; i++) {
      expect(appended[i]!.chains.customer!.prevHash).toBe(appended[i - 1]!.chains.customer!.hash);
      expect(BigInt(appended[i]!.chains.global.seq)).toBeGreaterThan(BigInt(appended[i - 1]!.chains.global.seq));
    }
    // What append returned is exactly what a later read returns.
    expect(await auditEvents.list(db, { customerId })).toEqual(appended);

    const report = await auditEvents.verify(db, { customerId });
    expect(report).toEqual({
      ok: true,
      chain: `customer:${customerId}`,
      checked: 40,
      anchor: null,
      head: { id: appended[39]!.id, seq: '40', hash: appended[39]!.chains.customer!.hash },
      // Every event since the keyed chain began carries a MAC, and each was checked.
      keyed: { legacyThroughSeq: '0', macsChecked: 40 },
    });
    const global = await auditEvents.verify(db);
    expect(global).toMatchObject({ ok: true, chain: 'global' });
    expect(global.checked).toBeGreaterThanOrEqual(40);
    expect(global.firstBroken).toBeUndefined();
  });

  it('keeps one unforked chain per customer and globally under 50 concurrent appends across 3 customers', async () => {
    const customers = [randomUUID(), randomUUID(), randomUUID()];
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) => {
        const input = event(customers[i % 3]!, { details: { i } });
        // Half append on their own, half inside a transaction that also does other work (as activities do).
        return i % 2
          ? auditEvents.append(db, input)
          : db.transaction(async (trx) => {
              await trx.raw('select 1');
              return auditEvents.append(trx, input);
            });
      }),
    );
    expect(new Set(results.map((e) => e.chains.global.seq)).size).toBe(50);

    for (const [k, customerId] of customers.entries()) {
      const expected = results.filter((_, i) => i % 3 === k).length;
      const report = await auditEvents.verify(db, { customerId });
      expect(report).toMatchObject({ ok: true, checked: expected });
      const events = await auditEvents.list(db, { customerId });
      expect(events.map((e) => e.chains.customer!.seq)).toEqual(events.map((_, i) => String(i + 1)));
      expect(new Set(events.map((e) => e.chains.customer!.prevHash)).size).toBe(expected);
    }
    const forks = await db('audit_events')
      .select('global_prev_hash')
      .groupBy('global_prev_hash')
      .havingRaw('count(*) > 1');
    expect(forks).toEqual([]);
    expect((await auditEvents.verify(db)).ok).toBe(true);
  });

  it('stores the instant with millisecond precision so the content hash is reproducible from the stored row', async () => {
    const stored = await auditEvents.append(db, event(randomUUID(), { details: { z: 1, a: { y: [true, null] } } }));
    const row = await db('audit_events')
      .where({ id: stored.id })
      .first(db.raw('extract(microseconds from occurred_at)::int % 1000 as sub_ms'), '*');
    expect(row.sub_ms).toBe(0);
    expect(
      auditContentHash({
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
        details: row.details,
      }),
    ).toBe(row.content_hash);
  });
});

describe('verification finds tampering', () => {
  it('reports an altered event as the first broken link, through the repository and the API', async () => {
    const customerId = randomUUID();
    const events = await appendSeries(customerId, 5);
    const altered = events[2]!;
    await inRolledBackTransaction(async (trx) => {
      await bypassTriggers(trx);
      await trx('audit_events')
        .where({ id: altered.id })
        .update({ details: JSON.stringify({ i: 99 }) });

      const report = await auditEvents.verify(trx, { customerId });
      expect(report).toMatchObject({
        ok: false,
        chain: `customer:${customerId}`,
        checked: 3,
        head: { id: events[1]!.id, seq: '2' },
        firstBroken: { id: altered.id, seq: '3', reason: 'content_hash_mismatch' },
      });
      expect((await auditEvents.verify(trx)).firstBroken).toMatchObject({
        id: altered.id,
        reason: 'content_hash_mismatch',
      });

      const inside = await serve(trx);
      try {
        const customer = await get(inside, `/v1/audit/verify?customerId=${customerId}`);
        expect(customer.status).toBe(200);
        expect(customer.body).toMatchObject({
          ok: false,
          firstBroken: { id: altered.id, reason: 'content_hash_mismatch' },
        });
        const global = await get(inside, '/v1/audit/verify');
        expect(global.body).toMatchObject({ ok: false, chain: 'global', firstBroken: { id: altered.id } });
      } finally {
        await inside.stop();
      }
    });
    expect((await auditEvents.verify(db, { customerId })).ok).toBe(true);
  });

  it('reports a rewritten content hash whose chain hash no longer matches', async () => {
    const customerId = randomUUID();
    const events = await appendSeries(customerId, 3);
    const target = events[1]!;
    await inRolledBackTransaction(async (trx) => {
      await bypassTriggers(trx);
      const forged = auditContentHash({ ...target, details: { i: 99 } });
      await trx('audit_events')
        .where({ id: target.id })
        .update({ details: JSON.stringify({ i: 99 }), content_hash: forged });
      expect((await auditEvents.verify(trx, { customerId })).firstBroken).toMatchObject({
        id: target.id,
        reason: 'hash_mismatch',
      });
    });
  });

  it('reports the event after a removed one as broken (previous-hash mismatch), through the repository and the API', async () => {
    const customerId = randomUUID();
    const events = await appendSeries(customerId, 5);
    await inRolledBackTransaction(async (trx) => {
      await bypassTriggers(trx);
      await trx('audit_events').where({ id: events[2]!.id }).delete();

      expect(await auditEvents.verify(trx, { customerId })).toMatchObject({
        ok: false,
        checked: 3,
        firstBroken: { id: events[3]!.id, seq: '4', reason: 'prev_hash_mismatch' },
      });
      const inside = await serve(trx);
      try {
        const res = await get(inside, `/v1/audit/verify?customerId=${customerId}`);
        expect(res.body.firstBroken).toMatchObject({ id: events[3]!.id, reason: 'prev_hash_mismatch' });
        expect((await get(inside, '/v1/audit/verify')).body.firstBroken).toMatchObject({
          id: events[3]!.id,
          reason: 'prev_hash_mismatch',
        });
      } finally {
        await inside.stop();
      }
    });
    expect((await auditEvents.verify(db, { customerId })).ok).toBe(true);
  });
});

describe('retention of the audit log', () => {
  it('purges the oldest events, anchors every chain it cut, records the purge, and what remains still verifies', async () => {
    const kept = randomUUID();
    const gone = randomUUID();
    const [goneEvent] = await appendSeries(gone, 1);
    const events = await appendSeries(kept, 6);
    const cutoff = events[3]!.occurredAt;

    await inRolledBackTransaction(async (trx) => {
      const result = await auditEvents.purgeBefore(trx, cutoff, { actor: 'system:audit-test' });
      expect(result.purged).toBeGreaterThanOrEqual(4);
      expect(result.customerChains).toBeGreaterThanOrEqual(2);
      // Other test files append too: the global prefix ends at or after the kept customer's last old event.
      expect(BigInt(result.anchor!.seq)).toBeGreaterThanOrEqual(BigInt(events[2]!.chains.global.seq));
      expect(BigInt(result.anchor!.seq)).toBeLessThan(BigInt(events[3]!.chains.global.seq));

      const left = await auditEvents.list(trx, { customerId: kept });
      expect(left.map((e) => e.id)).toEqual(events.slice(3).map((e) => e.id));
      expect(await auditEvents.list(trx, { customerId: gone })).toEqual([]);

      const anchors = await trx('audit_chain_anchors')
        .whereIn('chain', [`customer:${kept}`, `customer:${gone}`, 'global'])
        .andWhere('cutoff', cutoff);
      expect(anchors).toHaveLength(3);
      expect(anchors.find((a) => a.chain === `customer:${kept}`)).toMatchObject({
        last_seq: '3',
        last_event_id: events[2]!.id,
        last_hash: events[2]!.chains.customer!.hash,
        purged_count: '3',
      });
      expect(anchors.find((a) => a.chain === 'global')).toMatchObject({
        last_seq: result.anchor!.seq,
        last_event_id: result.anchor!.eventId,
        last_hash: result.anchor!.hash,
        purged_count: String(result.purged),
      });

      const [purged] = await auditEvents.list(trx, { action: 'audit.purged', after: events[5]!.id });
      expect(purged).toMatchObject({
        id: result.eventId,
        actor: 'system:audit-test',
        details: { purged: result.purged, cutoff: cutoff.toISOString(), anchor: result.anchor },
      });

      expect(await auditEvents.verify(trx, { customerId: kept })).toMatchObject({
        ok: true,
        checked: 3,
        anchor: { seq: '3', eventId: events[2]!.id },
      });
      expect(await auditEvents.verify(trx)).toMatchObject({ ok: true, anchor: { seq: result.anchor!.seq } });

      // A chain purged to nothing continues from its anchor.
      expect(await auditEvents.verify(trx, { customerId: gone })).toMatchObject({ ok: true, checked: 0 });
      const next = await auditEvents.append(trx, event(gone));
      expect(next.chains.customer).toMatchObject({ seq: '2', prevHash: goneEvent!.chains.customer!.hash });
      expect(await auditEvents.verify(trx, { customerId: gone })).toMatchObject({ ok: true, checked: 1 });
    });
    expect(await auditEvents.list(db, { customerId: kept })).toHaveLength(6);
  });

  it('purges at most maxEvents of the oldest events per call, still leaving a verifiable chain', async () => {
    await appendSeries(randomUUID(), 3);
    await inRolledBackTransaction(async (trx) => {
      const [oldest] = await trx('audit_events').orderBy('global_seq').limit(1).select('global_seq');
      const result = await auditEvents.purgeBefore(trx, new Date(), { maxEvents: 2 });
      expect(result).toMatchObject({ purged: 2, anchor: { seq: String(BigInt(oldest.global_seq) + 1n) } });
      expect(await auditEvents.verify(trx)).toMatchObject({ ok: true, anchor: { seq: result.anchor!.seq } });
    });
  });

  it('writes nothing when no event is old enough', async () => {
    await inRolledBackTransaction(async (trx) => {
      const [before] = await trx('audit_chain_anchors').count({ n: '*' });
      const result = await auditEvents.purgeBefore(trx, new Date('2000-01-01T00:00:00Z'));
      expect(result).toMatchObject({ purged: 0, anchor: null, eventId: null });
      const [after] = await trx('audit_chain_anchors').count({ n: '*' });
      expect(after).toEqual(before);
    });
  });
});

describe('reading the audit log over HTTP', () => {
  const customerId = randomUUID();
  const requestId = randomUUID();
  const actor = `staff:${randomUUID()}`;
  let events: AuditEvent[];

  beforeAll(async () => {
    events = [
      ...(await appendSeries(customerId, 3, { action: 'test.first' })),
      ...(await appendSeries(customerId, 2, { action: 'test.second', requestId, actor })),
      ...(await appendSeries(customerId, 2, { action: 'test.first', actor })),
    ];
  });

  const ids = (body: { items: { id: string }[] }) => body.items.map((e) => e.id);

  it('answers events with their hashes, filtered by customer, request, actor, action and time', async () => {
    const all = await get(api, `/v1/audit-events?customerId=${customerId}`);
    expect(all.status).toBe(200);
    expect(all.body).toEqual({ items: JSON.parse(JSON.stringify(events)), next: null });

    expect(ids((await get(api, `/v1/audit-events?requestId=${requestId}`)).body)).toEqual(
      events.slice(3, 5).map((e) => e.id),
    );
    expect(ids((await get(api, `/v1/audit-events?actor=${encodeURIComponent(actor)}`)).body)).toEqual(
      events.slice(3).map((e) => e.id),
    );
    expect(
      ids((await get(api, `/v1/audit-events?customerId=${customerId}&action=test.first&actor=system:audit-test`)).body),
    ).toEqual(events.slice(0, 3).map((e) => e.id));
    const from = events[2]!.occurredAt.toISOString();
    const to = events[5]!.occurredAt.toISOString();
    expect(ids((await get(api, `/v1/audit-events?customerId=${customerId}&from=${from}&to=${to}`)).body)).toEqual(
      events.slice(2, 5).map((e) => e.id),
    );
  });

  it('pages through events with a cursor that keeps the filters', async () => {
    const seen: string[] = [];
    let next: string | null = `/v1/audit-events?customerId=${customerId}&limit=3`;
    let pages = 0;
    while (next) {
      const page = await get(api, next);
      expect(page.status).toBe(200);
      expect(page.body.items.length).toBeLessThanOrEqual(3);
      seen.push(...ids(page.body));
      next = page.body.next as string | null;
      pages += 1;
    }
    expect(pages).toBe(3);
    expect(seen).toEqual(events.map((e) => e.id));
  });

  it('verifies the global chain and a customer chain', async () => {
    const customer = await get(api, `/v1/audit/verify?customerId=${customerId}`);
    expect(customer.status).toBe(200);
    expect(customer.body).toEqual({
      ok: true,
      chain: `customer:${customerId}`,
      checked: 7,
      anchor: null,
      head: { id: events[6]!.id, seq: '7', hash: events[6]!.chains.customer!.hash },
      keyed: { legacyThroughSeq: '0', macsChecked: 7 },
      checkpoints: expect.objectContaining({ invalidLines: 0 }),
    });
    const global = await get(api, '/v1/audit/verify');
    expect(global.body).toMatchObject({ ok: true, chain: 'global' });
  });

  it('refuses invalid query parameters with a problem that names each of them', async () => {
    const res = await get(api, '/v1/audit-events?customerId=nope&limit=0&after=abc&from=yesterday&colour=red');
    expect(res.status).toBe(400);
    expect(res.type).toContain('application/problem+json');
    // One error per field: an unparseable date is named for its format only, not also for the sane range.
    const fields = (res.body.errors as { field: string; rule: string }[]).map((e) => e.field).sort();
    expect(fields).toEqual(['query.after', 'query.colour', 'query.customerId', 'query.from', 'query.limit']);

    const backwards = await get(api, '/v1/audit-events?from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z');
    expect(backwards.body.errors).toEqual([expect.objectContaining({ field: 'query.to', rule: 'custom' })]);
    const verify = await get(api, '/v1/audit/verify?customerId=42');
    expect(verify.status).toBe(400);
    expect(verify.body.errors[0].field).toBe('query.customerId');
  });

  it('describes both routes in the OpenAPI document from the same schemas', () => {
    const registry = new OpenAPIRegistry();
    registerAuditOpenApi(registry);
    const doc = new OpenApiGeneratorV31(registry.definitions).generateDocument({
      openapi: '3.1.0',
      info: { title: 't', version: '1' },
    });
    const list = doc.paths!['/v1/audit-events']!.get!;
    expect((list.parameters as { name: string }[]).map((p) => p.name).sort()).toEqual(
      ['action', 'actor', 'after', 'customerId', 'from', 'limit', 'requestId', 'to'].sort(),
    );
    expect(doc.paths!['/v1/audit/verify']!.get!.responses!['200']).toBeDefined();
    expect(Object.keys(doc.components!.schemas!)).toEqual(
      expect.arrayContaining(['AuditEvent', 'AuditEventPage', 'AuditVerifyReport']),
    );
  });
});

describe('on a database of its own: migration and CLI', () => {
  const url = (() => {
    const u = new URL(process.env.TEST_DATABASE_ADMIN_URL!);
    u.pathname = `${u.pathname}_audit`;
    return u.toString();
  })();
  let own: Db;
  // A checkpoint file of this database's own (the run's file holds checkpoints of the run's database).
  const checkpointPath = path.join(ROOT, '.data', 'test', `audit-checkpoints-own-${process.pid}-${Date.now()}.jsonl`);

  beforeAll(async () => {
    configureAuditLog({
      ...auditLogSecurity(),
      checkpoints: { ...auditLogSecurity().checkpoints, path: checkpointPath },
    });
    await ensureDatabase(url);
    own = createDb(url, 2);
    for (const name of [
      '20261128000100_customers.ts',
      '20261128000200_operational_and_technical_data.ts',
      '20261128000300_subprocessors_requests_audit.ts',
    ]) {
      await own.migrate.up({ name });
    }
  });
  afterAll(async () => {
    await own?.destroy();
    await dropDatabase(url);
    fs.rmSync(checkpointPath, { force: true });
  });

  function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
      execFile(
        path.join(ROOT, 'node_modules', '.bin', 'tsx'),
        [path.join(ROOT, 'scripts', 'cli.ts'), ...args],
        { cwd: ROOT, env: { ...process.env, DATABASE_URL: url, AUDIT_CHECKPOINT_PATH: `${checkpointPath}` } },
        (err, stdout, stderr) => resolve({ code: err ? Number(err.code ?? 1) : 0, stdout, stderr }),
      );
    });
  }

  it('chains the events that existed before the migration, in id order, and rolls back cleanly', async () => {
    const customerId = randomUUID();
    for (let i = 0; i < 5; i++) {
      await own('audit_events').insert({
        occurred_at: own.raw("now() - make_interval(secs => ?) + interval '123 microseconds'", [10 - i]),
        actor: 'system:legacy',
        action: 'legacy.event',
        subject_type: 'thing',
        subject_id: String(i),
        customer_id: i % 2 ? customerId : null,
        details: JSON.stringify({ i, nested: { b: 1, a: 'é' } }),
      });
    }
    await own.migrate.up({ name: '20261128000400_audit_chain.ts' });
    expect(await auditEvents.verify(own)).toMatchObject({ ok: true, checked: 5, head: { seq: '5' } });
    expect(await auditEvents.verify(own, { customerId })).toMatchObject({ ok: true, checked: 2 });
    const submillisecond = await own('audit_events')
      .whereRaw("occurred_at <> date_trunc('milliseconds', occurred_at)")
      .count({ n: '*' });
    expect(submillisecond).toEqual([{ n: '0' }]);
    // The keyed chain: the five unkeyed events stay verifiable, the next one carries its MAC.
    await own.migrate.up({ name: '20261202101000_audit_keyed_chain.ts' });
    const appended = await auditEvents.append(own, event(customerId));
    expect(appended.chains).toMatchObject({ global: { seq: '6' }, customer: { seq: '3' } });
    expect(await auditEvents.verify(own)).toMatchObject({
      ok: true,
      checked: 6,
      keyed: { legacyThroughSeq: '5', macsChecked: 1 },
    });

    await own.migrate.down({ name: '20261202101000_audit_keyed_chain.ts' });
    await own.migrate.down({ name: '20261128000400_audit_chain.ts' });
    expect(await own.schema.hasColumn('audit_events', 'global_hash')).toBe(false);
    expect(await own.schema.hasTable('audit_chain_anchors')).toBe(false);
    await own('audit_events').where({ id: appended.id }).delete(); // plain table again
    await own.migrate.up({ name: '20261128000400_audit_chain.ts' });
    expect(await auditEvents.verify(own)).toMatchObject({ ok: true, checked: 5 });
    await own.migrate.up({ name: '20261202101000_audit_keyed_chain.ts' });
  });

  it('audit verify prints the report and exits 1 once an event was altered', async () => {
    const customerId = randomUUID();
    const events: AuditEvent[] = [];
    for (let i = 0; i < 3; i++) events.push(await auditEvents.append(own, event(customerId, { details: { i } })));

    const good = await cli(['audit', 'verify', '--customer', customerId, '--json']);
    expect(good.code).toBe(0);
    expect(JSON.parse(good.stdout)).toMatchObject({ ok: true, chain: `customer:${customerId}`, checked: 3 });

    await own.transaction(async (trx) => {
      await bypassTriggers(trx);
      await trx('audit_events').where({ id: events[1]!.id }).update({ actor: 'someone-else' });
    });
    const bad = await cli(['audit', 'verify', '--json']);
    expect(bad.code).toBe(1);
    expect(JSON.parse(bad.stdout)).toMatchObject({
      ok: false,
      chain: 'global',
      firstBroken: { id: events[1]!.id, reason: 'content_hash_mismatch' },
    });
    const refused = await cli(['audit', 'verify', '--customer', 'nope']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('must be a customer id');

    // Put the original back so the purge below starts from an intact chain.
    await own.transaction(async (trx) => {
      await bypassTriggers(trx);
      await trx('audit_events').where({ id: events[1]!.id }).update({ actor: events[1]!.actor });
    });
    expect((await auditEvents.verify(own)).ok).toBe(true);
  });

  it('audit purge deletes events before the date, prints what it did, and leaves a verifiable chain', async () => {
    const last = (await auditEvents.list(own)).at(-1)!;
    const purge = await cli(['audit', 'purge', '--before', new Date(last.occurredAt.getTime() + 1).toISOString()]);
    expect(purge.code).toBe(0);
    const result = JSON.parse(purge.stdout);
    const total = await own('audit_events').count({ n: '*' });
    expect(result).toMatchObject({ anchor: { eventId: last.id } });
    expect(result.purged).toBeGreaterThan(0);
    expect(total).toEqual([{ n: '1' }]); // only the audit.purged event is left
    expect(await auditEvents.list(own)).toEqual([
      expect.objectContaining({ id: result.eventId, action: 'audit.purged', actor: expect.stringMatching(/^cli:/) }),
    ]);
    expect(await auditEvents.verify(own)).toMatchObject({ ok: true, checked: 1, anchor: { eventId: last.id } });

    const future = await cli(['audit', 'purge', '--before', '2999-01-01']);
    expect(future.code).toBe(1);
    expect(future.stderr).toContain('in the future');
  });
});
