/**
 * A decision that comes with free text (an extension's reason, a waiver's reason): the words are recorded in
 * `request_texts` first and the workflow is handed only their id, so staff text (which may name people) never enters a
 * Temporal payload or history. A definite refusal (4xx) removes the text again, so the request never shows a reason
 * for a decision that did not happen; an unknown outcome (503: not confirmed in time) keeps it for the workflow.
 */
import type { Knex } from 'knex';
import { requestTexts, type RequestTextKind } from '../../db/repositories/request-texts';
import { HttpProblem } from '../problem';

/** Records `text` for `requestId`, then runs `send` with its id; see the module comment for refusals. */
export async function withRecordedReason<T>(
  db: Knex,
  text: { requestId: string; kind: RequestTextKind; text: string; actor: string },
  send: (reasonId: string) => Promise<T>,
): Promise<T> {
  const reasonId = await requestTexts.record(db, text);
  try {
    return await send(reasonId);
  } catch (err) {
    if (err instanceof HttpProblem && err.status >= 400 && err.status < 500) await requestTexts.remove(db, reasonId);
    throw err;
  }
}
