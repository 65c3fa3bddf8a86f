/**
 * Configuration, read once from the environment and validated at boot. A bad value stops the process with a message
 * that names the variable and the rule, instead of failing later in some activity.
 */
import { isIP } from 'node:net';
import path from 'node:path';
import { z } from 'zod';
import {
  INSECURE_DEV_KEYRING,
  PayloadKeyError,
  parsePayloadKeys,
  usesInsecureDevKey,
  type PayloadKeyring,
} from './payload-codec';
import { DEFAULT_NAMESPACE, DEFAULT_TASK_QUEUE } from './pure/temporal-ids';
import { Duration } from 'luxon';
import { isIsoDuration } from './statutory-retention';
import type { StatutoryRetentionPeriods } from './pure/statutory-rules';
import { exactDurationMs } from './pure/deadlines';
import { deriveLinkKeyring, explicitLinkKeyring, type LinkKeyring } from './signed-links';
import { deriveArchiveKeyring, type ArchiveKeyring } from './export-encryption';
import type { Brand } from './page-layout';
import {
  DEFAULT_HOLIDAYS,
  DEFAULT_TIME_ZONES,
  isCalendarDate,
  isValidTimeZone,
  type PrivacyRegime,
} from './pure/deadlines';
import { durationToMillis, periodProblem } from './pure/retention';
import { AuditKeyError, deriveDevelopmentAuditKeys, parseAuditKeys, type AuditKeyring } from './audit-keys';
import type { CheckpointStore } from './audit-checkpoints';
import { allowedHostEntryProblem, outboundPolicy, type OutboundPolicy } from './outbound-destinations';
import { parseFaultPoints } from './fault-points';
import {
  CertificateKeyError,
  deriveDevelopmentSigningKey,
  parseCertificateSigningKey,
  type CertificateSigningKey,
} from './certificate-keys';

/**
 * Workflows a worker keeps in memory between their tasks unless TEMPORAL_MAX_CACHED_WORKFLOWS says otherwise. The
 * SDK's own default grows with the V8 heap limit (~2,300 with a 4 GB heap: a worker with 10,000 sleeping retention
 * workflows peaked at 2.1 GB). Most of this service's workflows sleep for days between tasks, and one that is not
 * cached replays its (short) history at its next task, so a hundred cover the workflows that are busy at any moment
 * (onboardings, exports, erasures) at a bounded memory cost: with 10,000 retention workflows started 100 at a time
 * the worker peaked at 615 MB with 200 and at 492 MB with 100 (docs/benchmarks.md "timers").
 */
export const DEFAULT_MAX_CACHED_WORKFLOWS = 100;

/** A TCP port: digits only (so `PORT=abc` is named as such instead of "received NaN"), 0 to 65535. */
const port = z
  .string()
  .trim()
  .regex(/^\d{1,5}$/, 'must be a port number, a whole number from 0 to 65535')
  .transform(Number)
  .refine((n) => n <= 65535, 'must be a port number, a whole number from 0 to 65535');
const positiveMs = z.coerce.number().int().positive();
/** Public holidays of a regime's calendar (README "Deadlines"): unset or blank -> built-in list, `none` -> no holidays. */
const holidayList = z
  .string()
  .optional()
  .transform((value, ctx) => {
    if (value === undefined || value.trim() === '') return undefined;
    if (value.trim() === 'none') return [];
    const dates = value.split(',').map((date) => date.trim());
    const bad = dates.filter((date) => !isCalendarDate(date));
    if (bad.length === 0) return dates;
    ctx.addIssue({
      code: 'custom',
      message: `must be comma-separated YYYY-MM-DD dates (or "none"); not a date: ${bad.map((d) => `"${d}"`).join(', ')}`,
    });
    return z.NEVER;
  });
/** A retention interval (ISO 8601, whole numbers, e.g. PT1H, P1D), as milliseconds (README "Retention"). */
const retentionDurationMs = (fallback: string, opts: { allowZero?: boolean } = {}) =>
  z
    .string()
    .default(fallback)
    .transform((value, ctx) => {
      const problem = periodProblem(value.trim(), opts);
      if (problem === undefined) return durationToMillis(value.trim());
      ctx.addIssue({ code: 'custom', message: problem });
      return z.NEVER;
    });
/** Time zone of a regime's calendar (README "Deadlines"): unset or blank -> `fallback`. */
const timeZone = (fallback: string) =>
  z
    .string()
    .optional()
    .transform((value) => value?.trim() || fallback)
    .refine(isValidTimeZone, 'must be an IANA time zone such as Europe/Berlin');

/** A positive ISO 8601 duration of exact units (weeks to seconds; no months or years), validated like reminder offsets. */
const exactDuration = (fallback: string) =>
  z
    .string()
    .refine(
      isExactDuration,
      'must be a positive ISO 8601 duration of weeks, days, hours, minutes or seconds, e.g. P7D or PT30S',
    )
    .default(fallback);
/** Comma-separated {@link exactDuration}s; `none` for an empty list. */
const exactDurationList = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform((value, ctx) => {
      if (value.trim() === 'none' || value.trim() === '') return [];
      const list = value.split(',').map((item) => item.trim());
      const bad = list.filter((item) => !isExactDuration(item));
      if (bad.length === 0) return list;
      ctx.addIssue({
        code: 'custom',
        message: `must be comma-separated ISO 8601 durations such as P7D,PT12H (or "none"); not one: ${bad.join(', ')}`,
      });
      return z.NEVER;
    });

/** A statutory retention period (lib/statutory-retention.ts): any positive ISO 8601 duration, or `none` -> null. */
const statutoryPeriod = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform((value, ctx) => {
      if (value.trim() === 'none') return null;
      if (isIsoDuration(value.trim()) && Duration.fromISO(value.trim()).toMillis() > 0) return value.trim();
      ctx.addIssue({
        code: 'custom',
        message: 'must be a positive ISO 8601 duration such as P10Y or PT30S, or "none"',
      });
      return z.NEVER;
    });

