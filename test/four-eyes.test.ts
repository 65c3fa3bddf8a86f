/**
 * The four-eyes rule lives in the workflow: a requester can never approve their own request, through the API or
 * straight to Temporal, and a decision is taken once.
 */
import { randomUUID } from 'node:crypto';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { auditEvents } from '../db/repositories/audit-events';
import { hashToken, staffTokens } from '../db/repositories/staff-tokens';
import { approveUpdate } from '../workflows/approval';
import { startTestStack, type TestStack } from './support/test-stack';

let stack: TestStack;
let secondOfficer: string;

beforeAll(async () => {
  stack = await startTestStack({ name: 'four-eyes' });
  secondOfficer = (await staffTokens.create(stack.db, { name: 'second officer', role: 'privacy_officer' })).token;
});
afterAll(async () => {
  await stack?.stop();
});

async function actorOf(token: string): Promise<string> {
  const row = await stack
    .db('staff_tokens')
    .where({ token_hash: hashToken(token) })
    .first('id');
  return `staff:${row.id}`;
}

/** A request awaiting a decision, requested by the privacy officer of the stack's tokens. */
async function pendingRequest() {
  const requestId = randomUUID();
  const workflowId = `four-eyes-probe-${requestId}`;
  const requestedBy = await actorOf(stack.tokens.privacy_officer);
  await stack.db('lifecycle_requests').insert({
    id: requestId,
    type: 'correction',
    customer_id: randomUUID(),
    workflow_id: workflowId,
    actor: requestedBy,
    request_hash: 'test',
  });
  const handle = await stack.client.workflow.start('fourEyesProbeWorkflow', {
    taskQueue: stack.taskQueue,
    workflowId,
    args: [{ requestedBy, timeoutMs: 60_000 }],
  });
  return { requestId, handle, requestedBy };
}

describe('four-eyes approval', () => {
  it('refuses the requester as approver, accepts a second officer, and records who decided', async () => {
    const { requestId, handle } = await pendingRequest();
    // The gate opens when the workflow starts waiting; until then a decision is refused as premature.
    let self = await stack.http('POST', `/v1/requests/${requestId}/approve`, {}, {}, 'privacy_officer');
    for (let i = 0; i < 50 && self.status === 409; i++) {
      await new Promise((r) => setTimeout(r, 100));
      self = await stack.http('POST', `/v1/requests/${requestId}/approve`, {}, {}, 'privacy_officer');
    }
    expect(self.status).toBe(403);
    expect(self.body.detail).toContain('four-eyes');

    const other = await stack.http(
      'POST',
      `/v1/requests/${requestId}/approve`,
      { reason: 'checked' },
      {
        Authorization: `Bearer ${secondOfficer}`,
      },
    );
    expect(other.status).toBe(200);
    const approver = await actorOf(secondOfficer);
    expect(other.body).toMatchObject({ decision: 'approved', actor: approver });
    expect(await handle.result()).toEqual({ decision: 'approved', actor: approver, reason: 'checked' });

    const [event] = await auditEvents.list(stack.db, { requestId, action: 'request.approved' });
    expect(event!.actor).toBe(approver);
  });

  it('holds even for a client that sends the update to Temporal directly', async () => {
    const { handle, requestedBy } = await pendingRequest();
    let failure: unknown;
    for (let i = 0; i < 50; i++) {
      failure = await handle.executeUpdate(approveUpdate, { args: [{ actor: requestedBy }] }).then(
        () => null,
        (err: unknown) => err,
      );
      if (!(failure instanceof WorkflowUpdateFailedError) || !String(failure.cause?.message).includes('not awaiting'))
        break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(failure).toBeInstanceOf(WorkflowUpdateFailedError);
    expect((failure as WorkflowUpdateFailedError).cause?.message).toContain('four-eyes');
    await handle.terminate('test done');
  });

  it('takes one decision only and needs a reason to reject', async () => {
    const { requestId, handle } = await pendingRequest();
    const as = { Authorization: `Bearer ${secondOfficer}` };
    expect((await stack.http('POST', `/v1/requests/${requestId}/reject`, {}, as)).status).toBe(400);
    let first = await stack.http('POST', `/v1/requests/${requestId}/reject`, { reason: 'incomplete' }, as);
    for (let i = 0; i < 50 && first.status === 409; i++) {
      await new Promise((r) => setTimeout(r, 100));
      first = await stack.http('POST', `/v1/requests/${requestId}/reject`, { reason: 'incomplete' }, as);
    }
    expect(first.status).toBe(200);
    expect(first.body.decision).toBe('rejected');
    const second = await stack.http('POST', `/v1/requests/${requestId}/approve`, {}, as);
    expect(second.status).toBe(409);
    expect((await handle.result())?.decision).toBe('rejected');
  });
});
