/**
 * The messages of the access-request workflow (workflows/access-request.ts) that others send to it: the API (identity
 * confirmation, deadline extension, status) and the export activity (progress): payload types and failure types. The
 * typed definitions (names included) are in workflows/access-request.ts; senders use those, never a name as a string.
 *
 * The deadline-extension update is a contract for every request type with a legal deadline: a workflow that answers
 * `extendDeadline` with these types (and refuses with an ApplicationFailure of type {@link EXTENSION_REFUSED} whose
 * first detail names the rule) can be extended through `POST /v1/requests/{id}/extend`.
 */

/** Failure type of a refused extension; `details[0]` is an {@link ExtensionRefusal}. */
export const EXTENSION_REFUSED = 'ExtensionNotAllowed';
/** Failure type of a refused identity confirmation (the request no longer waits for it, or the link is not its own). */
export const CONFIRMATION_REFUSED = 'ConfirmationNotAccepted';

export interface ConfirmIdentityArgs {
  linkId: string;
}
export interface ConfirmIdentityResult {
  verifiedOn: string;
  /** The due date: unchanged (GDPR, CCPA) or just started (UK GDPR). */
  dueOn: string;
}

export interface ExtendDeadlineArgs {
  /**
   * Id of the reason's text in `request_texts` (sent to the requester with the notice). The words stay in the
   * database: free text may name people, so it never travels in a Temporal payload.
   */
  reasonId?: string;
  /** The reason inline: only in histories of workflows started before `reasonId`; never sent any more. */
  reason?: string;
  /** Staff member deciding it, `staff:<id>`. */
  actor: string;
}
export interface ExtendDeadlineResult {
  previousDueOn: string;
  dueOn: string;
}

/** Which rule refused an extension. */
export interface ExtensionRefusal {
  rule: 'within_original_period' | 'clock_not_started' | 'already_extended' | 'request_answered';
  /** Last day an extension was possible, when the rule is `within_original_period`. */
  originalPeriodEnd?: string;
}

/** Progress of a running export. */
export interface ExportProgress {
  table: string;
  rowsDone: number;
  /** Rows in scope: the planner's estimate for the tables not yet finished, exact once `estimated` is false. */
  rowsTotal: number;
  estimated: boolean;
  /**
   * The activity attempt reporting (from 2 on: a retry, e.g. after a heartbeat timeout, resumed from the checkpoint);
   * absent in reports of older versions.
   */
  attempt?: number;
}

export type AccessRequestStage =
  | 'received'
  | 'acknowledging'
  | 'checking-requester'
  | 'awaiting-verification'
  | 'refused'
  | 'closed-unverified'
  | 'exporting'
  | 'delivering'
  | 'delivered'
  | 'deleting-archive'
  | 'completed'
  | 'failed';

/** What the status query answers: stage, deadline, progress and outcome; ids, dates and counts only. */
export interface AccessRequestStatus {
  stage: AccessRequestStage;
  regime: 'gdpr' | 'uk_gdpr' | 'ccpa';
  scope: string;
  receivedOn: string;
  clockStarts: 'receipt' | 'identity-confirmed';
  /** The day the legal period started (receipt, or confirmation for UK GDPR); null while the clock is stopped. */
  clockStartedOn: string | null;
  dueOn: string | null;
  extension: { previousDueOn: string; dueOn: string; decidedOn: string } | null;
  verified: boolean;
  /** Rows exported so far and in total; null before the export starts. */
  progress: ExportProgress | null;
  deadline: { remindersSent: number; escalated: boolean };
  /** When the requester was answered (delivery, refusal or closure). */
  respondedOn: string | null;
  outcome: {
    result: 'delivered' | 'refused' | 'closed_unverified' | 'failed';
    archiveId?: string;
    rows?: number;
  } | null;
}
