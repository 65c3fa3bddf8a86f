/**
 * Configuration, read once from the environment and validated at boot. A bad value stops the process with a message
 * that names the variable and the rule, instead of failing later in some activity.
 */
import { z } from 'zod';
import { DEFAULT_NAMESPACE, DEFAULT_TASK_QUEUE } from './temporal-ids';

const port = z.coerce.number().int().min(0).max(65535);
const positiveMs = z.coerce.number().int().positive();

const envSchema = z.object({
  NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
  LOG_LEVEL: z.enum(['error', 'warn', 'info', 'debug']).default('info'),
  HOST: z.string().min(1).default('127.0.0.1'),
  PORT: port.default(8080),
  PUBLIC_BASE_URL: z.url().optional(),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL')
    .default('postgres://postgres@127.0.0.1:5432/data_lifecycle'),
  DATABASE_POOL_MAX: z.coerce.number().int().min(1).max(100).default(10),
  TEMPORAL_ADDRESS: z
    .string()
    .regex(/^[^:\s]+:\d+$/, 'must be host:port')
    .optional(),
  TEMPORAL_PORT: port.default(7233),
  TEMPORAL_UI_PORT: port.optional(),
  TEMPORAL_NAMESPACE: z.string().min(1).default(DEFAULT_NAMESPACE),
  TEMPORAL_TASK_QUEUE: z.string().min(1).default(DEFAULT_TASK_QUEUE),
  WORKFLOW_BUNDLE_PATH: z.string().min(1).optional(),
  SMTP_URL: z
    .string()
    .regex(/^smtps?:\/\//, 'must be an smtp:// or smtps:// URL')
    .default('smtp://127.0.0.1:2525'),
  MAIL_FROM: z.string().min(3).default('Privacy Team <privacy@example.com>'),
  SUBPROCESSOR_TIMEOUT_MS: positiveMs.default(10_000),
  DEFAULT_PRIVACY_REGIME: z.enum(['gdpr', 'uk_gdpr', 'ccpa']).default('gdpr'),
});

/** Validated configuration, in the names the code uses. */
export interface AppConfig {
  env: 'development' | 'test' | 'production';
  logLevel: 'error' | 'warn' | 'info' | 'debug';
  http: { host: string; port: number; publicBaseUrl: string };
  database: { url: string; poolMax: number };
  temporal: {
    /** Address of an existing server; undefined means the dev stack starts its own on `port`. */
    address?: string;
    port: number;
    uiPort: number;
    namespace: string;
    taskQueue: string;
    workflowBundlePath?: string;
  };
  smtp: { url: string; from: string };
  subprocessors: { timeoutMs: number };
  defaultPrivacyRegime: 'gdpr' | 'uk_gdpr' | 'ccpa';
}

/** Raised when the environment does not validate; the message lists every bad variable. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

/**
 * Reads and validates configuration from `env` (default `process.env`).
 * @throws ConfigError naming each invalid variable and its rule.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): AppConfig {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => `  ${issue.path.join('.')}: ${issue.message}`);
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  const e = parsed.data;
  return {
    env: e.NODE_ENV,
    logLevel: e.LOG_LEVEL,
    http: { host: e.HOST, port: e.PORT, publicBaseUrl: e.PUBLIC_BASE_URL ?? `http://localhost:${e.PORT}` },
    database: { url: e.DATABASE_URL, poolMax: e.DATABASE_POOL_MAX },
    temporal: {
      address: e.TEMPORAL_ADDRESS,
      port: e.TEMPORAL_PORT,
      uiPort: e.TEMPORAL_UI_PORT ?? e.TEMPORAL_PORT + 1000,
      namespace: e.TEMPORAL_NAMESPACE,
      taskQueue: e.TEMPORAL_TASK_QUEUE,
      workflowBundlePath: e.WORKFLOW_BUNDLE_PATH,
    },
    smtp: { url: e.SMTP_URL, from: e.MAIL_FROM },
    subprocessors: { timeoutMs: e.SUBPROCESSOR_TIMEOUT_MS },
    defaultPrivacyRegime: e.DEFAULT_PRIVACY_REGIME,
  };
}

/** The address to connect to: the configured one, or the local dev server's. */
export function temporalAddress(config: AppConfig): string {
  return config.temporal.address ?? `127.0.0.1:${config.temporal.port}`;
}
