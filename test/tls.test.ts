/**
 * Data in transit: the API serves HTTPS with TLS 1.2+ only (a throwaway self-signed certificate made with the openssl
 * CLI), and the TLS settings for Temporal and PostgreSQL are read from configuration and reach the clients.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import express from 'express';
import type { AppDeps } from '../api/app';
import { healthRouter } from '../api/routes/health';
import { startServer, type RunningServer } from '../api/server';
import { createDb, knexConfig } from '../db/connection';
import { ConfigError, loadConfig } from '../lib/config';
import { temporalConnectionOptions } from '../lib/temporal-connection';
import { databaseTlsOptions, httpTlsOptions } from '../lib/tls-files';

let dir: string;
let cert: Buffer;
let key: Buffer;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dlo-tls-'));
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      path.join(dir, 'key.pem'),
      '-out',
      path.join(dir, 'cert.pem'),
      '-days',
      '1',
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=DNS:localhost,IP:127.0.0.1',
    ],
    { stdio: 'ignore' },
  );
  cert = fs.readFileSync(path.join(dir, 'cert.pem'));
  key = fs.readFileSync(path.join(dir, 'key.pem'));
});
afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

/** The API's liveness route; it needs none of the app's dependencies. */
const app = () => express().use(healthRouter({} as AppDeps));

function getHealthz(
  url: string,
  options: https.RequestOptions,
): Promise<{ status: number; body: string; protocol: string | null }> {
  return new Promise((resolve, reject) => {
    const req = https.get(`${url}/healthz`, { ca: cert, ...options }, (res) => {
      const protocol = (res.socket as tls.TLSSocket).getProtocol();
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode!, body, protocol }));
    });
    req.on('error', reject);
  });
}

/** A handshake with a client that speaks only TLS 1.1 (as an old or downgraded client would). */
function tls11Handshake(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = tls.connect({
      host: '127.0.0.1',
      port,
      minVersion: 'TLSv1.1',
      maxVersion: 'TLSv1.1',
      ciphers: 'DEFAULT@SECLEVEL=0',
      rejectUnauthorized: false,
    });
    socket.on('secureConnect', () => {
      resolve(`connected with ${socket.getProtocol()}`);
      socket.end();
    });
    socket.on('error', (err: NodeJS.ErrnoException) => resolve(`refused: ${err.code ?? err.message}`));
  });
}

