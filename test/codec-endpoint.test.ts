/**
 * The codec endpoints the Temporal Web UI calls (`POST /codec/encode`, `POST /codec/decode`): the remote codec protocol
 * round trip, and CORS as a browser sees it (preflight from the UI's origin allowed, any other origin refused).
 * The router runs in a small express app on a real port; a last block checks it as mounted in the service's own app.
 */
import { execFile } from 'node:child_process';
import http from 'node:http';
import { promisify } from 'node:util';
import express from 'express';
import { startServer, type RunningServer } from '../api/server';
import { CODEC_ALLOWED_HEADERS, codecRouter } from '../api/routes/codec';
import { AesGcmPayloadCodec, parsePayloadKeys } from '../lib/payload-codec';
import { retentionWorkflowId } from '../lib/pure/temporal-ids';
import { onboardingBody } from './support/fixtures';
import { startTestStack, TEST_ACTIVE_PAYLOAD_KEY_ID, type TestStack } from './support/test-stack';

const UI = 'http://localhost:8233';
const keys = `old:${Buffer.alloc(32, 1).toString('base64')},new:${Buffer.alloc(32, 2).toString('base64')}`;
const codec = new AesGcmPayloadCodec(parsePayloadKeys(keys, 'new'));
const b64 = (s: string) => Buffer.from(s).toString('base64');
const unb64 = (s: string) => Buffer.from(s, 'base64').toString();

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: any;
}

/** A raw HTTP call, so that browser-only headers (Origin, Access-Control-Request-*) go out exactly as given. */
function call(base: string, method: string, path: string, headers: Record<string, string>, body?: unknown) {
  return new Promise<Answer>((resolve, reject) => {
    const data = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
    const req = http.request(
      new URL(path, base),
      { method, headers: { ...(data ? { 'content-type': 'application/json' } : {}), ...headers } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString();
          let parsed: unknown = text;
          try {
            parsed = text ? JSON.parse(text) : null;
          } catch {
            // keep the text
          }
          resolve({ status: res.statusCode!, headers: res.headers, body: parsed });
        });
      },
    );
    req.on('error', reject);
    req.end(data);
  });
}

/** What the Web UI sends: proto JSON payloads, metadata values and data in base64. */
const uiPayloads = {
  payloads: [
    { metadata: { encoding: b64('json/plain') }, data: b64(JSON.stringify({ email: 'greta@nordlicht.example' })) },
    { metadata: { encoding: b64('binary/null') } },
  ],
};