function isExactDuration(value: string): boolean {
  try {
    return exactDurationMs(value) > 0;
  } catch {
    return false;
  }
}

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
  // The owner role's URL for migrations (README "Security"); the service itself connects with DATABASE_URL.
  MIGRATION_DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL')
    .optional(),
  TEMPORAL_ADDRESS: z
    .string()
    .regex(/^[^:\s]+:\d+$/, 'must be host:port')
    .optional(),
  TEMPORAL_PORT: port.default(7233),
  TEMPORAL_UI_PORT: port.optional(),
  // Base URL of the Temporal Web UI, for links to a request's workflow (staff console); default: the dev server's UI.
  TEMPORAL_UI_URL: z.url().optional(),
  TEMPORAL_NAMESPACE: z.string().min(1).default(DEFAULT_NAMESPACE),
  TEMPORAL_TASK_QUEUE: z.string().min(1).default(DEFAULT_TASK_QUEUE),
  WORKFLOW_BUNDLE_PATH: z.string().min(1).optional(),
  TEMPORAL_MAX_CACHED_WORKFLOWS: z.coerce
    .number()
    .int()
    .refine((n) => n === 0 || (n >= 2 && n <= 1_000_000), 'must be 0 (no cache) or 2 to 1000000')
    .default(DEFAULT_MAX_CACHED_WORKFLOWS),
  // Prometheus metrics (README "Metrics"): the API's /metrics and the worker's SDK metrics, each on its own port.
  METRICS_HOST: z.string().min(1).default('127.0.0.1'),
  METRICS_PORT: port.default(9464),
  WORKER_METRICS_PORT: port.default(9465),
  SMTP_URL: z
    .string()
    .regex(/^smtps?:\/\//, 'must be an smtp:// or smtps:// URL')
    .default('smtp://127.0.0.1:2525'),
  MAIL_FROM: z.string().min(3).default('Privacy Team <privacy@example.com>'),
  // The customer pages (verification, download, acknowledgement, certificate check; api/pages/).
  BRAND_NAME: z.string().trim().min(1).max(80, 'must be at most 80 characters').default('Privacy Team'),
  BRAND_LOGO_URL: z
    .string()
    .refine(isLogoUrl, 'must be an https:// URL or a path on this host starting with /')
    .optional(),
  BRAND_SUPPORT_EMAIL: z.email().optional(),
  SUBPROCESSOR_TIMEOUT_MS: positiveMs.default(10_000),
  // Outbound destinations (lib/outbound-destinations.ts, README "Security"): https to public addresses unless set here.
  SUBPROCESSOR_ALLOW_HTTP: z.enum(['true', 'false'], 'must be "true" or "false"').default('false'),
  SUBPROCESSOR_ALLOWED_HOSTS: z
    .string()
    .default('')
    .transform((value, ctx) => {
      const entries = value
        .split(',')
        .map((entry) => entry.trim())
        .filter((entry) => entry !== '');
      const problems = entries.map(allowedHostEntryProblem).filter((p) => p !== undefined);
      if (problems.length === 0) return entries;
      ctx.addIssue({
        code: 'custom',
        message: `must be comma-separated IP addresses, CIDR ranges or host names; ${problems.join('; ')}`,
      });
      return z.NEVER;
    }),
  // Four eyes on irreversible or trust-changing changes (README "Approvals"): how long a change waits for a decision.
  CHANGE_APPROVAL_TIMEOUT: exactDuration('P7D'),
  // Staff tokens (README "Security"): how long a new token works.
  STAFF_TOKEN_TTL: exactDuration('P90D'),
  DEFAULT_PRIVACY_REGIME: z.enum(['gdpr', 'uk_gdpr', 'ccpa']).default('gdpr'),
  // Deadline engine calendars (lib/deadlines.ts, README "Deadlines").
  DEADLINE_HOLIDAYS_GDPR: holidayList,
  DEADLINE_HOLIDAYS_UK_GDPR: holidayList,
  DEADLINE_HOLIDAYS_CCPA: holidayList,
  DEADLINE_TIME_ZONE_GDPR: timeZone(DEFAULT_TIME_ZONES.gdpr),
  DEADLINE_TIME_ZONE_UK_GDPR: timeZone(DEFAULT_TIME_ZONES.uk_gdpr),
  DEADLINE_TIME_ZONE_CCPA: timeZone(DEFAULT_TIME_ZONES.ccpa),
  // Security (README "Security"): payload encryption keys, codec endpoint CORS, TLS for the API, Temporal and PostgreSQL.
  PAYLOAD_KEYS: z.string().optional(),
  PAYLOAD_ACTIVE_KEY_ID: z.string().optional(),
  CODEC_CORS_ORIGINS: z.string().optional(),
  CODEC_AUTH: z.enum(['required', 'none']).default('required'),
  TLS_CERT_PATH: z.string().min(1).optional(),
  TLS_KEY_PATH: z.string().min(1).optional(),
  TEMPORAL_TLS_CA_PATH: z.string().min(1).optional(),
  TEMPORAL_TLS_CERT_PATH: z.string().min(1).optional(),
  TEMPORAL_TLS_KEY_PATH: z.string().min(1).optional(),
  TEMPORAL_TLS_SERVER_NAME: z.string().min(1).optional(),
  DATABASE_SSL_CA_PATH: z.string().min(1).optional(),
  // Plain HTTP in production only when a proxy in front terminates TLS (README "Security").
  TLS_TERMINATED_UPSTREAM: z.enum(['true', 'false'], 'must be "true" or "false"').default('false'),
  // Which proxies' X-Forwarded-For the API believes (Express "trust proxy"): the login guard's per-address limits.
  TRUST_PROXY: z.string().optional().transform(parseTrustProxy),
  // Export archives at rest (lib/export-encryption.ts): keyId:base64key[,...]; required in production.
  EXPORT_ENCRYPTION_KEYS: z.string().optional(),
  EXPORT_ENCRYPTION_ACTIVE_KEY_ID: z.string().optional(),
  // Access requests and exports (README "Access requests"); durations are ISO 8601 (weeks, days, hours, minutes, seconds).
  ACCESS_VERIFICATION_TIMEOUT: exactDuration('P14D'),
  ACCESS_REMINDER_OFFSETS: exactDurationList('P7D,P2D'),
  STAFF_NOTIFICATION_EMAIL: z.email().default('privacy-team@example.com'),
  EXPORT_DIR: z.string().min(1).default('.data/exports'),
  EXPORT_BATCH_ROWS: z.coerce.number().int().min(1).max(10_000_000).default(250_000),
  EXPORT_PARALLEL_TABLES: z.coerce.number().int().min(1).max(8).default(2),
  EXPORT_LINK_LIFETIME: exactDuration('P7D'),
  EXPORT_PROGRESS_INTERVAL: exactDuration('PT2S'),
  // Correction requests (README "Corrections"); durations are ISO 8601 (weeks, days, hours, minutes, seconds).
  CORRECTION_VERIFICATION_TIMEOUT: exactDuration('P14D'),
  CORRECTION_REMINDER_OFFSETS: exactDurationList('P7D,P2D'),
  CORRECTION_APPROVAL_TIMEOUT: exactDuration('P14D'),
  CORRECTION_RECEIPT_ESCALATION_AFTER: exactDuration('P2D'),
  CORRECTION_RETRY_INITIAL_INTERVAL: exactDuration('PT1S'),
  CORRECTION_RETRY_MAX_INTERVAL: exactDuration('PT10M'),
  LINK_SIGNING_KEY: z.string().min(32, 'must be at least 32 characters (e.g. `openssl rand -base64 32`)').optional(),
  // Erasure, legal holds and statutory retention (workflows/erasure.ts, lib/statutory-retention.ts).
  ERASURE_BATCH_SIZE: z.coerce.number().int().min(1).max(100_000).default(5000),
  // Batches grow from ERASURE_BATCH_SIZE toward a time budget, up to this many rows (db/erasure-engine.ts).
  ERASURE_BATCH_MAX_SIZE: z.coerce.number().int().min(1).max(1_000_000).default(200_000),
  // Steps on independent tables (no foreign key between them) erased side by side, each on its own connection.
  ERASURE_PARALLEL_STEPS: z.coerce.number().int().min(1).max(8).default(2),
  ERASURE_CONFIRMATION_TIMEOUT: exactDuration('P7D'),
  LEGAL_HOLD_RECHECK_INTERVAL: exactDuration('PT1H'),
  STATUTORY_RETENTION_ORDERS: statutoryPeriod('P10Y'),
  // Retention (README "Retention"): policy set, rolling sweep schedule, per-customer timers.
  RETENTION_POLICY_SET: z
    .string()
    .regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'must be a lower-case slug such as "default"')
    .default('default'),
  RETENTION_SWEEP_INTERVAL: retentionDurationMs('PT1H'),
  RETENTION_SWEEP_CATCHUP_WINDOW: retentionDurationMs('PT1H'),
  RETENTION_SWEEP_BATCH_SIZE: z.coerce.number().int().min(1).max(100_000).default(5000),
  RETENTION_JITTER_MAX: retentionDurationMs('PT6H', { allowZero: true }),
  RETENTION_RECHECK_INTERVAL: retentionDurationMs('P1D'),
  // Deletion certificates (lib/certificate.ts, README "Termination and deletion").
  CERTIFICATE_SIGNING_KEY: z.string().optional(),
  BACKUP_RETENTION: statutoryPeriod('P35D').refine((v) => v !== null, 'must be a duration: backups always expire'),
  TEMPORAL_NAMESPACE_RETENTION: statutoryPeriod('P30D').refine(
    (v) => v !== null,
    'must be a duration: the namespace retention of closed workflow histories',
  ),
  CODE_VERSION: z.string().min(1).optional(),
  // The audit log's keys, checkpoints, scheduled verification and retention floor (README "Security").
  AUDIT_HMAC_KEYS: z.string().optional(),
  AUDIT_HMAC_ACTIVE_KEY_ID: z.string().optional(),
  AUDIT_CHECKPOINT_PATH: z.string().min(1).default('.data/audit-checkpoints.jsonl'),
  AUDIT_CHECKPOINT_SIGNING_KEY: z.string().optional(),
  AUDIT_VERIFY_INTERVAL: retentionDurationMs('PT1H'),
  AUDIT_ALERT_EMAIL: z.email().optional(),
  AUDIT_RETENTION_FLOOR: statutoryPeriod('P6Y').refine(
    (v) => v !== null,
    'must be a duration (the least time audit events are kept), e.g. P6Y',
  ),
  // Contract termination (workflows/termination.ts).
  TERMINATION_RETURN_GRACE_PERIOD: exactDuration('P30D'),
  TERMINATION_RETURN_REMINDER_OFFSETS: exactDurationList('P14D,P3D'),
  TERMINATION_APPROVAL_REMINDER_INTERVAL: exactDuration('P2D'),
  // How often the schedule looks for contracts whose end date has passed (workflows/contract-end-check.ts).
  CONTRACT_END_CHECK_INTERVAL: retentionDurationMs('PT1H'),
  // Accepted starts (docs/reliability.md "Outbox and accepted starts"): how long the API waits for Temporal to take a
  // start before answering 202 with the start owed, and how often the start reconciler schedule runs.
  TEMPORAL_START_TIMEOUT: exactDuration('PT5S'),
  REQUEST_START_RECONCILE_INTERVAL: retentionDurationMs('PT1M'),
  // Fault points of the fault suite (lib/fault-points.ts, `npm run test:faults`): test-only, refused in production.
  FAULT_POINTS: z
    .string()
    .optional()
    .superRefine((value, ctx) => {
      try {
        parseFaultPoints(value);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: (err as Error).message.replace(/^FAULT_POINTS /, '') });
      }
    }),
});

