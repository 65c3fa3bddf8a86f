/**
 * A real SMTP server that accepts every message and keeps it in memory, so tests and the local dev stack can send
 * mail through the production nodemailer transport (over a socket, with the real SMTP dialogue) and then look at what
 * arrived. Optionally writes `.eml` files and serves a read-only HTTP mailbox for humans: an inbox page (newest first)
 * and a page per message with its HTML (links clickable, in a sandboxed frame) and its text part. With a `mailDir`, the
 * mailbox also lists what earlier runs wrote there, so the dev stack's mail survives a restart.
 *
 * Run standalone with `tsx test/fakes/smtp-sink.ts` (env: SMTP_SINK_PORT, SMTP_SINK_HOST, SMTP_SINK_HTTP_PORT,
 * SMTP_SINK_MAIL_DIR).
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import express from 'express';
import { simpleParser } from 'mailparser';
import type { ParsedMail } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import type { SMTPServerDataStream, SMTPServerSession } from 'smtp-server';

/** One message as the sink received it. */
export interface ReceivedMail {
  /** Sink-assigned id, sortable by arrival; also the `.eml` file name and the HTTP mailbox key. */
  id: string;
  /** Envelope sender (MAIL FROM), lower-cased; falls back to the `From` header address when the envelope had none. */
  from: string;
  /** Envelope recipients (RCPT TO), lower-cased; this includes Bcc recipients, unlike the `To` header. */
  to: string[];
  /** Decoded `Subject` header, `''` when absent. */
  subject: string;
  /** Plain-text body as mailparser decodes it, `''` when the message has none. */
  text: string;
  /** HTML body, absent when the message has none. */
  html?: string;
  /**
   * Headers by lower-case name. Values are decoded when mailparser yields a plain string or address list, otherwise the
   * unfolded raw value; repeated headers (e.g. `received`) are joined with `\n`.
   */
  headers: Record<string, string>;
  /** `Message-ID` header, angle brackets included. */
  messageId?: string;
  /** When the sink finished receiving the DATA section. */
  receivedAt: Date;
  /** The message exactly as transmitted after DATA (RFC 822 source). */
  raw: string;
}

/** Options of {@link startSmtpSink}. */
export interface SmtpSinkOptions {
  /** SMTP port; default 0 (a free port, read it back from {@link SmtpSink.port}). */
  port?: number;
  /** Interface to bind; default `127.0.0.1`. */
  host?: string;
  /** If set, each message is also written to `<mailDir>/<id>.eml` (the directory is created if missing). */
  mailDir?: string;
  /**
   * If set (0 allowed = free port), serves a read-only mailbox on 127.0.0.1: `GET /` (the inbox page, newest first),
   * `GET /messages/:id/view` (one message: headers, HTML and text), `GET /messages` (JSON, newest first, without
   * `raw`) and `GET /messages/:id` (the raw message as `message/rfc822`). With `mailDir`, messages earlier runs wrote
   * there are listed too (not in {@link SmtpSink.messages}, which is this run's).
   */
  httpPort?: number;
}

/** A running SMTP sink. */
export interface SmtpSink {
  /** `smtp://<host>:<port>`, usable as nodemailer's SMTP_URL (plain SMTP, no TLS). */
  readonly url: string;
  /** The bound SMTP port. */
  readonly port: number;
  /** Base URL of the HTTP mailbox when `httpPort` was given. */
  readonly httpUrl?: string;
  /** Every message received since start or the last {@link SmtpSink.clear}, oldest first. */
  messages(): ReceivedMail[];
  /** Messages whose envelope recipients include `address` (case-insensitive). */
  messagesTo(address: string): ReceivedMail[];
  /**
   * Resolves with the first already-received message matching `predicate`, or with the next one that arrives. Rejects
   * after `timeoutMs` (default 30000) with an Error listing what was received so far, and when the sink stops.
   */
  waitFor(predicate: (m: ReceivedMail) => boolean, opts?: { timeoutMs?: number }): Promise<ReceivedMail>;
  /** Forgets every received message (files already written to `mailDir` stay). */
  clear(): void;
  /** Stops both servers, dropping open SMTP sessions, and rejects pending {@link SmtpSink.waitFor} calls. */
  stop(): Promise<void>;
}

