/**
 * Names and payloads of the messages the erasure workflow accepts, shared by the workflow and the API (which signals
 * it on a hold release and on a subprocessor's deletion callback). Pure module: safe to import from workflow code.
 */

/** Signal: a legal hold on the customer was released; the erasure re-checks its held categories at once. */
export const LEGAL_HOLD_RELEASED_SIGNAL = 'legalHoldReleased';
export interface LegalHoldReleased {
  holdId: string;
}

/** Signal: a subprocessor confirmed a deletion (recorded in `deletion_requests` before signalling). */
export const DELETION_CONFIRMED_SIGNAL = 'subprocessorDeletionConfirmed';
export interface DeletionConfirmed {
  deletionId: string;
  subprocessorId: string;
  /** ISO 8601 instant the confirmation was recorded. */
  confirmedAt: string;
}

/** Query: the erasure's live status (stage, categories, counts, subprocessors). */
export const ERASURE_STATUS_QUERY = 'status';
