/**
 * Access requests: what `POST /v1/customers/{id}/access-requests` and `POST /v1/requests/{id}/extend` accept, what they
 * answer, and which data categories each scope covers. Pure module (no I/O): the workflow imports the types.
 */
import { z } from 'zod';
import type { DataCategory } from '../data-categories';

/** What the requester asked for: the policy's "business contact information", its "service records", or both. */
export const AccessScope = z
  .enum(['contact_information', 'service_records', 'all'])
  .meta({ id: 'AccessScope', description: 'contact_information, service_records, or all' });
export type AccessScope = z.infer<typeof AccessScope>;

/**
 * Which data categories each scope exports, following the privacy policy's own words: business contact information is
 * "company name, contact person, email, phone, communication records"; service records are the operational data
 * ("seller account identifiers, orders, inventory, listings, workflow records") and the technical data
 * ("authentication logs, API access logs, device/browser information"). The audit log and the export archives
 * themselves are records of how requests were handled, not data held about the customer, and are not exported.
 */
const CONTACT_INFORMATION: readonly DataCategory[] = ['business_contact', 'communication_records'];
const SERVICE_RECORDS: readonly DataCategory[] = [
  'seller_accounts',
  'orders',
  'inventory',
  'listings',
  'workflow_records',
  'authentication_logs',
  'api_access_logs',
];

export const SCOPE_CATEGORIES: Readonly<Record<AccessScope, readonly DataCategory[]>> = {
  contact_information: CONTACT_INFORMATION,
  service_records: SERVICE_RECORDS,
  all: [...CONTACT_INFORMATION, ...SERVICE_RECORDS],
};

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
    status: z.literal('running'),
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
