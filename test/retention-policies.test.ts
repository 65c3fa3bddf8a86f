/**
 * Retention policies: the shipped defaults, reading them through the API, and changing one (privacy officer): every
 * change is a new version with history and an audit event naming it; refused changes write nothing. Also the pure
 * retention arithmetic (periods, clock start, jitter) the workflows plan with.
 */
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { auditEvents } from '../db/repositories/audit-events';
import {
  addPeriod,
  contractClockStart,
  periodProblem,
  planContractExpiries,
  retentionJitterMs,
  subtractPeriod,
  type RetentionPolicy,
} from '../lib/pure/retention';
import { startTestStack, type TestStack } from './support/test-stack';

let stack: TestStack;
/** This file's own policy set, so its changes never reach other test files sharing the database. */
const policySet = `test-policies-${randomUUID().slice(0, 8)}`;

beforeAll(async () => {
  stack = await startTestStack({ name: 'retention-policies', env: { RETENTION_POLICY_SET: policySet } });
});
afterAll(async () => {
  await stack?.stop();
});

const versionsOf = async (category: string) =>
  stack.db('retention_policy_versions').where({ policy_set: policySet, category }).orderBy('version');

describe('retention arithmetic', () => {
  it('accepts whole-number ISO 8601 periods from one second to a century and names what is wrong otherwise', () => {
    for (const ok of ['P2Y', 'P90D', 'PT5S', 'P1Y6M', 'P2W', 'P1DT12H', 'P100Y'])
      expect([ok, periodProblem(ok)]).toEqual([ok, undefined]);
    expect(periodProblem('P1.5Y')).toMatch(/whole numbers/);
    expect(periodProblem('1 year')).toMatch(/ISO 8601/);
    expect(periodProblem('P')).toMatch(/ISO 8601/);
    expect(periodProblem('PT')).toMatch(/ISO 8601/);
    expect(periodProblem('PT0S')).toMatch(/at least PT1S/);
    expect(periodProblem('P101Y')).toMatch(/100 years/);
  });

  it('adds and subtracts periods in calendar arithmetic (UTC)', () => {
    const jan31 = Date.parse('2027-01-31T10:00:00Z');
    expect(new Date(addPeriod(jan31, 'P1M')).toISOString()).toBe('2027-02-28T10:00:00.000Z');
    expect(new Date(addPeriod(jan31, 'P90D')).toISOString()).toBe('2027-05-01T10:00:00.000Z');
    expect(new Date(subtractPeriod(jan31, 'PT5S')).toISOString()).toBe('2027-01-31T09:59:55.000Z');
  });

  it('starts the contract clock when the contract actually ended, else at the end of its last day', () => {
    expect(contractClockStart(null)).toBeNull();
    expect(contractClockStart({ endsOn: null, endedAt: null })).toBeNull();
    expect(new Date(contractClockStart({ endsOn: '2027-12-31', endedAt: null })!).toISOString()).toBe(
      '2028-01-01T00:00:00.000Z',
    );
    expect(contractClockStart({ endsOn: '2027-12-31', endedAt: '2026-06-01T08:00:00.000Z' })).toBe(
      Date.parse('2026-06-01T08:00:00.000Z'),
    );
  });

  it('gives each customer the same jitter every time, within the bound, spread across customers', () => {
    fc.assert(
      fc.property(fc.uuid(), fc.integer({ min: 1, max: 86_400_000 }), (id, max) => {
        const j = retentionJitterMs(id, max);
        return j === retentionJitterMs(id, max) && j >= 0 && j < max;
      }),
    );
    expect(retentionJitterMs(randomUUID(), 0)).toBe(0);
    const hours = new Set(
      Array.from({ length: 200 }, () => Math.floor(retentionJitterMs(randomUUID(), 6 * 3600_000) / 3600_000)),
    );
    expect(hours.size).toBe(6);
  });

  it('plans only contract-end categories not yet erased, earliest first, jitter added after the expiry', () => {
    const policy = (
      category: RetentionPolicy['category'],
      period: string,
      clockStart: RetentionPolicy['clockStart'],
    ) => ({
      category,
      period,
      clockStart,
      legalBasis: 'test basis',
      version: 3,
    });
    const start = Date.parse('2027-01-01T00:00:00Z');
    const plan = planContractExpiries({
      clockStart: start,
      policies: [
        policy('listings', 'PT6S', 'contract_end'),
        policy('orders', 'PT3S', 'contract_end'),
        policy('inventory', 'PT1S', 'contract_end'),
        policy('authentication_logs', 'PT1S', 'record_creation'),
      ],
      erased: new Set(['inventory']),
      jitterMs: 500,
    });
    expect(plan.map((e) => [e.category, e.expiresAt - start, e.wakeAt - start, e.policyVersion])).toEqual([
      ['orders', 3000, 3500, 3],
      ['listings', 6000, 6500, 3],
    ]);
  });
});