/** Validated configuration, in the names the code uses. */
export interface AppConfig {
  env: 'development' | 'test' | 'production';
  logLevel: 'error' | 'warn' | 'info' | 'debug';
  http: {
    host: string;
    port: number;
    publicBaseUrl: string;
    /** PEM files to serve HTTPS with (TLS 1.2+); undefined serves plain HTTP (behind a TLS-terminating proxy). */
    tls?: { certPath: string; keyPath: string };
    /** Express's `trust proxy` (TRUST_PROXY): false, true, a hop count, or addresses/subnets of trusted proxies. */
    trustProxy: boolean | number | string;
  };
  database: {
    /** The service's connection (a role that may read and write rows, not change the schema or the audit log). */
    url: string;
    /** The owner role's connection for migrations (MIGRATION_DATABASE_URL, else DATABASE_URL). */
    migrationUrl: string;
    poolMax: number;
    /** CA bundle (PEM) the PostgreSQL server certificate must chain to; see README "Security". */
    sslCaPath?: string;
  };
  temporal: {
    /** Address of an existing server; undefined means the dev stack starts its own on `port`. */
    address?: string;
    port: number;
    uiPort: number;
    /** Base URL of the Web UI (TEMPORAL_UI_URL, default `http://127.0.0.1:<uiPort>`): the console links workflows there. */
    uiUrl: string;
    namespace: string;
    taskQueue: string;
    workflowBundlePath?: string;
    /**
     * Workflows the worker keeps in its sticky cache (0: none), default {@link DEFAULT_MAX_CACHED_WORKFLOWS}. See
     * docs/benchmarks.md "timers".
     */
    maxCachedWorkflows: number;
    /**
     * How long the API waits for Temporal to take a workflow start (TEMPORAL_START_TIMEOUT); past it, accepted work is
     * answered 202 and started by the start reconciler.
     */
    startTimeoutMs: number;
    /** How often the start reconciler schedule starts (or closes) accepted requests left unstarted. */
    startReconcileIntervalMs: number;
    /** TLS/mTLS to the Temporal server (PEM file paths); undefined connects without TLS. */
    tls?: { caPath?: string; certPath?: string; keyPath?: string; serverName?: string };
  };
  /**
   * Prometheus metrics, served apart from the API on `host` (loopback by default: expose it to the monitoring network
   * only): the API's own metrics on `apiPort`, the worker's SDK (Runtime telemetry) metrics on `workerPort`.
   */
  metrics: { host: string; apiPort: number; workerPort: number };
  smtp: { url: string; from: string };
  subprocessors: {
    timeoutMs: number;
    /** Where calls may go: https to public addresses unless SUBPROCESSOR_ALLOW_HTTP / SUBPROCESSOR_ALLOWED_HOSTS. */
    outbound: OutboundPolicy;
  };
  /** Changes that need a second person's approval (api/use-cases/change-requests.ts): how long one stays pending. */
  changeRequests: { approvalTimeoutMs: number };
  /** Staff bearer tokens: how long a new one works (STAFF_TOKEN_TTL). */
  staffTokens: { ttlMs: number };
  defaultPrivacyRegime: 'gdpr' | 'uk_gdpr' | 'ccpa';
  /** Calendars of the deadline engine per regime: `calendarFor(regime, config.deadlines)` (lib/deadlines.ts). */
  deadlines: {
    holidays: Record<PrivacyRegime, readonly string[]>;
    timeZones: Record<PrivacyRegime, string>;
  };
  /** Keys of the payload codec (lib/payload-codec.ts). */
  payloadEncryption: {
    keyring: PayloadKeyring;
    /** True when PAYLOAD_KEYS is unset outside production and the well-known development key is in use. */
    insecureDevKey: boolean;
  };
  /** Codec endpoint for the Temporal Web UI: browser origins allowed to call it. */
  /**
   * Codec endpoint for the Temporal Web UI: browser origins allowed to call it, and whether it needs a staff token
   * (`CODEC_AUTH=none` only outside production: the local Web UI cannot send one).
   */
  codec: { corsOrigins: string[]; requireAuth: boolean };
  /** Access requests (workflows/access-request.ts): how long identity verification may take, when staff are reminded. */
  accessRequests: {
    /** How long the workflow waits for the verification link to be used; the link expires at the same instant. */
    verificationTimeoutMs: number;
    /** ISO 8601 durations before the end of the due date at which staff are reminded (lib/deadlines.ts). */
    reminderOffsets: string[];
    /** Where reminders and escalations go. */
    staffEmail: string;
  };
  /** Correction requests (workflows/correction.ts): verification, reminders, approval, subprocessor receipts. */
  corrections: {
    /** How long the workflow waits for the verification link to be used; the link expires at the same instant. */
    verificationTimeoutMs: number;
    /** ISO 8601 durations before the end of the due date at which staff are reminded. */
    reminderOffsets: string[];
    /** How long sensitive changes wait for a privacy officer's decision before they lapse (not applied). */
    approvalTimeoutMs: number;
    /** How long a subprocessor may keep failing before staff are told by email. */
    receiptEscalationAfterMs: number;
    /** Backoff of the calls to a subprocessor: first retry after the initial interval, doubling up to the maximum. */
    retryInitialIntervalMs: number;
    retryMaximumIntervalMs: number;
  };
  /** Export archives (activities/export.ts). */
  exports: {
    /** Absolute directory holding one directory per archive; the worker writes it, the API serves from it. */
    dir: string;
    /** Rows per COPY statement (and per checkpoint) of the bigint-keyed tables. */
    batchRows: number;
    /** Tables an export writes at the same time, each on its own database connection. */
    parallelTables: number;
    /** How long the download link works; the archive is deleted when it ends. */
    linkLifetimeMs: number;
    /** Keys the archive files are encrypted with at rest (lib/export-encryption.ts). */
    encryption: ArchiveKeyring;
    /** Least time between two progress reports of a running export to its workflow. */
    progressIntervalMs: number;
  };
  /** Keys that sign the public links (lib/signed-links.ts): LINK_SIGNING_KEY, else derived from the payload keys. */
  links: { keyring: LinkKeyring };
  /** What the customer pages show (lib/page-layout.ts): BRAND_NAME, BRAND_LOGO_URL, BRAND_SUPPORT_EMAIL. */
  brand: Brand;
  /** Erasure (workflows/erasure.ts): rows per batch transaction, subprocessor confirmation deadline, hold re-check. */
  erasure: {
    batchSize: number;
    /** Largest batch the adaptive sizing may reach (ERASURE_BATCH_MAX_SIZE; at least `batchSize`). */
    maxBatchSize: number;
    /** Steps erased side by side (ERASURE_PARALLEL_STEPS). */
    parallelSteps: number;
    confirmationTimeoutMs: number;
    holdRecheckIntervalMs: number;
  };
  /** Statutory retention periods (lib/statutory-retention.ts): ISO 8601 durations, null where no obligation applies. */
  statutoryRetention: StatutoryRetentionPeriods;
  /** Retention (lib/retention.ts, workflows/retention*.ts): which policies apply and how the timers behave. */
  retention: {
    /** Policy set this deployment reads and changes (db/repositories/retention-policies.ts). */
    policySet: string;
    /** How often the Temporal Schedule runs the rolling sweep. */
    sweepIntervalMs: number;
    /** How far back sweeps missed while the server was down are caught up (overlap SKIP keeps that to one). */
    sweepCatchupWindowMs: number;
    /** Rows per delete transaction of the sweep. */
    sweepBatchSize: number;
    /** Upper bound of the per-customer delay added to each expiry, so equal expiries do not all wake together. */
    jitterMaxMs: number;
    /** How often a per-customer workflow re-reads its contract and the policies without being signalled. */
    recheckIntervalMs: number;
  };
  /** Deletion certificates (lib/certificate.ts): signing key, and the facts every certificate states. */
  certificates: {
    signingKey: CertificateSigningKey;
    /** Where the public key is published (`/.well-known/certificate-signing-key`). */
    publicKeyUrl: string;
    /** Code version named in certificates (CODE_VERSION, else the package version npm reports, else `unknown`). */
    codeVersion: string;
    /** How long database backups are kept (ISO 8601): a deleted row is gone from every backup after this. */
    backupRetention: string;
    /** Retention of closed workflow histories in the Temporal namespace (must match the namespace's setting). */
    temporalNamespaceRetention: string;
  };
  /** The audit log's protection against insiders (README "Security"). */
  audit: {
    /** HMAC keys of the chain links (AUDIT_HMAC_KEYS, else derived development keys). */
    keyring: AuditKeyring;
    /** The signed checkpoint file (AUDIT_CHECKPOINT_PATH) and its Ed25519 key. */
    checkpoints: CheckpointStore;
    /** How often the Temporal Schedule verifies the chain and writes a checkpoint (AUDIT_VERIFY_INTERVAL). */
    verifyIntervalMs: number;
    /** Where a break of the chain is reported (AUDIT_ALERT_EMAIL, else STAFF_NOTIFICATION_EMAIL). */
    alertEmail: string;
    /** No audit_log retention policy may be shorter than this ISO 8601 duration (AUDIT_RETENTION_FLOOR). */
    retentionFloor: string;
  };
  /** Contract termination (workflows/termination.ts). */
  termination: {
    /** How long a returned export waits for the customer's acknowledgement before the deletion goes on. */
    returnGracePeriodMs: number;
    /** ISO 8601 durations before the end of the grace period at which the primary contact is reminded. */
    returnReminderOffsets: string[];
    /** How often staff are reminded while the erasure waits for a privacy officer's approval. */
    approvalReminderIntervalMs: number;
    /** How often the Temporal Schedule looks for contracts whose end date has passed (CONTRACT_END_CHECK_INTERVAL). */
    contractEndCheckIntervalMs: number;
  };
}