describe('codec endpoints in a bare express app', () => {
  let server: RunningServer;
  let guarded: RunningServer;

  beforeAll(async () => {
    server = await startServer(express().use(codecRouter({ codec, corsOrigins: [UI, 'http://127.0.0.1:8233'] })), 0);
    // An authentication middleware plugged in the way the API's auth would be: after CORS, before the codec.
    const requireToken: express.RequestHandler = (req, res, next) => {
      if (req.get('authorization') === 'Bearer good') return next();
      res.status(401).json({ status: 401 });
    };
    guarded = await startServer(
      express().use(codecRouter({ codec, corsOrigins: [UI], authenticate: requireToken })),
      0,
    );
  });
  afterAll(async () => {
    await server?.stop();
    await guarded?.stop();
  });

  it('encodes as the SDK does and decodes back to the identical payloads (remote codec protocol)', async () => {
    const encoded = await call(server.url, 'POST', '/codec/encode', { 'x-namespace': 'default' }, uiPayloads);
    expect(encoded.status).toBe(200);
    expect(encoded.headers['content-type']).toContain('application/json');
    expect(encoded.body.payloads).toHaveLength(2);
    for (const p of encoded.body.payloads) {
      expect(unb64(p.metadata.encoding)).toBe('binary/encrypted');
      expect(unb64(p.metadata['encryption-key-id'])).toBe('new');
      expect(unb64(p.data)).not.toContain('greta');
    }

    const decoded = await call(server.url, 'POST', '/codec/decode', {}, encoded.body);
    expect(decoded.status).toBe(200);
    expect(decoded.body.payloads[0]).toEqual(uiPayloads.payloads[0]);
    expect(decoded.body.payloads[1]).toEqual({ metadata: uiPayloads.payloads[1]!.metadata, data: '' });
  });

  it('decodes what the workers sealed with a retired key, and passes unencrypted payloads through', async () => {
    const retiredOnly = new AesGcmPayloadCodec(parsePayloadKeys(keys, 'old'));
    const [sealed] = await retiredOnly.encode([
      { metadata: { encoding: Buffer.from('json/plain') }, data: Buffer.from('"from 2025"') },
    ]);
    const body = {
      payloads: [
        {
          metadata: Object.fromEntries(
            Object.entries(sealed!.metadata!).map(([k, v]) => [k, Buffer.from(v).toString('base64')]),
          ),
          data: Buffer.from(sealed!.data!).toString('base64'),
        },
        uiPayloads.payloads[0],
      ],
    };
    const decoded = await call(server.url, 'POST', '/codec/decode', {}, body);
    expect(decoded.status).toBe(200);
    expect(unb64(decoded.body.payloads[0].data)).toBe('"from 2025"');
    expect(decoded.body.payloads[1]).toEqual(uiPayloads.payloads[0]);
  });

  it('takes {} and a null list as the empty payload list, as the Temporal CLI and Web UI send it', async () => {
    for (const operation of ['encode', 'decode']) {
      for (const body of [{}, { payloads: null }, { payloads: [] }]) {
        const res = await call(server.url, 'POST', `/codec/${operation}`, { 'x-namespace': 'default' }, body);
        expect(res.status).toBe(200);
        expect(res.body).toEqual({ payloads: [] });
      }
    }
  });

  it('answers problem+json for a malformed body and for a payload sealed with a key it does not have', async () => {
    const bad = await call(server.url, 'POST', '/codec/decode', {}, { payload: [] });
    expect(bad.status).toBe(400);
    expect(bad.headers['content-type']).toContain('application/problem+json');
    expect(bad.body.detail).toContain('"payloads" array');
    expect((await call(server.url, 'POST', '/codec/encode', {}, '{"payloads": [')).status).toBe(400);
    const notBase64 = await call(server.url, 'POST', '/codec/encode', {}, { payloads: [{ data: '%%%' }] });
    expect(notBase64.body.detail).toBe('payloads[0].data must be a base64 string');

    const stranger = new AesGcmPayloadCodec(parsePayloadKeys(`elsewhere:${Buffer.alloc(32, 3).toString('base64')}`));
    const [sealed] = await stranger.encode([{ metadata: {}, data: Buffer.from('x') }]);
    const unknownKey = await call(
      server.url,
      'POST',
      '/codec/decode',
      {},
      {
        payloads: [
          {
            metadata: Object.fromEntries(
              Object.entries(sealed!.metadata!).map(([k, v]) => [k, Buffer.from(v).toString('base64')]),
            ),
            data: Buffer.from(sealed!.data!).toString('base64'),
          },
        ],
      },
    );
    expect(unknownKey.status).toBe(422);
    expect(unknownKey.body.detail).toContain('key "elsewhere", which is not configured');
  });

  it('allows a CORS preflight from the Web UI origin with the method and headers the UI sends', async () => {
    for (const path of ['/codec/encode', '/codec/decode']) {
      const res = await call(server.url, 'OPTIONS', path, {
        Origin: UI,
        'Access-Control-Request-Method': 'POST',
        'Access-Control-Request-Headers': 'content-type,x-namespace,authorization',
      });
      expect(res.status).toBe(204);
      expect(res.headers['access-control-allow-origin']).toBe(UI);
      expect(res.headers['access-control-allow-methods']).toContain('POST');
      expect(res.headers['access-control-allow-headers']).toBe(CODEC_ALLOWED_HEADERS);
      expect(res.headers['access-control-allow-credentials']).toBe('true');
      expect(res.headers.vary).toContain('Origin');
    }
    const post = await call(server.url, 'POST', '/codec/encode', { Origin: 'http://127.0.0.1:8233' }, uiPayloads);
    expect(post.status).toBe(200);
    expect(post.headers['access-control-allow-origin']).toBe('http://127.0.0.1:8233');
  });

  it('refuses a preflight and a request from any other origin, without CORS headers', async () => {
    const preflight = await call(server.url, 'OPTIONS', '/codec/decode', {
      Origin: 'https://evil.example',
      'Access-Control-Request-Method': 'POST',
      'Access-Control-Request-Headers': 'content-type',
    });
    expect(preflight.status).toBe(403);
    expect(preflight.headers['access-control-allow-origin']).toBeUndefined();
    expect(preflight.headers['access-control-allow-headers']).toBeUndefined();

    const post = await call(server.url, 'POST', '/codec/decode', { Origin: 'http://localhost:9999' }, uiPayloads);
    expect(post.status).toBe(403);
    expect(post.headers['access-control-allow-origin']).toBeUndefined();
    expect(post.body.detail).toContain('CODEC_CORS_ORIGINS');
  });

  it('lets an authentication middleware guard encode/decode while preflights still pass without a token', async () => {
    const preflight = await call(guarded.url, 'OPTIONS', '/codec/decode', {
      Origin: UI,
      'Access-Control-Request-Method': 'POST',
      'Access-Control-Request-Headers': 'authorization,content-type',
    });
    expect(preflight.status).toBe(204);
    const anonymous = await call(guarded.url, 'POST', '/codec/decode', { Origin: UI }, uiPayloads);
    expect(anonymous.status).toBe(401);
    // The refusal carries CORS headers, so the UI can read why.
    expect(anonymous.headers['access-control-allow-origin']).toBe(UI);
    const allowed = await call(
      guarded.url,
      'POST',
      '/codec/decode',
      { Origin: UI, authorization: 'Bearer good' },
      uiPayloads,
    );
    expect(allowed.status).toBe(200);
  });
});

