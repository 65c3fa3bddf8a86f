/**
 * Four-eyes approval, enforced inside the workflow: whoever asked for a process can never be the one who approves
 * it, whatever route or client sends the decision. Decisions arrive as Temporal updates whose validators refuse a
 * self-approval, a second decision, or a decision before one is asked for; a refused update never enters history.
 */
import type { Duration } from '@temporalio/common';
import { ApplicationFailure, condition, defineUpdate, setHandler } from '@temporalio/workflow';

/** Who decides and why. `actor` is `staff:<id>`, set by the API from the authenticated token, never from the body. */
export interface DecisionInput {
  actor: string;
  reason?: string;
}

/** A decision as the workflow recorded it. */
export interface DecisionRecord {
  decision: 'approved' | 'rejected';
  actor: string;
  reason?: string;
}

/** Failure types the validators use; the API maps them to 403 / 409. */
export const FOUR_EYES_VIOLATION = 'FourEyesViolation';
export const NOT_AWAITING_DECISION = 'NotAwaitingDecision';

export const approveUpdate = defineUpdate<DecisionRecord, [DecisionInput]>('approve');
export const rejectUpdate = defineUpdate<DecisionRecord, [DecisionInput]>('reject');

/** The gate a workflow opens when it needs a second person's decision. */
export interface ApprovalGate {
  /** Opens the gate and waits up to `timeout` for a decision; undefined when none came in time. */
  waitForDecision(timeout: Duration): Promise<DecisionRecord | undefined>;
  /** The decision, once made. */
  readonly decision: DecisionRecord | undefined;
}

/**
 * Installs the approve/reject update handlers for a process requested by `requestedBy`. Call once, early in the
 * workflow (before any await), so that decisions sent at any time are validated by the same rules.
 */
export function installApprovalGate(requestedBy: string): ApprovalGate {
  let open = false;
  let decision: DecisionRecord | undefined;

  const validate = (input: DecisionInput): void => {
    if (!open || decision) {
      throw ApplicationFailure.nonRetryable(
        decision ? `already ${decision.decision}` : 'this request is not awaiting a decision',
        NOT_AWAITING_DECISION,
      );
    }
    if (input.actor === requestedBy) {
      throw ApplicationFailure.nonRetryable(
        'four-eyes rule: the approver must be a different person from the requester',
        FOUR_EYES_VIOLATION,
      );
    }
  };
  const decide =
    (kind: DecisionRecord['decision']) =>
    (input: DecisionInput): DecisionRecord => {
      decision = { decision: kind, actor: input.actor, reason: input.reason };
      return decision;
    };
  setHandler(approveUpdate, decide('approved'), { validator: validate });
  setHandler(rejectUpdate, decide('rejected'), { validator: validate });

  return {
    async waitForDecision(timeout) {
      open = true;
      await condition(() => decision !== undefined, timeout);
      open = decision === undefined ? false : open;
      return decision;
    },
    get decision() {
      return decision;
    },
  };
}