/** Variables whose values are secrets: a configuration error names them but never shows their value. */
const SECRET_VARIABLES = new Set([
  'PAYLOAD_KEYS',
  'LINK_SIGNING_KEY',
  'AUDIT_HMAC_KEYS',
  'AUDIT_CHECKPOINT_SIGNING_KEY',
  'CERTIFICATE_SIGNING_KEY',
  'EXPORT_ENCRYPTION_KEYS',
]);

/** A valid value for each variable whose rule is not obvious from its message, shown after a refusal. */
const EXAMPLES: Record<string, string> = {
  PORT: '8080',
  TEMPORAL_PORT: '7233',
  TEMPORAL_UI_PORT: '8233',
  TEMPORAL_UI_URL: 'https://temporal-ui.example.com',
  METRICS_PORT: '9464',
  WORKER_METRICS_PORT: '9465',
  HOST: '127.0.0.1',
  PUBLIC_BASE_URL: 'https://privacy.example.com',
  DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/data_lifecycle',
  DATABASE_POOL_MAX: '10',
  TEMPORAL_ADDRESS: 'temporal.internal:7233',
  TEMPORAL_MAX_CACHED_WORKFLOWS: '500',
  SMTP_URL: 'smtp://user:password@mail.example.com:587',
  MAIL_FROM: 'Privacy Team <privacy@example.com>',
  SUBPROCESSOR_TIMEOUT_MS: '10000',
  NODE_ENV: 'production',
  LOG_LEVEL: 'info',
  DEFAULT_PRIVACY_REGIME: 'gdpr',
  STAFF_NOTIFICATION_EMAIL: 'privacy-team@example.com',
  EXPORT_BATCH_ROWS: '250000',
  EXPORT_PARALLEL_TABLES: '2',
  ERASURE_BATCH_SIZE: '5000',
  ERASURE_BATCH_MAX_SIZE: '200000',
  ERASURE_PARALLEL_STEPS: '2',
  RETENTION_SWEEP_BATCH_SIZE: '5000',
  RETENTION_SWEEP_INTERVAL: 'PT1H',
  RETENTION_JITTER_MAX: 'PT0S',
  RETENTION_POLICY_SET: 'default',
  ACCESS_VERIFICATION_TIMEOUT: 'P14D',
  ACCESS_REMINDER_OFFSETS: 'P7D,P2D',
  EXPORT_LINK_LIFETIME: 'P7D',
  SUBPROCESSOR_ALLOW_HTTP: 'false',
  SUBPROCESSOR_ALLOWED_HOSTS: 'crm.internal.example,10.20.0.0/16',
  CHANGE_APPROVAL_TIMEOUT: 'P7D',
  STAFF_TOKEN_TTL: 'P90D',
  FAULT_POINTS: 'email.after-accept=kill@2',
  BRAND_LOGO_URL: 'https://www.example.com/logo.svg',
  BRAND_SUPPORT_EMAIL: 'privacy@example.com',
};

