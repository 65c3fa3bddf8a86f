/**
 * Property-based: thousands of malformed and hostile bodies to every write route, and hostile path parameters,
 * headers, query strings and characters (malformed percent-escapes, NUL, lone surrogates, dates outside 1900-2200) to
 * every route of the route table, public ones included. Whatever arrives, the API answers 4xx, never 5xx, starts no
 * workflow and writes no row; the inputs the security review found answered 500 are each a 400 naming the field.
 */
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { PUBLIC_ROUTES, ROUTE_PERMISSIONS } from '../api/route-permissions';
import { hashToken } from '../db/repositories/staff-tokens';
import { can, ROLES, type Role } from '../lib/roles';
import { OnboardingInput } from '../lib/schemas/onboarding';
import { onboardingBody } from './support/fixtures';
import { startTestStack, type TestStack } from './support/test-stack';

let stack: TestStack;
let crm: string;

beforeAll(async () => {
  // The public links' own limit (30 a minute per address) would answer most of the fuzzing 429 before it got anywhere.
  stack = await startTestStack({ name: 'hostile-input', limits: { publicLinksPerMinute: 1_000_000 } });
  crm = await stack.addSubprocessor('crm');
});
afterAll(async () => {
  await stack?.stop();
});

const HOSTILE_STRINGS = [
  "'; DROP TABLE customers; --",
  "' OR '1'='1",
  '1; SELECT pg_sleep(10)',
  '<script>alert(1)</script>',
  '"><img src=x onerror=alert(1)>',
  '${7*7}{{7*7}}',
  '\u0000',
  '\ud800',
  '\u202egnp.exe',
  '🦄'.repeat(50),
  'Ａ'.repeat(300),
  '../../etc/passwd',
  '%00%0d%0a',
  ' ',
  '',
];
const POLLUTION_KEYS = ['__proto__', 'constructor', 'prototype'];

const hostileString = fc.oneof(
  fc.constantFrom(...HOSTILE_STRINGS),
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc.string({ minLength: 5000, maxLength: 120_000 }),
);
const wrongType = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.integer(), { maxLength: 3 }),
  fc.object({ maxDepth: 1 }),
);
const hostileValue = fc.oneof(hostileString, wrongType);

/** Paths of onboarding fields that carry a format rule, so any hostile value there makes the body invalid. */
const CONSTRAINED_PATHS = [
  ['company', 'country'],
  ['company', 'registrationNumber'],
  ['company', 'privacyRegime'],
  ['contacts', 0, 'email'],
  ['contacts', 0, 'phone'],
  ['contacts', 0, 'role'],
  ['sellerAccounts', 0, 'marketplace'],
  ['contract', 'startsOn'],
  ['contract', 'endsOn'],
  ['contract', 'terminationDisposition'],
  ['subprocessors', 0],
  ['contacts'],
  ['contract'],
] as const;

function setPath(target: any, path: readonly (string | number)[], value: unknown): void {
  let node = target;
  for (const key of path.slice(0, -1)) node = node[key];
  node[path[path.length - 1]!] = value;
}

