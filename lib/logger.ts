/**
 * winston JSON logging shared by the API, the worker and the scripts. Temporal's own logs (worker, workflow and
 * activity loggers) are routed here through {@link installTemporalLogging}, so every line carries the same fields and
 * the workflow/activity correlation ids Temporal adds (workflowId, runId, activityId, taskQueue).
 */
import winston from 'winston';
import { DefaultLogger, Runtime, type LogLevel, type LogMetadata } from '@temporalio/worker';
import { redactPii } from './log-redaction';

export type Logger = winston.Logger;

/** Options for {@link createLogger}. */
export interface LoggerOptions {
  level?: string;
  /** Service name put on every line (`api`, `worker`, `dev-stack`, ...). */
  service: string;
  /** Human-readable single-line output instead of JSON (the dev stack's terminal). */
  pretty?: boolean;
  /** Extra transports, e.g. a stream that tests read. */
  transports?: winston.transport[];
}

/**
 * Creates a JSON logger (one object per line, ISO timestamps). Every logger redacts emails, phone numbers and names
 * (lib/log-redaction.ts) before any transport sees a line.
 */
export function createLogger(opts: LoggerOptions): Logger {
  const format = opts.pretty
    ? winston.format.combine(
        winston.format.timestamp({ format: 'HH:mm:ss' }),
        redactPii(),
        winston.format.printf(({ timestamp, level, message, service, ...rest }) => {
          const extra = Object.keys(rest).length ? ` ${JSON.stringify(rest)}` : '';
          return `${String(timestamp)} ${String(service)} ${level}: ${String(message)}${extra}`;
        }),
      )
    : winston.format.combine(
        winston.format.timestamp(),
        winston.format.errors({ stack: true }),
        redactPii(),
        winston.format.json(),
      );
  return winston.createLogger({
    level: opts.level ?? 'info',
    defaultMeta: { service: opts.service },
    format,
    transports: opts.transports ?? [new winston.transports.Console()],
  });
}

const temporalToWinston: Record<LogLevel, string> = {
  TRACE: 'debug',
  DEBUG: 'debug',
  INFO: 'info',
  WARN: 'warn',
  ERROR: 'error',
};

/** Options of {@link installTemporalLogging} beyond the log level. */
export interface TemporalRuntimeOptions {
  /**
   * `host:port` where the SDK's own Prometheus exporter serves the Runtime telemetry metrics (worker task slots, poll
   * and schedule-to-start latencies, sticky cache, activity and workflow outcomes) at `/metrics`. Unset: no exporter.
   */
  prometheusBindAddress?: string;
}

/**
 * Routes the Temporal runtime's logs (core, worker, workflow `log`, activity `log`) into winston, and optionally serves
 * its metrics to Prometheus. Must run once per process, before any Temporal connection or worker is created.
 */
export function installTemporalLogging(
  logger: Logger,
  level: LogLevel = 'INFO',
  opts: TemporalRuntimeOptions = {},
): void {
  Runtime.install({
    logger: new DefaultLogger(level, (entry) => {
      const meta: LogMetadata = { ...entry.meta };
      logger.log(temporalToWinston[entry.level], entry.message, meta);
    }),
    ...(opts.prometheusBindAddress
      ? {
          telemetryOptions: {
            metrics: {
              // The SDK's metric names without a prefix of ours, counters ending in _total as Prometheus expects.
              prometheus: { bindAddress: opts.prometheusBindAddress, countersTotalSuffix: true },
            },
          },
        }
      : {}),
  });
}
