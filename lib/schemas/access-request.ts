/**
 * Access requests: what `POST /v1/customers/{id}/access-requests` and `POST /v1/requests/{id}/extend` accept, what they
 * answer. The scopes themselves and their categories are in lib/pure/access-scope.ts.
 */
import { z } from 'zod';
import { ACCESS_SCOPES } from '../pure/access-scope';

/** What the requester asked for: the policy's "business contact information", its "service records", or both. */
export const AccessScope = z
  .enum(ACCESS_SCOPES)
  .meta({ id: 'AccessScope', description: 'contact_information, service_records, or all' });

/** Body of `POST /v1/customers/{id}/access-requests`. */
export const AccessRequestInput = z
  .strictObject({
    requesterEmail: z
      .email()
      .max(254)
      .meta({ description: 'Address the request came from; only a registered contact of the customer is served' }),
    scope: AccessScope,
    privacyRegime: z
      .enum(['gdpr', 'uk_gdpr', 'ccpa'])
      .optional()
      .meta({ description: "Overrides the customer's regime (e.g. a Californian contact of an EU customer)" }),
  })
  .meta({ id: 'AccessRequestInput' });
export type AccessRequestInput = z.infer<typeof AccessRequestInput>;

/** What an access request's lifecycle record keeps until the requester's address is no longer needed. */
export const AccessRequestPayload = z.object({
  requesterEmail: z.string(),
  scope: AccessScope,
});
export type AccessRequestPayload = z.infer<typeof AccessRequestPayload>;

/** Answer of `POST /v1/customers/{id}/access-requests` (the same shape whether or not the customer exists). */
export const AccessRequestStarted = z
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
    dueOn: z.iso
      .date()
      .nullable()
      .meta({ description: 'Null while the clock is stopped (UK GDPR: it starts at identity confirmation)' }),
    clockStarts: z.enum(['receipt', 'identity-confirmed']),
    replayed: z.boolean(),
    links: z.object({ request: z.string() }),
  })
  .meta({ id: 'AccessRequestStarted' });

/** Body of `POST /v1/requests/{requestId}/extend`. */
export const ExtendDeadlineInput = z
  .strictObject({
    reason: z
      .string()
      .trim()
      .min(10)
      .max(2000)
      .meta({ description: 'Why more time is needed (complexity, number of requests); sent to the requester' }),
  })
  .meta({ id: 'ExtendDeadlineInput' });
export type ExtendDeadlineInput = z.infer<typeof ExtendDeadlineInput>;

/** Answer of `POST /v1/requests/{requestId}/extend`. */
export const DeadlineExtended = z
  .object({ requestId: z.uuid(), previousDueOn: z.iso.date(), dueOn: z.iso.date() })
  .meta({ id: 'DeadlineExtended' });

/** `{token}` of the public links. Its signature is checked by lib/signed-links.ts. */
export const PublicLinkParam = z.strictObject({ token: z.string().min(1).max(512) });
