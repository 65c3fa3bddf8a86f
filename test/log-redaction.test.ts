/**
 * PII never reaches the logs: the winston format on its own (emails, phone numbers, keyed names and contact data,
 * errors), and a full run through the real stack whose log file (the stack's logger plus the Temporal runtime's logs
 * routed into it, including the SDK's "Activity failed" lines that quote a subprocessor's answer) is scanned for the
 * personal data of the customers onboarded.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import winston from 'winston';
import { createLogger } from '../lib/logger';
import { REDACTED, REDACTED_EMAIL, REDACTED_PHONE, redactText, redactValue } from '../lib/log-redaction';
import { onboardingBody } from './support/fixtures';
import { startTestStack, type TestStack } from './support/test-stack';

/** A logger exactly as the service builds it, writing into an array. */
function capture(pretty = false) {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(chunk.toString().trim());
      done();
    },
  });
  const log = createLogger({ service: 'test', pretty, transports: [new winston.transports.Stream({ stream })] });
  return { log, lines };
}

describe('the redaction format', () => {
  it('masks email addresses and phone numbers anywhere in a string', () => {
    expect(redactText('welcome sent to greta.lindqvist@nordlicht.example (cc Billing.Team+eu@mail.nordlicht.de)')).toBe(
      `welcome sent to ${REDACTED_EMAIL} (cc ${REDACTED_EMAIL})`,
    );
    for (const phone of ['+4930123456', '+49 30 1234567', '+1 (555) 123-4567', '030 1234567', '(555) 123-4567']) {
      expect([phone, redactText(`call ${phone} now`)]).toEqual([phone, `call ${REDACTED_PHONE} now`]);
    }
  });

  it('leaves ids, dates, times, versions, addresses and durations alone', () => {
    const ordinary = [
      'customer 6f1e0a52-4a4f-4c1b-9d9e-2f5f6f0f6f0f',
      'request 12345678-1234-1234-1234-123456789012',
      'due 2026-01-01, at 2026-11-29T00:15:24.774Z',
      'temporal 127.0.0.1:7233, peer 192.168.100.200',
      'server 1.29.1 took 1350.123 ms, epoch 1767225600000',
      'HTTP 422 on /v1/tenants, attempt 3 of 10',
      'postgres://postgres@127.0.0.1:5432/data_lifecycle',
    ];
    for (const line of ordinary) expect(redactText(line)).toBe(line);
  });

  it('masks names and contact data under their keys, at any depth and in any case, without touching the input', () => {
    const meta = {
      customerId: 'c-1',
      contact: {
        Name: 'Greta Lindqvist',
        contact_email: 'greta@x.example',
        phoneNumber: '+4930123456',
        role: 'primary',
      },
      company: { companyName: 'Nordlicht Handel GmbH', country: 'DE' },
      mail: { to: ['greta@x.example'], from: 'Privacy Team <privacy@example.com>', subject: 'Welcome' },
      CONTACTNAME: 'Jonas Weber',
      missing: { name: null },
    };
    const copy = structuredClone(meta);
    expect(redactValue(meta)).toEqual({
      customerId: 'c-1',
      contact: { Name: REDACTED, contact_email: REDACTED, phoneNumber: REDACTED, role: 'primary' },
      company: { companyName: REDACTED, country: 'DE' },
      mail: { to: REDACTED, from: REDACTED, subject: 'Welcome' },
      CONTACTNAME: REDACTED,
      missing: { name: null },
    });
    expect(meta).toEqual(copy);
  });

  it('masks keyed values inside JSON or key=value text, as a subprocessor answer quoted in an error message', () => {
    const message =
      'subprocessor crm rejected the call with HTTP 422: /v1/tenants: {"error":"unsupported region","contact":' +
      '{"name":"Greta Lindqvist","phone":"+4930123456"},"companyName":"Nordlicht Handel GmbH","seats":3}';
    expect(redactText(message)).toBe(
      'subprocessor crm rejected the call with HTTP 422: /v1/tenants: {"error":"unsupported region","contact":' +
        `{"name":"${REDACTED}","phone":"${REDACTED}"},"companyName":"${REDACTED}","seats":3}`,
    );
    expect(redactText('{"contactName":"Greta Lindq')).toBe(`{"contactName":"${REDACTED}"`);
    expect(redactText('{\\"name\\":\\"Greta\\"}')).toBe(`{\\"name\\":\\"${REDACTED}\\"}`);
    expect(redactText("{ name: 'Greta', seats: 3 }")).toBe(`{ name: '${REDACTED}', seats: 3 }`);
    expect(redactText('GET /x?email=greta%40x.example&name=Greta&page=2')).toBe(
      `GET /x?email=${REDACTED}&name=${REDACTED}&page=2`,
    );
  });

  it('serializes errors with their message and stack redacted, keeping the error name', () => {
    const cause = new Error('mailbox greta@x.example full');
    const err = Object.assign(new Error('could not welcome Greta at greta@x.example', { cause }), {
      name: 'WelcomeError',
      to: 'greta@x.example',
      attempt: 2,
    });
    const out = redactValue({ err }) as { err: Record<string, any> };
    expect(out.err).toMatchObject({
      name: 'WelcomeError',
      message: `could not welcome Greta at ${REDACTED_EMAIL}`,
      to: REDACTED,
      attempt: 2,
      cause: { name: 'Error', message: `mailbox ${REDACTED_EMAIL} full` },
    });
    expect(out.err.stack).not.toContain('greta@');
  });

  it('masks link tokens in public link paths and anywhere by shape, and staff tokens', () => {
    const link = `eyJrIjoidGVzdC0yMDI2IiwicCI6ImV4cG9ydCJ9.${'x'.repeat(43)}`;
    const staff = `dlo_${'Ab3_'.repeat(11)}`;
    expect(redactText(`GET /exports/${link} 410`)).toBe('GET /exports/[redacted-token] 410');
    expect(redactText(`/verify/anything-at-all?x=1 and /download/abc`)).toBe(
      '/verify/[redacted-token]?x=1 and /download/[redacted-token]',
    );
    expect(redactText(`token was ${link}.`)).toBe('token was [redacted-token].');
    expect(redactText(`Bearer ${staff}`)).toBe('Bearer [redacted-token]');
    expect(redactValue({ token: 'opaque', authorization: 'Bearer x', tokenId: 'kept' })).toEqual({
      token: REDACTED,
      authorization: REDACTED,
      tokenId: 'kept',
    });
  });

  it('is applied by createLogger to every line, JSON and pretty alike', () => {
    for (const pretty of [false, true]) {
      const { log, lines } = capture(pretty);
      log.info('onboarding greta@x.example', { contact: { name: 'Greta Lindqvist', phone: '+4930123456' } });
      log.error(new Error('rejected +4930123456'));
      log.warn('Activity failed', { error: new Error('HTTP 422: {"email":"greta@x.example"}') });
      const all = lines.join('\n');
      expect(all).not.toMatch(/greta@|Greta|4930123456/);
      expect(all).toContain(REDACTED);
      expect(all).toContain('Activity failed');
    }
  });
});

