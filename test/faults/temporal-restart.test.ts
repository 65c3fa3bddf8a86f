/**
 * The Temporal dev server killed with SIGKILL and started again on its state file while workflows are mid-way: a
 * batch of onboardings, an access request's export (a customer with tens of thousands of rows, a checkpoint every
 * 500), and an access request nobody verifies, asleep on its durable verification timer. Workers and the API stay up
 * and reconnect by themselves. Afterwards every workflow has completed, the archive is exactly what the database holds,
 * every fact has one audit event, the audit chain is intact, and the timer fired (late by no more than the outage).
 */
import { seedDemoCustomer } from '../../scripts/seed-demo-customer';
import { auditChains, duplicateAuditEvents, exportMatchesDatabase } from './support/checks';
import { startFaultStack, type FaultStack } from './support/fault-stack';
import { reportFigures, secondsSince } from './support/figures';
import {
  expectedOnboardingEndState,
  onboardingEndState,
  submitOnboardings,
  waitForOnboardings,
} from './support/onboardings';
import { waitUntil } from './support/processes';
import { linkToken } from '../support/access-export';

const ONBOARDINGS = 6;
const EXPORT_ROWS = 60_000;
const VERIFICATION_TIMEOUT_S = 40;
const OUTAGE_MS = 8_000;
let stack: FaultStack;

beforeAll(async () => {
  stack = await startFaultStack({
    name: 'temporal-restart',
    api: true,
    env: {
      EXPORT_BATCH_ROWS: '500',
      ACCESS_REMINDER_OFFSETS: 'none',
      ACCESS_VERIFICATION_TIMEOUT: `PT${VERIFICATION_TIMEOUT_S}S`,
    },
  });
});
afterAll(async () => {
  await stack?.stop();
});

async function primaryEmail(customerId: string): Promise<string> {
  const contact = await stack.db('contacts').where({ customer_id: customerId, role: 'primary' }).first('email');
  return String(contact.email).toLowerCase();
}

const requestRow = (id: string) => stack.db('lifecycle_requests').where({ id }).first();

