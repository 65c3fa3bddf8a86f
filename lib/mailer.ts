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

/** Creates a mailer for an `smtp://` or `smtps://` URL. */
export function createMailer(opts: { url: string; from: string }): Mailer {
  const transport = nodemailer.createTransport(opts.url);
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
