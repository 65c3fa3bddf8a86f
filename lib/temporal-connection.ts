/**
 * How every process connects to Temporal: the address, and TLS or mTLS when configured (TEMPORAL_TLS_CA_PATH,
 * TEMPORAL_TLS_CERT_PATH + TEMPORAL_TLS_KEY_PATH, TEMPORAL_TLS_SERVER_NAME). The same options fit the client's
 * `Connection.connect` and the worker's `NativeConnection.connect`.
 */
import type { TLSConfig } from '@temporalio/client';
import { temporalAddress, type AppConfig } from './config';
import { readPemFile } from './tls-files';

/** Options shared by `Connection.connect` (client) and `NativeConnection.connect` (worker). */
export interface TemporalConnectionOptions {
  address: string;
  /** Present when any TEMPORAL_TLS_* variable is set; absent means a plain connection (the local dev server). */
  tls?: TLSConfig;
}

/**
 * Builds the connection options from configuration, reading the PEM files it names. TLS is on as soon as one
 * TEMPORAL_TLS_* variable is set: without a CA the system roots verify the server (Temporal Cloud), with a certificate
 * and key the client authenticates itself (mTLS).
 * @throws Error naming the variable whose file cannot be read.
 */
export function temporalConnectionOptions(config: AppConfig): TemporalConnectionOptions {
  const address = temporalAddress(config);
  const tls = config.temporal.tls;
  if (!tls) return { address };
  const options: TLSConfig = {};
  if (tls.serverName) options.serverNameOverride = tls.serverName;
  if (tls.caPath) options.serverRootCACertificate = readPemFile(tls.caPath, 'TEMPORAL_TLS_CA_PATH');
  if (tls.certPath && tls.keyPath) {
    options.clientCertPair = {
      crt: readPemFile(tls.certPath, 'TEMPORAL_TLS_CERT_PATH'),
      key: readPemFile(tls.keyPath, 'TEMPORAL_TLS_KEY_PATH'),
    };
  }
  return { address, tls: options };
}
