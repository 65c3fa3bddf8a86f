/**
 * The one place that names things Temporal sees: task queues, workflow ids and search attributes.
 * Business workflow ids make every start idempotent: starting `onboarding-<customerId>` twice cannot create two runs.
 * Pure module: safe to import from workflow code.
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/** Default task queue for every workflow and activity of the service (overridable with TEMPORAL_TASK_QUEUE). */
export const DEFAULT_TASK_QUEUE = 'data-lifecycle';
/** Default namespace registered by the dev stack (overridable with TEMPORAL_NAMESPACE). */
export const DEFAULT_NAMESPACE = 'data-lifecycle';

/** Workflow id of a customer's onboarding. */
export function onboardingWorkflowId(customerId: string): string {
  return `onboarding-${customerId}`;
}

/** Workflow id of an access request (a customer may have several, one per request). */
export function accessRequestWorkflowId(requestId: string): string {
  return `access-request-${requestId}`;
}

/** Workflow id of a correction request (one per request). */
export function correctionWorkflowId(requestId: string): string {
  return `correction-${requestId}`;
}

/** Workflow id of a deletion request (a customer may have several, one per request). */
export function deletionRequestWorkflowId(requestId: string): string {
  return `deletion-request-${requestId}`;
}

/** Workflow id of a customer's long-lived retention lifecycle (one per customer, for as long as its data exists). */
export function retentionWorkflowId(customerId: string): string {
  return `retention-${customerId}`;
}

/**
 * Id of the Temporal Schedule that runs the rolling retention sweep on a task queue, and the workflow id prefix of its
 * runs (the server appends each run's scheduled time).
 */
export function retentionSweepScheduleId(taskQueue: string): string {
  return `retention-sweep-${taskQueue}`;
}

/**
 * Id of the Temporal Schedule that looks for contracts whose end date has passed on a task queue
 * (workflows/contract-end-check.ts), and the workflow id prefix of its runs.
 */
export function contractEndCheckScheduleId(taskQueue: string): string {
  return `contract-end-check-${taskQueue}`;
}

/**
 * Id of the Temporal Schedule that starts accepted requests left unstarted on a task queue
 * (workflows/request-start-reconciler.ts), and the workflow id prefix of its runs.
 */
export function requestStartReconcilerScheduleId(taskQueue: string): string {
  return `request-start-reconciler-${taskQueue}`;
}

/**
 * Id of the Temporal Schedule that verifies the audit chain and signs checkpoints on a task queue
 * (workflows/audit-verify.ts), and the workflow id prefix of its runs.
 */
export function auditVerifyScheduleId(taskQueue: string): string {
  return `audit-verify-${taskQueue}`;
}

/** `termination-<customerId>`: one contract termination at a time per customer (workflows/termination.ts). */
export function terminationWorkflowId(customerId: string): string {
  return `termination-${customerId}`;
}

/**
 * Workflow id of the erasure of one scope: `erasure-<customerId>-<scopeKey>`, with the scope key from
 * {@link erasureScopeKey}, e.g. `erasure-<customerId>-retention-3f9a0c1d2e4b5a69`.
 */
export function erasureWorkflowId(customerId: string, scopeKey: string): string {
  return `erasure-${customerId}-${scopeKey}`;
}

/**
 * `<reason>-<hash of the sorted, de-duplicated categories>` (FNV-1a 64, hex): the same scope always gives the same key,
 * whatever order the categories came in. Pure, so workflows can compute it too.
 */
export function erasureScopeKey(reason: string, categories: readonly string[]): string {
  const canonical = [...new Set(categories)].sort().join(',');
  let hash = 0xcbf29ce484222325n;
  for (let i = 0; i < canonical.length; i++) {
    hash ^= BigInt(canonical.charCodeAt(i));
    hash = (hash * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return `${reason}-${hash.toString(16).padStart(16, '0')}`;
}

/** Custom search attributes, so operators can filter the Web UI by customer, request type and stage. */
export const searchAttributes = {
  customerId: defineSearchAttributeKey('CustomerId', SearchAttributeType.KEYWORD),
  requestId: defineSearchAttributeKey('RequestId', SearchAttributeType.KEYWORD),
  requestType: defineSearchAttributeKey('RequestType', SearchAttributeType.KEYWORD),
  requestStage: defineSearchAttributeKey('RequestStage', SearchAttributeType.KEYWORD),
} as const;

/** All custom search attribute keys, for registering them with a server. */
export const ALL_SEARCH_ATTRIBUTES = Object.values(searchAttributes);
