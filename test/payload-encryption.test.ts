/**
 * Encryption of everything Temporal stores: the codec itself (format, rotation, refusals), its configuration, and the
 * evidence on a real server: the RAW history of onboarding runs (read with the bare gRPC service, no codec) holds
 * only encrypted payloads and encoded failures, none of the personal data that flowed through them, while clients
 * with the codec read results, query answers and failure messages in the clear.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { WorkflowFailedError } from '@temporalio/client';
import type { Payload } from '@temporalio/common';
import { ConfigError, loadConfig } from '../lib/config';
import {
  AesGcmPayloadCodec,
  ENCRYPTED_ENCODING,
  INSECURE_DEV_KEYRING,
  METADATA_KEY_ID,
  PayloadDecryptionError,
  PayloadKeyError,
  encodePayloadProto,
  parsePayloadKeys,
} from '../lib/payload-codec';
import { onboardingStatusQuery } from '../workflows/onboarding';
import { onboardingBody } from './support/fixtures';
import { startTestStack, TEST_ACTIVE_PAYLOAD_KEY_ID, TEST_PAYLOAD_KEYS, type TestStack } from './support/test-stack';

const key = () => randomBytes(32).toString('base64');
const text = (bytes: Uint8Array | null | undefined) => Buffer.from(bytes ?? []).toString();
const jsonPayload = (value: unknown): Payload => ({
  metadata: { encoding: Buffer.from('json/plain') },
  data: Buffer.from(JSON.stringify(value)),
});

describe('the AES-256-GCM payload codec', () => {
  const k2025 = key();
  const k2026 = key();

  it('seals a payload under the active key id and opens it to the identical payload', async () => {
    const codec = new AesGcmPayloadCodec(parsePayloadKeys(`k2025:${k2025}`));
    const original = jsonPayload({ email: 'greta@nordlicht.example' });
    const [sealed] = await codec.encode([original]);
    expect(text(sealed!.metadata!.encoding)).toBe(ENCRYPTED_ENCODING);
    expect(text(sealed!.metadata![METADATA_KEY_ID])).toBe('k2025');
    expect(Object.keys(sealed!.metadata!).sort()).toEqual(['encoding', METADATA_KEY_ID].sort());
    expect(text(sealed!.data)).not.toContain('greta');
    const [opened] = await codec.decode([sealed!]);
    expect(text(opened!.metadata!.encoding)).toBe('json/plain');
    expect(JSON.parse(text(opened!.data))).toEqual({ email: 'greta@nordlicht.example' });
    // A fresh nonce every time: equal plaintexts do not give equal ciphertexts.
    const [again] = await codec.encode([original]);
    expect(Buffer.from(again!.data!).equals(Buffer.from(sealed!.data!))).toBe(false);
  });

  it('keeps history readable across a rotation and names a key that is gone', async () => {
    const before = new AesGcmPayloadCodec(parsePayloadKeys(`k2025:${k2025}`));
    const after = new AesGcmPayloadCodec(parsePayloadKeys(`k2025:${k2025},k2026:${k2026}`, 'k2026'));
    const [old] = await before.encode([jsonPayload('sealed in 2025')]);
    const [fresh] = await after.encode([jsonPayload('sealed in 2026')]);
    expect(text(fresh!.metadata![METADATA_KEY_ID])).toBe('k2026');
    const opened = await after.decode([old!, fresh!]);
    expect(opened.map((p) => JSON.parse(text(p.data)))).toEqual(['sealed in 2025', 'sealed in 2026']);

    const retired = new AesGcmPayloadCodec(parsePayloadKeys(`k2026:${k2026}`));
    await expect(retired.decode([old!])).rejects.toThrow(PayloadDecryptionError);
    await expect(retired.decode([old!])).rejects.toThrow(
      /key "k2025", which is not configured \(PAYLOAD_KEYS has: k2026\)/,
    );
  });

  it('refuses a sealed payload without a key id, with the wrong key bytes, or tampered with', async () => {
    const codec = new AesGcmPayloadCodec(parsePayloadKeys(`k2025:${k2025}`));
    const [sealed] = await codec.encode([jsonPayload('x')]);
    const noKeyId = { ...sealed!, metadata: { encoding: sealed!.metadata!.encoding! } };
    await expect(codec.decode([noKeyId])).rejects.toThrow(`no "${METADATA_KEY_ID}" metadata`);

    const impostor = new AesGcmPayloadCodec(parsePayloadKeys(`k2025:${key()}`));
    await expect(impostor.decode([sealed!])).rejects.toThrow(/does not authenticate with key "k2025"/);

    const tampered = Buffer.from(sealed!.data!);
    tampered[20] = tampered[20]! ^ 1;
    await expect(codec.decode([{ ...sealed!, data: tampered }])).rejects.toThrow(/does not authenticate/);
  });

  it('passes payloads it did not seal through decode unchanged', async () => {
    const codec = new AesGcmPayloadCodec(INSECURE_DEV_KEYRING);
    const plain = jsonPayload({ a: 1 });
    expect(await codec.decode([plain])).toEqual([plain]);
  });

  it('serializes the inner payload as a temporal.api.common.v1.Payload protobuf message', () => {
    const bytes = encodePayloadProto({ metadata: { encoding: Buffer.from('json/plain') }, data: Buffer.from('"x"') });
    const entry = Buffer.concat([
      Buffer.from([0x0a, 8]),
      Buffer.from('encoding'),
      Buffer.from([0x12, 10]),
      Buffer.from('json/plain'),
    ]);
    expect(bytes).toEqual(
      Buffer.concat([Buffer.from([0x0a, entry.length]), entry, Buffer.from([0x12, 3, 0x22, 0x78, 0x22])]),
    );
  });
});

describe('payload key configuration', () => {
  const errorOf = (fn: () => unknown): Error => {
    try {
      fn();
    } catch (err) {
      return err as Error;
    }
    throw new Error('expected an error');
  };

  it('names the variable and the rule for each bad key list, without echoing key material', () => {
    const short = Buffer.alloc(16, 7).toString('base64');
    const cases: [string, string | undefined, string, RegExp][] = [
      [`a:${short}`, undefined, 'PAYLOAD_KEYS', /must decode to 32 bytes/],
      ['a-key-without-material', undefined, 'PAYLOAD_KEYS', /keyId:base64key/],
      [`a:${key()},a:${key()}`, undefined, 'PAYLOAD_KEYS', /listed twice/],
      ['a:not base64!', undefined, 'PAYLOAD_KEYS', /not base64/],
      [`a:${key()},b:${key()}`, undefined, 'PAYLOAD_ACTIVE_KEY_ID', /required when PAYLOAD_KEYS lists several keys/],
      [`a:${key()}`, 'b', 'PAYLOAD_ACTIVE_KEY_ID', /"b" is not a key id listed/],
    ];
    for (const [spec, active, variable, rule] of cases) {
      const err = errorOf(() => parsePayloadKeys(spec, active));
      expect(err).toBeInstanceOf(PayloadKeyError);
      expect((err as PayloadKeyError).variable).toBe(variable);
      expect(err.message).toMatch(rule);
      expect(err.message).not.toContain(short);
    }
  });

  it('stops a production boot without keys, or with the well-known development key, naming PAYLOAD_KEYS', () => {
    const missing = errorOf(() => loadConfig({ NODE_ENV: 'production' }));
    expect(missing).toBeInstanceOf(ConfigError);
    expect(missing.message).toMatch(/PAYLOAD_KEYS: is required when NODE_ENV=production/);

    const devKey = INSECURE_DEV_KEYRING.keys.get(INSECURE_DEV_KEYRING.activeKeyId)!.toString('base64');
    const public_ = errorOf(() => loadConfig({ NODE_ENV: 'production', PAYLOAD_KEYS: `prod:${devKey}` }));
    expect(public_.message).toMatch(/PAYLOAD_KEYS: contains the well-known development key/);

    const bad = errorOf(() => loadConfig({ NODE_ENV: 'production', PAYLOAD_KEYS: 'prod:abc' }));
    expect(bad.message).toMatch(/PAYLOAD_KEYS: key "prod" must decode to 32 bytes/);
    expect(bad.message).not.toContain('abc');
  });

  it('uses the configured keys, and the clearly named development key only outside production', () => {
    const prod = loadConfig({
      NODE_ENV: 'production',
      PAYLOAD_KEYS: TEST_PAYLOAD_KEYS,
      PAYLOAD_ACTIVE_KEY_ID: 'test-2026',
      // Production also requires the certificate signing key (test/certificates.test.ts covers it), archive keys and
      // TLS or a TLS-terminating proxy (test/personal-data-at-rest.test.ts).
      EXPORT_ENCRYPTION_KEYS: `e1:${Buffer.alloc(32, 3).toString('base64')}`,
      TLS_TERMINATED_UPSTREAM: 'true',
      AUDIT_HMAC_KEYS: `a1:${Buffer.alloc(32, 4).toString('base64')}`,
      CERTIFICATE_SIGNING_KEY: generateKeyPairSync('ed25519')
        .privateKey.export({ format: 'pem', type: 'pkcs8' })
        .toString(),
    });
    expect(prod.payloadEncryption.insecureDevKey).toBe(false);
    expect(prod.payloadEncryption.keyring.activeKeyId).toBe('test-2026');
    expect([...prod.payloadEncryption.keyring.keys.keys()]).toEqual(['test-2025', 'test-2026']);

    const dev = loadConfig({});
    expect(dev.payloadEncryption.insecureDevKey).toBe(true);
    expect(dev.payloadEncryption.keyring.activeKeyId).toBe('insecure-dev-key');
    expect(errorOf(() => loadConfig({ PAYLOAD_ACTIVE_KEY_ID: 'x' })).message).toMatch(
      /PAYLOAD_ACTIVE_KEY_ID: is set but PAYLOAD_KEYS is not/,
    );
  });

  it('allows the local Web UI origins to call the codec endpoint by default, and validates a configured list', () => {
    expect(loadConfig({}).codec.corsOrigins).toEqual(['http://localhost:8233', 'http://127.0.0.1:8233']);
    expect(loadConfig({ CODEC_CORS_ORIGINS: 'https://temporal-ui.example.com' }).codec.corsOrigins).toEqual([
      'https://temporal-ui.example.com',
    ]);
    expect(errorOf(() => loadConfig({ CODEC_CORS_ORIGINS: '*' })).message).toMatch(
      /CODEC_CORS_ORIGINS: "\*" is not an origin/,
    );
    expect(errorOf(() => loadConfig({ CODEC_CORS_ORIGINS: 'http://ui.example/path' })).message).toMatch(
      /CODEC_CORS_ORIGINS/,
    );
  });
});

// --- On the real server ------------------------------------------------------------------------------------------

let stack: TestStack;
let crm: string;

beforeAll(async () => {
  stack = await startTestStack({ name: 'payload-encryption' });
  crm = await stack.addSubprocessor('crm', ['business_contact']);
});
afterAll(async () => {
  await stack?.stop();
});

/** Personal data of one onboarding, unique to this run so nothing else can contain it by chance. */
function canaryOnboarding() {
  const body = onboardingBody([crm]);
  const phone = `+4930${Math.floor(1_000_000 + Math.random() * 8_999_999)}`;
  body.contacts[0]!.phone = phone;
  const canaries = [
    body.company.name,
    body.company.registrationNumber,
    ...body.contacts.map((c) => c.email),
    ...body.contacts.map((c) => c.name),
    phone,
  ];
  return { body, canaries, contact: body.contacts[0]! };
}

