/**
 * The production topology, proven on one machine (`npm run test:topology`, README "Running in production"): a
 * self-hosted Temporal Server 1.29.1 on PostgreSQL (its own persistence and visibility databases, schema by
 * temporal-sql-tool), the namespace with its retention and search attributes, the API and two worker processes with
 * NODE_ENV=production. An onboarding and an access request run end to end through the API; then one worker is killed
 * (SIGKILL) in the middle of an export and the other one finishes it, the archive still exactly what the database
 * holds. Prints the measured figures (docs/topology.md).
 */
import { createHash } from 'node:crypto';
import net from 'node:net';
import { Connection, Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { EXPORT_TABLES } from '../../activities/export';
import { auditEvents } from '../../db/repositories/audit-events';
import { staffTokens } from '../../db/repositories/staff-tokens';
import { seedDemoCustomer } from '../../scripts/seed-demo-customer';
import { SCOPE_CATEGORIES } from '../../lib/pure/access-scope';
import { ALL_SEARCH_ATTRIBUTES } from '../../lib/pure/temporal-ids';
import { temporalServerRelease } from '../../scripts/topology/temporal-server';
import { startTopology, type RunningTopology } from '../../scripts/topology/topology';
import { expectedTableCsv, linkToken, readTarGz } from '../support/access-export';
import { eventually } from '../support/polling';
import { onboardingBody } from '../support/fixtures';
import { findLogLeaks } from '../support/log-canaries';

/** Operational rows of the customer whose export is interrupted: enough for an export of several seconds. */
const BULK_ROWS = 400_000;
const NAMESPACE = 'data-lifecycle';

let topology: RunningTopology;
let token: string;
let client: Client;
const figures: Record<string, string> = {};
const seconds = (since: number) => ((Date.now() - since) / 1000).toFixed(1);

/** A base port with the 14 consecutive ports of a topology free on 127.0.0.1. */
async function freePortBase(): Promise<number> {
  const free = (port: number) =>
    new Promise<boolean>((resolve) => {
      const server = net.createServer();
      server.once('error', () => resolve(false));
      server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
    });
  for (;;) {
    // Below 32768: Temporal stores membership ports as smallint.
    const base = 20_000 + Math.floor(Math.random() * 12_000);
    let ok = true;
    for (let port = base; ok && port < base + 14; port++) ok = await free(port);
    if (ok) return base;
  }
}

async function http(method: string, urlPath: string, body?: unknown) {
  const res = await fetch(`${topology.apiUrl}${urlPath}`, {
    method,
    headers: {
      Authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

beforeAll(async () => {
  const release = temporalServerRelease(false);
  if (!release) throw new Error('Temporal Server 1.29.1 is not cached: run `bash scripts/temporal-server.sh` first');
  const started = Date.now();
  topology = await startTopology({
    name: `dlo_topo_${Date.now()}_${process.pid}`,
    postgresUrl: process.env.TEST_DATABASE_SERVER_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
    portBase: await freePortBase(),
    workers: 2,
    namespace: NAMESPACE,
    namespaceRetention: 'P1D',
    release,
    dropDatabasesOnStop: !process.env.KEEP_TEST_DATABASE,
    env: {
      // Small batches: a checkpoint every 2,000 rows, so the export runs long enough to be interrupted mid-way.
      EXPORT_BATCH_ROWS: '2000',
      EXPORT_PARALLEL_TABLES: '1',
      ACCESS_REMINDER_OFFSETS: 'none',
      ACCESS_VERIFICATION_TIMEOUT: 'PT10M',
      EXPORT_LINK_LIFETIME: 'PT30M',
    },
  });
  figures['topology start (schema, server, namespace, migrations, bundle, API, 2 workers)'] = `${seconds(started)} s`;
  token = (await staffTokens.create(topology.db, { name: 'topology test', role: 'support' })).token;
  client = new Client({
    connection: await Connection.connect({ address: topology.temporal.address }),
    namespace: NAMESPACE,
  });
}, 600_000);

afterAll(async () => {
  await client?.connection.close();
  await topology?.stop();
  console.log(
    ['Topology test figures:', ...Object.entries(figures).map(([what, value]) => `  ${what}: ${value}`)].join('\n'),
  );
}, 120_000);

describe('the production topology', () => {
  it('runs on its own Temporal databases, with the namespace retention and the search attributes registered', async () => {
    const rows = await topology.db.raw<{ rows: { datname: string }[] }>(
      'select datname from pg_database where datname like ? order by datname',
      [`${topology.options.name}_%`],
    );
    expect(rows.rows.map((r) => r.datname)).toEqual(
      ['app', 'temporal', 'visibility'].map((suffix) => `${topology.options.name}_${suffix}`),
    );
    const described = await client.connection.workflowService.describeNamespace({ namespace: NAMESPACE });
    expect(Number(described.config?.workflowExecutionRetentionTtl?.seconds)).toBe(86_400);
    const { customAttributes } = await client.connection.operatorService.listSearchAttributes({ namespace: NAMESPACE });
    for (const key of ALL_SEARCH_ATTRIBUTES)
      expect([key.name, customAttributes?.[key.name]]).toEqual([
        key.name,
        temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
      ]);
    // The API and the workers connect as a role with row rights only: no superuser, no DDL.
    const role = await topology
      .db('pg_roles')
      .where({ rolname: topology.appRole })
      .first('rolsuper', 'rolcreatedb', 'rolcreaterole');
    expect(role).toEqual({ rolsuper: false, rolcreatedb: false, rolcreaterole: false });
    const [privileges] = (
      await topology.db.raw<{ rows: { create: boolean; insert: boolean }[] }>(
        `select has_schema_privilege(?, 'public', 'CREATE') as create,
                has_table_privilege(?, 'audit_events', 'INSERT') as insert`,
        [topology.appRole, topology.appRole],
      )
    ).rows;
    expect(privileges).toEqual({ create: false, insert: true });
    const sessions = await topology.db('pg_stat_activity').where({ usename: topology.appRole }).count({ n: '*' });
    expect(Number(sessions[0]!.n)).toBeGreaterThan(0);
    const info = await client.connection.workflowService.getSystemInfo({});
    expect(info.serverVersion).toBe('1.29.1');
  });

  it('onboards a customer end to end: subprocessors registered, welcome mail sent, customer active', async () => {
    const started = Date.now();
    const body = onboardingBody(['crm', 'analytics']);
    const res = await http('POST', '/v1/customers', body);
    expect(res.status).toBe(202);
    const { requestId, customerId } = res.body;
    const done = await eventually(
      () => http('GET', `/v1/requests/${requestId}`),
      (r) => ['completed', 'failed'].includes(r.body.status),
      60_000,
    );
    expect(done.body).toMatchObject({ type: 'onboarding', status: 'completed', customerId });
    figures['onboarding, request to completed'] = `${seconds(started)} s`;
    expect((await http('GET', `/v1/customers/${customerId}`)).body.status).toBe('active');
    for (const id of ['crm', 'analytics']) {
      const calls = topology.sim.calls({ subprocessorId: id, path: '/v1/tenants' });
      expect(calls.filter((c) => (c.body as { tenantId?: string }).tenantId === customerId)).toHaveLength(1);
      expect(calls.every((c) => c.signatureValid)).toBe(true);
    }
    const welcome = await topology.smtp.waitFor((m) => m.to.includes(body.contacts[0]!.email));
    expect(welcome.subject).toContain(body.company.name);
    expect((await auditEvents.list(topology.db, { requestId })).map((e) => e.action)).toContain('customer.activated');
  });

  /** Starts an access request for a freshly seeded customer and confirms it with the link from the mailbox. */
  async function verifiedAccessRequest(operationalRows: number) {
    const seeded = Date.now();
    const seed = await seedDemoCustomer(topology.db, {
      operationalRows,
      technicalRows: Math.floor(operationalRows / 10),
      communicationRows: 20,
    });
    const seedSeconds = seconds(seeded);
    const primary = await topology.db('contacts').where({ customer_id: seed.customerId, role: 'primary' }).first();
    const res = await http('POST', `/v1/customers/${seed.customerId}/access-requests`, {
      requesterEmail: primary.email,
      scope: 'all',
    });
    expect(res.status).toBe(202);
    const { requestId } = res.body as { requestId: string };
    const verification = await topology.smtp.waitFor(
      (m) => m.to.includes(primary.email) && m.subject.startsWith('Confirm your data access request'),
    );
    const verify = await fetch(`${topology.apiUrl}/verify`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: linkToken(verification.text, 'verify') }),
    });
    expect(verify.status).toBe(200);
    return { customerId: seed.customerId, email: primary.email as string, requestId, seedSeconds };
  }

  /** Downloads the delivered archive and checks every table file against the database; returns the total rows. */
  async function downloadAndCompare(requestId: string, customerId: string, email: string) {
    const delivery = await topology.smtp.waitFor(
      (m) => m.to.includes(email) && m.subject.includes('is ready') && m.text.includes(requestId),
      { timeoutMs: 240_000 },
    );
    const download = await fetch(`${topology.apiUrl}/exports/${linkToken(delivery.text, 'download')}`);
    expect(download.status).toBe(200);
    const files = readTarGz(Buffer.from(await download.arrayBuffer()));
    const prefix = `access-export-${requestId}`;
    const manifestText = files.get(`${prefix}/manifest.json`)!;
    expect(delivery.text).toContain(createHash('sha256').update(manifestText).digest('hex'));
    const manifest = JSON.parse(manifestText.toString('utf8'));
    const categories = SCOPE_CATEGORIES.all;
    let databaseRows = 0;
    for (const entry of manifest.tables as { table: string; file: string; rows: number }[]) {
      const spec = EXPORT_TABLES.find((t) => t.table === entry.table)!;
      const file = files.get(`${prefix}/${entry.file}`)!;
      expect([entry.table, file.equals(await expectedTableCsv(topology.db, spec, customerId, categories))]).toEqual([
        entry.table,
        true,
      ]);
      const [count] = await topology
        .db(spec.table)
        .where(spec.owner, customerId)
        .whereIn('data_category', [...categories])
        .count<{ count: string }[]>({ count: '*' });
      expect([entry.table, entry.rows]).toEqual([entry.table, Number(count!.count)]);
      databaseRows += Number(count!.count);
    }
    expect(manifest.totals.rows).toBe(databaseRows);
    return databaseRows;
  }

  it('answers an access request end to end: verification link, export, download of exactly the database rows', async () => {
    const started = Date.now();
    const { requestId, customerId, email } = await verifiedAccessRequest(3_000);
    const rows = await downloadAndCompare(requestId, customerId, email);
    expect(rows).toBe(3_000 + 300 + 20 + 1 + 3 + 3 + 1);
    figures['access request of 3,328 rows, request to downloaded and compared'] = `${seconds(started)} s`;
  });

  it('when the worker running an export is killed, the other worker finishes it and the archive is still exact', async () => {
    const { requestId, customerId, email, seedSeconds } = await verifiedAccessRequest(BULK_ROWS);
    figures[`seeding ${BULK_ROWS.toLocaleString('en')} operational rows`] = `${seedSeconds} s`;
    const workflowId = `access-request-${requestId}`;

    // Mid-way: some rows checkpointed, not all.
    const archive = await eventually(
      () => topology.db('export_archives').where({ request_id: requestId }).first(),
      (a) => a !== undefined && Number(a.rows_done) > 0,
      120_000,
    );
    // Raw (payloads stay encrypted: this client has no keys).
    const described = await client.workflowService.describeWorkflowExecution({
      namespace: NAMESPACE,
      execution: { workflowId },
    });
    const exporting = described.pendingActivities?.find((a) => a.activityType?.name === 'exportCustomerData');
    const victim = topology.workers.find((w) => exporting?.lastWorkerIdentity?.startsWith(`${w.pid}@`));
    expect(victim).toBeDefined();
    const survivor = topology.workers.find((w) => w !== victim)!;
    victim!.process.kill('SIGKILL');
    const killedAt = Date.now();
    expect(await victim!.exited).toBe('SIGKILL');
    const atKill = await topology.db('export_archives').where({ id: archive.id }).first();
    expect(Number(atKill.rows_done)).toBeLessThan(Number(atKill.rows_total));
    figures['rows checkpointed when the worker was killed'] =
      `${Number(atKill.rows_done).toLocaleString('en')} of ${Number(atKill.rows_total).toLocaleString('en')}`;

    const rows = await downloadAndCompare(requestId, customerId, email);
    figures['kill to delivery mail and archive compared (includes the 1 min heartbeat timeout)'] =
      `${seconds(killedAt)} s`;
    expect(rows).toBe(BULK_ROWS + BULK_ROWS / 10 + 20 + 1 + 3 + 3 + 1);

    // The export that completed ran on the surviving worker, on a later attempt, and recorded every row.
    const history = await client.workflow.getHandle(workflowId).fetchHistory();
    const exportScheduled = history.events!.find(
      (e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'exportCustomerData',
    )!;
    const exportStarted = history.events!.find(
      (e) => e.activityTaskStartedEventAttributes?.scheduledEventId?.toString() === exportScheduled.eventId?.toString(),
    )!;
    expect(exportStarted.activityTaskStartedEventAttributes!.identity).toBe(
      exporting!.lastWorkerIdentity!.replace(`${victim!.pid}@`, `${survivor.pid}@`),
    );
    expect(exportStarted.activityTaskStartedEventAttributes!.attempt).toBeGreaterThanOrEqual(2);
    const [completed] = await auditEvents.list(topology.db, { requestId, action: 'access.export_completed' });
    expect(completed!.details).toMatchObject({ rows });
    expect((completed!.details as { attempt: number }).attempt).toBeGreaterThanOrEqual(2);
    const status = await eventually(
      () => http('GET', `/v1/requests/${requestId}`),
      (r) => r.body.stage === 'delivered',
    );
    expect(status.body.progress.progress).toMatchObject({ rowsDone: rows, rowsTotal: rows });
  });

  it('wrote no personal data to the logs of the API, the workers or the Temporal Server', () => {
    const leaks = [...findLogLeaks(`${topology.runDir}/logs`), ...findLogLeaks(topology.runDir)];
    expect(leaks).toEqual([]);
  });
});
