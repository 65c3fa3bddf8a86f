/**
 * The API's Prometheus metrics (prom-client), served by {@link startMetricsServer} on their own port (METRICS_PORT,
 * loopback by default) rather than on the API's: the scraper needs no staff token, and nothing on that port reveals
 * more than counts. README "Metrics" lists every series; docs/grafana-dashboard.json charts them.
 *
 * Two kinds of series:
 * - measured in this process: request durations by route template and status (`dlo_http_request_duration_seconds`);
 * - read from the database at scrape time, so they are the same whichever API replica is scraped and survive restarts:
 *   processes started and finished, open requests by stage, requests due within 7 days and overdue (the numbers a
 *   privacy team works by), subprocessor deletions awaiting confirmation, and the audit chain's verification status.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type RequestHandler } from 'express';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Knex } from 'knex';
import { verifyAuditIntegrity } from '../db/audit-integrity';

/** Days ahead that count as "due soon" for `dlo_requests_due_within_7_days`. */
export const DUE_SOON_DAYS = 7;

/** Request statuses that mean the process is still open (db/migrations: lifecycle_requests.status). */
const OPEN_STATUSES = ['received', 'running'];
/** Statuses of a finished process; the outcome label is the status. */
const FINISHED_STATUSES = ['completed', 'failed', 'cancelled'];

/** What the metrics read. */
export interface ApiMetricsDeps {
  db: Knex;
  /**
   * Least time between two verifications of the global audit chain (a walk over the whole log); scrapes in between
   * report the last result. Default 5 minutes.
   */
  auditVerifyIntervalMs?: number;
  /** Adds Node.js process metrics (heap, event loop lag, ...); off in tests that run several apps in one process. */
  processMetrics?: boolean;
}

/** The API's metrics: the registry to serve and the middleware that times requests. */
export interface ApiMetrics {
  registry: Registry;
  /** Times every request; label `route` is the matched route template (`/v1/requests/:requestId`), never the path. */
  httpMiddleware: RequestHandler;
}

