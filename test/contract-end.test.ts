/**
 * Terminations that start by themselves when the contract end date has passed, on the real dev server and
 * PostgreSQL: the contract-end check's Temporal Schedule (workers/schedules.ts) runs every second, nobody calls the
 * termination API, and the termination runs as if staff had started it, with `system:contract-end` as its requester.
 *
 * The database is shared with other test files: every check here is restricted to this file's customers.
 */
import { randomUUID } from 'node:crypto';
import { auditEvents } from '../db/repositories/audit-events';
import { seedDemoCustomer } from '../scripts/seed-demo-customer';
import {
  auditVerifyScheduleId,
  contractEndCheckScheduleId,
  requestStartReconcilerScheduleId,
  retentionSweepScheduleId,
} from '../lib/pure/temporal-ids';
import { ensureSchedules } from '../workers/schedules';
import type { contractEndCheckWorkflow } from '../workflows/contract-end-check';
import { until } from './support/polling';
import { startTestStack, type TestStack } from './support/test-stack';

let stack: TestStack;

beforeAll(async () => {
  stack = await startTestStack({ name: 'contract-end', env: { TERMINATION_APPROVAL_REMINDER_INTERVAL: 'PT1M' } });
  stack.config.http.publicBaseUrl = stack.api.url;
});
afterAll(() => stack?.stop());

const DAY = 24 * 3600_000;
/** A UTC calendar date `days` from today (negative: in the past). */
const utcDate = (days: number) => new Date(Date.now() + days * DAY).toISOString().slice(0, 10);

/** A small demo customer whose contract (disposition `delete`) ends on `endsOn`. */
async function customerWithContractEnding(endsOn: string): Promise<string> {
  const { customerId } = await seedDemoCustomer(stack.db, {
    operationalRows: 12,
    technicalRows: 6,
    communicationRows: 2,
  });
  await stack
    .db('contracts')
    .where({ customer_id: customerId })
    .update({ ends_on: endsOn, termination_disposition: 'delete', updated_at: stack.db.fn.now() });
  return customerId;
}

async function terminationRequests(customerId: string) {
  return stack
    .db('lifecycle_requests')
    .where({ customer_id: customerId, type: 'termination' })
    .orderBy('received_at')
    .select<{ id: string; actor: string; status: string; workflow_id: string }[]>(
      'id',
      'actor',
      'status',
      'workflow_id',
    );
}

const request = async (requestId: string) =>
  (await stack.http('GET', `/v1/requests/${requestId}`, undefined, {}, 'auditor')).body as {
    stage: string;
    status: string;
    outcome?: { result: string };
  };

/** Runs one check directly (as the schedule does), restricted to `customerIds`. */
const check = (customerIds: string[]) =>
  stack.client.workflow.execute<typeof contractEndCheckWorkflow>('contractEndCheckWorkflow', {
    taskQueue: stack.taskQueue,
    workflowId: `contract-end-check-test-${randomUUID()}`,
    args: [{ customerIds }],
  });

