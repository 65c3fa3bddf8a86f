/** Start/stop for the HTTP server, so tests and the dev stack boot it on any port and close it cleanly. */
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Express } from 'express';

export interface RunningServer {
  server: http.Server | https.Server;
  url: string;
  stop(): Promise<void>;
}

/** Options for {@link startServer}. */
export interface StartServerOptions {
  /**
   * Serve HTTPS with this certificate chain and private key (PEM). Only TLS 1.2 and 1.3 are offered; without it the
   * server speaks plain HTTP (for local use, or behind a TLS-terminating proxy).
   */
  tls?: { cert: Buffer | string; key: Buffer | string };
}

/** Lowest TLS version the API accepts (DESIGN.md: data in transit is protected with TLS 1.2+). */
export const MIN_TLS_VERSION = 'TLSv1.2';

/** Listens on `host:port` (port 0 picks a free one), over HTTPS when `options.tls` is given. */
export async function startServer(
  app: Express,
  port: number,
  host = '127.0.0.1',
  options: StartServerOptions = {},
): Promise<RunningServer> {
  const server = options.tls
    ? https.createServer({ cert: options.tls.cert, key: options.tls.key, minVersion: MIN_TLS_VERSION }, app)
    : http.createServer(app);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const urlHost = host.includes(':') ? `[${host}]` : host;
  return {
    server,
    url: `${options.tls ? 'https' : 'http'}://${urlHost}:${address.port}`,
    stop: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => {
          // Lets the app write what it holds back (e.g. the login guard's last burst of failures).
          app.emit('close');
          if (err) reject(err);
          else resolve();
        });
        server.closeAllConnections();
      }),
  };
}