/** A JSON text with a pollution key injected verbatim (JSON.stringify would not write `__proto__` as a key). */
function withPollutionKey(json: string, key: string): string {
  return json.replace(/^\{/, `{"${key}":{"polluted":true,"isAdmin":true},`);
}

const onboardingBodies = fc.oneof(
  // Anything at all as the body.
  fc.jsonValue().map((v) => JSON.stringify(v)),
  // A valid body with one constrained field replaced by something hostile. A random string can happen to follow the
  // field's rule (`a` is a fine marketplace slug): such a body is valid, not hostile, and is left out.
  fc
    .tuple(fc.constantFrom(...CONSTRAINED_PATHS), hostileValue)
    .map(([path, value]) => {
      const body = onboardingBody([crm]);
      setPath(body, path, value);
      return body;
    })
    .filter((body) => !OnboardingInput.safeParse(body).success)
    .map((body) => JSON.stringify(body)),
  // A valid body with a prototype-pollution key at the top or inside a contact.
  fc.constantFrom(...POLLUTION_KEYS).map((key) => withPollutionKey(JSON.stringify(onboardingBody([crm])), key)),
  fc.constantFrom(...POLLUTION_KEYS).map((key) => {
    const json = JSON.stringify(onboardingBody([crm]));
    return json.replace('"contacts":[{', `"contacts":[{"${key}":{"polluted":true},`);
  }),
  // Broken JSON.
  fc.constantFrom('{', '{"company":', 'null', '[]', '"just a string"', '{"a":1}{"b":2}', '\u0000'),
);

const validSubprocessor = () => ({
  id: 'fuzz-target',
  name: 'Fuzz',
  baseUrl: 'https://sp.example',
  signingSecret: 's'.repeat(40),
  categories: ['orders'],
});
const subprocessorBodies = fc.oneof(
  fc.jsonValue().map((v) => JSON.stringify(v)),
  // Fields with a format rule get anything hostile; the others get only wrong types (any string is a fine name).
  fc
    .tuple(
      fc.constantFrom('id', 'baseUrl', 'categories'),
      // A short random string could be a valid id by chance: prefix it with what no id may contain.
      fc
        .oneof(
          hostileValue,
          fc.string().map((text) => `Not an id: ${text}`),
        )
        .filter((v) => typeof v !== 'string' || !/^[a-z0-9][a-z0-9-]{0,62}$/.test(v)),
    )
    .map(([field, value]) => JSON.stringify({ ...validSubprocessor(), [field]: value })),
  fc
    .tuple(
      fc.constantFrom('signingSecret', 'active', 'name'),
      wrongType.filter((v) => typeof v !== 'boolean'),
    )
    .map(([field, value]) => JSON.stringify({ ...validSubprocessor(), [field]: value })),
  fc.constantFrom(...POLLUTION_KEYS).map((key) => withPollutionKey(JSON.stringify(validSubprocessor()), key)),
);

async function post(path: string, body: string, as: 'support' | 'admin') {
  const res = await fetch(`${stack.api.url}${path}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${stack.tokens[as]}` },
    body,
  });
  await res.arrayBuffer();
  return res.status;
}

/** `staff:<id>` of this stack's token for a role: what requests and audit events written on its behalf name. */
async function actorFor(role: 'support' | 'admin'): Promise<string> {
  const row = await stack
    .db('staff_tokens')
    .where({ token_hash: hashToken(stack.tokens[role]) })
    .first('id');
  return `staff:${row.id}`;
}

/** Rows that calls by `actor` could have written: lifecycle requests and audit events. */
async function writtenBy(actor: string) {
  const [requests] = await stack.db('lifecycle_requests').where({ actor }).count<{ count: string }[]>({ count: '*' });
  const [events] = await stack.db('audit_events').where({ actor }).count<{ count: string }[]>({ count: '*' });
  return { requests: Number(requests!.count), auditEvents: Number(events!.count) };
}

describe('hostile input to every write route', () => {
  it('POST /v1/customers: 2000 hostile bodies get 4xx, start nothing and write nothing', async () => {
    const actor = await actorFor('support');
    const before = await writtenBy(actor);
    const statuses = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(onboardingBodies, async (body) => {
        const status = await post('/v1/customers', body, 'support');
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
        return status >= 400 && status < 500;
      }),
      { numRuns: 2000 },
    );
    expect([...statuses.keys()].filter((s) => s !== 400 && s !== 413)).toEqual([]);
    expect(await writtenBy(actor)).toEqual(before);

    const running = [];
    for await (const wf of stack.client.workflow.list({ query: `TaskQueue = '${stack.taskQueue}'` }))
      running.push(wf.workflowId);
    expect(running).toEqual([]);
    expect(Object.keys(Object.prototype)).toEqual([]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('POST /v1/subprocessors: 1000 hostile bodies get 4xx and write nothing', async () => {
    const actor = await actorFor('admin');
    const before = await writtenBy(actor);
    await fc.assert(
      fc.asyncProperty(subprocessorBodies, async (body) => {
        const status = await post('/v1/subprocessors', body, 'admin');
        return status >= 400 && status < 500;
      }),
      { numRuns: 1000 },
    );
    expect(await writtenBy(actor)).toEqual(before);
    expect(await stack.db('subprocessors').where({ id: 'fuzz-target' }).first()).toBeUndefined();
    expect(Object.keys(Object.prototype)).toEqual([]);
  });

  it('POST /codec/encode and /codec/decode: 500 hostile bodies never get a 5xx', async () => {
    const payloadish = fc.oneof(
      fc.jsonValue().map((v) => JSON.stringify(v)),
      fc
        .array(
          fc.record({
            metadata: fc.dictionary(fc.constantFrom('encoding', 'encryption-key-id', '__proto__'), fc.base64String()),
            data: fc.oneof(fc.base64String(), hostileValue),
          }),
          { maxLength: 3 },
        )
        .map((payloads) => JSON.stringify({ payloads })),
    );
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('/codec/encode', '/codec/decode'), payloadish, async (path, body) => {
        const status = await post(path, body, 'support');
        return status < 500;
      }),
      { numRuns: 500 },
    );
  });
});

