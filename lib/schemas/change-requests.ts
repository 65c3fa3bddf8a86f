/** Change requests (README "Approvals"): the schemas of their routes, which also generate the OpenAPI document. */
import { z } from 'zod';

/** `{changeId}` of `/v1/change-requests/{changeId}/...`. */
export const ChangeIdParam = z.strictObject({ changeId: z.uuid() });

export const CHANGE_STATUSES = ['pending', 'applied', 'rejected', 'expired', 'superseded'] as const;

/** `GET /v1/change-requests?status=pending&limit=50`. */
export const ChangeRequestListQuery = z.strictObject({
  status: z.enum(CHANGE_STATUSES).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});

/** A change request as the API answers it. */
export const ChangeRequestView = z
  .object({
    id: z.uuid(),
    kind: z.enum(['contract_end', 'retention_policy', 'subprocessor']),
    subject: z.object({ type: z.string(), id: z.string() }),
    summary: z.record(z.string(), z.unknown()).meta({ description: 'What changes, from and to (never a secret)' }),
    status: z.enum(CHANGE_STATUSES),
    requestedBy: z.string(),
    requestedAt: z.string(),
    expiresAt: z
      .string()
      .meta({ description: 'After this the change can no longer be approved (CHANGE_APPROVAL_TIMEOUT)' }),
    decidedBy: z.string().nullable(),
    decidedAt: z.string().nullable(),
    decisionReason: z.string().nullable(),
    outcome: z.record(z.string(), z.unknown()).nullable(),
    decidedWith: z.string().meta({ description: 'The permission a second staff member needs to decide it' }),
    links: z.object({ self: z.string(), approve: z.string(), reject: z.string() }),
  })
  .meta({ id: 'ChangeRequest' });

/** The 202 answer of a change that waits for a second person. */
export const PendingChangeAnswer = z
  .object({ status: z.literal('pending_approval'), changeRequest: ChangeRequestView })
  .meta({ id: 'PendingChange' });
