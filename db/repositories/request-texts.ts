/**
 * Free text staff give for a decision about a request (db/migrations/20261202103000_request_texts.ts). The API records
 * it and hands the workflow the id; activities read the words back by id, so the text never enters a Temporal payload.
 */
import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';

/** What a text is the reason for. */
export type RequestTextKind = 'extension_reason' | 'waiver_reason';

/** A recorded text as the API shows it. */
export interface RequestText {
  id: string;
  requestId: string;
  kind: RequestTextKind;
  text: string;
  actor: string;
  createdAt: Date;
}

interface RequestTextRow {
  id: string;
  request_id: string;
  kind: RequestTextKind;
  text: string;
  actor: string;
  created_at: Date;
}

const fromRow = (row: RequestTextRow): RequestText => ({
  id: row.id,
  requestId: row.request_id,
  kind: row.kind,
  text: row.text,
  actor: row.actor,
  createdAt: row.created_at,
});

/**
 * Raised when an activity is handed the id of a text that does not exist. The API records a text before it hands the
 * id to a workflow and removes it only after a definite refusal, so this means a bug or a restored backup.
 */
export class RequestTextNotFoundError extends Error {
  override name = 'RequestTextNotFoundError';
}

export const requestTexts = {
  /** Records `text` and answers its id. */
  async record(
    db: Knex,
    input: { requestId: string; kind: RequestTextKind; text: string; actor: string },
  ): Promise<string> {
    const id = randomUUID();
    await db('request_texts').insert({
      id,
      request_id: input.requestId,
      kind: input.kind,
      text: input.text,
      actor: input.actor,
    });
    return id;
  },

  /** Removes a text whose decision was refused (so the request does not show a reason for what did not happen). */
  async remove(db: Knex, id: string): Promise<void> {
    await db('request_texts').where({ id }).delete();
  },

  /** The words of text `id`, of `requestId`. @throws RequestTextNotFoundError */
  async textOf(db: Knex, requestId: string, id: string): Promise<string> {
    const row = await db<RequestTextRow>('request_texts').where({ id, request_id: requestId }).first('text');
    if (!row) throw new RequestTextNotFoundError(`no text ${id} for request ${requestId}`);
    return row.text;
  },

  /** Every text of a request, oldest first. */
  async list(db: Knex, requestId: string): Promise<RequestText[]> {
    const rows = await db<RequestTextRow>('request_texts').where({ request_id: requestId }).orderBy('created_at');
    return rows.map(fromRow);
  },
};

/**
 * The words of a reason handed to an activity: by reference (`reasonId`, current workflows) or inline (`reason`,
 * workflows started before references, still replaying their histories).
 */
export async function reasonText(
  db: Knex,
  requestId: string,
  ref: { reason?: string; reasonId?: string },
): Promise<string> {
  if (ref.reasonId) return requestTexts.textOf(db, requestId, ref.reasonId);
  if (ref.reason !== undefined) return ref.reason;
  throw new RequestTextNotFoundError(`request ${requestId}: neither a reason nor a reason id was given`);
}