/** ` (got "abc"; e.g. PORT=8080)`: what was given (unless secret, passwords masked) and a value that would do. */
function valueHint(variable: string, value: string | undefined): string {
  const parts: string[] = [];
  if (value === undefined) parts.push('unset');
  else if (SECRET_VARIABLES.has(variable)) parts.push('value not shown: secret');
  else parts.push(`got "${maskPassword(value)}"`);
  const example = EXAMPLES[variable];
  if (example !== undefined) parts.push(`e.g. ${variable}=${example}`);
  return ` (${parts.join('; ')})`;
}

/** A URL's password replaced by `***` (anything that is not a URL with a password stays as is). */
function maskPassword(value: string): string {
  try {
    const url = new URL(value);
    if (!url.password) return value;
    url.password = '***';
    return url.toString();
  } catch {
    return value;
  }
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
    const lines = parsed.error.issues.map((issue) => {
      const variable = issue.path.join('.');
      return `  ${variable}: ${issue.message}${valueHint(variable, env[variable])}`;
    });
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  const e = parsed.data;
  const security = securitySettings(e);
  return {
    env: e.NODE_ENV,
    logLevel: e.LOG_LEVEL,
    http: {
      host: e.HOST,
      port: e.PORT,
      publicBaseUrl: e.PUBLIC_BASE_URL ?? `${security.httpTls ? 'https' : 'http'}://localhost:${e.PORT}`,
      tls: security.httpTls,
      trustProxy: e.TRUST_PROXY,
    },
    database: {
      url: e.DATABASE_URL,
      migrationUrl: e.MIGRATION_DATABASE_URL ?? e.DATABASE_URL,
      poolMax: e.DATABASE_POOL_MAX,
      sslCaPath: e.DATABASE_SSL_CA_PATH,
    },
    temporal: {
      address: e.TEMPORAL_ADDRESS,
      port: e.TEMPORAL_PORT,
      uiPort: e.TEMPORAL_UI_PORT ?? e.TEMPORAL_PORT + 1000,
      uiUrl: (e.TEMPORAL_UI_URL ?? `http://127.0.0.1:${e.TEMPORAL_UI_PORT ?? e.TEMPORAL_PORT + 1000}`).replace(
        /\/+$/,
        '',
      ),
      namespace: e.TEMPORAL_NAMESPACE,
      taskQueue: e.TEMPORAL_TASK_QUEUE,
      workflowBundlePath: e.WORKFLOW_BUNDLE_PATH,
      maxCachedWorkflows: e.TEMPORAL_MAX_CACHED_WORKFLOWS,
      startTimeoutMs: exactDurationMs(e.TEMPORAL_START_TIMEOUT),
      startReconcileIntervalMs: e.REQUEST_START_RECONCILE_INTERVAL,
      tls: security.temporalTls,
    },
    metrics: { host: e.METRICS_HOST, apiPort: e.METRICS_PORT, workerPort: e.WORKER_METRICS_PORT },
    smtp: { url: e.SMTP_URL, from: e.MAIL_FROM },
    subprocessors: {
      timeoutMs: e.SUBPROCESSOR_TIMEOUT_MS,
      outbound: outboundPolicy({
        allowHttp: e.SUBPROCESSOR_ALLOW_HTTP === 'true',
        allowedEntries: e.SUBPROCESSOR_ALLOWED_HOSTS,
      }),
    },
    changeRequests: { approvalTimeoutMs: exactDurationMs(e.CHANGE_APPROVAL_TIMEOUT) },
    staffTokens: { ttlMs: exactDurationMs(e.STAFF_TOKEN_TTL) },
    brand: {
      name: e.BRAND_NAME,
      logoUrl: e.BRAND_LOGO_URL,
      // The sender's address answers questions unless a support address is configured.
      supportEmail: e.BRAND_SUPPORT_EMAIL ?? (/<([^<>\s]+@[^<>\s]+)>/.exec(e.MAIL_FROM)?.[1] ?? e.MAIL_FROM).trim(),
    },
    defaultPrivacyRegime: e.DEFAULT_PRIVACY_REGIME,
    deadlines: {
      holidays: {
        gdpr: e.DEADLINE_HOLIDAYS_GDPR ?? DEFAULT_HOLIDAYS.gdpr,
        uk_gdpr: e.DEADLINE_HOLIDAYS_UK_GDPR ?? DEFAULT_HOLIDAYS.uk_gdpr,
        ccpa: e.DEADLINE_HOLIDAYS_CCPA ?? DEFAULT_HOLIDAYS.ccpa,
      },
      timeZones: {
        gdpr: e.DEADLINE_TIME_ZONE_GDPR,
        uk_gdpr: e.DEADLINE_TIME_ZONE_UK_GDPR,
        ccpa: e.DEADLINE_TIME_ZONE_CCPA,
      },
    },
    payloadEncryption: security.payloadEncryption,
    codec: { corsOrigins: security.corsOrigins, requireAuth: e.CODEC_AUTH === 'required' },
    ...accessRequestSettings(e, security.payloadEncryption.keyring),
    corrections: {
      verificationTimeoutMs: exactDurationMs(e.CORRECTION_VERIFICATION_TIMEOUT),
      reminderOffsets: e.CORRECTION_REMINDER_OFFSETS,
      approvalTimeoutMs: exactDurationMs(e.CORRECTION_APPROVAL_TIMEOUT),
      receiptEscalationAfterMs: exactDurationMs(e.CORRECTION_RECEIPT_ESCALATION_AFTER),
      retryInitialIntervalMs: exactDurationMs(e.CORRECTION_RETRY_INITIAL_INTERVAL),
      retryMaximumIntervalMs: exactDurationMs(e.CORRECTION_RETRY_MAX_INTERVAL),
    },
    erasure: {
      batchSize: e.ERASURE_BATCH_SIZE,
      maxBatchSize: Math.max(e.ERASURE_BATCH_SIZE, e.ERASURE_BATCH_MAX_SIZE),
      parallelSteps: e.ERASURE_PARALLEL_STEPS,
      confirmationTimeoutMs: exactDurationMs(e.ERASURE_CONFIRMATION_TIMEOUT),
      holdRecheckIntervalMs: exactDurationMs(e.LEGAL_HOLD_RECHECK_INTERVAL),
    },
    statutoryRetention: { orders: e.STATUTORY_RETENTION_ORDERS },
    retention: {
      policySet: e.RETENTION_POLICY_SET,
      sweepIntervalMs: e.RETENTION_SWEEP_INTERVAL,
      sweepCatchupWindowMs: e.RETENTION_SWEEP_CATCHUP_WINDOW,
      sweepBatchSize: e.RETENTION_SWEEP_BATCH_SIZE,
      jitterMaxMs: e.RETENTION_JITTER_MAX,
      recheckIntervalMs: e.RETENTION_RECHECK_INTERVAL,
    },
    certificates: {
      signingKey: security.certificateSigningKey,
      publicKeyUrl: `${e.PUBLIC_BASE_URL ?? `${security.httpTls ? 'https' : 'http'}://localhost:${e.PORT}`}${CERTIFICATE_KEY_PATH}`,
      codeVersion: e.CODE_VERSION ?? process.env.npm_package_version ?? 'unknown',
      backupRetention: e.BACKUP_RETENTION,
      temporalNamespaceRetention: e.TEMPORAL_NAMESPACE_RETENTION,
    },
    audit: {
      keyring: security.auditKeyring,
      checkpoints: { path: path.resolve(e.AUDIT_CHECKPOINT_PATH), signer: security.checkpointSigningKey },
      verifyIntervalMs: e.AUDIT_VERIFY_INTERVAL,
      alertEmail: e.AUDIT_ALERT_EMAIL ?? e.STAFF_NOTIFICATION_EMAIL,
      retentionFloor: e.AUDIT_RETENTION_FLOOR,
    },
    termination: {
      returnGracePeriodMs: exactDurationMs(e.TERMINATION_RETURN_GRACE_PERIOD),
      returnReminderOffsets: e.TERMINATION_RETURN_REMINDER_OFFSETS,
      approvalReminderIntervalMs: exactDurationMs(e.TERMINATION_APPROVAL_REMINDER_INTERVAL),
      contractEndCheckIntervalMs: e.CONTRACT_END_CHECK_INTERVAL,
    },
  };
}

