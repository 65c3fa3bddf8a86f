// @ts-check
/**
 * The data categories of the privacy policy, as `lib/pure/data-categories.ts` lists them (the browser cannot import
 * that module; test/console-api.test.ts checks that the two lists are the same).
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
];
