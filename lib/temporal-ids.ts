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

/** Custom search attributes, so operators can filter the Web UI by customer, request type and stage. */
export const searchAttributes = {
  customerId: defineSearchAttributeKey('CustomerId', SearchAttributeType.KEYWORD),
  requestId: defineSearchAttributeKey('RequestId', SearchAttributeType.KEYWORD),
  requestType: defineSearchAttributeKey('RequestType', SearchAttributeType.KEYWORD),
  requestStage: defineSearchAttributeKey('RequestStage', SearchAttributeType.KEYWORD),
} as const;

/** All custom search attribute keys, for registering them with a server. */
export const ALL_SEARCH_ATTRIBUTES = Object.values(searchAttributes);