/** Every event of a run as the server stores it: the bare gRPC service, no data converter, no codec. */
async function rawHistory(workflowId: string) {
  const events: unknown[] = [];
  let nextPageToken: Uint8Array | undefined;
  do {
    const page = await stack.client.workflowService.getWorkflowExecutionHistory({
      namespace: stack.client.options.namespace,
      execution: { workflowId },
      nextPageToken,
    });
    events.push(...(page.history?.events ?? []));
    nextPageToken = page.nextPageToken?.length ? page.nextPageToken : undefined;
  } while (nextPageToken);
  return events;
}

interface Found {
  path: string;
  value: any;
}

/** Walks a decoded protobuf message tree, calling `visit` for every object with its path. */
function walk(node: unknown, path: string, visit: (f: Found) => void): void {
  if (node === null || typeof node !== 'object' || node instanceof Uint8Array) return;
  visit({ path, value: node });
  for (const [k, v] of Object.entries(node)) walk(v, `${path}.${k}`, visit);
}

const isPayload = (o: any) =>
  Object.prototype.hasOwnProperty.call(o, 'metadata') &&
  o.metadata !== null &&
  typeof o.metadata === 'object' &&
  Object.values(o.metadata).every((v) => v instanceof Uint8Array);
const isFailure = (o: any) => Object.keys(o).some((k) => k.endsWith('FailureInfo') && o[k]);
/** Search attributes stay plain so the server can index them; they hold ids and stages only. */
const isSearchAttribute = (path: string) => /\.searchAttributes\b/.test(path);
/**
 * The marker a `patched()` call records (docs/versioning.md) is written by the SDK's core, not through the payload
 * codec: it holds the patch id, a name from this code, and whether it is deprecated; nothing else may be in it.
 */