/** Path of the published certificate signing key (public, no token). */
export const CERTIFICATE_KEY_PATH = '/.well-known/certificate-signing-key';

/** Access request, export and public link settings (README "Access requests"). */
function accessRequestSettings(
  e: z.infer<typeof envSchema>,
  payloadKeyring: PayloadKeyring,
): Pick<AppConfig, 'accessRequests' | 'exports' | 'links'> {
  return {
    accessRequests: {
      verificationTimeoutMs: exactDurationMs(e.ACCESS_VERIFICATION_TIMEOUT),
      reminderOffsets: e.ACCESS_REMINDER_OFFSETS,
      staffEmail: e.STAFF_NOTIFICATION_EMAIL,
    },
    exports: {
      dir: path.resolve(e.EXPORT_DIR),
      batchRows: e.EXPORT_BATCH_ROWS,
      parallelTables: e.EXPORT_PARALLEL_TABLES,
      linkLifetimeMs: exactDurationMs(e.EXPORT_LINK_LIFETIME),
      progressIntervalMs: exactDurationMs(e.EXPORT_PROGRESS_INTERVAL),
      encryption: exportKeyring(e, payloadKeyring),
    },
    // An explicit key wins; otherwise one link key per payload key, so link keys rotate with the payload keys.
    links: {
      keyring: e.LINK_SIGNING_KEY ? explicitLinkKeyring(e.LINK_SIGNING_KEY) : deriveLinkKeyring(payloadKeyring),
    },
  };
}