describe('the API over HTTPS', () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startServer(app(), 0, '127.0.0.1', { tls: { cert, key } });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('answers GET /healthz over TLS 1.3 and TLS 1.2', async () => {
    expect(server.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const modern = await getHealthz(server.url, { servername: 'localhost' });
    expect(modern).toEqual({ status: 200, body: JSON.stringify({ status: 'ok' }), protocol: 'TLSv1.3' });
    const tls12 = await getHealthz(server.url, { servername: 'localhost', maxVersion: 'TLSv1.2' });
    expect(tls12).toMatchObject({ status: 200, protocol: 'TLSv1.2' });
  });

  it('refuses a TLS 1.1 handshake, even where the process defaults would allow it', async () => {
    const defaults = { min: tls.DEFAULT_MIN_VERSION, ciphers: tls.DEFAULT_CIPHERS };
    // Lowered defaults (as `node --tls-min-v1.0` would set them): a server that relies on them accepts TLS 1.1 ...
    tls.DEFAULT_MIN_VERSION = 'TLSv1';
    tls.DEFAULT_CIPHERS = 'DEFAULT@SECLEVEL=0';
    const lax = https.createServer({ cert, key }, app());
    const strict = await startServer(app(), 0, '127.0.0.1', { tls: { cert, key } });
    try {
      await new Promise<void>((resolve) => lax.listen(0, '127.0.0.1', resolve));
      expect(await tls11Handshake((lax.address() as { port: number }).port)).toBe('connected with TLSv1.1');
      // ... while the API's server keeps TLS 1.2 as its floor.
      expect(await tls11Handshake(Number(new URL(strict.url).port))).toBe(
        'refused: ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION',
      );
      expect(await tls11Handshake(Number(new URL(server.url).port))).toMatch(/^refused: /);
    } finally {
      tls.DEFAULT_MIN_VERSION = defaults.min;
      tls.DEFAULT_CIPHERS = defaults.ciphers;
      await strict.stop();
      lax.close();
    }
  });

  it('still serves plain HTTP with the original call signature', async () => {
    const plain = await startServer(app(), 0);
    try {
      expect(plain.url).toMatch(/^http:\/\//);
      expect((await fetch(`${plain.url}/healthz`)).status).toBe(200);
    } finally {
      await plain.stop();
    }
  });
});

describe('TLS configuration', () => {
  const errorOf = (fn: () => unknown): Error => {
    try {
      fn();
    } catch (err) {
      return err as Error;
    }
    throw new Error('expected an error');
  };

  it('takes the API certificate and key together or not at all, naming the missing variable', () => {
    const onlyCert = errorOf(() => loadConfig({ TLS_CERT_PATH: '/etc/dlo/cert.pem' }));
    expect(onlyCert).toBeInstanceOf(ConfigError);
    expect(onlyCert.message).toContain('TLS_KEY_PATH: is required when TLS_CERT_PATH is set');
    expect(errorOf(() => loadConfig({ TLS_KEY_PATH: '/k.pem' })).message).toContain(
      'TLS_CERT_PATH: is required when TLS_KEY_PATH is set',
    );
    expect(errorOf(() => loadConfig({ TEMPORAL_TLS_KEY_PATH: '/k.pem' })).message).toContain(
      'TEMPORAL_TLS_CERT_PATH: is required when TEMPORAL_TLS_KEY_PATH is set',
    );

    const config = loadConfig({ TLS_CERT_PATH: path.join(dir, 'cert.pem'), TLS_KEY_PATH: path.join(dir, 'key.pem') });
    expect(config.http.publicBaseUrl).toBe('https://localhost:8080');
    expect(httpTlsOptions(config).tls?.cert.equals(cert)).toBe(true);
    expect(httpTlsOptions(loadConfig({}))).toEqual({});
    const missing = loadConfig({ TLS_CERT_PATH: path.join(dir, 'nope.pem'), TLS_KEY_PATH: path.join(dir, 'key.pem') });
    expect(errorOf(() => httpTlsOptions(missing)).message).toMatch(
      /^TLS_CERT_PATH: cannot read .*nope\.pem \(ENOENT\)/,
    );
  });

  it('builds the Temporal connection options: plain by default, TLS or mTLS from the TEMPORAL_TLS_* files', () => {
    expect(temporalConnectionOptions(loadConfig({}))).toEqual({ address: '127.0.0.1:7233' });
    const mtls = temporalConnectionOptions(
      loadConfig({
        TEMPORAL_ADDRESS: 'temporal.internal:7233',
        TEMPORAL_TLS_CA_PATH: path.join(dir, 'cert.pem'),
        TEMPORAL_TLS_CERT_PATH: path.join(dir, 'cert.pem'),
        TEMPORAL_TLS_KEY_PATH: path.join(dir, 'key.pem'),
        TEMPORAL_TLS_SERVER_NAME: 'temporal',
      }),
    );
    expect(mtls.address).toBe('temporal.internal:7233');
    expect(mtls.tls?.serverNameOverride).toBe('temporal');
    expect(Buffer.from(mtls.tls!.serverRootCACertificate!).equals(cert)).toBe(true);
    expect(Buffer.from(mtls.tls!.clientCertPair!.key).equals(key)).toBe(true);
    // Server name alone: TLS verified against the system roots (Temporal Cloud and other public CAs).
    expect(temporalConnectionOptions(loadConfig({ TEMPORAL_TLS_SERVER_NAME: 'x' })).tls).toEqual({
      serverNameOverride: 'x',
    });
    expect(
      errorOf(() => temporalConnectionOptions(loadConfig({ TEMPORAL_TLS_CA_PATH: path.join(dir, 'none.pem') })))
        .message,
    ).toMatch(/^TEMPORAL_TLS_CA_PATH: cannot read/);
  });

  it('passes DATABASE_SSL_CA_PATH to pg as ssl.ca, replacing the TLS parameters of the URL', async () => {
    const config = loadConfig({ DATABASE_SSL_CA_PATH: path.join(dir, 'cert.pem') });
    const options = databaseTlsOptions(config);
    expect(options.sslCa?.equals(cert)).toBe(true);
    expect(
      knexConfig('postgres://u@db.internal/app?sslmode=require&application_name=dlo', 5, options).connection,
    ).toEqual({
      connectionString: 'postgres://u@db.internal/app?application_name=dlo',
      ssl: { ca: cert, rejectUnauthorized: true },
    });
    expect(knexConfig('postgres://u@db/app?sslmode=verify-full').connection).toBe(
      'postgres://u@db/app?sslmode=verify-full',
    );
    expect(() => knexConfig('postgres://u@db/app?sslmode=disable', 5, options)).toThrow(/sslmode=disable/);

    // Against the real server: without the option the test database answers; with it the client insists on TLS
    // verified against our CA, which the local server cannot satisfy (no TLS, or a certificate we did not issue).
    const url = process.env.TEST_DATABASE_URL!;
    const plain = createDb(url, 1);
    const verified = createDb(url, 1, options);
    // knex reports the refused connection on the console as well; the assertion below is what matters.
    const quiet = jest.spyOn(console, 'log').mockImplementation(() => undefined);
    try {
      await expect(plain.raw('select 1')).resolves.toBeDefined();
      await expect(verified.raw('select 1')).rejects.toThrow(/SSL|certificate|self.signed/i);
    } finally {
      quiet.mockRestore();
      await plain.destroy();
      await verified.destroy();
    }
  });
});
