/**
 * The data map: every table that holds something of a customer, with its category, owner column, key, and what the
 * export, the erasure, the rolling retention sweep and a termination's verification do with it. It is the one list
 * those parts read (activities/export.ts, lib/pure/erasure-plan.ts, activities/retention.ts) and the one the docs are
 * generated from (`npm run docs:data-map` writes docs/data-map.md). test/data-map.test.ts checks it against the live,
 * migrated schema: a migration that adds a table with a `customer_id` or `request_id` column fails the suite until
 * the table is mapped here, with a treatment for each process or a reason why it has none.
 *
 * Pure module: the erasure workflow imports the plan derived from it.
 */
import type { DataCategory } from './data-categories';

/** How a table's key is typed: decides how batches page through it (keyset on bigint, whole table when small). */
export type KeyType = 'bigint' | 'uuid';

/** A column of another table that points at rows of this one (a foreign key with ON DELETE SET NULL). */
export interface Reference {
  table: string;
  column: string;
  /** The category the referencing rows belong to. */
  category: DataCategory;
  keyType: KeyType;
}

/** What the access export does with a table: a CSV file in the archive, or nothing and why. */
export type ExportTreatment =
  | {
      /** Place of the table's file in the archive (ascending). */
      position: number;
      /** `small`: read in one go (a customer has a handful of rows); `bigint`: paged by key ranges. */
      paging: 'small' | 'bigint';
    }
  | { excluded: string };

/** What an erasure of the table's categories does: batched deletes in dependency order, or nothing and why. */
export type ErasureTreatment =
  | {
      /**
       * Place in dependency order (ascending): a table comes before the tables it references (orders and listings
       * before seller_accounts), so deleting never trips a foreign key.
       */
      position: number;
      keyType: KeyType;
      /**
       * References from other tables. They are nulled in short batches before rows of this table are deleted, so a
       * delete never cascades into one long transaction; a hold on the referencing category defers this table.
       */
      referencedBy?: readonly Reference[];
      /** Files that belong to each row and go with it: `<EXPORT_DIR>/<id>`, removed before the row. */
      files?: 'export-archive-directory';
    }
  | { excluded: string };

/** Who owns a row: the customer directly, or a lifecycle request of the customer. */
export type Owner = { column: 'customer_id' | 'id' } | { column: 'request_id'; via: 'lifecycle_requests' };

/** One table of the map. */
export interface CustomerTable {
  table: string;
  /** What the rows are, in a few words (rendered in docs/data-map.md). */
  holds: string;
  owner: Owner;
  /** The key column used for paging and checkpoints. */
  key: string;
  /** Categories its rows may carry in `data_category` (empty: the table has no category of its own). */
  categories: readonly DataCategory[];
  export: ExportTreatment;
  erasure: ErasureTreatment;
  /** Rolling retention sweep: the creation timestamp compared with the cutoff; null when no category of the table sweeps. */
  sweep: { timestamp: string } | null;
  /**
   * After a contract termination: `erased` means no row of the customer may remain (statutory retention apart);
   * otherwise the reason the rows are kept as evidence.
   */
  afterTermination: 'erased' | { kept: string };
}

const CUSTOMER: Owner = { column: 'customer_id' };
const CCPA_RECORDS = 'request records (CCPA regs 7101: kept at least 24 months)';