/** Each route of the route table (protected and public) with a role that may call it (none for public routes). */
const ROUTES: { method: string; pattern: string; as: Role | null }[] = [
  ...Object.entries(ROUTE_PERMISSIONS).map(([key, permission]) => {
    const [method, pattern] = key.split(' ') as [string, string];
    return { method, pattern, as: ROLES.find((role) => can(role, permission))! };
  }),
  ...PUBLIC_ROUTES.map((key) => {
    const [method, pattern] = key.split(' ') as [string, string];
    return { method, pattern: pattern.replace('{/*rest}', '/:rest'), as: null };
  }),
];

/** Path segments as they go on the wire (already percent-encoded, or deliberately malformed). */
const HOSTILE_SEGMENTS = [
  '%ff',
  '%E0%A4%A',
  '%',
  '%%',
  '%zz',
  '%00',
  'a%00b',
  '%ED%A0%80', // a lone surrogate, as UTF-8 would carry it: not valid UTF-8
  '%C0%AF',
  '%2e%2e%2f%2e%2e%2fetc%2fpasswd',
  '..',
  "'%20OR%20'1'%3D'1",
  '%3Cscript%3E',
  'x'.repeat(4000),
];
const hostileSegment = fc.oneof(
  fc.constantFrom(...HOSTILE_SEGMENTS),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 60 }).map((text) => encodeURIComponent(text)),
  fc
    .array(fc.integer({ min: 0, max: 255 }), { minLength: 1, maxLength: 8 })
    .map((bytes) => bytes.map((b) => `%${b.toString(16).padStart(2, '0')}`).join('')),
  fc.constant(randomUUID()),
);

/** JSON texts with NUL, lone surrogates (as JSON escapes) and out-of-range dates in string fields. */
const hostileBody = fc.oneof(
  fc.constantFrom(
    '{"reason":"\\u0000"}',
    '{"reason":"\\ud800"}',
    '{"reason":"a\\udc00b"}',
    '{"\\u0000":"x"}',
    '{"endsOn":"0000-01-01","endedAt":"0001-01-01T00:00:00Z"}',
    '{"endsOn":"9999-12-31"}',
    '{"effectiveAt":"2201-01-01T00:00:00Z","reason":"x"}',
    '{"requesterEmail":"a@b.example\\u0000","scope":"all"}',
    '[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]',
  ),
  fc.dictionary(fc.string({ maxLength: 12 }), hostileValue, { maxKeys: 4 }).map((v) => JSON.stringify(v)),
  fc.jsonValue().map((v) => JSON.stringify(v)),
);

/** Header values a client may send (fetch refuses NUL, CR and LF; Latin-1 beyond ASCII is allowed). */
const headerText = fc
  .string({
    unit: fc
      .integer({ min: 0x20, max: 0xff })
      .filter((c) => c < 0x7f || c > 0x9f)
      .map((c) => String.fromCharCode(c)),
    maxLength: 300,
  })
  .map((text) => text.trim());
