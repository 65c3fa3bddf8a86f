/**
 * Proves that the outside-party fakes speak the real protocols: SMTP through nodemailer, and subprocessor protocol v1
 * over HTTP with real signatures. Everything runs on real sockets bound to free ports.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express from 'express';
import nodemailer from 'nodemailer';
import type { SendMailOptions } from 'nodemailer';
import { IDEMPOTENCY_HEADER, SIGNATURE_HEADER, signBody, verifySignature } from '../lib/signature';
import { startSmtpSink } from './fakes/smtp-sink';
import type { SmtpSink } from './fakes/smtp-sink';
import { startSubprocessorSimulator } from './fakes/subprocessor-simulator';
import type { SubprocessorSimulator } from './fakes/subprocessor-simulator';

describe('SMTP sink', () => {
  let sink: SmtpSink;

  beforeAll(async () => {
    sink = await startSmtpSink();
  });
  afterAll(async () => {
    await sink.stop();
  });
  beforeEach(() => {
    sink.clear();
  });

  async function send(mail: SendMailOptions): Promise<string> {
    const transport = nodemailer.createTransport(sink.url);
    try {
      const info = (await transport.sendMail({ from: 'Privacy Team <privacy@example.test>', ...mail })) as {
        messageId: string;
      };
      return info.messageId;
    } finally {
      transport.close();
    }
  }

  it('keeps a nodemailer message with its subject, body, headers and lower-cased envelope recipients', async () => {
    const messageId = await send({
      to: 'Alice@Example.TEST',
      bcc: 'dpo@example.test',
      subject: 'Your data export is ready',
      text: 'Download it here.',
      html: '<p>Download it <b>here</b>.</p>',
    });

    const [mail, ...others] = sink.messages();
    expect(others).toHaveLength(0);
    expect(mail).toMatchObject({
      from: 'privacy@example.test',
      subject: 'Your data export is ready',
      text: expect.stringContaining('Download it here.') as unknown,
      html: '<p>Download it <b>here</b>.</p>',
      messageId,
    });
    expect(mail?.to.sort()).toEqual(['alice@example.test', 'dpo@example.test']);
    expect(mail?.headers.subject).toBe('Your data export is ready');
    expect(mail?.raw).toContain('Subject: Your data export is ready');
    expect(sink.messagesTo('ALICE@example.test').map((m) => m.id)).toEqual([mail?.id]);
  });

  it('waitFor resolves with a message that arrives after the call', async () => {
    const waiting = sink.waitFor((m) => m.subject === 'Verify your identity', { timeoutMs: 10_000 });
    await send({ to: 'bob@example.test', subject: 'Verify your identity', text: 'Click the link.' });

    const mail = await waiting;
    expect(mail.to).toEqual(['bob@example.test']);
  });

  it('waitFor rejects after its timeout, naming the subjects and recipients received so far', async () => {
    await send({ to: 'carol@example.test', subject: 'Something else', text: 'x' });

    await expect(sink.waitFor((m) => m.subject === 'Never sent', { timeoutMs: 100 })).rejects.toThrow(
      /"Something else" -> carol@example\.test/,
    );
  });

  it('clear forgets the received messages', async () => {
    await send({ to: 'dave@example.test', subject: 'Before clear', text: 'x' });
    expect(sink.messages()).toHaveLength(1);

    sink.clear();

    expect(sink.messages()).toEqual([]);
  });

  it('writes .eml files and serves the mailbox over HTTP when asked to', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'smtp-sink-'));
    const browsable = await startSmtpSink({ mailDir: join(dir, 'nested'), httpPort: 0 });
    try {
      const transport = nodemailer.createTransport(browsable.url);
      await transport.sendMail({ from: 'a@example.test', to: 'b@example.test', subject: 'First', text: '1' });
      await transport.sendMail({ from: 'a@example.test', to: 'b@example.test', subject: 'Second', text: '2' });
      transport.close();

      const list = (await (await fetch(`${browsable.httpUrl}/messages`)).json()) as Array<Record<string, unknown>>;
      expect(list.map((m) => m.subject)).toEqual(['Second', 'First']);
      expect(list[0]).not.toHaveProperty('raw');

      const id = String(list[0]?.id);
      const res = await fetch(`${browsable.httpUrl}/messages/${id}`);
      expect(res.headers.get('content-type')).toMatch(/^message\/rfc822/);
      const raw = await res.text();
      expect(raw).toContain('Subject: Second');
      expect(await readFile(join(dir, 'nested', `${id}.eml`), 'utf8')).toBe(raw);
      expect((await fetch(`${browsable.httpUrl}/messages/nope`)).status).toBe(404);
    } finally {
      await browsable.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('subprocessor simulator', () => {
  const secrets = { crm: 'crm-secret', erp: 'erp-secret' };
  let sim: SubprocessorSimulator;

  beforeAll(async () => {
    sim = await startSubprocessorSimulator({ secrets });
  });
  afterAll(async () => {
    await sim.stop();
  });
  beforeEach(() => {
    sim.reset();
  });

  /** Sends a protocol call the way the orchestrator does; overrides let a test break one part of it. */
  async function call(
    spId: string,
    path: string,
    body: unknown,
    opts: { secret?: string; key?: string | null; signature?: string; signal?: AbortSignal } = {},
  ): Promise<{ status: number; body: unknown }> {
    const text = JSON.stringify(body);
    const headers: Record<string, string> = {
      'Content-Type': 'application/json',
      [SIGNATURE_HEADER]: opts.signature ?? signBody(text, opts.secret ?? secrets[spId as keyof typeof secrets]),
    };
    if (opts.key !== null) headers[IDEMPOTENCY_HEADER] = opts.key ?? randomUUID();
    const res = await fetch(`${sim.baseUrlFor(spId)}${path}`, {
      method: 'POST',
      headers,
      body: text,
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
    return { status: res.status, body: await res.json() };
  }

  const registration = { tenantId: 't-1', categories: ['contact', 'billing'] };

  it('registers a tenant on a correctly signed call and records it', async () => {
    const res = await call('crm', '/v1/tenants', registration, { key: 'onboard-t-1' });

    expect(res).toEqual({ status: 201, body: { tenantId: 't-1', status: 'registered' } });
    expect(sim.calls({ subprocessorId: 'crm', path: '/v1/tenants' })).toEqual([
      expect.objectContaining({
        method: 'POST',
        body: registration,
        idempotencyKey: 'onboard-t-1',
        signatureValid: true,
        status: 201,
      }),
    ]);
  });

  it('answers 401 to a body signed with the wrong secret, including another subprocessor’s secret', async () => {
    const forged = await call('crm', '/v1/tenants', registration, { secret: 'not-the-secret' });
    const crossed = await call('crm', '/v1/tenants', registration, { secret: secrets.erp });
    const tampered = await call('crm', '/v1/tenants', registration, {
      signature: signBody(JSON.stringify({ ...registration, tenantId: 't-2' }), secrets.crm),
    });

    for (const res of [forged, crossed, tampered])
      expect(res).toEqual({ status: 401, body: { error: 'bad signature' } });
    expect(sim.calls().map((c) => c.signatureValid)).toEqual([false, false, false]);
  });

  it('answers 400 when the Idempotency-Key header is missing', async () => {
    const res = await call('crm', '/v1/tenants', registration, { key: null });

    expect(res.status).toBe(400);
    expect(sim.calls()[0]?.idempotencyKey).toBeUndefined();
  });

  it('answers 409 already-done to a repeated idempotency key on the same path only', async () => {
    const first = await call('crm', '/v1/tenants', registration, { key: 'k-1' });
    const repeat = await call('crm', '/v1/tenants', registration, { key: 'k-1' });
    const otherPath = await call(
      'crm',
      '/v1/tenants/t-1/corrections',
      { fields: { email: 'x@y.test' } },
      { key: 'k-1' },
    );

    expect(first.status).toBe(201);
    expect(repeat).toEqual({ status: 409, body: { status: 'already-done', idempotencyKey: 'k-1' } });
    expect(otherPath).toEqual({ status: 200, body: { status: 'applied' } });
  });

  it('fails the next calls as injected, without recording their key, so a retry with the same key succeeds', async () => {
    sim.failNext('crm', { status: 503, times: 2 });

    const statuses: number[] = [];
    for (let i = 0; i < 3; i++)
      statuses.push((await call('crm', '/v1/tenants', registration, { key: 'retry-me' })).status);

    expect(statuses).toEqual([503, 503, 201]);
    expect(sim.calls({ subprocessorId: 'crm' }).map((c) => c.status)).toEqual([503, 503, 201]);
  });

  it('injects failures per subprocessor', async () => {
    sim.failNext('erp', { status: 429, times: 1, body: { error: 'slow down' } });

    const crm = await call('crm', '/v1/tenants', registration);
    const erp = await call('erp', '/v1/tenants', registration);

    expect(crm.status).toBe(201);
    expect(erp).toEqual({ status: 429, body: { error: 'slow down' } });
  });

  it('applies a delayed call at once but answers late, so a client that timed out gets 409 on its retry', async () => {
    sim.delayNext('crm', 5_000);

    await expect(
      call('crm', '/v1/tenants', registration, { key: 'slow', signal: AbortSignal.timeout(200) }),
    ).rejects.toThrow();
    const retry = await call('crm', '/v1/tenants', registration, { key: 'slow' });

    expect(retry).toEqual({ status: 409, body: { status: 'already-done', idempotencyKey: 'slow' } });
  });

  it('confirms a deletion synchronously by default and rejects a malformed one', async () => {
    const deletionId = randomUUID();
    const ok = await call('crm', '/v1/tenants/t-1/deletions', {
      deletionId,
      categories: ['contact'],
      callbackUrl: 'http://127.0.0.1:1/v1/subprocessor-callbacks/crm',
    });
    const malformed = await call('crm', '/v1/tenants/t-1/deletions', { deletionId, categories: 'contact' });

    expect(ok).toEqual({ status: 200, body: { status: 'deleted', deletionId } });
    expect(malformed.status).toBe(400);
    expect(sim.callbacks()).toEqual([]);
  });

  it('answers 404 to an endpoint the protocol does not have', async () => {
    const res = await call('crm', '/v1/tenants/t-1/exports', {});

    expect(res.status).toBe(404);
    expect(sim.calls()[0]).toMatchObject({ subprocessorId: 'crm', path: '/v1/tenants/t-1/exports', status: 404 });
  });

  describe('deletion callbacks', () => {
    let receiver: Server;
    let receiverUrl: string;
    let onCallback: (req: { path: string; headers: Record<string, unknown>; raw: Buffer }) => void;

    beforeAll(async () => {
      const app = express();
      app.post('/v1/subprocessor-callbacks/:spId', express.raw({ type: () => true }), (req, res) => {
        onCallback({ path: req.path, headers: req.headers, raw: req.body as Buffer });
        res.status(204).end();
      });
      receiver = app.listen(0, '127.0.0.1');
      await new Promise<void>((resolve) => receiver.once('listening', resolve));
      receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
    });
    afterAll(async () => {
      await new Promise<void>((resolve) => {
        receiver.close(() => resolve());
        receiver.closeAllConnections();
      });
    });

    function nextCallback(): Promise<{ path: string; headers: Record<string, unknown>; raw: Buffer }> {
      return new Promise((resolve) => {
        onCallback = resolve;
      });
    }

    it('in callback mode answers 202 pending, then POSTs a signed confirmation to the callback URL', async () => {
      sim.setDeletionMode('erp', 'callback', 20);
      const deletionId = randomUUID();
      const received = nextCallback();

      const res = await call('erp', '/v1/tenants/t-9/deletions', {
        deletionId,
        categories: ['billing'],
        callbackUrl: `${receiverUrl}/v1/subprocessor-callbacks/erp`,
      });
      expect(res).toEqual({ status: 202, body: { status: 'pending', deletionId } });

      const callback = await received;
      expect(callback.path).toBe('/v1/subprocessor-callbacks/erp');
      expect(verifySignature(callback.raw, callback.headers['x-signature'] as string, secrets.erp)).toBe(true);
      expect(verifySignature(callback.raw, callback.headers['x-signature'] as string, secrets.crm)).toBe(false);
      expect(callback.headers['idempotency-key']).toBe(`callback-${deletionId}`);
      expect(JSON.parse(callback.raw.toString('utf8'))).toEqual({ deletionId, tenantId: 't-9', status: 'deleted' });
    });

    it('in never mode keeps the deletion pending until the test completes it', async () => {
      sim.setDeletionMode('erp', 'never');
      const deletionId = randomUUID();

      const res = await call('erp', '/v1/tenants/t-9/deletions', {
        deletionId,
        categories: ['billing'],
        callbackUrl: `${receiverUrl}/v1/subprocessor-callbacks/erp`,
      });
      expect(res).toEqual({ status: 202, body: { status: 'pending', deletionId } });
      expect(sim.callbacks()).toEqual([]);

      const received = nextCallback();
      const attempt = await sim.completeDeletion('erp', deletionId);
      expect(attempt).toMatchObject({ deletionId, tenantId: 't-9', attempt: 1, status: 204 });
      expect(JSON.parse((await received).raw.toString('utf8'))).toMatchObject({ deletionId });
      await expect(sim.completeDeletion('erp', deletionId)).rejects.toThrow(/no pending deletion/);
    });
  });

  it('waitForCall resolves on a future call and rejects on timeout with the calls so far', async () => {
    const waiting = sim.waitForCall((c) => c.path === '/v1/tenants/t-5/corrections', { timeoutMs: 10_000 });
    await call('crm', '/v1/tenants/t-5/corrections', { fields: { name: 'New Name' } });
    expect((await waiting).body).toEqual({ fields: { name: 'New Name' } });

    await expect(sim.waitForCall((c) => c.subprocessorId === 'nobody', { timeoutMs: 100 })).rejects.toThrow(
      /crm POST \/v1\/tenants\/t-5\/corrections -> 200/,
    );
  });

  it('serves its health and the recorded calls for humans', async () => {
    await call('crm', '/v1/tenants', registration);

    expect((await fetch(`${sim.url}/healthz`)).status).toBe(200);
    const listed = (await (await fetch(`${sim.url}/_calls`)).json()) as Array<{ path: string; status: number }>;
    expect(listed.map((c) => [c.path, c.status])).toEqual([['/v1/tenants', 201]]);
  });
});