/** Every customer-owned table. Order is free; each treatment carries its own position. */
export const DATA_MAP: readonly CustomerTable[] = [
  {
    table: 'customers',
    holds: 'the customer record: company name, registration number, country, regime, status',
    owner: { column: 'id' },
    key: 'id',
    categories: ['business_contact'],
    export: { position: 1, paging: 'small' },
    erasure: { excluded: 'deleted only by a termination erasure that includes business_contact' },
    sweep: null,
    afterTermination: 'erased',
  },
  {
    table: 'contacts',
    holds: 'contact persons: name, email, phone, role',
    owner: CUSTOMER,
    key: 'id',
    categories: ['business_contact'],
    export: { position: 2, paging: 'small' },
    erasure: { position: 12, keyType: 'uuid' },
    sweep: null,
    afterTermination: 'erased',
  },
  {
    table: 'contracts',
    holds: 'contract terms and dates',
    owner: CUSTOMER,
    key: 'id',
    categories: ['business_contact'],
    export: { position: 3, paging: 'small' },
    erasure: { position: 11, keyType: 'uuid' },
    sweep: null,
    afterTermination: 'erased',
  },
  {
    table: 'customer_subprocessors',
    holds: 'which subprocessors hold the customer as a tenant, with their registration receipts',
    owner: CUSTOMER,
    key: 'subprocessor_id',
    categories: ['business_contact'],
    export: { position: 4, paging: 'small' },
    erasure: { excluded: 'the recipients list: needed to tell subprocessors; deleted with the customer record' },
    sweep: null,
    afterTermination: 'erased',
  },
  {
    table: 'communication_records',
    holds: 'emails and other communication with the customer',
    owner: CUSTOMER,
    key: 'id',
    categories: ['communication_records'],
    export: { position: 5, paging: 'bigint' },
    erasure: { position: 1, keyType: 'bigint' },
    sweep: { timestamp: 'occurred_at' },
    afterTermination: 'erased',
  },
  {
    table: 'correction_changes',
    holds: 'changes asked for by correction requests, with their new values and states',
    owner: CUSTOMER,
    key: 'id',
    // Each row carries the category of what it corrects (contacts and company fields, or seller accounts).
    categories: ['business_contact', 'seller_accounts'],
    export: { position: 13, paging: 'small' },
    // No foreign key to the rows it corrects: it can go first.
    erasure: { position: 0, keyType: 'uuid' },
    sweep: null,
    afterTermination: 'erased',
  },
  {
    table: 'correction_receipts',
    holds: 'which subprocessors were told of a correction, with their receipts or waivers',
    owner: CUSTOMER,
    key: 'request_id',
    categories: [],
    export: { excluded: 'records of how requests were handled' },
    erasure: { excluded: 'evidence that subprocessors were told of corrections (GDPR Art. 19): ids, receipts' },
    sweep: null,
    afterTermination: { kept: 'evidence that subprocessors were told of corrections (GDPR Art. 19)' },
  },
  {
    table: 'seller_accounts',
    holds: 'marketplace seller account identifiers',
    owner: CUSTOMER,
    key: 'id',
    categories: ['seller_accounts'],
    export: { position: 6, paging: 'small' },
    erasure: {
      position: 8,
      keyType: 'uuid',
      referencedBy: [
        { table: 'orders', column: 'seller_account_id', category: 'orders', keyType: 'bigint' },
        { table: 'listings', column: 'seller_account_id', category: 'listings', keyType: 'bigint' },
      ],
    },
    sweep: null,
    afterTermination: 'erased',
  },
  {
    table: 'orders',
    holds: 'orders (invoiced ones are accounting records under statutory retention)',
    owner: CUSTOMER,
    key: 'id',
    categories: ['orders'],
    export: { position: 7, paging: 'bigint' },
    erasure: { position: 4, keyType: 'bigint' },
    sweep: { timestamp: 'created_at' },
    afterTermination: 'erased',
  },
  {
    table: 'inventory_items',
    holds: 'inventory',
    owner: CUSTOMER,
    key: 'id',
    categories: ['inventory'],
    export: { position: 8, paging: 'bigint' },
    erasure: { position: 6, keyType: 'bigint' },
    sweep: { timestamp: 'created_at' },
    afterTermination: 'erased',
  },
  {
    table: 'listings',
    holds: 'marketplace listings',
    owner: CUSTOMER,
    key: 'id',
    categories: ['listings'],
    export: { position: 9, paging: 'bigint' },
    erasure: { position: 5, keyType: 'bigint' },
    sweep: { timestamp: 'created_at' },
    afterTermination: 'erased',
  },
  {
    table: 'workflow_records',
    holds: "records of the customer's own workflows in the product",
    owner: CUSTOMER,
    key: 'id',
    categories: ['workflow_records'],
    export: { position: 10, paging: 'bigint' },
    erasure: { position: 7, keyType: 'bigint' },
    sweep: { timestamp: 'created_at' },
    afterTermination: 'erased',
  },
  {
    table: 'authentication_logs',
    holds: 'sign-in events, device and browser information',
    owner: CUSTOMER,
    key: 'id',
    categories: ['authentication_logs'],
    export: { position: 11, paging: 'bigint' },
    erasure: { position: 2, keyType: 'bigint' },
    sweep: { timestamp: 'occurred_at' },
    afterTermination: 'erased',
  },
  {
    table: 'api_access_logs',
    holds: 'API calls made with the customer’s credentials',
    owner: CUSTOMER,
    key: 'id',
    categories: ['api_access_logs'],
    export: { position: 12, paging: 'bigint' },
    erasure: { position: 3, keyType: 'bigint' },
    sweep: { timestamp: 'occurred_at' },
    afterTermination: 'erased',
  },
  {
    table: 'public_links',
    holds: 'signed verification and download links (ids and expiry, no secret)',
    owner: CUSTOMER,
    key: 'id',
    categories: ['export_archives'],
    export: { excluded: 'how requests were handled, not data held about the customer' },
    erasure: { position: 9, keyType: 'uuid' },
    sweep: null,
    afterTermination: 'erased',
  },
  {
    table: 'export_archives',
    holds: 'access-request archives (the row and its directory of files under EXPORT_DIR)',
    owner: CUSTOMER,
    key: 'id',
    categories: ['export_archives'],
    export: { excluded: 'the archives themselves: an export never contains earlier exports' },
    erasure: { position: 10, keyType: 'uuid', files: 'export-archive-directory' },
    sweep: null,
    afterTermination: 'erased',
  },
  {
    table: 'audit_events',
    holds: 'the hash-chained audit log',
    owner: CUSTOMER,
    key: 'id',
    categories: ['audit_log'],
    export: { excluded: 'records of how requests were handled, not data held about the customer' },
    erasure: { excluded: 'the audit log: purged by the audit module on its own retention (category audit_log)' },
    sweep: null,
    afterTermination: { kept: 'evidence: purged on the audit log retention, never by an erasure' },
  },
  {
    table: 'lifecycle_requests',
    holds: "the customer's requests (type, stage, dates, outcome; the requester's address in the payload)",
    owner: CUSTOMER,
    key: 'id',
    categories: [],
    export: { excluded: 'records of how requests were handled' },
    erasure: { excluded: 'request records outlive the erasure (CCPA regs 7101: kept at least 24 months)' },
    sweep: null,
    afterTermination: { kept: CCPA_RECORDS },
  },
  {
    table: 'request_notifications',
    holds: 'emails sent for a request: kind, recipient, Message-ID',
    owner: { column: 'request_id', via: 'lifecycle_requests' },
    key: 'id',
    categories: [],
    export: { excluded: 'records of how requests were handled' },
    erasure: { excluded: 'part of the request record (CCPA regs 7101)' },
    sweep: null,
    afterTermination: { kept: CCPA_RECORDS },
  },
  {
    table: 'request_extensions',
    holds: 'deadline extensions of a request, with their reasons',
    owner: { column: 'request_id', via: 'lifecycle_requests' },
    key: 'id',
    categories: [],
    export: { excluded: 'records of how requests were handled' },
    erasure: { excluded: 'part of the request record (GDPR Art. 12(3): the extension and its notice are evidence)' },
    sweep: null,
    afterTermination: { kept: CCPA_RECORDS },
  },
  {
    table: 'request_texts',
    holds: 'free text staff gave for decisions about a request (extension and waiver reasons); workflows carry its id',
    owner: { column: 'request_id', via: 'lifecycle_requests' },
    key: 'id',
    categories: [],
    export: { excluded: 'records of how requests were handled' },
    erasure: { excluded: 'part of the request record (the reasons given are evidence of how it was handled)' },
    sweep: null,
    afterTermination: { kept: CCPA_RECORDS },
  },
  {
    table: 'legal_holds',
    holds: 'legal holds: scope, who placed and released them, reasons',
    owner: CUSTOMER,
    key: 'id',
    categories: [],
    export: { excluded: 'kept from the customer while a hold applies (litigation, regulator, investigation)' },
    erasure: { excluded: 'evidence of holds (reasons, who placed and released them); no customer data beyond the id' },
    sweep: null,
    afterTermination: { kept: 'evidence of holds and their releases' },
  },
  {
    table: 'erasures',
    holds: 'erasures: scope, per-table counts, policy versions, receipts',
    owner: CUSTOMER,
    key: 'id',
    categories: [],
    export: { excluded: 'records of how requests were handled' },
    erasure: { excluded: 'evidence of erasures: ids, counts, policy versions' },
    sweep: null,
    afterTermination: { kept: 'evidence of the erasure: ids and counts only' },
  },
  {
    table: 'deletion_requests',
    holds: 'deletion requests sent to subprocessors and their receipts',
    owner: CUSTOMER,
    key: 'id',
    categories: [],
    export: { excluded: 'records of how requests were handled' },
    erasure: { excluded: 'evidence of subprocessor deletions: ids, receipts' },
    sweep: null,
    afterTermination: { kept: 'evidence of subprocessor deletions: ids and receipts' },
  },
  {
    table: 'deletion_request_parts',
    holds: 'parts of customer deletion requests and the decision on each: ids, categories, rules, dates',
    owner: CUSTOMER,
    key: 'position',
    categories: [],
    export: { excluded: 'records of how requests were handled' },
    erasure: { excluded: 'evidence of customer deletion requests: parts, decisions and rules (ids and categories)' },
    sweep: null,
    afterTermination: { kept: CCPA_RECORDS },
  },
  {
    table: 'customer_lifecycle_dates',
    holds: 'customer since, contract start and end dates: the clock of the contract-end retention deadlines',
    owner: CUSTOMER,
    key: 'customer_id',
    categories: [],
    export: { excluded: 'a copy of dates the contract row already exports' },
    erasure: {
      excluded:
        'evidence of the dates that drive the remaining retention deadlines; deleted by the retention lifecycle when ' +
        'the last contract-end category is erased, and by the termination with the customer record',
    },
    sweep: null,
    afterTermination: 'erased',
  },
  {
    table: 'certificates',
    holds: 'signed deletion certificates: ids, counts, dates and hashes (no personal data)',
    owner: CUSTOMER,
    key: 'id',
    categories: [],
    export: { excluded: 'records of how requests were handled' },
    erasure: { excluded: 'the evidence that outlives the data it certifies' },
    sweep: null,
    afterTermination: { kept: 'the deletion certificate itself' },
  },
  {
    table: 'termination_recipients',
    holds: "the primary contact's address, encrypted, captured before a termination's erasure",
    owner: CUSTOMER,
    key: 'request_id',
    categories: [],
    export: { excluded: 'a delivery address of the certificate, not data held for the service' },
    erasure: { excluded: 'needed after the erasure to send the certificate; deleted once it was sent' },
    sweep: null,
    afterTermination: { kept: 'only until the certificate is sent, then deleted (the test checks it is gone)' },
  },
];

