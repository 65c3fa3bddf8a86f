/**
 * The messages of the correction workflow (workflows/correction.ts) that the API sends to it: the status query behind
 * `GET /v1/requests/{id}` and the update that waives a subprocessor's receipt. Names and payload types only; the typed
 * definitions (`correctionStatusQuery`, `waiveReceiptUpdate`) are in the workflow module, and the API calls them
 * through those, never by a string name. Pure: ids, states and field names only, no values.
 *
 * Identity confirmation, deadline extension and approval are the shared updates of workflows/deadline-clock.ts and
 * workflows/approval.ts.
 */

/** States a requested change goes through (`GET /v1/requests/{id}`). */
export const CORRECTION_CHANGE_STATES = [
  'pending',
  'unchanged',
  'awaiting_approval',
  'approved',
  'rejected',
  'applied',
  'conflict',
  'invalid',
] as const;
export type CorrectionChangeState = (typeof CORRECTION_CHANGE_STATES)[number];

/** Update: a privacy officer waives a subprocessor's receipt (`POST /v1/requests/{id}/receipts/{sp}/waive`). */
export const WAIVE_RECEIPT_UPDATE = 'waiveReceipt';
/** Failure type of a refused waiver; `details[0]` is a {@link WaiverRefusal}. */
export const RECEIPT_NOT_WAIVABLE = 'ReceiptNotWaivable';

export interface WaiveReceiptArgs {
  subprocessorId: string;
  /** Id of why, in `request_texts` (staff text, stored with the receipt and audited by hash; never in a payload). */
  reasonId?: string;
  /** Why, inline: only in histories of workflows started before `reasonId`; never sent any more. */
  reason?: string;
  /** `staff:<id>`, from the authenticated token. */
  actor: string;
}
export interface WaiveReceiptResult {
  subprocessorId: string;
  /** `waived`; `delivered` when the receipt came in while the waiver was being recorded. */
  status: 'waived' | 'delivered';
}
/** Why a waiver was refused. */
export interface WaiverRefusal {
  rule: 'not_a_recipient' | 'not_propagating' | 'already_delivered' | 'already_waived';
}

export type CorrectionStage =
  | 'received'
  | 'acknowledging'
  | 'checking-requester'
  | 'awaiting-verification'
  | 'refused'
  | 'closed-unverified'
  | 'awaiting-approval'
  | 'applying'
  | 'notifying'
  | 'propagating'
  | 'completed';

/** One requested change as the workflow sees it: id, kind and state, never the value. */
export interface CorrectionChangeStatus {
  changeId: string;
  index: number;
  /** The kind of change, e.g. `contact.email`. */
  change: string;
  sensitive: boolean;
  state: CorrectionChangeState;
  /** Why a change was not applied (e.g. `approval_rejected`, `changed_since_validation`). */
  rule?: string;
}

/** A subprocessor's receipt as the workflow sees it. */
export interface CorrectionReceiptStatus {
  subprocessorId: string;
  /** Affected categories this subprocessor holds. */
  categories: string[];
  status: 'pending' | 'delivered' | 'failed' | 'waived';
  /** Staff were told it keeps failing (or was refused). */
  escalated: boolean;
  alreadyDone?: boolean;
  waivedBy?: string;
}

/** What the status query answers. */
export interface CorrectionStatus {
  stage: CorrectionStage;
  regime: 'gdpr' | 'uk_gdpr' | 'ccpa';
  receivedOn: string;
  clockStarts: 'receipt' | 'identity-confirmed';
  clockStartedOn: string | null;
  dueOn: string | null;
  extension: { previousDueOn: string; dueOn: string; decidedOn: string } | null;
  verified: boolean;
  deadline: { remindersSent: number; escalated: boolean };
  respondedOn: string | null;
  changes: CorrectionChangeStatus[];
  /** The privacy officer's decision on the sensitive changes; null while none is needed or made. */
  decision: { decision: 'approved' | 'rejected' | 'expired'; actor?: string; reason?: string } | null;
  /** Whether a row changed between validation and apply, so the changes were re-validated before being applied. */
  revalidated: boolean;
  receipts: CorrectionReceiptStatus[];
  outcome: {
    result: 'corrected' | 'nothing_applied' | 'refused' | 'closed_unverified';
    applied: number;
  } | null;
}