test('a Temporal dev server killed and restarted mid-way: every workflow completes, once, and timers fire', async () => {
  const started = Date.now();
  await stack.startWorker();
  const exporting = await seedDemoCustomer(stack.db, {
    operationalRows: EXPORT_ROWS,
    technicalRows: 100,
    communicationRows: 10,
  });
  const sleeping = await seedDemoCustomer(stack.db, { operationalRows: 10, technicalRows: 10, communicationRows: 2 });

  // The export: requested and verified through the API, as the contact would.
  const exportEmail = await primaryEmail(exporting.customerId);
  const access = await stack.http('POST', `/v1/customers/${exporting.customerId}/access-requests`, {
    requesterEmail: exportEmail,
    scope: 'all',
  });
  expect(access.status).toBe(202);
  const exportRequestId: string = access.body.requestId;
  const verification = await stack.smtp.waitFor(
    (m) =>
      m.to.includes(exportEmail) && m.text.includes(exportRequestId) && /^Confirm your data access/.test(m.subject),
    { timeoutMs: 120_000 },
  );
  // The unverified request: its timer is due VERIFICATION_TIMEOUT_S after it started.
  const sleepingEmail = await primaryEmail(sleeping.customerId);
  const unverified = await stack.http('POST', `/v1/customers/${sleeping.customerId}/access-requests`, {
    requesterEmail: sleepingEmail,
    scope: 'all',
  });
  expect(unverified.status).toBe(202);
  const unverifiedRequestId: string = unverified.body.requestId;
  const timerDueAt = Date.now() + VERIFICATION_TIMEOUT_S * 1000;

  expect((await stack.http('POST', '/verify', { token: linkToken(verification.text, 'verify') })).status).toBe(200);
  const onboardings = await submitOnboardings(stack, ONBOARDINGS);

  // Kill while the export is part-way (rows written, not finished).
  const rowsAtKill = await waitUntil(
    'the export part-way',
    async () => {
      const archive = await stack.db('export_archives').where({ request_id: exportRequestId }).first('rows_done');
      const rows = Number(archive?.rows_done ?? 0);
      return rows > 0 ? rows : undefined;
    },
    { timeoutMs: 120_000, intervalMs: 50 },
  );
  const onboardingsOpenAtKill = Number(
    (
      await stack
        .db('lifecycle_requests')
        .whereIn(
          'id',
          onboardings.map((o) => o.requestId),
        )
        .where({ status: 'running' })
        .count<{ n: string }[]>({ n: '*' })
    )[0]!.n,
  );
  const killedAt = Date.now();
  await stack.temporal.kill();
  await new Promise((r) => setTimeout(r, OUTAGE_MS));
  await stack.temporal.start();
  const downSeconds = secondsSince(killedAt);

  await waitForOnboardings(stack, onboardings);
  await waitUntil(
    'the export delivered',
    async () => ((await requestRow(exportRequestId))?.stage === 'delivered' ? true : undefined),
    { timeoutMs: 300_000, intervalMs: 500 },
  );
  await waitUntil(
    'the unverified request closed by its timer',
    async () => {
      const [event] = await stack
        .db('audit_events')
        .where({ request_id: unverifiedRequestId, action: 'access.closed_unverified' })
        .select('occurred_at');
      return event ? new Date(event.occurred_at as string).getTime() : undefined;
    },
    { timeoutMs: 300_000, intervalMs: 250 },
  ).then((firedAt) => {
    timerLateSeconds = Math.round((firedAt - timerDueAt) / 100) / 10;
  });

  const delivery = await stack.smtp.waitFor(
    (m) => m.to.includes(exportEmail) && /^Your data export for .* is ready/.test(m.subject),
    { timeoutMs: 60_000 },
  );
  const exported = await exportMatchesDatabase(stack.db, stack.api!.url, linkToken(delivery.text, 'download'));
  const onboardingState = await onboardingEndState(stack, onboardings);
  const exportEvents = await duplicateAuditEvents(stack.db, 'access.export_completed', (e) => String(e.request_id));
  const deliveredEvents = await duplicateAuditEvents(stack.db, 'access.export_delivered', (e) => String(e.request_id));
  const closedEvents = await duplicateAuditEvents(stack.db, 'access.closed_unverified', (e) => String(e.request_id));
  const deliveryEmails = stack.smtp
    .messages()
    .filter((m) => m.to.includes(exportEmail) && /^Your data export for .* is ready/.test(m.subject));
  reportFigures('temporal-restart', {
    seconds: secondsSince(started),
    serverDownSeconds: downSeconds,
    exportRowsAtKill: rowsAtKill,
    exportRows: exported.tables.reduce((n, t) => n + t.rows, 0),
    onboardings: ONBOARDINGS,
    onboardingsOpenAtKill,
    timerLateSeconds,
    deliveryEmails: deliveryEmails.length,
    exportCompletedEvents: exportEvents.events,
    exportDeliveredEvents: deliveredEvents.events,
    closedUnverifiedEvents: closedEvents.events,
    ...onboardingState,
  });

  expect(exported.mismatches).toEqual([]);
  expect(exported.manifest.requestId).toBe(exportRequestId);
  expect(onboardingState).toEqual(expect.objectContaining(expectedOnboardingEndState(ONBOARDINGS)));
  expect({ exportEvents, deliveredEvents, closedEvents }).toEqual({
    exportEvents: { events: 1, duplicates: {} },
    deliveredEvents: { events: 1, duplicates: {} },
    closedEvents: { events: 1, duplicates: {} },
  });
  expect(new Set(deliveryEmails.map((m) => m.messageId)).size).toBe(1);
  expect(await auditChains(stack.db)).toMatchObject({ broken: [] });
  // The timer fired, and no later than the outage (plus the machine's slack) after it was due.
  expect(timerLateSeconds).toBeGreaterThanOrEqual(-1);
  expect((await requestRow(unverifiedRequestId))?.status).not.toBe('running');
});

let timerLateSeconds = NaN;