describe('retention policies', () => {
  it('ship documented defaults per category as version 1 of the default set', async () => {
    const rows = await stack.db('retention_policies').where({ policy_set: 'default' });
    const byCategory = Object.fromEntries(rows.map((r: any) => [r.category, [r.clock_start, r.period, r.version]]));
    expect(byCategory).toMatchObject({
      authentication_logs: ['record_creation', 'P1Y', expect.any(Number)],
      api_access_logs: ['record_creation', 'P90D', expect.any(Number)],
      communication_records: ['record_creation', 'P3Y', expect.any(Number)],
      audit_log: ['record_creation', 'P7Y', expect.any(Number)],
      business_contact: ['contract_end', 'P90D', expect.any(Number)],
      orders: ['contract_end', 'P90D', expect.any(Number)],
    });
    expect(rows).toHaveLength(11);
    for (const r of rows) expect(r.legal_basis.length).toBeGreaterThan(20);
  });

  it("lists every category of the deployment's policy set, readable by auditors, not by support", async () => {
    const res = await stack.http('GET', '/v1/retention-policies', undefined, {}, 'auditor');
    expect(res.status).toBe(200);
    expect(res.body.policySet).toBe(policySet);
    expect(res.body.items.map((p: any) => p.category)).toEqual([
      'business_contact',
      'communication_records',
      'seller_accounts',
      'orders',
      'inventory',
      'listings',
      'workflow_records',
      'authentication_logs',
      'api_access_logs',
      'export_archives',
      'audit_log',
    ]);
    expect(res.body.items.find((p: any) => p.category === 'audit_log')).toMatchObject({
      period: 'P7Y',
      clockStart: 'record_creation',
      allowedClocks: ['record_creation'],
      version: 1,
    });
    expect((await stack.http('GET', '/v1/retention-policies', undefined, {}, 'support')).status).toBe(403);
  });

  it('changes a policy as a new version, keeps the history, audits the new version and answers it as ETag', async () => {
    const body = {
      // Longer than the P90D default: applies at once (a shorter one waits for a second officer, see below).
      period: 'P180D',
      clockStart: 'record_creation',
      legalBasis: 'Abuse detection needs 180 days of access logs.',
    };
    const res = await stack.http(
      'PUT',
      '/v1/retention-policies/api_access_logs',
      body,
      { 'If-Match': '"1"' },
      'privacy_officer',
    );
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ category: 'api_access_logs', period: 'P180D', version: 2, changed: true });
    expect(res.headers.get('etag')).toBe('"2"');
    const actor = res.body.changedBy;
    expect(actor).toMatch(/^staff:/);

    const one = await stack.http('GET', '/v1/retention-policies/api_access_logs', undefined, {}, 'auditor');
    expect(one.headers.get('etag')).toBe('"2"');
    expect(one.body.history.map((h: any) => [h.version, h.period])).toEqual([
      [2, 'P180D'],
      [1, 'P90D'],
    ]);
    expect((await versionsOf('api_access_logs')).map((v: any) => v.version)).toEqual([1, 2]);

    const events = await auditEvents.list(stack.db, { action: 'retention_policy.changed' });
    const mine = events.filter((e) => e.subjectId === `${policySet}/api_access_logs`);
    expect(mine).toHaveLength(1);
    expect(mine[0]).toMatchObject({
      actor,
      details: {
        policySet,
        category: 'api_access_logs',
        version: 2,
        previousVersion: 1,
        period: { from: 'P90D', to: 'P180D' },
      },
    });

    // The same policy again is no change: no version, no event.
    const again = await stack.http('PUT', '/v1/retention-policies/api_access_logs', body, {}, 'privacy_officer');
    expect(again.body).toMatchObject({ version: 2, changed: false });
    expect(await versionsOf('api_access_logs')).toHaveLength(2);
  });

  it('refuses a change against a stale version with 412 and writes nothing', async () => {
    const first = {
      period: 'P2Y',
      clockStart: 'record_creation',
      legalBasis: 'Security review over two years of logs.',
    };
    expect(
      (await stack.http('PUT', '/v1/retention-policies/authentication_logs', first, {}, 'privacy_officer')).body
        .version,
    ).toBe(2);
    const stale = await stack.http(
      'PUT',
      '/v1/retention-policies/authentication_logs',
      { ...first, period: 'P3Y' },
      { 'If-Match': '"1"' },
      'privacy_officer',
    );
    expect(stale.status).toBe(412);
    expect(stale.body.currentVersion).toBe(2);
    expect((await versionsOf('authentication_logs')).map((v: any) => v.period)).toEqual(['P1Y', 'P2Y']);
  });

  it('refuses invalid changes naming field and rule, and lets only the privacy officer change policies', async () => {
    const valid = { period: 'P1Y', clockStart: 'contract_end', legalBasis: 'Contract performance and return window.' };
    const cases: [string, unknown, string, string][] = [
      ['orders', { ...valid, period: 'P1.5Y' }, 'body.period', 'custom'],
      ['orders', { ...valid, period: 'PT0S' }, 'body.period', 'custom'],
      ['orders', { ...valid, clockStart: 'whenever' }, 'body.clockStart', 'invalid_value'],
      ['audit_log', valid, 'body.clockStart', 'clock_not_allowed'],
      ['business_contact', { ...valid, clockStart: 'record_creation' }, 'body.clockStart', 'clock_not_allowed'],
      ['orders', { ...valid, legalBasis: 'short' }, 'body.legalBasis', 'too_small'],
      ['orders', { ...valid, extra: 1 }, 'body.extra', 'unrecognized_key'],
      ['not_a_category', valid, 'path.category', 'invalid_value'],
    ];
    for (const [category, body, field, rule] of cases) {
      const res = await stack.http('PUT', `/v1/retention-policies/${category}`, body, {}, 'privacy_officer');
      expect([category, field, res.status]).toEqual([category, field, 400]);
      expect(res.body.errors).toContainEqual(expect.objectContaining({ field, rule }));
    }
    const malformedIfMatch = await stack.http(
      'PUT',
      '/v1/retention-policies/orders',
      valid,
      { 'If-Match': '*' },
      'privacy_officer',
    );
    expect(malformedIfMatch.status).toBe(400);
    expect(malformedIfMatch.body.errors[0].field).toBe('header.If-Match');
    for (const role of ['support', 'auditor', 'admin'] as const)
      expect((await stack.http('PUT', '/v1/retention-policies/orders', valid, {}, role)).status).toBe(403);
    expect(await versionsOf('orders')).toHaveLength(1);
  });

  it('answers hostile bodies with 4xx and writes no version', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.anything(),
          fc.record({ period: fc.string(), clockStart: fc.string(), legalBasis: fc.string() }),
          fc.record({
            period: fc.constantFrom('P1Y', 'PT5S'),
            clockStart: fc.constant('record_creation'),
            legalBasis: fc.string({ maxLength: 9 }),
          }),
        ),
        async (body) => {
          const res = await stack.http(
            'PUT',
            '/v1/retention-policies/listings',
            JSON.stringify(body) ?? 'null',
            {},
            'privacy_officer',
          );
          return res.status >= 400 && res.status < 500;
        },
      ),
      { numRuns: 150 },
    );
    expect(await versionsOf('listings')).toHaveLength(1);
  });
});
