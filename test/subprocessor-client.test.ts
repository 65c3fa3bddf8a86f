/**
 * The outbound protocol client against the simulator: which answers are retried, which are permanent, where calls
 * may go (lib/outbound-destinations.ts) and what a failure reports.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { SubprocessorRejectedError, SubprocessorUnavailableError } from '../lib/pure/errors';
import { createSubprocessorClient } from '../lib/subprocessor-client';
import { startSubprocessorSimulator, type SubprocessorSimulator } from './fakes/subprocessor-simulator';
import { TEST_OUTBOUND_POLICY } from './support/test-outbound';

let sim: SubprocessorSimulator;
// A generous timeout for calls that are answered (a loaded CI machine can take longer than a few hundred ms), and a
// short one for the call that is never answered in time.
const client = createSubprocessorClient({ timeoutMs: 10_000, outbound: TEST_OUTBOUND_POLICY });
const impatientClient = createSubprocessorClient({ timeoutMs: 300, outbound: TEST_OUTBOUND_POLICY });
const endpoint = () => ({ id: 'crm', baseUrl: sim.baseUrlFor('crm'), signingSecret: 'shh' });

beforeAll(async () => {
  sim = await startSubprocessorSimulator({ secrets: { crm: 'shh' } });
});
afterAll(async () => {
  await sim.stop();
});
beforeEach(() => sim.reset());

describe('subprocessor protocol v1 client', () => {
  it('sends a signed, idempotency-keyed call and reports acceptance', async () => {
    const answer = await client.post(endpoint(), '/v1/tenants', { tenantId: 't1', categories: ['orders'] }, 'key-0001');
    expect(answer).toEqual({ status: 201, alreadyDone: false, body: { tenantId: 't1', status: 'registered' } });
    const [call] = sim.calls({ subprocessorId: 'crm' });
    expect(call).toMatchObject({ signatureValid: true, idempotencyKey: 'key-0001' });
  });

  it('treats 409 for a repeated idempotency key as already done', async () => {
    await client.post(endpoint(), '/v1/tenants', { tenantId: 't2', categories: [] }, 'key-0002');
    const again = await client.post(endpoint(), '/v1/tenants', { tenantId: 't2', categories: [] }, 'key-0002');
    expect(again).toMatchObject({ status: 409, alreadyDone: true });
  });

  it.each([500, 502, 503, 408, 429])('treats HTTP %i as transient', async (status) => {
    sim.failNext('crm', { status, times: 1 });
    await expect(
      client.post(endpoint(), '/v1/tenants', { tenantId: 't3', categories: [] }, `key-t-${status}`),
    ).rejects.toBeInstanceOf(SubprocessorUnavailableError);
  });

  it.each([400, 401, 403, 404, 422])('treats HTTP %i as permanent', async (status) => {
    sim.failNext('crm', { status, times: 1 });
    const failure = await client
      .post(endpoint(), '/v1/tenants', { tenantId: 't4', categories: [] }, `key-p-${status}`)
      .catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(SubprocessorRejectedError);
    expect((failure as SubprocessorRejectedError).status).toBe(status);
  });

  it('treats a call that gets no answer in time as transient', async () => {
    sim.delayNext('crm', 2000, 1);
    const failure = await impatientClient
      .post(endpoint(), '/v1/tenants', { tenantId: 't5', categories: [] }, 'key-slow')
      .catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(SubprocessorUnavailableError);
    expect((failure as Error).message).toContain('no answer within 300 ms');
  });

  it('treats a subprocessor that refuses connections as transient', async () => {
    const down = { id: 'down', baseUrl: 'http://127.0.0.1:1', signingSecret: 'x' };
    await expect(client.post(down, '/v1/tenants', {}, 'key-down')).rejects.toBeInstanceOf(SubprocessorUnavailableError);
  });
});

describe('outbound destinations at call time', () => {
  /** Plain http allowed (the simulator has no TLS), but no address exceptions: loopback is refused. */
  const noExceptions = { allowHttp: true, allowedHosts: [], allowedCidrs: [] };
  const port = () => new URL(sim.baseUrlFor('crm')).port;

  async function refusal(c: ReturnType<typeof createSubprocessorClient>, baseUrl: string): Promise<Error> {
    const failure = await c
      .post({ id: 'crm', baseUrl, signingSecret: 'shh' }, '/v1/tenants', { tenantId: 'x', categories: [] }, 'k-ref')
      .catch((err: unknown) => err as Error);
    expect(failure).toBeInstanceOf(SubprocessorUnavailableError);
    return failure as Error;
  }

  it('refuses a host name that resolves to loopback, checked on the address the socket would use', async () => {
    const c = createSubprocessorClient({ timeoutMs: 5000, outbound: noExceptions });
    const failure = await refusal(c, `http://localhost:${port()}/crm`);
    expect(failure.message).toMatch(/destination refused \(not_public_address\): localhost resolves to .*loopback/);
    expect(sim.calls({ subprocessorId: 'crm' })).toEqual([]);
  });

  it('refuses a name whose DNS answer changed to a private address since registration (rebinding)', async () => {
    // A resolver that answers like an attacker's DNS after registration: the public name now points inside.
    const rebound = (_host: string, options: unknown, cb: (e: null, a: unknown, f?: number) => void) =>
      (options as { all?: boolean }).all ? cb(null, [{ address: '10.0.0.7', family: 4 }]) : cb(null, '10.0.0.7', 4);
    const c = createSubprocessorClient({ timeoutMs: 5000, outbound: noExceptions, lookup: rebound as never });
    const failure = await refusal(c, `http://crm.example.com:${port()}/crm`);
    expect(failure.message).toContain('crm.example.com resolves to 10.0.0.7 is a private address');
    const metadata = (_host: string, options: unknown, cb: (e: null, a: unknown, f?: number) => void) =>
      (options as { all?: boolean }).all
        ? cb(null, [{ address: '169.254.169.254', family: 4 }])
        : cb(null, '169.254.169.254', 4);
    const m = createSubprocessorClient({ timeoutMs: 5000, outbound: noExceptions, lookup: metadata as never });
    expect((await refusal(m, `http://crm.example.com:${port()}/crm`)).message).toContain('metadata_address');
  });

  it('refuses literal loopback, private, link-local and metadata addresses and plain http by default', async () => {
    const strict = createSubprocessorClient({ timeoutMs: 5000 });
    expect((await refusal(strict, `http://127.0.0.1:${port()}/crm`)).message).toContain('https_required');
    for (const [url, rule] of [
      [`https://127.0.0.1:${port()}/crm`, 'not_public_address'],
      ['https://10.1.2.3/crm', 'not_public_address'],
      ['https://[::1]/crm', 'not_public_address'],
      ['https://[::ffff:127.0.0.1]/crm', 'not_public_address'],
      ['https://169.254.10.1/crm', 'not_public_address'],
      ['https://169.254.169.254/latest/meta-data', 'metadata_address'],
      ['https://[fd00:ec2::254]/', 'metadata_address'],
    ] as const) {
      expect([url, (await refusal(strict, url)).message]).toEqual([url, expect.stringContaining(rule)]);
    }
    expect(sim.calls({ subprocessorId: 'crm' })).toEqual([]);
  });

  it('reports a rejection with its status and a bounded excerpt without control characters', async () => {
    // A raw answer, as a hostile endpoint would send it: NUL, a terminal escape, a bidi override, a page of text.
    const server = http.createServer((_req, res) => {
      res.writeHead(400, { 'Content-Type': 'text/plain' });
      res.end(`bad\u0000\u001b[31mred\u202e ${'x'.repeat(5000)}`);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port: rawPort } = server.address() as AddressInfo;
    try {
      const failure = (await client
        .post({ id: 'raw', baseUrl: `http://127.0.0.1:${rawPort}`, signingSecret: 's' }, '/v1/tenants', {}, 'k-raw')
        .catch((err: unknown) => err)) as SubprocessorRejectedError;
      expect(failure).toBeInstanceOf(SubprocessorRejectedError);
      expect(failure.message).toContain('HTTP 400');
      expect(failure.message).toContain('bad [31mred x');
      // eslint-disable-next-line no-control-regex -- looking for exactly these characters
      expect(failure.message).not.toMatch(/[\u0000-\u001f\u007f\u202e]/);
      expect(failure.message.length).toBeLessThan(320);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