const hostileHeaders = fc.record(
  {
    authorization: fc.oneof(
      headerText,
      headerText.map((t) => `Bearer ${t}`),
      fc.constant('Bearer dlo_' + 'A'.repeat(43)),
    ),
    'idempotency-key': headerText,
    'content-type': fc.constantFrom(
      'application/json',
      'application/json; charset=utf-16',
      'application/json; charset=x-unknown',
      'text/plain',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
    ),
    'x-signature': headerText,
    origin: fc.oneof(headerText, fc.constant('null'), fc.constant('http://evil.example')),
    'x-forwarded-for': headerText,
  },
  { requiredKeys: ['content-type'] },
);
const hostileQuery = fc.oneof(
  fc.constant(''),
  fc.constantFrom(
    '?x=%00',
    '?from=0000-01-01T00:00:00Z',
    '?to=%ff',
    '?limit=%F0%9F',
    '?customerId=%ED%A0%80',
    '?a[b][c]=1',
  ),
  fc
    .dictionary(fc.string({ minLength: 1, maxLength: 8 }), fc.string({ unit: 'binary', maxLength: 30 }), { maxKeys: 3 })
    .map((q) => `?${new URLSearchParams(q).toString()}`),
);

function concretePath(pattern: string, segment: () => string): string {
  return pattern.replace(/:[A-Za-z]+/g, segment);
}

async function send(
  method: string,
  urlPath: string,
  opts: { as: Role | null; body?: string; headers?: Record<string, string> } = { as: null },
) {
  const res = await fetch(`${stack.api.url}${urlPath}`, {
    method,
    headers: {
      ...(opts.as ? { Authorization: `Bearer ${stack.tokens[opts.as]}` } : {}),
      ...(opts.body !== undefined ? { 'Content-Type': 'application/json' } : {}),
      ...opts.headers,
    },
    body: method === 'GET' || method === 'HEAD' ? undefined : opts.body,
  });
  const text = await res.text();
  let body: any = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON
  }
  return { status: res.status, body, text };
}

describe('hostile path parameters, headers, query strings and characters on every route', () => {
  it('every route of the route table, public ones included: each hostile path segment answers 4xx', async () => {
    const fives: string[] = [];
    for (const route of ROUTES) {
      for (const segment of HOSTILE_SEGMENTS) {
        const urlPath = concretePath(route.pattern, () => segment);
        if (urlPath === route.pattern) continue; // no parameter
        const res = await send(route.method, urlPath, { as: route.as, body: '{}' });
        // Swagger UI answers any path under /docs with its page: fine, as long as it is nothing else.
        const docs = route.pattern.startsWith('/docs/');
        if (docs) expect(res.text).not.toContain('root:x:0:0');
        if (res.status >= 500 || (res.status < 400 && !docs))
          fives.push(`${route.method} ${urlPath.slice(0, 80)} -> ${res.status}`);
      }
    }
    expect(fives).toEqual([]);
  });

  it('1500 random requests (any route, hostile segments, bodies, headers and query) never get a 5xx', async () => {
    const seen = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...ROUTES),
        fc.array(hostileSegment, { minLength: 3, maxLength: 3 }),
        hostileBody,
        hostileHeaders,
        hostileQuery,
        fc.boolean(),
        async (route, segments, body, headers, query, withToken) => {
          let i = 0;
          const urlPath = concretePath(route.pattern, () => segments[i++ % segments.length]!) + query;
          const res = await send(route.method, urlPath, {
            as: withToken ? route.as : null,
            body,
            headers:
              withToken && route.as ? { ...headers, authorization: `Bearer ${stack.tokens[route.as]}` } : headers,
          });
          seen.set(res.status, (seen.get(res.status) ?? 0) + 1);
          return res.status < 500;
        },
      ),
      { numRuns: 1500 },
    );
    // Most requests got past authentication to the input checks.
    expect(seen.get(400) ?? 0).toBeGreaterThan(100);
  });
});

