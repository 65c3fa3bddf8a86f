/**
 * The dev stack's mailbox (test/fakes/smtp-sink.ts with `httpPort` and `mailDir`): an inbox page newest first, a page
 * per message with its HTML and text and clickable links, and the mail of an earlier run still there after a restart.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import nodemailer from 'nodemailer';
import { startSmtpSink, type SmtpSink } from './fakes/smtp-sink';

async function send(sink: SmtpSink, subject: string, link: string): Promise<void> {
  const transport = nodemailer.createTransport({ url: sink.url } as never);
  await transport.sendMail({
    from: 'Privacy Team <privacy@example.com>',
    to: 'contact@nordlicht.example',
    subject,
    text: `Please confirm: ${link}\nThank you.`,
    html: `<p>Please <a href="${link}">confirm your request</a>.</p>`,
  });
  transport.close();
}

async function get(url: string): Promise<{ status: number; type: string | null; body: string }> {
  const res = await fetch(url);
  return { status: res.status, type: res.headers.get('content-type'), body: await res.text() };
}

describe('the dev mailbox', () => {
  const mailDir = fs.mkdtempSync(path.join(os.tmpdir(), 'dev-mailbox-'));
  afterAll(() => fs.rmSync(mailDir, { recursive: true, force: true }));

  it('lists messages newest first, shows HTML and text with clickable links, and keeps them across a restart', async () => {
    const first = await startSmtpSink({ httpPort: 0, mailDir });
    await send(first, 'First message', 'http://localhost:8080/verify/first-token');
    await new Promise((r) => setTimeout(r, 5));
    await send(first, 'Second <message>', 'http://localhost:8080/verify/second-token');

    const inbox = await get(`${first.httpUrl}/`);
    expect(inbox.status).toBe(200);
    expect(inbox.type).toContain('text/html');
    expect(inbox.body.indexOf('Second &lt;message&gt;')).toBeGreaterThan(-1);
    expect(inbox.body.indexOf('Second &lt;message&gt;')).toBeLessThan(inbox.body.indexOf('First message'));

    const newest = first.messages().at(-1)!;
    const view = await get(`${first.httpUrl}/messages/${newest.id}/view`);
    expect(view.status).toBe(200);
    // Text part: the URL is a link that opens in a new tab.
    expect(view.body).toContain(
      '<a href="http://localhost:8080/verify/second-token" target="_blank" rel="noopener noreferrer">',
    );
    // HTML part: rendered in a sandboxed frame whose links open outside it.
    expect(view.body).toMatch(/<iframe sandbox="allow-popups[^"]*" srcdoc="&lt;base target=&quot;_blank&quot;&gt;/);
    expect(view.body).toContain('confirm your request');
    await first.stop();

    const second = await startSmtpSink({ httpPort: 0, mailDir });
    try {
      expect(second.messages()).toEqual([]);
      const listed = JSON.parse((await get(`${second.httpUrl}/messages`)).body) as { subject: string; to: string[] }[];
      expect(listed.map((m) => m.subject)).toEqual(['Second <message>', 'First message']);
      expect(listed[0]!.to).toEqual(['contact@nordlicht.example']);
      const again = await get(`${second.httpUrl}/messages/${newest.id}/view`);
      expect(again.body).toContain('second-token');
    } finally {
      await second.stop();
    }
  });
});
