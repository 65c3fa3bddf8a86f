/** The outbound protocol client against the simulator: which answers are retried, which are permanent. */
import { SubprocessorRejectedError, SubprocessorUnavailableError } from '../lib/pure/errors';
import { createSubprocessorClient } from '../lib/subprocessor-client';
import { startSubprocessorSimulator, type SubprocessorSimulator } from './fakes/subprocessor-simulator';

let sim: SubprocessorSimulator;
// A generous timeout for calls that are answered (a loaded CI machine can take longer than a few hundred ms), and a
// short one for the call that is never answered in time.
const client = createSubprocessorClient({ timeoutMs: 10_000 });
const impatientClient = createSubprocessorClient({ timeoutMs: 300 });
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
