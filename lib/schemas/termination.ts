/** Request and response bodies of the termination routes (api/routes/termination.ts); also the OpenAPI schemas. */
import { z } from 'zod';
import { isoInstant } from './dates';

/** How far ahead a termination may be scheduled: beyond that it is a contract change, not a termination. */
export const MAX_SCHEDULE_AHEAD_DAYS = 730;

export const TerminationInput = z
  .strictObject({
    effectiveAt: isoInstant()
      .optional()
      .meta({ description: 'When the termination takes effect (ISO 8601 instant); default now. Past means now.' }),
    reason: z
      .string()
      .trim()
      .min(1)
      .max(2000)
      .meta({ description: 'Why; stored only as a SHA-256 hash in the audit log (free text may name people)' }),
    disposition: z.enum(['delete', 'return_then_delete']).optional().meta({
      description: "Overrides the contract's termination disposition; only a privacy officer may set it",
    }),
  })
  .meta({ id: 'TerminationInput' });
export type TerminationInput = z.infer<typeof TerminationInput>;

export const TerminationStarted = z
  .object({
    requestId: z.uuid(),
    customerId: z.uuid(),
    workflowId: z.string(),
    effectiveAt: z.string(),
    disposition: z.enum(['delete', 'return_then_delete']),
    dispositionSource: z.enum(['contract', 'privacy_officer_override']),
    status: z
      .enum(['received', 'running', 'completed', 'failed', 'cancelled'])
      .describe(
        '`running` once the workflow started; `received` while its start is owed (Temporal unavailable: the start reconciler starts it); a replayed Idempotency-Key answers the current status',
      ),
    links: z.object({ request: z.string() }),
  })
  .meta({ id: 'TerminationStarted' });