/** Builds a registry of its own (several apps may live in one test process). */
export function createApiMetrics(deps: ApiMetricsDeps): ApiMetrics {
  const registry = new Registry();
  const db = deps.db;

  const httpDuration = new Histogram({
    name: 'dlo_http_request_duration_seconds',
    help: 'API request durations by method, route template and HTTP status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });

  // Counters whose value is the database's count: reset and set at each scrape (requests are never deleted, so the
  // counts only grow, as a counter's must).
  new Counter({
    name: 'dlo_processes_started_total',
    help: 'Lifecycle processes started (lifecycle requests recorded), by type',
    labelNames: ['type'] as const,
    registers: [registry],
    async collect() {
      const rows = await db('lifecycle_requests')
        .select('type')
        .count<{ type: string; count: string }[]>('* as count')
        .groupBy('type');
      this.reset();
      for (const row of rows) this.inc({ type: row.type }, Number(row.count));
    },
  });
  new Counter({
    name: 'dlo_processes_finished_total',
    help: 'Lifecycle processes finished, by type and outcome (completed, failed, cancelled)',
    labelNames: ['type', 'outcome'] as const,
    registers: [registry],
    async collect() {
      const rows = await db('lifecycle_requests')
        .whereIn('status', FINISHED_STATUSES)
        .select('type', 'status')
        .count<{ type: string; status: string; count: string }[]>('* as count')
        .groupBy('type', 'status');
      this.reset();
      for (const row of rows) this.inc({ type: row.type, outcome: row.status }, Number(row.count));
    },
  });
  new Gauge({
    name: 'dlo_open_requests',
    help: 'Lifecycle requests not finished yet, by type and the stage their workflow last reported',
    labelNames: ['type', 'stage'] as const,
    registers: [registry],
    async collect() {
      const rows = await db('lifecycle_requests')
        .whereIn('status', OPEN_STATUSES)
        .select('type', 'stage')
        .count<{ type: string; stage: string; count: string }[]>('* as count')
        .groupBy('type', 'stage');
      this.reset();
      for (const row of rows) this.set({ type: row.type, stage: row.stage }, Number(row.count));
    },
  });

  // Deadlines: open requests with a due date, compared with today's date in UTC (due dates are calendar dates of the
  // regime's zone; the difference is hours, and a dashboard alerting a day ahead absorbs it).
  const deadlines = async () =>
    db('lifecycle_requests')
      .whereIn('status', OPEN_STATUSES)
      .whereNotNull('due_on')
      .select('type')
      .select(db.raw(`count(*) filter (where due_on < (now() at time zone 'utc')::date) as overdue`))
      .select(
        db.raw(
          `count(*) filter (where due_on >= (now() at time zone 'utc')::date
             and due_on <= (now() at time zone 'utc')::date + ?::int) as due_soon`,
          [DUE_SOON_DAYS],
        ),
      )
      .groupBy('type') as Promise<{ type: string; overdue: string; due_soon: string }[]>;
  new Gauge({
    name: 'dlo_requests_due_within_7_days',
    help: `Open requests whose legal due date is today or within the next ${DUE_SOON_DAYS} days (UTC dates), by type`,
    labelNames: ['type'] as const,
    registers: [registry],
    async collect() {
      const rows = await deadlines();
      this.reset();
      for (const row of rows) this.set({ type: row.type }, Number(row.due_soon));
    },
  });
  new Gauge({
    name: 'dlo_requests_overdue',
    help: 'Open requests whose legal due date has passed (UTC dates), by type',
    labelNames: ['type'] as const,
    registers: [registry],
    async collect() {
      const rows = await deadlines();
      this.reset();
      for (const row of rows) this.set({ type: row.type }, Number(row.overdue));
    },
  });

  new Gauge({
    name: 'dlo_subprocessor_deletions_unconfirmed',
    help: 'Deletion requests to subprocessors not confirmed yet, by subprocessor and status (requested, escalated)',
    labelNames: ['subprocessor', 'status'] as const,
    registers: [registry],
    async collect() {
      const rows = await db('deletion_requests')
        .whereIn('status', ['requested', 'escalated'])
        .select('subprocessor_id', 'status')
        .count<{ subprocessor_id: string; status: string; count: string }[]>('* as count')
        .groupBy('subprocessor_id', 'status');
      this.reset();
      for (const row of rows) this.set({ subprocessor: row.subprocessor_id, status: row.status }, Number(row.count));
    },
  });

  const verifyEveryMs = deps.auditVerifyIntervalMs ?? 5 * 60_000;
  let lastAudit: { at: number; ok: boolean; checked: number } | undefined;
  let auditInFlight: Promise<void> | undefined;
  const refreshAudit = async (): Promise<void> => {
    if (lastAudit && Date.now() - lastAudit.at < verifyEveryMs) return;
    auditInFlight ??= verifyAuditIntegrity(db)
      .then((report) => {
        lastAudit = { at: Date.now(), ok: report.ok, checked: report.checked };
      })
      .finally(() => {
        auditInFlight = undefined;
      });
    await auditInFlight;
  };
  new Gauge({
    name: 'dlo_audit_chain_ok',
    help:
      'Whether the global audit chain verified at the last check (1) or is broken (0): hashes, MACs under ' +
      'AUDIT_HMAC_KEYS and the signed checkpoints of AUDIT_CHECKPOINT_PATH',
    registers: [registry],
    async collect() {
      await refreshAudit();
      if (lastAudit) this.set(lastAudit.ok ? 1 : 0);
    },
  });
  new Gauge({
    name: 'dlo_audit_chain_events_checked',
    help: 'Audit events examined by the last verification of the global chain',
    registers: [registry],
    async collect() {
      await refreshAudit();
      if (lastAudit) this.set(lastAudit.checked);
    },
  });
  new Gauge({
    name: 'dlo_audit_chain_verified_timestamp_seconds',
    help: 'When the global audit chain was last verified (Unix time)',
    registers: [registry],
    async collect() {
      await refreshAudit();
      if (lastAudit) this.set(lastAudit.at / 1000);
    },
  });

  new Gauge({
    name: 'dlo_audit_integrity_alerts',
    help: 'Distinct breaks of the audit chain the scheduled verification found (each mailed to AUDIT_ALERT_EMAIL once)',
    registers: [registry],
    async collect() {
      const [row] = await db('audit_integrity_alerts').count<{ count: string }[]>('* as count');
      this.set(Number(row?.count ?? 0));
    },
  });

  // Last, so that a scrape shows the service's own series first.
  if (deps.processMetrics) collectDefaultMetrics({ register: registry, prefix: 'dlo_api_' });

  const httpMiddleware: RequestHandler = (req, res, next) => {
    const stop = httpDuration.startTimer();
    res.on('finish', () => {
      // The template, not the path: ids in paths would make a series per request.
      const route = req.route ? `${req.baseUrl}${(req.route as { path: string }).path}` : 'unmatched';
      stop({ method: req.method, route, status: String(res.statusCode) });
    });
    next();
  };

  return { registry, httpMiddleware };
}

/** A running metrics server. */
export interface MetricsServer {
  /** `http://host:port`; scrape `${url}/metrics`. */
  url: string;
  stop(): Promise<void>;
}

/** Serves `GET /metrics` (Prometheus text format) from `registry` on `host:port` (0: a free port). */
export async function startMetricsServer(registry: Registry, port: number, host: string): Promise<MetricsServer> {
  const app = express();
  app.disable('x-powered-by');
  app.get('/metrics', async (_req, res, next) => {
    try {
      const body = await registry.metrics();
      res.type(registry.contentType).send(body);
    } catch (err) {
      next(err);
    }
  });
  const server: Server = app.listen(port, host);
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  const { port: bound } = server.address() as AddressInfo;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${bound}`,
    stop: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}