/** The map's entry for `table`. @throws RangeError for a table the map does not know. */
export function customerTable(table: string): CustomerTable {
  const entry = DATA_MAP.find((t) => t.table === table);
  if (!entry) throw new RangeError(`table ${table} is not in the data map (lib/pure/data-map.ts)`);
  return entry;
}

/** Tables an erasure deletes from, in dependency order, with their erasure treatment. */
export function erasureOrder(): (CustomerTable & { erasure: Extract<ErasureTreatment, { position: number }> })[] {
  return DATA_MAP.filter(
    (t): t is CustomerTable & { erasure: Extract<ErasureTreatment, { position: number }> } => 'position' in t.erasure,
  ).sort((a, b) => a.erasure.position - b.erasure.position);
}

/** Tables the access export writes, in archive order, with their export treatment. */
export function exportOrder(): (CustomerTable & { export: Extract<ExportTreatment, { position: number }> })[] {
  return DATA_MAP.filter(
    (t): t is CustomerTable & { export: Extract<ExportTreatment, { position: number }> } => 'position' in t.export,
  ).sort((a, b) => a.export.position - b.export.position);
}

/** The table and timestamp the rolling sweep deletes from for each category that runs on the record_creation clock. */
export function sweepTables(): Partial<Record<DataCategory, { table: string; timestamp: string }>> {
  const out: Partial<Record<DataCategory, { table: string; timestamp: string }>> = {};
  for (const t of DATA_MAP) {
    if (!t.sweep) continue;
    for (const c of t.categories) out[c] = { table: t.table, timestamp: t.sweep.timestamp };
  }
  return out;
}
