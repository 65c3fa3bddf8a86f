/**
 * Test-only workflow (bundled into the test worker, never into production): opens the approval gate for a request and
 * returns the decision, so the four-eyes rule can be exercised before any business process needs it.
 */
import { installApprovalGate, type DecisionRecord } from '../../workflows/approval';

export async function fourEyesProbeWorkflow(input: {
  requestedBy: string;
  timeoutMs: number;
}): Promise<DecisionRecord | null> {
  const gate = installApprovalGate(input.requestedBy);
  return (await gate.waitForDecision(input.timeoutMs)) ?? null;
}
