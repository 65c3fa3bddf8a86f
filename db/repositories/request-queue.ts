/**
 * The request queue: one page of `lifecycle_requests`, most urgent first (due date, requests without one last, then
 * oldest first), with keyset paging so that page 200 costs what page 1 costs. The sort key is an expression,
 * `coalesce(due_on, 'infinity')`, indexed as such (migration 20261202107000_request_queue_index.ts).
 */
import type { Knex } from 'knex';
import type { RequestStatus, RequestType } from './lifecycle-requests';

/** Where a page ends: the sort key of its last row. Opaque to clients (base64url JSON). */
interface QueueCursor {
  /** `coalesce(due_on, 'infinity')` as PostgreSQL prints it. */
  d: string;
  /** `received_at` as PostgreSQL prints it (microseconds: a JS Date would round them away and repeat rows). */
  r: string;
  i: string;
}

export interface QueueFilter {
  status: 'open' | 'completed' | 'failed' | 'cancelled' | 'all';
  type?: RequestType;
  stage?: string;
  customerId?: string;
  cursor?: string;
  limit: number;
}

export interface QueueRow {
  id: string;
  type: RequestType;
  customerId: string;
  companyName: string | null;
  status: RequestStatus;
  stage: string;
  dueOn: string | null;
  receivedAt: Date;
  completedAt: Date | null;
  actor: string;
  workflowId: string;
}

/** A cursor that does not decode to a sort key; the route answers 400 naming `query.cursor`. */
export class InvalidCursorError extends Error {
  constructor() {
    super('is not a cursor of this list');
    this.name = 'InvalidCursorError';
  }
}

const OPEN: RequestStatus[] = ['received', 'running'];
const SORT_KEY = "coalesce(lr.due_on, 'infinity'::date)";

function encodeCursor(c: QueueCursor): string {
  return Buffer.from(JSON.stringify(c)).toString('base64url');
}

function decodeCursor(text: string): QueueCursor {
  try {
    const c = JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) as Partial<QueueCursor>;
    if (typeof c.d === 'string' && typeof c.r === 'string' && typeof c.i === 'string') return c as QueueCursor;
  } catch {
    // falls through
  }
  throw new InvalidCursorError();
}

export const requestQueue = {
  /** One page and the cursor of the next (null on the last page). */
  async page(db: Knex, f: QueueFilter): Promise<{ rows: QueueRow[]; nextCursor: string | null }> {
    const q = db('lifecycle_requests as lr')
      .leftJoin('customers as c', 'c.id', 'lr.customer_id')
      .select(
        'lr.id',
        'lr.type',
        'lr.customer_id',
        'c.company_name',
        'lr.status',
        'lr.stage',
        'lr.due_on',
        'lr.received_at',
        'lr.completed_at',
        'lr.actor',
        'lr.workflow_id',
        db.raw(`${SORT_KEY}::text as sort_due`),
        db.raw('lr.received_at::text as sort_received'),
      )
      .orderByRaw(`${SORT_KEY} asc, lr.received_at asc, lr.id asc`)
      .limit(f.limit + 1);
    // The same predicate as the partial index, so the planner can use it for the queue.
    if (f.status === 'open') void q.whereIn('lr.status', OPEN);
    else if (f.status !== 'all') void q.where('lr.status', f.status);
    if (f.type) void q.where('lr.type', f.type);
    if (f.stage) void q.where('lr.stage', f.stage);
    if (f.customerId) void q.where('lr.customer_id', f.customerId);
    if (f.cursor) {
      const c = decodeCursor(f.cursor);
      void q.whereRaw(`(${SORT_KEY}, lr.received_at, lr.id) > (?::date, ?::timestamptz, ?::uuid)`, [c.d, c.r, c.i]);
    }
    let rows: Array<Record<string, unknown>>;
    try {
      rows = (await q) as Array<Record<string, unknown>>;
    } catch (err) {
      // A well-formed cursor with values PostgreSQL cannot read (hand-made) is the client's mistake, not ours.
      if (f.cursor && /invalid input syntax|out of range/i.test((err as Error).message)) throw new InvalidCursorError();
      throw err;
    }
    const more = rows.length > f.limit;
    const page = rows.slice(0, f.limit);
    const last = page.at(-1);
    return {
      rows: page.map((r) => ({
        id: r.id as string,
        type: r.type as RequestType,
        customerId: r.customer_id as string,
        companyName: (r.company_name as string | null) ?? null,
        status: r.status as RequestStatus,
        stage: r.stage as string,
        dueOn: (r.due_on as string | null) ?? null,
        receivedAt: r.received_at as Date,
        completedAt: (r.completed_at as Date | null) ?? null,
        actor: r.actor as string,
        workflowId: r.workflow_id as string,
      })),
      nextCursor:
        more && last
          ? encodeCursor({ d: last.sort_due as string, r: last.sort_received as string, i: last.id as string })
          : null,
    };
  },
};
