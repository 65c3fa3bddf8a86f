/**
 * The scopes of an access request and the data categories each covers. Pure module: the access-request workflow, the
 * export activity and the request schema (lib/schemas/access-request.ts) all read it.
 */
import type { DataCategory } from './data-categories';

/** What the requester asked for: the policy's "business contact information", its "service records", or both. */
export const ACCESS_SCOPES = ['contact_information', 'service_records', 'all'] as const;
export type AccessScope = (typeof ACCESS_SCOPES)[number];

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