/** A logo the pages may load: https anywhere, or a path on this host (never `//host`, which is another host). */
function isLogoUrl(value: string): boolean {
  if (value.startsWith('/')) return !value.startsWith('//') && !/[\s"'<>\\]/.test(value);
  try {
    return new URL(value).protocol === 'https:';
  } catch {
    return false;
  }
}

/** True for a bare origin such as `http://localhost:8233` (scheme, host, optional port; no path, no wildcard). */
function isOrigin(value: string): boolean {
  try {
    return new URL(value).origin === value;
  } catch {
    return false;
  }
}

/**
 * The security settings that span several variables: payload keys (required in production, where the well-known
 * development key is refused), codec CORS origins (default: the local Temporal Web UI), and TLS file pairs (both or
 * neither).
 * @throws ConfigError naming each variable at fault.
 */
function securitySettings(e: z.infer<typeof envSchema>) {
  const issues: string[] = [];
  const problem = (variable: string, message: string) => issues.push(`  ${variable}: ${message}`);
  if (e.NODE_ENV === 'production' && e.SUBPROCESSOR_ALLOW_HTTP === 'true') {
    problem(
      'SUBPROCESSOR_ALLOW_HTTP',
      'must be "false" when NODE_ENV=production: calls carrying customer data go over https only',
    );
  }
  // A fault point kills or stops the process on purpose: never armed where real customers are served.
  if (e.NODE_ENV === 'production' && e.FAULT_POINTS !== undefined && e.FAULT_POINTS.trim() !== '') {
    problem('FAULT_POINTS', 'must not be set when NODE_ENV=production: fault points are for the fault suite only');
  }
  if (e.NODE_ENV === 'production' && e.CODEC_AUTH === 'none') {
    problem('CODEC_AUTH', 'must be "required" when NODE_ENV=production: decoded payloads are customer data');
  }

  let keyring = INSECURE_DEV_KEYRING;
  const keysSet = e.PAYLOAD_KEYS !== undefined && e.PAYLOAD_KEYS.trim() !== '';
  if (keysSet) {
    try {
      keyring = parsePayloadKeys(e.PAYLOAD_KEYS!, e.PAYLOAD_ACTIVE_KEY_ID);
    } catch (err) {
      if (!(err instanceof PayloadKeyError)) throw err;
      problem(err.variable, err.message);
    }
    if (e.NODE_ENV === 'production' && usesInsecureDevKey(keyring))
      problem('PAYLOAD_KEYS', 'contains the well-known development key, which protects nothing: generate real keys');
  } else if (e.NODE_ENV === 'production') {
    problem(
      'PAYLOAD_KEYS',
      'is required when NODE_ENV=production (keyId:base64key[,keyId:base64key...], keys from `openssl rand -base64 32`)',
    );
  } else if (e.PAYLOAD_ACTIVE_KEY_ID) {
    problem('PAYLOAD_ACTIVE_KEY_ID', 'is set but PAYLOAD_KEYS is not');
  }

  const uiPort = e.TEMPORAL_UI_PORT ?? e.TEMPORAL_PORT + 1000;
  const corsOrigins = (e.CODEC_CORS_ORIGINS ?? `http://localhost:${uiPort},http://127.0.0.1:${uiPort}`)
    .split(',')
    .map((origin) => origin.trim())
    .filter((origin) => origin !== '');
  for (const origin of corsOrigins) {
    if (!isOrigin(origin))
      problem('CODEC_CORS_ORIGINS', `"${origin}" is not an origin such as http://localhost:8233 (no path, no *)`);
  }

  const pair = (certVar: string, cert: string | undefined, keyVar: string, key: string | undefined) => {
    if (cert && !key) problem(keyVar, `is required when ${certVar} is set (both or neither)`);
    if (key && !cert) problem(certVar, `is required when ${keyVar} is set (both or neither)`);
  };
  pair('TLS_CERT_PATH', e.TLS_CERT_PATH, 'TLS_KEY_PATH', e.TLS_KEY_PATH);
  // Staff tokens, link tokens and customer data cross this port: production speaks HTTPS itself, or says who does.
  if (e.NODE_ENV === 'production' && !(e.TLS_CERT_PATH && e.TLS_KEY_PATH) && e.TLS_TERMINATED_UPSTREAM !== 'true')
    problem(
      'TLS_TERMINATED_UPSTREAM',
      'must be "true" when NODE_ENV=production without TLS_CERT_PATH/TLS_KEY_PATH: the API refuses to serve plain HTTP ' +
        'unless a proxy in front of it terminates TLS',
    );
  if (e.NODE_ENV === 'production' && !e.EXPORT_ENCRYPTION_KEYS?.trim())
    problem(
      'EXPORT_ENCRYPTION_KEYS',
      'is required when NODE_ENV=production (keyId:base64key[,keyId:base64key...], keys from `openssl rand -base64 32`)',
    );
  pair('TEMPORAL_TLS_CERT_PATH', e.TEMPORAL_TLS_CERT_PATH, 'TEMPORAL_TLS_KEY_PATH', e.TEMPORAL_TLS_KEY_PATH);

  // Certificates are evidence for customers and auditors: production signs with a configured key only.
  let certificateSigningKey: CertificateSigningKey | undefined;
  if (e.CERTIFICATE_SIGNING_KEY !== undefined && e.CERTIFICATE_SIGNING_KEY.trim() !== '') {
    try {
      certificateSigningKey = parseCertificateSigningKey(e.CERTIFICATE_SIGNING_KEY);
    } catch (err) {
      if (!(err instanceof CertificateKeyError)) throw err;
      problem('CERTIFICATE_SIGNING_KEY', err.message);
    }
  } else if (e.NODE_ENV === 'production') {
    problem(
      'CERTIFICATE_SIGNING_KEY',
      'is required when NODE_ENV=production (Ed25519 PKCS#8, PEM or base64 DER: ' +
        '`openssl genpkey -algorithm ed25519 | openssl pkey -outform DER | base64 -w0`)',
    );
  } else {
    certificateSigningKey = deriveDevelopmentSigningKey(keyring.keys.get(keyring.activeKeyId)!);
  }

  // The audit chain's HMAC keys: never in the database; production must configure its own.
  let auditKeyring: AuditKeyring | undefined;
  if (e.AUDIT_HMAC_KEYS !== undefined && e.AUDIT_HMAC_KEYS.trim() !== '') {
    try {
      auditKeyring = parseAuditKeys(e.AUDIT_HMAC_KEYS, e.AUDIT_HMAC_ACTIVE_KEY_ID);
    } catch (err) {
      if (!(err instanceof AuditKeyError)) throw err;
      problem(err.variable, err.message);
    }
  } else if (e.NODE_ENV === 'production') {
    problem(
      'AUDIT_HMAC_KEYS',
      'is required when NODE_ENV=production (keyId:base64key[,keyId:base64key...], keys from `openssl rand -base64 32`)',
    );
  } else if (e.AUDIT_HMAC_ACTIVE_KEY_ID) {
    problem('AUDIT_HMAC_ACTIVE_KEY_ID', 'is set but AUDIT_HMAC_KEYS is not');
  } else {
    auditKeyring = deriveDevelopmentAuditKeys(keyring);
  }
  let checkpointSigningKey = certificateSigningKey;
  if (e.AUDIT_CHECKPOINT_SIGNING_KEY !== undefined && e.AUDIT_CHECKPOINT_SIGNING_KEY.trim() !== '') {
    try {
      checkpointSigningKey = parseCertificateSigningKey(e.AUDIT_CHECKPOINT_SIGNING_KEY);
    } catch (err) {
      if (!(err instanceof CertificateKeyError)) throw err;
      problem('AUDIT_CHECKPOINT_SIGNING_KEY', err.message);
    }
  }

  if (issues.length > 0) throw new ConfigError(`Invalid configuration:\n${issues.join('\n')}`);
  const temporalTlsSet =
    e.TEMPORAL_TLS_CA_PATH || e.TEMPORAL_TLS_CERT_PATH || e.TEMPORAL_TLS_KEY_PATH || e.TEMPORAL_TLS_SERVER_NAME;
  return {
    payloadEncryption: { keyring, insecureDevKey: !keysSet },
    certificateSigningKey: certificateSigningKey!,
    auditKeyring: auditKeyring!,
    checkpointSigningKey: checkpointSigningKey!,
    corsOrigins,
    httpTls: e.TLS_CERT_PATH && e.TLS_KEY_PATH ? { certPath: e.TLS_CERT_PATH, keyPath: e.TLS_KEY_PATH } : undefined,
    temporalTls: temporalTlsSet
      ? {
          caPath: e.TEMPORAL_TLS_CA_PATH,
          certPath: e.TEMPORAL_TLS_CERT_PATH,
          keyPath: e.TEMPORAL_TLS_KEY_PATH,
          serverName: e.TEMPORAL_TLS_SERVER_NAME,
        }
      : undefined,
  };
}

/**
 * The keys of export archives at rest: EXPORT_ENCRYPTION_KEYS, else (outside production, checked in
 * securitySettings) keys derived from the payload keys.
 * @throws ConfigError naming the variable at fault.
 */
function exportKeyring(e: z.infer<typeof envSchema>, payloadKeyring: PayloadKeyring): ArchiveKeyring {
  if (!e.EXPORT_ENCRYPTION_KEYS?.trim()) return deriveArchiveKeyring(payloadKeyring);
  try {
    return parsePayloadKeys(e.EXPORT_ENCRYPTION_KEYS, e.EXPORT_ENCRYPTION_ACTIVE_KEY_ID, {
      keys: 'EXPORT_ENCRYPTION_KEYS',
      active: 'EXPORT_ENCRYPTION_ACTIVE_KEY_ID',
    });
  } catch (err) {
    if (!(err instanceof PayloadKeyError)) throw err;
    throw new ConfigError(`Invalid configuration:\n  ${err.variable}: ${err.message}`);
  }
}

/**
 * TRUST_PROXY as Express's `trust proxy` value: unset or `false` trusts no proxy (req.ip is the peer), `true` any
 * (only when every request comes through a proxy that overwrites X-Forwarded-For), a number the hops to trust, and
 * otherwise a comma-separated list of addresses, subnets (`10.0.0.0/8`) or `loopback`, `linklocal`, `uniquelocal`.
 */
function parseTrustProxy(value: string | undefined, ctx: z.RefinementCtx): boolean | number | string {
  const text = value?.trim() ?? '';
  if (text === '' || text === 'false') return false;
  if (text === 'true') return true;
  if (/^\d{1,2}$/.test(text)) return Number(text);
  const named = new Set(['loopback', 'linklocal', 'uniquelocal']);
  const entries = text.split(',').map((entry) => entry.trim());
  const bad = entries.filter((entry) => {
    if (named.has(entry)) return false;
    const [address, bits, ...rest] = entry.split('/');
    const family = isIP(address ?? '');
    if (family === 0 || rest.length > 0) return true;
    return bits !== undefined && !(/^\d{1,3}$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128));
  });
  if (bad.length === 0) return entries.join(',');
  ctx.addIssue({
    code: 'custom',
    message: `must be true, false, a hop count, or comma-separated addresses/subnets (or loopback, linklocal, uniquelocal); not one: ${bad.join(', ')}`,
  });
  return z.NEVER;
}

/** The address to connect to: the configured one, or the local dev server's. */
export function temporalAddress(config: AppConfig): string {
  return config.temporal.address ?? `127.0.0.1:${config.temporal.port}`;
}
