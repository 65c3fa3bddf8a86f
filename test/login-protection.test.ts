/**
 * Login protection that cannot lock everyone out (api/login-guard.ts), on the real API with a real database: failed
 * authentications are limited per address and per presented token prefix, a valid token is served whatever others
 * did, the codec endpoints share the guard, and a burst of failures is one log line.
 *
 * The API trusts X-Forwarded-For from loopback here (TRUST_PROXY=loopback), so one test process can speak from many
 * client addresses, as a reverse proxy would report them.
 */
import { Writable } from 'node:stream';
import winston from 'winston';
import { createApp } from '../api/app';
import { startServer, type RunningServer } from '../api/server';
import { loadConfig } from '../lib/config';
import { createLogger } from '../lib/logger';
import { AesGcmPayloadCodec } from '../lib/payload-codec';
import { startTestStack, type TestStack } from './support/test-stack';

let stack: TestStack;

beforeAll(async () => {
  stack = await startTestStack({ name: 'login-protection' });
});
afterAll(async () => {
  await stack?.stop();
});

/** An API behind a (simulated) proxy on loopback, with low limits and a log the test reads. */
async function guardedApi(limits: { perAddress: number; perPrefix: number }) {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n').filter(Boolean)) lines.push(JSON.parse(line));
      done();
    },
  });
  const log = createLogger({ service: 'api', transports: [new winston.transports.Stream({ stream: sink })] });
  // What TRUST_PROXY=loopback configures (lib/config.ts; checked below).
  const config = { ...stack.config, http: { ...stack.config.http, trustProxy: 'loopback' } };
  const server: RunningServer = await startServer(
    createApp({
      db: stack.db,
      temporal: stack.client,
      taskQueue: stack.taskQueue,
      log,
      config,
      limits: {
        authFailuresPer15Minutes: limits.perAddress,
        authFailuresPerTokenPrefix: limits.perPrefix,
        authFailureReportQuietMs: 2000,
      },
      codec: { codec: new AesGcmPayloadCodec(config.payloadEncryption.keyring), corsOrigins: [] },
    }),
    0,
  );
  const call = async (path: string, from: string, token?: string, method = 'GET', body?: unknown) => {
    const res = await fetch(`${server.url}${path}`, {
      method,
      headers: {
        'X-Forwarded-For': from,
        ...(token === undefined ? {} : { Authorization: `Bearer ${token}` }),
        ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, text };
  };
  return { server, lines, call };
}

const until = async (check: () => boolean, ms = 10_000) => {
  const end = Date.now() + ms;
  while (!check() && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
};

describe('TRUST_PROXY', () => {
  it("is Express's trust proxy setting: none by default, hops, or addresses and subnets; anything else is refused", () => {
    expect(loadConfig({}).http.trustProxy).toBe(false);
    expect(loadConfig({ TRUST_PROXY: 'loopback' }).http.trustProxy).toBe('loopback');
    expect(loadConfig({ TRUST_PROXY: '2' }).http.trustProxy).toBe(2);
    expect(loadConfig({ TRUST_PROXY: '10.0.0.0/8, fd00::/8' }).http.trustProxy).toBe('10.0.0.0/8,fd00::/8');
    expect(() => loadConfig({ TRUST_PROXY: 'my-proxy.example' })).toThrow(/TRUST_PROXY: .*not one: my-proxy.example/);
    expect(() => loadConfig({ TRUST_PROXY: '10.0.0.0/33' })).toThrow(/TRUST_PROXY/);
  });
});

describe('login protection', () => {
  it('serves a valid token from an address that is being flooded with bad ones, and only that address is limited', async () => {
    const { server, lines, call } = await guardedApi({ perAddress: 5, perPrefix: 1000 });
    try {
      const flooded = '203.0.113.7';
      const statuses: number[] = [];
      for (let i = 0; i < 30; i++)
        statuses.push((await call('/v1/customers', flooded, `dlo_guess${i}-xxxxxxxx`)).status);
      expect(statuses.slice(0, 5)).toEqual([401, 401, 401, 401, 401]);
      expect(new Set(statuses.slice(5))).toEqual(new Set([429]));

      // The staff member at that address (behind the same proxy) is not locked out, by the API or by the codec.
      const valid = await call('/v1/customers', flooded, stack.tokens.support);
      expect(valid.status).toBe(200);
      const codec = await call('/codec/decode', flooded, stack.tokens.support, 'POST', { payloads: [] });
      expect(codec.status).toBe(200);
      // Other addresses are unaffected: a bad token elsewhere is an ordinary 401.
      expect((await call('/v1/customers', '198.51.100.20', 'dlo_other-address-1')).status).toBe(401);
      // The answers never echo the token tried.
      expect((await call('/v1/customers', flooded, 'dlo_secretsecretsecret')).text).not.toContain('secretsecret');

      // One log line for the whole burst, with its counts, not a line per request.
      await until(() => lines.some((l) => l.event === 'security.auth_failures_exceeded'));
      const burstLines = lines.filter(
        (l) => typeof l.event === 'string' && l.event.startsWith('security.auth_failure'),
      );
      expect(burstLines).toHaveLength(1);
      expect(burstLines[0]).toMatchObject({
        level: 'error',
        message: 'abnormal activity: repeated failed authentication',
        failures: 32,
        refused429: 26,
        addressCount: 2,
        addresses: { [flooded]: 31, '198.51.100.20': 1 },
      });
      expect(JSON.stringify(lines)).not.toContain('dlo_guess');
      expect(lines.filter((l) => l.message === 'authentication failed')).toEqual([]);
    } finally {
      await server.stop();
    }
  });

  it('limits guessing with one token prefix from many addresses, without refusing the valid token', async () => {
    const { server, call } = await guardedApi({ perAddress: 1000, perPrefix: 4 });
    try {
      // The first 12 characters of the real support token, guessed from ten addresses.
      const prefix = stack.tokens.support.slice(0, 12);
      const statuses: number[] = [];
      for (let i = 0; i < 10; i++)
        statuses.push((await call('/v1/customers', `192.0.2.${i + 1}`, `${prefix}wrong${i}`)).status);
      expect(statuses).toEqual([401, 401, 401, 401, 429, 429, 429, 429, 429, 429]);
      // The holder of the real token, from any address, is served.
      expect((await call('/v1/customers', '192.0.2.1', stack.tokens.support)).status).toBe(200);
      expect((await call('/v1/customers', '192.0.2.200', stack.tokens.support)).status).toBe(200);
      // Another prefix is counted on its own.
      expect((await call('/v1/customers', '192.0.2.201', 'dlo_ZZZZZZZZ-other')).status).toBe(401);
    } finally {
      await server.stop();
    }
  });

  it('counts failures at the codec endpoints with the API: they are limited too', async () => {
    const { server, call } = await guardedApi({ perAddress: 3, perPrefix: 1000 });
    try {
      const from = '198.51.100.99';
      const statuses: number[] = [];
      for (let i = 0; i < 3; i++)
        statuses.push((await call('/codec/decode', from, `dlo_codec${i}`, 'POST', { payloads: [] })).status);
      // The API shares the count: the fourth failure, wherever it lands, is refused 429.
      statuses.push((await call('/v1/customers', from, 'dlo_api-after-codec')).status);
      statuses.push((await call('/codec/encode', from, undefined, 'POST', { payloads: [] })).status);
      expect(statuses).toEqual([401, 401, 401, 429, 429]);
      expect((await call('/codec/decode', from, stack.tokens.privacy_officer, 'POST', { payloads: [] })).status).toBe(
        200,
      );
    } finally {
      await server.stop();
    }
  });
});
