/**
 * The messages of the contract termination workflow (workflows/termination.ts) that others send to it, and what its
 * status query answers. Names and payload types only, no dependencies: the workflow, the activities and the API
 * import it.
 */

/** Query: where the termination stands ({@link TerminationStatus}); `GET /v1/requests/{id}` asks it. */
/** Update: cancel before the effective date (`DELETE /v1/customers/{id}/termination`). */
export const CANCEL_TERMINATION_UPDATE = 'cancelTermination';
/** Update: the customer acknowledged the returned data (`POST /acknowledge/{token}` or the staff API). */
export const ACKNOWLEDGE_RETURN_UPDATE = 'acknowledgeReturn';

/** Failure type: the termination can no longer be cancelled (its effective date has come). */
export const TERMINATION_NOT_CANCELLABLE = 'TerminationNotCancellable';
/** Failure type: the termination is not waiting for an acknowledgement, or the link is not the one it sent. */
export const ACKNOWLEDGEMENT_REFUSED = 'AcknowledgementNotAccepted';

export interface CancelTerminationArgs {
  /** `staff:<id>` from the token. */
  actor: string;
}
export interface CancelTerminationResult {
  cancelledAt: string;
}

export interface AcknowledgeReturnArgs {
  via: 'link' | 'api';
  /** `link:<id>` or `staff:<id>`. */
  actor: string;
  /** The acknowledgement link used (via link). */
  linkId?: string;
}
export interface AcknowledgeReturnResult {
  acknowledgedAt: string;
}

/** What happens to the data at the end. */
export type TerminationDisposition = 'delete' | 'return_then_delete';

/** The stages in order; `cancelled` and `rejected` end early. */
export const TERMINATION_STAGES = [
  'scheduled',
  'revoking-access',
  'exporting',
  'delivering',
  'awaiting-acknowledgement',
  'awaiting-approval',
  'waiting-for-legal-hold',
  'erasing',
  'verifying',
  'certifying',
  'sending-certificate',
  'completed',
] as const;
export type TerminationStage = (typeof TERMINATION_STAGES)[number] | 'cancelled' | 'rejected';

/** One stage as it ran: when it started and ended (ISO 8601). */
export interface StageRecord {
  stage: TerminationStage;
  startedAt: string;
  endedAt: string | null;
}

/** What the status query answers. */
export interface TerminationStatus {
  stage: TerminationStage;
  effectiveAt: string;
  disposition: TerminationDisposition;
  dispositionSource: 'contract' | 'privacy_officer_override';
  /** Every stage entered so far, in order, with its times. */
  stages: StageRecord[];
  /** Export progress while exporting (rows done of rows total). */
  exportProgress: { table: string; rowsDone: number; rowsTotal: number | null; estimated: boolean } | null;
  returned: {
    archiveId: string;
    rows: number;
    manifestSha256: string;
    graceEndsAt: string;
    remindersSent: number;
    closedBy: 'acknowledged' | 'grace-period-ended' | null;
  } | null;
  approval: { decision: 'approved' | 'rejected'; actor: string } | null;
  /** Active legal holds the termination waits for (count; their ids are in `GET /v1/customers/{id}/legal-holds`). */
  legalHolds: number;
  /** The erasure child (its own status query shows per-table progress; `GET /v1/requests/{id}` merges it). */
  erasureWorkflowId: string | null;
  erasure: { tables: Record<string, number>; verified: boolean } | null;
  certificateId: string | null;
  outcome: 'terminated' | 'cancelled' | 'rejected' | null;
}
