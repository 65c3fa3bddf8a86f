/** Reading the PEM files that TLS settings point at, with errors that name the variable instead of a bare ENOENT. */
import fs from 'node:fs';
import type { AppConfig } from './config';

/**
 * Reads a certificate, key or CA bundle named by an environment variable.
 * @throws Error `<variable>: cannot read <path> (<reason>)`.
 */
export function readPemFile(filePath: string, variable: string): Buffer {
  try {
    return fs.readFileSync(filePath);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    throw new Error(`${variable}: cannot read ${filePath} (${code})`, { cause: err });
  }
}

/** The `createDb` options for the configured PostgreSQL TLS CA (DATABASE_SSL_CA_PATH), if any. */
export function databaseTlsOptions(config: AppConfig): { sslCa?: Buffer } {
  return config.database.sslCaPath ? { sslCa: readPemFile(config.database.sslCaPath, 'DATABASE_SSL_CA_PATH') } : {};
}

/** The `startServer` TLS option for the configured API certificate (TLS_CERT_PATH, TLS_KEY_PATH), if any. */
export function httpTlsOptions(config: AppConfig): { tls?: { cert: Buffer; key: Buffer } } {
  const tls = config.http.tls;
  if (!tls) return {};
  return { tls: { cert: readPemFile(tls.certPath, 'TLS_CERT_PATH'), key: readPemFile(tls.keyPath, 'TLS_KEY_PATH') } };
}
