/**
 * Outbound email over SMTP (nodemailer), configured by one URL. Activities get a {@link Mailer}, tests and the dev
 * stack point it at a local SMTP sink.
 */
import nodemailer from 'nodemailer';

/** One message to send. `messageId` should be derived from a business id so retries are recognisable. */
export interface OutgoingMail {
  to: string;
  subject: string;
  text: string;
  messageId?: string;
  headers?: Record<string, string>;
  /** An HTML alternative of `text` (e.g. a rendered certificate). */
  html?: string;
  /** Files attached (e.g. the signed certificate as JSON). */
  attachments?: Array<{ filename: string; content: string; contentType: string }>;
}

export interface Mailer {
  /** Sends a message; resolves with the Message-ID the server accepted. */
  send(mail: OutgoingMail): Promise<{ messageId: string }>;
  close(): void;
}

/**
 * Creates a mailer for an `smtp://` or `smtps://` URL. Connections are pooled (nodemailer's SMTP pool: up to 5, kept
 * for 100 messages or 4 idle minutes): opening one costs a TCP (and TLS) handshake, the server's greeting and EHLO,
 * and servers delay the greeting on purpose to catch clients that talk too early (100 ms in the `smtp-server` package
 * the test sink runs on, seconds in some relays), where a pooled message costs only MAIL, RCPT and DATA. A message
 * on a connection the server dropped fails and is retried by its activity under the same Message-ID. `?pool=false`
 * in the URL opens a connection per message.
 */
export function createMailer(opts: { url: string; from: string }): Mailer {
  const transport = nodemailer.createTransport({ url: opts.url, pool: true });
  return {
    async send(mail) {
      const info = await transport.sendMail({
        from: opts.from,
        to: mail.to,
        subject: mail.subject,
        text: mail.text,
        messageId: mail.messageId,
        headers: mail.headers,
        html: mail.html,
        attachments: mail.attachments,
      });
      return { messageId: info.messageId };
    },
    close() {
      transport.close();
    },
  };
}
