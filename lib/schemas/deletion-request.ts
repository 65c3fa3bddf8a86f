/**
 * Deletion requests: what `POST /v1/customers/{id}/deletion-requests` accepts and answers. Pure module (no I/O): the
 * workflow imports the types.
 */
import { z } from 'zod';
import { DATA_CATEGORIES } from '../pure/data-categories';
import { partKey } from '../pure/deletion-parts';

/** One thing the requester asks to delete: a whole data category, one contact, or one seller account. */
export const DeletionPart = z
  .union([
    z.strictObject({ category: z.enum(DATA_CATEGORIES).meta({ description: 'A whole data category' }) }),
    z.strictObject({ contactId: z.uuid().meta({ description: 'One registered contact of the customer' }) }),
    z.strictObject({ sellerAccountId: z.uuid().meta({ description: 'One seller account of the customer' }) }),
  ])
  .meta({ id: 'DeletionPart', description: 'Exactly one of category, contactId, sellerAccountId' });
/** Body of `POST /v1/customers/{id}/deletion-requests`. */
export const DeletionRequestInput = z
  .strictObject({
    requesterEmail: z
      .email()
      .max(254)
      .meta({ description: 'Address the request came from; only a registered contact of the customer is served' }),
    parts: z
      .array(DeletionPart)
      .min(1)
      .max(50)
      .superRefine((parts, ctx) => {
        const seen = new Set<string>();
        parts.forEach((part, i) => {
          const key = partKey(part);
          if (seen.has(key)) ctx.addIssue({ code: 'custom', path: [i], message: `repeats an earlier part (${key})` });
          seen.add(key);
        });
      })
      .meta({ description: 'What to delete; each part is granted or refused on its own, with the reason' }),
    privacyRegime: z
      .enum(['gdpr', 'uk_gdpr', 'ccpa'])
      .optional()
      .meta({ description: "Overrides the customer's regime (e.g. a Californian contact of an EU customer)" }),
  })
  .meta({ id: 'DeletionRequestInput' });
export type DeletionRequestInput = z.infer<typeof DeletionRequestInput>;

/** What a deletion request's lifecycle record keeps until the requester's address is no longer needed. */
export const DeletionRequestPayload = z.object({ requesterEmail: z.string() });

/** Answer of `POST /v1/customers/{id}/deletion-requests`. */
export const DeletionRequestStarted = z
  .object({
    requestId: z.uuid(),
    workflowId: z.string(),
    status: z
      .enum(['received', 'running', 'completed', 'failed', 'cancelled'])
      .describe(
        '`running` once the workflow started; `received` while its start is owed (Temporal unavailable: the start reconciler starts it); a replayed Idempotency-Key answers the current status',
      ),
    privacyRegime: z.enum(['gdpr', 'uk_gdpr', 'ccpa']),
    receivedOn: z.iso.date(),
    dueOn: z.iso.date().nullable().meta({ description: 'Null while the clock is stopped (UK GDPR)' }),
    clockStarts: z.enum(['receipt', 'identity-confirmed']),
    parts: z.array(DeletionPart),
    replayed: z.boolean(),
    links: z.object({ request: z.string() }),
  })
  .meta({ id: 'DeletionRequestStarted' });
