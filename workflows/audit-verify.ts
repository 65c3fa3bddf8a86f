/**
 * The scheduled verification of the audit log, run by the Temporal Schedule `audit-verify-<task queue>`
 * (workers/schedules.ts; interval AUDIT_VERIFY_INTERVAL, overlap SKIP): one activity verifies the chain against its
 * keys and the signed checkpoints, checkpoints the head when it holds and alerts staff once per break when it does not
 * (activities/audit-integrity.ts).
 */
import { proxyActivities } from '@temporalio/workflow';
import type { AuditIntegrityActivities, AuditVerification } from '../activities/audit-integrity';
import { NON_RETRYABLE_ERROR_TYPES } from '../lib/pure/errors';

const activities = proxyActivities<AuditIntegrityActivities>({
  // A walk over the whole log: generous, and retried (it only reads, writes a checkpoint line and mails once).
  startToCloseTimeout: '30 minutes',
  retry: {
    initialInterval: '5 seconds',
    maximumInterval: '5 minutes',
    maximumAttempts: 5,
    nonRetryableErrorTypes: NON_RETRYABLE_ERROR_TYPES,
  },
});

/** Verifies the audit chain once and answers what it found. */
export async function auditVerifyWorkflow(): Promise<AuditVerification> {
  return activities.verifyAuditChain();
}