describe('codec endpoints as mounted in the service', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startTestStack({ name: 'codec-endpoint' });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('answers the preflight and round-trips with the keys the workers use', async () => {
    const preflight = await call(stack.api.url, 'OPTIONS', '/codec/encode', {
      Origin: UI,
      'Access-Control-Request-Method': 'POST',
      'Access-Control-Request-Headers': 'content-type,x-namespace,authorization',
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers['access-control-allow-origin']).toBe(UI);

    const encoded = await stack.http('POST', '/codec/encode', uiPayloads, { Origin: UI });
    expect(encoded.status).toBe(200);
    expect(unb64(encoded.body.payloads[0].metadata['encryption-key-id'])).toBe(TEST_ACTIVE_PAYLOAD_KEY_ID);
    const decoded = await stack.http('POST', '/codec/decode', encoded.body, { Origin: UI });
    expect(decoded.body.payloads[0]).toEqual(uiPayloads.payloads[0]);
  });

  it('lets `temporal workflow query --codec-endpoint` show a query result in the clear', async () => {
    const cli = process.env.TEMPORAL_CLI;
    if (!cli) throw new Error('TEMPORAL_CLI is not set: run the tests with `npm test`');
    // A customer's retention lifecycle runs for years and answers the `status` query.
    const onboarding = await stack.http('POST', '/v1/customers', onboardingBody([]));
    expect(onboarding.status).toBe(202);
    await stack.client.workflow.getHandle(onboarding.body.workflowId).result();
    const workflowId = retentionWorkflowId(onboarding.body.customerId);

    const query = (extra: string[]) =>
      promisify(execFile)(cli, [
        'workflow',
        'query',
        '--address',
        process.env.TEST_TEMPORAL_ADDRESS!,
        '--namespace',
        process.env.TEST_TEMPORAL_NAMESPACE!,
        '--workflow-id',
        workflowId,
        '--name',
        'status',
        '--output',
        'json',
        ...extra,
      ]);
    let answer = await query([
      '--codec-endpoint',
      `${stack.api.url}/codec`,
      '--codec-auth',
      `Bearer ${stack.tokens.support}`,
    ]);
    // The lifecycle may still be reading its contract: ask again until it reports its stage.
    for (let i = 0; i < 50 && !answer.stdout.includes('"stage"'); i++) {
      await new Promise((r) => setTimeout(r, 200));
      answer = await query([
        '--codec-endpoint',
        `${stack.api.url}/codec`,
        '--codec-auth',
        `Bearer ${stack.tokens.support}`,
      ]);
    }
    const result = JSON.parse(answer.stdout) as { queryResult: unknown[] };
    expect(result.queryResult[0]).toMatchObject({
      stage: expect.any(String),
      policySet: stack.config.retention.policySet,
    });

    // Without the codec the CLI sees only ciphertext.
    const sealed = await query([]).catch((err: { stdout?: string }) => ({ stdout: String(err.stdout ?? '') }));
    expect(sealed.stdout).not.toContain('"stage"');
  });
});
