/**
 * Store for `deletion_request_parts`: the parts of a customer's deletion request and the decision on each
 * (migration 20261202004100). Not to be confused with `deletion_requests` (db/repositories/deletion-requests.ts), the
 * deletions an erasure sends to subprocessors.
 */
import type { Knex } from 'knex';
import {
  partKey,
  type DeletionPart,
  type DeletionPartDecision,
  type DeletionRefusalRule,
} from '../../lib/pure/deletion-parts';

type Db = Knex | Knex.Transaction;

/** A part as recorded: its decision once taken, and when a granted part was erased. */
export interface RecordedDeletionPart {
  position: number;
  kind: DeletionPartDecision['kind'];
  target: string;
  decision: 'pending' | 'granted' | 'refused';
  rule: DeletionRefusalRule | null;
  reason: string | null;
  retainUntil: Date | null;
  details: Record<string, unknown> | null;
  decidedAt: Date | null;
  erasedAt: Date | null;
}

interface PartRow {
  position: number;
  kind: DeletionPartDecision['kind'];
  target: string;
  decision: 'pending' | 'granted' | 'refused';
  rule: DeletionRefusalRule | null;
  reason: string | null;
  retain_until: Date | null;
  details: Record<string, unknown> | null;
  decided_at: Date | null;
  erased_at: Date | null;
}

function toPart(row: PartRow): RecordedDeletionPart {
  return {
    position: row.position,
    kind: row.kind,
    target: row.target,
    decision: row.decision,
    rule: row.rule,
    reason: row.reason,
    retainUntil: row.retain_until,
    details: row.details,
    decidedAt: row.decided_at,
    erasedAt: row.erased_at,
  };
}

export const deletionRequestParts = {
  /**
   * The INSERT of a new request's parts, undecided, not yet run: a part of the statement that accepts the request
   * (api/use-cases/start-request-workflow.ts `acceptRequest`).
   */
  insertAllQuery(db: Db, requestId: string, customerId: string, parts: readonly DeletionPart[]): Knex.QueryBuilder {
    return db('deletion_request_parts').insert(
      parts.map((part, position) => {
        const [kind, target] = partKey(part).split(/:(.*)/s) as [string, string];
        return { request_id: requestId, position, customer_id: customerId, kind, target };
      }),
    );
  },

  async list(db: Db, requestId: string): Promise<RecordedDeletionPart[]> {
    const rows = (await db('deletion_request_parts').where({ request_id: requestId }).orderBy('position')) as PartRow[];
    return rows.map(toPart);
  },

  /** Records the decisions; parts decided already keep their first decision. Returns how many were decided now. */
  async decide(db: Db, requestId: string, decisions: readonly DeletionPartDecision[]): Promise<number> {
    let decided = 0;
    for (const d of decisions) {
      decided += await db('deletion_request_parts')
        .where({ request_id: requestId, position: d.position, decision: 'pending' })
        .update({
          decision: d.decision,
          rule: d.rule ?? null,
          reason: d.reason,
          retain_until: d.retainUntil ?? null,
          details: d.details ? JSON.stringify(d.details) : null,
          decided_at: db.fn.now(),
        });
    }
    return decided;
  },

  /** Marks the granted parts of a request erased by `erasureWorkflowId`. */
  async markErased(db: Db, requestId: string, erasureWorkflowId: string): Promise<number> {
    return db('deletion_request_parts')
      .where({ request_id: requestId, decision: 'granted' })
      .whereNull('erased_at')
      .update({ erased_at: db.fn.now(), erasure_workflow_id: erasureWorkflowId });
  },
};