const isPatchMarker = (path: string) =>
  /\.markerRecordedEventAttributes\.details\.patch-data\.payloads\.\d+$/.test(path);

/** Everything a history holds as text: strings, and bytes read as UTF-8 and Latin-1. */
function allText(events: unknown[]): string {
  const parts: string[] = [];
  const add = (value: unknown): void => {
    if (typeof value === 'string') parts.push(value);
    else if (value instanceof Uint8Array)
      parts.push(Buffer.from(value).toString('utf8'), Buffer.from(value).toString('latin1'));
    else if (value !== null && typeof value === 'object') Object.values(value).forEach(add);
  };
  add(events);
  return parts.join('\n');
}

function expectEncrypted(events: unknown[]) {
  const payloads: Found[] = [];
  const failures: Found[] = [];
  const patchMarkers: Found[] = [];
  walk(events, 'events', (f) => {
    if (isPayload(f.value) && isPatchMarker(f.path)) patchMarkers.push(f);
    else if (isPayload(f.value) && !isSearchAttribute(f.path)) payloads.push(f);
    if (isFailure(f.value)) failures.push(f);
  });
  for (const { path, value } of patchMarkers) {
    const marker = JSON.parse(Buffer.from(value.data).toString('utf8'));
    expect([path, Object.keys(marker).sort(), typeof marker.id]).toEqual([path, ['deprecated', 'id'], 'string']);
    expect(marker.id).toMatch(/^[a-z]+(-[a-z]+)+$/);
  }
  expect(payloads.length).toBeGreaterThan(0);
  for (const { path, value } of payloads) {
    expect([path, text(value.metadata.encoding)]).toEqual([path, ENCRYPTED_ENCODING]);
    expect([path, text(value.metadata[METADATA_KEY_ID])]).toEqual([path, TEST_ACTIVE_PAYLOAD_KEY_ID]);
  }
  for (const { path, value } of failures) {
    expect([path, value.message, value.stackTrace]).toEqual([path, 'Encoded failure', '']);
    expect([path, text(value.encodedAttributes?.metadata?.encoding)]).toEqual([path, ENCRYPTED_ENCODING]);
  }
  return { payloads, failures };
}

