/**
 * The data categories the privacy policy names. Every customer-owned row carries one of these in its
 * `data_category` column, so that export, retention and erasure can select "customer x categories" uniformly.
 */
export const DATA_CATEGORIES = [
  'business_contact',
  'communication_records',
  'seller_accounts',
  'orders',
  'inventory',
  'listings',
  'workflow_records',
  'authentication_logs',
  'api_access_logs',
  'export_archives',
  'audit_log',
] as const;

/** One of {@link DATA_CATEGORIES}. */
export type DataCategory = (typeof DATA_CATEGORIES)[number];

/** Whether a string names a known data category. */
export function isDataCategory(value: string): value is DataCategory {
  return (DATA_CATEGORIES as readonly string[]).includes(value);
}
