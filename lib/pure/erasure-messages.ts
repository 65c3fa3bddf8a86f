/**
 * Payloads of the messages the erasure workflow accepts, shared by the workflow and the API (which signals it on a hold
 * release and on a subprocessor's deletion callback). The typed definitions are in workflows/erasure.ts.
 */

/** Signal payload: a legal hold on the customer was released; the erasure re-checks its held categories at once. */
export interface LegalHoldReleased {
  holdId: string;
}

/** Signal payload: a subprocessor confirmed a deletion (recorded in `deletion_requests` before signalling). */
export interface DeletionConfirmed {
  deletionId: string;
  subprocessorId: string;
  /** ISO 8601 instant the confirmation was recorded. */
  confirmedAt: string;
}
