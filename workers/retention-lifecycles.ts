/**
 * Starts the per-customer retention lifecycle (`retention-<customerId>`, workflows/retention.ts) for customers that
 * have none. Onboarding starts it for customers onboarded through the API; customers written straight into the database
 * (the demo seed, an import) would otherwise have no lifecycle until their contract changes. Idempotent: a running
 * lifecycle is kept (id conflict policy USE_EXISTING), so the dev stack can call this at every start.
 */
import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import type { Knex } from 'knex';
import { retentionWorkflowId, searchAttributes } from '../lib/pure/temporal-ids';
import type { retentionWorkflow } from '../workflows/retention';

/** What {@link ensureRetentionLifecycles} did. */
export interface EnsuredLifecycles {
  /** Customers that now have a running lifecycle (active ones, or those asked for). */
  customers: number;
}

/**
 * Makes sure every active customer (or each of `customerIds`) has a running retention lifecycle on `taskQueue`.
 */
export async function ensureRetentionLifecycles(
  db: Knex,
  client: Client,
  taskQueue: string,
  customerIds?: string[],
): Promise<EnsuredLifecycles> {
  const query = db('customers').where({ status: 'active' }).select<{ id: string }[]>('id');
  const rows = customerIds ? await query.whereIn('id', customerIds) : await query;
  for (const { id: customerId } of rows) {
    try {
      await client.workflow.start<typeof retentionWorkflow>('retentionWorkflow', {
        workflowId: retentionWorkflowId(customerId),
        taskQueue,
        args: [{ customerId }],
        workflowIdConflictPolicy: 'USE_EXISTING',
        typedSearchAttributes: [{ key: searchAttributes.customerId, value: customerId }],
      });
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    }
  }
  return { customers: rows.length };
}
