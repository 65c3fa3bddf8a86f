/**
 * Property-based: thousands of malformed and hostile bodies to every write route. Whatever arrives, the API answers
 * 4xx, never 5xx, starts no workflow and writes no row.
 */
import fc from 'fast-check';
import { hashToken } from '../db/repositories/staff-tokens';
import { onboardingBody } from './support/fixtures';
import { startTestStack, type TestStack } from './support/test-stack';

let stack: TestStack;
let crm: string;

beforeAll(async () => {
  stack = await startTestStack({ name: 'hostile-input' });
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
  // A valid body with one constrained field replaced by something hostile.
  fc.tuple(fc.constantFrom(...CONSTRAINED_PATHS), hostileValue).map(([path, value]) => {
    const body = onboardingBody([crm]);
    setPath(body, path, value);
    return JSON.stringify(body);
  }),
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