describe('what the Temporal server stores', () => {
  it('holds only encrypted payloads after a full onboarding, and the codec reads the result back', async () => {
    const { body, canaries } = canaryOnboarding();
    const res = await stack.http('POST', '/v1/customers', body);
    expect(res.status).toBe(202);
    const handle = stack.client.workflow.getHandle(res.body.workflowId);
    // Decoded through the codec: the result and a query answer are readable to a client that holds the keys.
    expect(await handle.result()).toMatchObject({ customerId: res.body.customerId, status: 'active' });
    expect(await handle.query(onboardingStatusQuery)).toMatchObject({ stage: 'completed' });

    const events = await rawHistory(res.body.workflowId);
    const { payloads } = expectEncrypted(events);
    // The workflow input, each activity's input and result, and the workflow result.
    expect(payloads.length).toBeGreaterThanOrEqual(8);
    const stored = allText(events);
    for (const canary of canaries) expect(stored).not.toContain(canary);

    // The raw input opens with the codec (and only with it): it carries ids, no personal data.
    const started = events[0] as any;
    const input = started.workflowExecutionStartedEventAttributes.input.payloads[0];
    expect(text(input.data)).not.toContain(res.body.requestId);
    const codec = new AesGcmPayloadCodec(stack.config.payloadEncryption.keyring);
    const [opened] = await codec.decode([input]);
    expect(JSON.parse(text(opened!.data))).toMatchObject({
      requestId: res.body.requestId,
      customerId: res.body.customerId,
    });
  });

  it('encrypts failure messages and stack traces too: a rejection quoting personal data is stored unreadable', async () => {
    const { body, canaries, contact } = canaryOnboarding();
    // A subprocessor that answers with the contact's data: its answer becomes part of the failure message.
    stack.sim.failNext(crm, {
      status: 422,
      times: 1,
      body: { error: 'contact not accepted', contact, companyName: body.company.name },
    });
    const res = await stack.http('POST', '/v1/customers', body);
    expect(res.status).toBe(202);
    const handle = stack.client.workflow.getHandle(res.body.workflowId);
    const failure = await handle.result().then(
      () => null,
      (err: unknown) => err,
    );
    // Decoded through the codec and the failure converter: the client sees the message in the clear.
    expect(failure).toBeInstanceOf(WorkflowFailedError);
    expect((failure as WorkflowFailedError).cause?.message).toContain(contact.email);
    expect((await handle.query(onboardingStatusQuery)).failure).toContain(contact.email);

    const events = await rawHistory(res.body.workflowId);
    const { failures } = expectEncrypted(events);
    // The activity's failure (ActivityTaskFailed) and the workflow's own (WorkflowExecutionFailed).
    const attributes = failures.map((f) => f.path.split('.')[2]); // events.<index>.<attributes>.failure
    expect(attributes).toEqual(
      expect.arrayContaining(['activityTaskFailedEventAttributes', 'workflowExecutionFailedEventAttributes']),
    );
    const stored = allText(events);
    for (const canary of canaries) expect(stored).not.toContain(canary);
    expect(stored).not.toContain('contact not accepted');
  });
});
