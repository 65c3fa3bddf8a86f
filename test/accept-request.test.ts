/**
 * Accepting a request (api/use-cases/start-request-workflow.ts `acceptRequest`): the request's row with the workflow
 * start it is owed, the rows that reference it and its `*.requested` event in the audit intake are written by one
 * statement, so either all of them are there or none is, and a second call with the same Idempotency-Key writes
 * nothing and is told who was first.
 *
 * As the service's role (TEST_DATABASE_URL), against the shared test database: assertions name this file's own ids.
 */
import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { createDb, type Db } from '../db/connection';
import { deletionRequestParts } from '../db/repositories/deletion-request-parts';
import type { DataCategory } from '../lib/pure/data-categories';
import { acceptRequest, requestedEventKey, type RequestWorkflowStart } from '../api/use-cases/start-request-workflow';

let db: Db;
let admin: Db;
/**
 * The requests this file wrote: removed at the end, so none of its owed starts or intake rows stays in the shared
 * database.
 */
const written: RequestWorkflowStart[] = [];

beforeAll(() => {
  db = createDb(process.env.TEST_DATABASE_URL!, 4);
  admin = createDb(process.env.TEST_DATABASE_ADMIN_URL!, 2);
});
afterAll(async () => {
  const ids = written.map((s) => s.requestId);
  await admin('audit_intake').whereIn('idempotency_key', ids.map(requestedEventKey)).delete();
  await admin('deletion_request_parts').whereIn('request_id', ids).delete();
  await admin('lifecycle_requests').whereIn('id', ids).delete();
  await db?.destroy();
  await admin?.destroy();
});

/** A deletion request of a made-up customer, as start-deletion-request.ts would accept it. */
function deletionStart(): RequestWorkflowStart {
  const requestId = randomUUID();
  const start: RequestWorkflowStart = {
    workflowType: 'deletionRequestWorkflow',
    workflowId: `deletion-request-${requestId}`,
    args: [{ requestId }],
    requestId,
    requestType: 'deletion',
    customerId: randomUUID(),
    actor: 'staff:accept-test',
    description: 'the deletion request',
  };
  written.push(start);
  return start;
}

/**
 * Accepts `start` as start-deletion-request.ts would: its row, the parts of `categories` (or the given `dependents`
 * instead) and its `deletion.requested` event.
 */
function accept(
  start: RequestWorkflowStart,
  opts: { idempotencyKey?: string; categories?: DataCategory[]; dependents?: Knex.QueryBuilder[] } = {},
) {
  const categories = opts.categories ?? ['communication_records'];
  return acceptRequest(
    db,
    start,
    {
      action: 'deletion.requested',
      customerId: null,
      idempotencyKey: opts.idempotencyKey,
      details: { categories },
    },
    {
      request: {
        id: start.requestId,
        type: 'deletion',
        customerId: start.customerId,
        workflowId: start.workflowId,
        actor: start.actor,
        idempotencyKey: opts.idempotencyKey,
        requestHash: 'b'.repeat(64),
        payload: { requesterEmail: 'someone@example.test' },
      },
      dependents: opts.dependents ?? [
        deletionRequestParts.insertAllQuery(
          db,
          start.requestId,
          start.customerId,
          categories.map((category) => ({ category })),
        ),
      ],
    },
  );
}

async function rowsOf(start: RequestWorkflowStart) {
  return {
    request: await db('lifecycle_requests').where({ id: start.requestId }).first(),
    parts: await db('deletion_request_parts').where({ request_id: start.requestId }).orderBy('position'),
    event: await db('audit_intake')
      .where({ idempotency_key: requestedEventKey(start.requestId) })
      .first(),
  };
}

it('a request is recorded with the start it is owed, the rows that reference it and its requested event', async () => {
  const start = deletionStart();
  await expect(accept(start, { categories: ['communication_records', 'business_contact'] })).resolves.toEqual({
    accepted: true,
  });

  const { request, parts, event } = await rowsOf(start);
  expect(request).toMatchObject({
    type: 'deletion',
    status: 'received',
    workflow_id: start.workflowId,
    workflow_type: 'deletionRequestWorkflow',
    workflow_args: [{ requestId: start.requestId }],
    workflow_id_reuse_policy: 'REJECT_DUPLICATE',
    workflow_started_at: null,
  });
  expect(parts.map((p) => [p.position, p.kind, p.target])).toEqual([
    [0, 'category', 'communication_records'],
    [1, 'category', 'business_contact'],
  ]);
  expect(event.event).toMatchObject({ action: 'deletion.requested', requestId: start.requestId });
});

it('when a row that references the request cannot be written, nothing of the request is: no row, no part, no event', async () => {
  const start = deletionStart();
  // Two INSERTs of parts, each valid on its own, both at position 0: the second is the write that fails.
  const failing = accept(start, {
    dependents: [
      deletionRequestParts.insertAllQuery(db, start.requestId, start.customerId, [
        { category: 'communication_records' },
      ]),
      deletionRequestParts.insertAllQuery(db, start.requestId, start.customerId, [{ category: 'business_contact' }]),
    ],
  });
  await expect(failing).rejects.toMatchObject({ code: '23505', constraint: 'deletion_request_parts_pkey' });

  const { request, parts, event } = await rowsOf(start);
  expect(request).toBeUndefined();
  expect(parts).toHaveLength(0);
  expect(event).toBeUndefined();
});

it('a second call with the same Idempotency-Key writes nothing and is answered with the first request', async () => {
  const key = `accept-test-${randomUUID()}`;
  const first = deletionStart();
  const second = deletionStart();
  await expect(accept(first, { idempotencyKey: key })).resolves.toEqual({ accepted: true });

  const answer = await accept(second, { idempotencyKey: key });
  expect(answer).toMatchObject({ accepted: false, winner: { id: first.requestId, idempotencyKey: key } });
  const { request, parts, event } = await rowsOf(second);
  expect(request).toBeUndefined();
  expect(parts).toHaveLength(0);
  expect(event).toBeUndefined();
});