describe('the automatic start of a termination at contract end', () => {
  // ...with nobody calling the API; any privacy officer approves it; a second check starts nothing.
  it('when the end date has passed, the schedule starts the termination once; a future end is left alone', async () => {
    const ended = await customerWithContractEnding(utcDate(-2));
    const future = await customerWithContractEnding(utcDate(30));
    const checkScheduleId = contractEndCheckScheduleId(stack.taskQueue);
    try {
      // As the worker does at start-up, restricted to this test's customers (the sweep to none).
      const ensured = await ensureSchedules(stack.client, stack.config, {
        contractEndCheck: { customerIds: [ended, future] },
        contractEndCheckIntervalMs: 1000,
        sweep: { customerIds: [] },
        startReconciler: { requestIds: [] },
      });
      expect(ensured.contractEndCheck).toEqual({ scheduleId: checkScheduleId, created: true });
      const described = await stack.client.schedule.getHandle(checkScheduleId).describe();
      expect(described.policies).toMatchObject({ overlap: 'SKIP' });
      expect(described.action).toMatchObject({ workflowType: 'contractEndCheckWorkflow', taskQueue: stack.taskQueue });

      const started = await until(
        'the automatic termination request',
        async () => (await terminationRequests(ended))[0],
      );
      expect(started).toMatchObject({ actor: 'system:contract-end', workflow_id: `termination-${ended}` });
      // Its event is committed with it in the audit intake and chained a moment later (beside the workflow start).
      const audited = await until(
        'the termination.requested event in the chain',
        async () => (await auditEvents.list(stack.db, { customerId: ended, action: 'termination.requested' }))[0],
      );
      expect(audited).toMatchObject({
        actor: 'system:contract-end',
        subjectId: started.id,
        details: { disposition: 'delete', dispositionSource: 'contract' },
      });

      // It runs like any termination: the customer's access is revoked and it waits for the four-eyes approval.
      await until('the approval stage', async () =>
        (await request(started.id)).stage === 'awaiting-approval' ? true : undefined,
      );
      expect(await stack.db('customers').where({ id: ended }).first('status')).toEqual({ status: 'terminating' });

      // Let the schedule run a few more times meanwhile: still one termination, and none for the future end date.
      const actionsBefore = (await stack.client.schedule.getHandle(checkScheduleId).describe()).info.numActionsTaken;
      await until('three more scheduled checks', async () => {
        const taken = (await stack.client.schedule.getHandle(checkScheduleId).describe()).info.numActionsTaken;
        return taken >= actionsBefore + 3 ? true : undefined;
      });
      expect(await check([ended, future])).toMatchObject({ starts: [] });
      expect(await terminationRequests(ended)).toHaveLength(1);
      expect(await terminationRequests(future)).toHaveLength(0);
      expect(await stack.db('customers').where({ id: future }).first('status')).toEqual({ status: 'active' });

      // The requester is the system, so any privacy officer may approve the erasure.
      const approved = await stack.http('POST', `/v1/requests/${started.id}/approve`, {}, {}, 'privacy_officer');
      expect(approved.status).toBe(200);
      const done = await until(
        'the end of the termination',
        async () => {
          const r = await request(started.id);
          return ['completed', 'failed', 'cancelled'].includes(r.status) ? r : undefined;
        },
        120_000,
      );
      expect(done).toMatchObject({ status: 'completed', outcome: { result: 'terminated' } });
      expect(await check([ended, future])).toMatchObject({ starts: [] });
      expect(await terminationRequests(ended)).toHaveLength(1);
    } finally {
      await stack.client.schedule.getHandle(checkScheduleId).delete();
      await stack.client.schedule.getHandle(retentionSweepScheduleId(stack.taskQueue)).delete();
      await stack.client.schedule.getHandle(requestStartReconcilerScheduleId(stack.taskQueue)).delete();
      await stack.client.schedule.getHandle(auditVerifyScheduleId(stack.taskQueue)).delete();
    }
  });

  // ...and a new end date arms the automatic start again.
  it('when staff cancelled the termination, later checks do not start it again', async () => {
    const customerId = await customerWithContractEnding(utcDate(-1));
    // The customer's termination is scheduled a day ahead by staff, then cancelled: the end has passed, yet the
    // cancellation stands.
    const res = await stack.http(
      'POST',
      `/v1/customers/${customerId}/termination`,
      { effectiveAt: new Date(Date.now() + DAY).toISOString(), reason: 'Customer asked to end early (test).' },
      {},
      'privacy_officer',
    );
    expect(res.status).toBe(202);
    const { requestId } = res.body as { requestId: string };
    expect((await check([customerId])).starts).toEqual([]);
    await until('the scheduled stage', async () =>
      (await request(requestId)).stage === 'scheduled' ? true : undefined,
    );
    expect(
      (await stack.http('DELETE', `/v1/customers/${customerId}/termination`, undefined, {}, 'privacy_officer')).status,
    ).toBe(200);
    await until('the cancellation', async () =>
      (await terminationRequests(customerId))[0]?.status === 'cancelled' ? true : undefined,
    );
    expect((await check([customerId])).starts).toEqual([]);

    // A new end date (as PUT .../contract records it) arms the automatic start again.
    await stack
      .db('contracts')
      .where({ customer_id: customerId })
      .update({ ends_on: utcDate(-1), updated_at: stack.db.fn.now() });
    const { starts } = await check([customerId]);
    expect(starts).toEqual([expect.objectContaining({ customerId, outcome: 'started' })]);
    const [, again] = await terminationRequests(customerId);
    expect(again).toMatchObject({ actor: 'system:contract-end' });

    // End it here: rejected at the approval gate (nothing erased), so no workflow outlives the test.
    await until('the approval stage', async () =>
      (await request(again!.id)).stage === 'awaiting-approval' ? true : undefined,
    );
    const rejected = await stack.http(
      'POST',
      `/v1/requests/${again!.id}/reject`,
      { reason: 'test over' },
      {},
      'privacy_officer',
    );
    expect(rejected.status).toBe(200);
  });
});