interface Waiter {
  predicate: (m: ReceivedMail) => boolean;
  resolve: (m: ReceivedMail) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

const DEFAULT_WAIT_MS = 30_000;

/** Starts an SMTP sink. Default: port 0 on 127.0.0.1, no files, no HTTP mailbox. */
export async function startSmtpSink(opts: SmtpSinkOptions = {}): Promise<SmtpSink> {
  const host = opts.host ?? '127.0.0.1';
  const mailDir = opts.mailDir;
  if (mailDir) await mkdir(mailDir, { recursive: true });

  let received: ReceivedMail[] = [];
  const waiters = new Set<Waiter>();
  let seq = 0;
  // The random suffix keeps ids unique across restarts that reuse the same mailDir.
  const runTag = randomBytes(3).toString('hex');

  const settle = (mail: ReceivedMail): void => {
    for (const w of [...waiters]) {
      let matches: boolean;
      try {
        matches = w.predicate(mail);
      } catch (err) {
        waiters.delete(w);
        clearTimeout(w.timer);
        w.reject(err instanceof Error ? err : new Error(String(err)));
        continue;
      }
      if (matches) {
        waiters.delete(w);
        clearTimeout(w.timer);
        w.resolve(mail);
      }
    }
  };

  const accept = async (stream: SMTPServerDataStream, session: SMTPServerSession): Promise<void> => {
    const chunks: Buffer[] = [];
    for await (const chunk of stream) chunks.push(chunk as Buffer);
    const rawBuf = Buffer.concat(chunks);
    const parsed = await simpleParser(rawBuf);
    seq += 1;
    const id = `${Date.now()}-${String(seq).padStart(5, '0')}-${runTag}`;
    const envelopeFrom = session.envelope.mailFrom ? session.envelope.mailFrom.address : '';
    const mail: ReceivedMail = {
      id,
      from: (envelopeFrom || parsed.from?.value[0]?.address || '').toLowerCase(),
      to: session.envelope.rcptTo.map((r) => r.address.toLowerCase()),
      subject: parsed.subject ?? '',
      text: parsed.text ?? '',
      ...(parsed.html ? { html: parsed.html } : {}),
      headers: flattenHeaders(parsed),
      ...(parsed.messageId ? { messageId: parsed.messageId } : {}),
      receivedAt: new Date(),
      raw: rawBuf.toString('utf8'),
    };
    // Written before the SMTP 250 so that a sender that saw success can already find the file.
    if (mailDir) {
      await writeFile(join(mailDir, `${id}.eml`), rawBuf);
      // The envelope is not in the message itself (Bcc recipients, for one); kept beside it for the mailbox.
      await writeFile(join(mailDir, `${id}.envelope.json`), JSON.stringify({ from: mail.from, to: mail.to }));
    }
    received.push(mail);
    settle(mail);
  };

  const smtp = new SMTPServer({
    authOptional: true,
    // Accept AUTH over plain text too, so an SMTP_URL with credentials works against the sink unchanged.
    allowInsecureAuth: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    // Tests stop the sink while nodemailer may still hold a pooled connection; don't wait the default 30 s.
    closeTimeout: 200,
    onAuth(_auth, _session, callback) {
      callback(null, { user: 'sink' });
    },
    onData(stream, session, callback) {
      accept(stream, session).then(
        () => callback(),
        (err: unknown) => {
          // Drain so the SMTP connection can still answer (a 5xx) instead of hanging.
          stream.resume();
          callback(err instanceof Error ? err : new Error(String(err)));
        },
      );
    },
  });
  smtp.on('error', () => {
    // Connection-level errors (a client resetting the socket) are normal for a sink; nothing to do.
  });

  await new Promise<void>((resolve, reject) => {
    smtp.server.once('error', reject);
    smtp.listen(opts.port ?? 0, host, () => {
      smtp.server.off('error', reject);
      resolve();
    });
  });
  const port = (smtp.server.address() as AddressInfo).port;
  const urlHost = isWildcard(host) ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;

  // `raw` is left out of listings: it can be large and is available per message.
  const summary = (m: ReceivedMail): Omit<ReceivedMail, 'raw'> => {
    const copy: Partial<ReceivedMail> = { ...m };
    delete copy.raw;
    return copy as Omit<ReceivedMail, 'raw'>;
  };

  let http: Server | undefined;
  let httpUrl: string | undefined;
  if (opts.httpPort !== undefined) {
    // Messages of earlier runs, read once; this run's follow in `received`.
    const earlier = mailDir ? await loadMailDir(mailDir) : [];
    const all = (): ReceivedMail[] =>
      [...earlier, ...received].sort(
        (a, b) => b.receivedAt.getTime() - a.receivedAt.getTime() || b.id.localeCompare(a.id),
      );
    const app = express();
    app.disable('x-powered-by');
    app.get('/', (_req, res) => {
      res.type('html').send(inboxPage(all()));
    });
    app.get('/messages', (_req, res) => {
      res.json(all().map(summary));
    });
    app.get('/messages/:id/view', (req, res) => {
      const mail = all().find((m) => m.id === req.params.id);
      if (!mail) {
        res
          .status(404)
          .type('html')
          .send(page('Not found', '<p>No such message. <a href="/">Back to the inbox</a></p>'));
        return;
      }
      res.type('html').send(messagePage(mail));
    });
    app.get('/messages/:id', (req, res) => {
      const mail = all().find((m) => m.id === req.params.id);
      if (!mail) {
        res.status(404).json({ error: 'no such message' });
        return;
      }
      res.type('message/rfc822').send(mail.raw);
    });
    const server = app.listen(opts.httpPort, '127.0.0.1');
    await new Promise<void>((resolve, reject) => {
      server.once('listening', resolve);
      server.once('error', reject);
    });
    http = server;
    httpUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  const describeReceived = (): string =>
    received.length === 0
      ? 'no messages received'
      : `received ${received.length}: ${received.map((m) => `"${m.subject}" -> ${m.to.join(', ')}`).join('; ')}`;

  let stopped = false;

  return {
    url: `smtp://${urlHost}:${port}`,
    port,
    ...(httpUrl ? { httpUrl } : {}),
    messages: () => [...received],
    messagesTo: (address) => {
      const wanted = address.toLowerCase();
      return received.filter((m) => m.to.includes(wanted));
    },
    waitFor: (predicate, waitOpts) => {
      const existing = received.find(predicate);
      if (existing) return Promise.resolve(existing);
      if (stopped) return Promise.reject(new Error('SMTP sink is stopped'));
      const timeoutMs = waitOpts?.timeoutMs ?? DEFAULT_WAIT_MS;
      return new Promise<ReceivedMail>((resolve, reject) => {
        const waiter: Waiter = {
          predicate,
          resolve,
          reject,
          timer: setTimeout(() => {
            waiters.delete(waiter);
            reject(new Error(`SMTP sink: no matching message within ${timeoutMs} ms (${describeReceived()})`));
          }, timeoutMs),
        };
        waiters.add(waiter);
      });
    },
    clear: () => {
      received = [];
    },
    stop: async () => {
      if (stopped) return;
      stopped = true;
      for (const w of waiters) {
        clearTimeout(w.timer);
        w.reject(new Error(`SMTP sink stopped while waiting (${describeReceived()})`));
      }
      waiters.clear();
      await Promise.all([
        new Promise<void>((resolve) => smtp.close(() => resolve())),
        http
          ? new Promise<void>((resolve, reject) => {
              http.close((err) => (err ? reject(err) : resolve()));
              // Keep-alive browser connections would otherwise hold close() open.
              http.closeAllConnections();
            })
          : Promise.resolve(),
      ]);
    },
  };
}

/** Reads the `.eml` files (and envelope files) a sink wrote to `mailDir` before; unreadable files are skipped. */
async function loadMailDir(mailDir: string): Promise<ReceivedMail[]> {
  const names = (await readdir(mailDir)).filter((name) => name.endsWith('.eml'));
  const loaded = await Promise.all(
    names.map(async (name): Promise<ReceivedMail | undefined> => {
      try {
        const file = join(mailDir, name);
        const rawBuf = await readFile(file);
        const parsed = await simpleParser(rawBuf);
        const id = name.slice(0, -'.eml'.length);
        let envelope: { from?: string; to?: string[] } = {};
        try {
          envelope = JSON.parse(await readFile(join(mailDir, `${id}.envelope.json`), 'utf8')) as typeof envelope;
        } catch {
          // written by an older sink: fall back to the headers
        }
        const headerTo = [parsed.to ?? []].flat().flatMap((a) => a.value.map((v) => (v.address ?? '').toLowerCase()));
        // Ids start with the arrival time in milliseconds; the file time is the fallback.
        const arrived = Number(id.split('-')[0]);
        return {
          id,
          from: envelope.from ?? (parsed.from?.value[0]?.address ?? '').toLowerCase(),
          to: envelope.to ?? headerTo,
          subject: parsed.subject ?? '',
          text: parsed.text ?? '',
          ...(parsed.html ? { html: parsed.html } : {}),
          headers: flattenHeaders(parsed),
          ...(parsed.messageId ? { messageId: parsed.messageId } : {}),
          receivedAt: Number.isFinite(arrived) && arrived > 0 ? new Date(arrived) : (await stat(file)).mtime,
          raw: rawBuf.toString('utf8'),
        };
      } catch {
        return undefined;
      }
    }),
  );
  return loaded.filter((m): m is ReceivedMail => m !== undefined);
}

/** Text for HTML element content and attribute values. */
function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** Escaped text with its http(s) URLs as links that open in a new tab. */
function linkify(text: string): string {
  return escapeHtml(text).replace(
    /https?:\/\/[^\s<>"']+/g,
    (url) => `<a href="${url}" target="_blank" rel="noopener noreferrer">${url}</a>`,
  );
}

const STYLE = `body{font:14px/1.45 system-ui,sans-serif;margin:0;color:#1d2433;background:#f6f7f9}
header{background:#1d2433;color:#fff;padding:12px 20px}header a{color:#fff;text-decoration:none}
main{padding:16px 20px}table{border-collapse:collapse;width:100%;background:#fff}
th,td{text-align:left;padding:8px 10px;border-bottom:1px solid #e3e6ea;vertical-align:top}
th{font-weight:600;background:#eef0f3}tr:hover td{background:#f2f6ff}td.when{white-space:nowrap;color:#5b6475}
.card{background:#fff;border:1px solid #e3e6ea;border-radius:6px;padding:12px 16px;margin-bottom:16px}
dl{display:grid;grid-template-columns:max-content auto;gap:4px 16px;margin:0}dt{color:#5b6475}
pre{white-space:pre-wrap;word-break:break-word;margin:0}iframe{width:100%;height:480px;border:1px solid #e3e6ea;background:#fff}
h2{font-size:15px;margin:0 0 8px}.muted{color:#5b6475}`;

function page(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<style>${STYLE}</style></head><body><header><a href="/">Dev mailbox</a> · <span>${escapeHtml(title)}</span></header>
<main>${body}</main></body></html>`;
}

/** The inbox: one row per message, newest first. */
function inboxPage(mails: ReceivedMail[]): string {
  const rows = mails
    .map(
      (m) => `<tr><td class="when">${escapeHtml(m.receivedAt.toISOString().replace('T', ' ').slice(0, 19))}</td>
<td>${escapeHtml(m.to.join(', '))}</td><td><a href="/messages/${encodeURIComponent(m.id)}/view">${escapeHtml(
        m.subject || '(no subject)',
      )}</a></td><td>${escapeHtml(m.from)}</td></tr>`,
    )
    .join('\n');
  const table =
    mails.length === 0
      ? '<p class="muted">No mail yet.</p>'
      : `<table><thead><tr><th>Received (UTC)</th><th>To</th><th>Subject</th><th>From</th></tr></thead>
<tbody>${rows}</tbody></table>`;
  return page(`Inbox (${mails.length})`, `${table}<p class="muted">JSON: <a href="/messages">/messages</a></p>`);
}

/** One message: envelope and headers, the HTML part in a sandboxed frame (links open a new tab), the text part. */
function messagePage(m: ReceivedMail): string {
  const html = m.html
    ? `<div class="card"><h2>HTML</h2><iframe sandbox="allow-popups allow-popups-to-escape-sandbox" srcdoc="${escapeHtml(
        `<base target="_blank">${m.html}`,
      )}"></iframe></div>`
    : '';
  const text = m.text ? `<div class="card"><h2>Text</h2><pre>${linkify(m.text)}</pre></div>` : '';
  return page(
    m.subject || '(no subject)',
    `<div class="card"><dl><dt>Subject</dt><dd>${escapeHtml(m.subject)}</dd><dt>From</dt><dd>${escapeHtml(
      m.headers.from ?? m.from,
    )}</dd><dt>To</dt><dd>${escapeHtml(m.to.join(', '))}</dd><dt>Received</dt><dd>${escapeHtml(
      m.receivedAt.toISOString(),
    )}</dd><dt>Source</dt><dd><a href="/messages/${encodeURIComponent(m.id)}">raw .eml</a></dd></dl></div>${html}${text}`,
  );
}

function isWildcard(host: string): boolean {
  return host === '0.0.0.0' || host === '::' || host === '';
}

/** Builds the `headers` record: decoded where mailparser gives a plain value, raw (unfolded) otherwise. */
function flattenHeaders(parsed: ParsedMail): Record<string, string> {
  const raw = new Map<string, string[]>();
  for (const { key, line } of parsed.headerLines) {
    const colon = line.indexOf(':');
    const value = line
      .slice(colon + 1)
      .replace(/\r?\n[ \t]+/g, ' ')
      .trim();
    raw.set(key, [...(raw.get(key) ?? []), value]);
  }
  const out: Record<string, string> = {};
  for (const [key, values] of raw) {
    const decoded: unknown = parsed.headers.get(key);
    if (values.length === 1 && typeof decoded === 'string') {
      out[key] = decoded;
    } else if (values.length === 1 && isAddressObject(decoded)) {
      out[key] = decoded.text;
    } else {
      out[key] = values.join('\n');
    }
  }
  return out;
}

function isAddressObject(v: unknown): v is { text: string } {
  return typeof v === 'object' && v !== null && 'value' in v && typeof (v as { text?: unknown }).text === 'string';
}

if (require.main === module) {
  const env = process.env;
  startSmtpSink({
    port: Number(env.SMTP_SINK_PORT ?? 1025),
    host: env.SMTP_SINK_HOST ?? '127.0.0.1',
    httpPort: Number(env.SMTP_SINK_HTTP_PORT ?? 1080),
    ...(env.SMTP_SINK_MAIL_DIR ? { mailDir: env.SMTP_SINK_MAIL_DIR } : {}),
  }).then(
    (sink) => {
      console.log(`smtp-sink: SMTP ${sink.url}, mailbox ${sink.httpUrl ?? '(none)'}/`);
      const shutdown = (): void => {
        sink.stop().then(
          () => process.exit(0),
          () => process.exit(1),
        );
      };
      process.once('SIGINT', shutdown);
      process.once('SIGTERM', shutdown);
    },
    (err: unknown) => {
      console.error('smtp-sink failed to start:', err);
      process.exit(1);
    },
  );
}