describe('the inputs the security review found answered 500 answer 400 naming the field', () => {
  const fieldsOf = (body: { errors?: { field: string; rule: string }[] }) =>
    (body.errors ?? []).map((e) => `${e.field} ${e.rule}`);

  it('a malformed percent-escape in a path parameter, with or without a token', async () => {
    const verify = await send('GET', '/verify/%ff');
    expect(verify.status).toBe(400);
    expect(fieldsOf(verify.body)).toEqual(['path.token invalid_percent_encoding']);
    const exported = await send('GET', '/exports/%E0%A4%A');
    expect(fieldsOf(exported.body)).toEqual(['path.token invalid_percent_encoding']);
    const customer = await send('GET', '/v1/customers/%ff', { as: 'support' });
    expect([customer.status, ...fieldsOf(customer.body)]).toEqual([400, 'path.id invalid_percent_encoding']);
    const waive = await send('POST', `/v1/requests/${randomUUID()}/receipts/%E0%A4%A/waive`, {
      as: 'privacy_officer',
      body: '{"reason":"x"}',
    });
    expect([waive.status, ...fieldsOf(waive.body)]).toEqual([400, 'path.subprocessorId invalid_percent_encoding']);
    // The refusal is problem+json and does not echo the parameter.
    expect(verify.body).toMatchObject({ type: 'about:blank', status: 400 });
    const encodedNul = await send('GET', '/acknowledge/abc%00def');
    expect([encodedNul.status, ...fieldsOf(encodedNul.body)]).toEqual([400, 'path.token forbidden_character']);
  });

  it('NUL or a lone surrogate in a string field, a key or a query parameter', async () => {
    const body = onboardingBody([crm]);
    body.contacts[0]!.name = 'Greta\u0000Lindqvist';
    const nul = await send('POST', '/v1/customers', { as: 'support', body: JSON.stringify(body) });
    expect([nul.status, ...fieldsOf(nul.body)]).toEqual([400, 'body.contacts[0].name forbidden_character']);

    const surrogate = JSON.stringify(onboardingBody([crm])).replace('"Nordlicht Handel', '"\\ud800Nordlicht Handel');
    const lone = await send('POST', '/v1/customers', { as: 'support', body: surrogate });
    expect([lone.status, ...fieldsOf(lone.body)]).toEqual([400, 'body.company.name forbidden_character']);

    const extend = await send('POST', `/v1/requests/${randomUUID()}/extend`, {
      as: 'privacy_officer',
      body: '{"reason":"late \\udc00"}',
    });
    expect([extend.status, ...fieldsOf(extend.body)]).toEqual([400, 'body.reason forbidden_character']);

    const query = await send('GET', '/v1/audit-events?actor=a%00b', { as: 'auditor' });
    expect([query.status, ...fieldsOf(query.body)]).toEqual([400, 'query.actor forbidden_character']);
  });

  it('dates before 1900 or after 2200: contract.startsOn 0000-01-01 is refused and nothing starts', async () => {
    for (const startsOn of ['0000-01-01', '1899-12-31', '2201-01-01']) {
      const body = onboardingBody([crm]);
      body.contract.startsOn = startsOn;
      const res = await send('POST', '/v1/customers', { as: 'support', body: JSON.stringify(body) });
      expect([startsOn, res.status]).toEqual([startsOn, 400]);
      expect(fieldsOf(res.body)).toContain('body.contract.startsOn date_range');
    }
    const edge = onboardingBody([crm]);
    edge.contract.startsOn = '1900-01-01';
    edge.contract.endsOn = '2200-12-31';
    expect((await send('POST', '/v1/customers', { as: 'support', body: JSON.stringify(edge) })).status).toBe(202);

    const contract = await send('PUT', `/v1/customers/${randomUUID()}/contract`, {
      as: 'privacy_officer',
      body: '{"endsOn":"2026-12-31","endedAt":"0001-01-01T00:00:00Z"}',
    });
    expect([contract.status, ...fieldsOf(contract.body)]).toEqual([400, 'body.endedAt date_range']);
    const audit = await send('GET', '/v1/audit-events?from=0000-01-01T00:00:00Z', { as: 'auditor' });
    expect([audit.status, ...fieldsOf(audit.body)]).toEqual([400, 'query.from date_range']);
  });

  it('never echoes a link token: neither in the answer nor for a path that is not a route', async () => {
    const token = `eyJrIjoidGVzdCJ9${'A'.repeat(20)}.${'B'.repeat(43)}`;
    // The page a browser gets, and the problem+json a client asking for JSON gets.
    const page = await send('GET', `/exports/${token}`);
    expect(page.status).toBe(404);
    expect(page.text).not.toContain(token);
    const res = await send('GET', `/exports/${token}`, { as: null, headers: { Accept: 'application/json' } });
    expect(res.status).toBe(404);
    expect(res.text).not.toContain(token);
    expect(res.body.instance).toBe('/exports/[redacted-token]');
    const unknown = await send('GET', `/verify/${token}/more`);
    expect(unknown.status).toBe(401);
    expect(unknown.text).not.toContain(token);
  });
});
