/**
 * Every port the dev stack (`npm start`) opens, each from its own variable, and the check that they are free before
 * anything starts: a port in use stops start-up with a message naming the variable that moves it, instead of an
 * `EADDRINUSE` from somewhere deep inside one of the servers.
 */
import net from 'node:net';
import { ConfigError, type AppConfig } from '../lib/config';

/** One port the stack will listen on. */
export interface DevStackPort {
  /** The environment variable that sets it. */
  variable: string;
  port: number;
  host: string;
  /** What listens there, for messages. */
  purpose: string;
  /** Only opened when the stack starts its own PostgreSQL (nothing configured or answering). */
  embeddedDatabaseOnly?: boolean;
}

/** Reads a dev-stack-only port variable (the service's own ones are validated by lib/config.ts). */
function portVariable(env: NodeJS.ProcessEnv, variable: string, fallback: number): number {
  const value = env[variable];
  if (value === undefined || value.trim() === '') return fallback;
  const port = /^\d{1,5}$/.test(value.trim()) ? Number(value.trim()) : NaN;
  if (!(port >= 1 && port <= 65535))
    throw new ConfigError(
      `Invalid configuration:\n  ${variable}: must be a port number, a whole number from 1 to 65535 ` +
        `(got "${value}"; e.g. ${variable}=${fallback})`,
    );
  return port;
}

/**
 * The ports of the stack as configured: the API, its metrics and the worker's, the Temporal dev server's gRPC, Web UI,
 * HTTP API and metrics ports (unless TEMPORAL_ADDRESS names a server), the SMTP sink and its mailbox (unless SMTP_URL
 * names a mail server), the subprocessor simulator, and the embedded PostgreSQL (unless DATABASE_URL is set).
 */
export function devStackPorts(env: NodeJS.ProcessEnv, config: AppConfig): DevStackPort[] {
  const loopback = '127.0.0.1';
  const ports: DevStackPort[] = [
    { variable: 'PORT', port: config.http.port, host: config.http.host, purpose: 'the API' },
    { variable: 'METRICS_PORT', port: config.metrics.apiPort, host: config.metrics.host, purpose: 'API metrics' },
    {
      variable: 'WORKER_METRICS_PORT',
      port: config.metrics.workerPort,
      host: config.metrics.host,
      purpose: 'worker metrics',
    },
  ];
  if (!config.temporal.address) {
    const grpc = config.temporal.port;
    ports.push(
      { variable: 'TEMPORAL_PORT', port: grpc, host: loopback, purpose: "the Temporal dev server's gRPC" },
      { variable: 'TEMPORAL_UI_PORT', port: config.temporal.uiPort, host: loopback, purpose: 'the Temporal Web UI' },
      {
        variable: 'TEMPORAL_HTTP_PORT',
        port: portVariable(env, 'TEMPORAL_HTTP_PORT', grpc + 10),
        host: loopback,
        purpose: "the Temporal dev server's HTTP API",
      },
      {
        variable: 'TEMPORAL_METRICS_PORT',
        port: portVariable(env, 'TEMPORAL_METRICS_PORT', grpc + 2000),
        host: loopback,
        purpose: "the Temporal dev server's metrics",
      },
    );
  }
  if (!env.SMTP_URL) {
    ports.push(
      {
        variable: 'SMTP_SINK_PORT',
        port: portVariable(env, 'SMTP_SINK_PORT', 2525),
        host: loopback,
        purpose: 'the dev SMTP sink',
      },
      {
        variable: 'MAILBOX_PORT',
        port: portVariable(env, 'MAILBOX_PORT', 8025),
        host: loopback,
        purpose: 'the dev mailbox',
      },
    );
  }
  ports.push({
    variable: 'SUBPROCESSOR_SIM_PORT',
    port: portVariable(env, 'SUBPROCESSOR_SIM_PORT', 4010),
    host: loopback,
    purpose: 'the subprocessor simulator',
  });
  if (!env.DATABASE_URL) {
    ports.push({
      variable: 'EMBEDDED_POSTGRES_PORT',
      port: portVariable(env, 'EMBEDDED_POSTGRES_PORT', 5433),
      host: loopback,
      purpose: 'the embedded PostgreSQL',
      embeddedDatabaseOnly: true,
    });
  }
  return ports;
}

/** Whether `host:port` can be listened on right now. */
function isFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** Raised when a port of the stack is taken or two variables name the same port. */
export class PortInUseError extends Error {
  override name = 'PortInUseError';
}

/**
 * Checks that no two variables name the same port and that each port is free.
 * @throws PortInUseError naming each variable to change.
 */
export async function assertPortsFree(ports: DevStackPort[]): Promise<void> {
  const problems: string[] = [];
  const seen = new Map<number, DevStackPort>();
  for (const p of ports) {
    const other = seen.get(p.port);
    if (other) problems.push(`  ${p.variable} and ${other.variable} both name port ${p.port}: change one of them`);
    else seen.set(p.port, p);
  }
  for (const p of ports) {
    if (!(await isFree(p.host, p.port)))
      problems.push(
        `  port ${p.port} (${p.purpose}) is in use: set ${p.variable} to a free port, e.g. ${p.variable}=${p.port + 10000 <= 65535 ? p.port + 10000 : p.port - 10000}`,
      );
  }
  if (problems.length > 0) throw new PortInUseError(`ports are taken:\n${problems.join('\n')}`);
}