// --- A full run through the real stack ------------------------------------------------------------------------------

const LOG_FILE = path.join(__dirname, '..', '.data', 'test', 'logs', 'log-redaction.log');
let stack: TestStack;
let crm: string;
let offset = 0;

beforeAll(async () => {
  // Only this run's lines are scanned: the file is appended to across runs.
  offset = fs.existsSync(LOG_FILE) ? fs.statSync(LOG_FILE).size : 0;
  stack = await startTestStack({ name: 'log-redaction' });
  crm = await stack.addSubprocessor('crm', ['business_contact']);
});
afterAll(async () => {
  await stack?.stop();
});

async function logSince(marker: string): Promise<string> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const text = fs.existsSync(LOG_FILE) ? fs.readFileSync(LOG_FILE).subarray(offset).toString() : '';
    if (text.includes(marker)) return text;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${marker} never reached ${LOG_FILE}`);
}

describe('a full run through the real stack', () => {
  it('writes none of the onboarded customers’ emails, phone numbers, names or company names to the logs', async () => {
    const canaries: string[] = [];
    const onboard = () => {
      const body = onboardingBody([crm]);
      body.contacts[0]!.phone = `+4930${Math.floor(1_000_000 + Math.random() * 8_999_999)}`;
      canaries.push(body.company.name, ...body.contacts.flatMap((c) => [c.name, c.email]), body.contacts[0]!.phone);
      return body;
    };

    const ok = await stack.http('POST', '/v1/customers', onboard());
    expect(ok.status).toBe(202);
    expect(await stack.client.workflow.getHandle(ok.body.workflowId).result()).toMatchObject({ status: 'active' });

    // A subprocessor that answers with the customer's data: the SDK logs the activity failure with that answer.
    const rejected = onboard();
    const contact = rejected.contacts[0]!;
    stack.sim.failNext(crm, {
      status: 422,
      times: 1,
      body: { error: 'contact not accepted', contact, companyName: rejected.company.name },
    });
    const failing = await stack.http('POST', '/v1/customers', rejected);
    expect(failing.status).toBe(202);
    await expect(stack.client.workflow.getHandle(failing.body.workflowId).result()).rejects.toThrow();

    // Our own code logging personal data by mistake is caught too.
    stack.log.warn(`could not reach ${contact.email}`, { contact, companyName: rejected.company.name });

    const marker = `log-redaction-done-${failing.body.requestId}`;
    stack.log.info(marker);
    const written = await logSince(marker);

    // The scan is meaningful: the Temporal runtime's lines (activity logs, the SDK's failure report) are in this file.
    expect(written).toContain('customer recorded');
    expect(written).toMatch(/"message":"Activity failed"/);
    expect(written).toContain('contact not accepted');
    expect(written).toContain(REDACTED);
    for (const canary of canaries) expect([canary, written.includes(canary)]).toEqual([canary, false]);
  });
});
