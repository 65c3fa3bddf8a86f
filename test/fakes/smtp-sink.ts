/**
 * A real SMTP server that accepts every message and keeps it in memory, so tests and the local dev stack can send
 * mail through the production nodemailer transport (over a socket, with the real SMTP dialogue) and then look at what
 * arrived. Optionally writes `.eml` files and serves a tiny read-only HTTP mailbox for humans.
 *
 * Run standalone with `tsx test/fakes/smtp-sink.ts` (env: SMTP_SINK_PORT, SMTP_SINK_HOST, SMTP_SINK_HTTP_PORT,
 * SMTP_SINK_MAIL_DIR).
 */
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
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
   * If set (0 allowed = free port), serves a read-only mailbox on 127.0.0.1: `GET /messages` (JSON, newest first,
   * without `raw`) and `GET /messages/:id` (the raw message as `message/rfc822`).
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
    if (mailDir) await writeFile(join(mailDir, `${id}.eml`), rawBuf);
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
    const app = express();
    app.get('/messages', (_req, res) => {
      res.json([...received].reverse().map(summary));
    });
    app.get('/messages/:id', (req, res) => {
      const mail = received.find((m) => m.id === req.params.id);
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
      console.log(`smtp-sink: SMTP ${sink.url}, mailbox ${sink.httpUrl ?? '(none)'}/messages`);
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
