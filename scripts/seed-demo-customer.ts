/**
 * Loads one realistic demo customer with a configurable volume of operational, technical and communication rows, so
 * that export, retention and erasure have something measurable to work on (benchmarks seed millions of rows).
 *
 * Speed comes from letting PostgreSQL generate the bulk rows itself: every chunk is one
 * `INSERT ... SELECT ... FROM generate_series(from, to)` statement, so Node sends a few hundred bytes per chunk
 * instead of one row per round trip. Values are derived from a hash of the row number rather than `random()`, so a
 * given size always produces the same data (stable benchmark inputs) while still looking varied.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { auditEvents } from '../db/repositories/audit-events';

/** What to seed. Only `operationalRows` is required. */
export interface SeedOptions {
  /**
   * Total operational rows across orders, inventory_items, listings and workflow_records, split roughly
   * 50/20/25/5 (the remainder goes to workflow_records so the total is exact).
   */
  operationalRows: number;
  /** authentication_logs + api_access_logs (split 30/70). Default: `operationalRows / 10`, rounded down. */
  technicalRows?: number;
  /** communication_records. Default 50. */
  communicationRows?: number;
  /** Default 'Nordwind Crossborder Trading GmbH (Demo)'. */
  companyName?: string;
  /** Must be unique among customers. Default a fresh 'DEMO-<random hex>'. */
  registrationNumber?: string;
  /** Default a fresh UUID. Seeding fails (and writes nothing) when a customer with this id exists. */
  customerId?: string;
  /** Called after every chunk with the table's running total, and once for each small table. */
  onProgress?: (table: string, done: number, total: number) => void;
  /** Rows per INSERT statement (and per transaction) for the bulk tables. Default 100 000. */
  chunkSize?: number;
}

/** What was seeded: exact inserted row counts per table, in insertion order. */
export interface SeedResult {
  customerId: string;
  registrationNumber: string;
  rows: Record<string, number>;
}

const DEFAULT_CHUNK_SIZE = 100_000;
const DEFAULT_COMPANY_NAME = 'Nordwind Crossborder Trading GmbH (Demo)';
const TWO_YEARS_SECONDS = 2 * 365 * 24 * 3600;

/** Marketplace, region and seller-id style of the three demo seller accounts; bulk rows pick one by `g % 3`. */
const SELLER_ACCOUNTS = [
  { marketplace: 'amazon', region: 'EU' },
  { marketplace: 'ebay', region: 'DE' },
  { marketplace: 'shopify', region: 'US' },
] as const;

const CONTACTS = [
  { name: 'Anna Schneider', local: 'anna.schneider', role: 'primary', phone: '+493012345601' },
  { name: 'Jonas Weber', local: 'jonas.weber', role: 'billing', phone: '+493012345602' },
  { name: 'Priya Raman', local: 'priya.raman', role: 'technical', phone: null },
] as const;

// Small value pools the bulk SQL indexes with modulo arithmetic. They are constants of this module, inlined as SQL
// literals (see sqlArray) rather than bound, to keep each statement's bindings to a handful of ids and bounds.
const EU_BUYER_COUNTRIES = ['DE', 'FR', 'IT', 'ES', 'NL', 'GB', 'AT', 'PL', 'BE', 'SE'];
const DE_BUYER_COUNTRIES = ['DE', 'DE', 'DE', 'AT', 'DE', 'LU'];
const US_BUYER_COUNTRIES = ['US', 'US', 'US', 'US', 'PR'];
const WAREHOUSES = ['FBA-DE-LEJ1', 'FBA-UK-BHX4', 'FBA-FR-ORY1', 'WH-BERLIN-01', '3PL-NJ-EWR2'];
const BRANDS = ['Nordwind', 'Hafenlicht', 'Kiefer & Co', 'Alpenglow', 'Brightleaf', 'Stonebridge', 'Lumen Home'];
const PRODUCTS = [
  'Bamboo Cutting Board',
  'Stainless Steel Water Bottle',
  'LED Desk Lamp',
  'Merino Wool Socks',
  'Cast Iron Skillet',
  'Yoga Mat',
  'Bluetooth Speaker',
  'Ceramic Coffee Mug',
  'Linen Tea Towels',
  'USB-C Charging Cable',
  'Travel Backpack',
  'Glass Food Containers',
];
const VARIANTS = ['Black', 'White', 'Large', 'Small', 'Set of 3', 'Set of 6', 'Natural', 'Blue', '1 m', '2 m'];
const WORKFLOW_KINDS = ['repricing_rule', 'fulfilment_rule', 'report_schedule', 'inventory_sync'];
const REPRICING_STRATEGIES = ['match_lowest', 'beat_by_percent', 'floor_ceiling'];
const CARRIERS = ['DHL', 'DPD', 'UPS', 'Royal Mail', 'USPS', 'Hermes'];
const REPORTS = ['sales_by_sku', 'inventory_health', 'returns', 'fees', 'advertising'];
const CRONS = ['0 6 * * *', '0 7 * * 1', '30 5 1 * *', '0 */4 * * *'];
const IPV4_PREFIXES = ['203.0.113.', '198.51.100.', '192.0.2.']; // documentation ranges (RFC 5737): never real hosts
// User agent, device and browser at the same index belong together, so a row never pairs Safari with Windows.
const USER_AGENTS = [
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15',
  'Mozilla/5.0 (X11; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0',
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) ' +
    'Version/17.5 Mobile/15E148 Safari/604.1',
  'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) ' +
    'Chrome/126.0.0.0 Mobile Safari/537.36',
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) ' +
    'Chrome/126.0.0.0 Safari/537.36 Edg/126.0.0.0',
  'python-requests/2.32.3',
  'SellerSync/4.2 (+https://sellersync.example)',
];
const DEVICES = [
  'Windows PC',
  'MacBook',
  'Linux workstation',
  'iPhone',
  'Android phone',
  'Windows PC',
  'server',
  'server',
];
const BROWSERS = [
  'Chrome 126',
  'Safari 17',
  'Firefox 127',
  'Mobile Safari 17',
  'Chrome Mobile 126',
  'Edge 126',
  '',
  '',
];
// Interactive logins come from the first six (browser) agents; API calls from all eight.
const BROWSER_AGENT_COUNT = 6;
const API_ENDPOINTS = [
  ['GET', '/v1/orders?page='],
  ['GET', '/v1/orders/'],
  ['POST', '/v1/listings'],
  ['PUT', '/v1/inventory/SKU-'],
  ['GET', '/v1/reports/sales?month='],
  ['DELETE', '/v1/listings/'],
  ['PATCH', '/v1/workflows/'],
  ['GET', '/v1/listings?page='],
];
// Kind and subject at the same index belong together.
const COMMUNICATION_KINDS = ['support', 'support', 'invoice', 'notice', 'verification', 'support', 'welcome'];
const COMMUNICATION_SUBJECTS = [
  'Question about order sync',
  'Repricing rule not applied',
  'Your monthly invoice',
  'Changes to our subprocessor list',
  'Confirm your email address',
  'Inventory import failed',
  'Welcome to the service',
];
const CHANNELS = ['email', 'email', 'ticket', 'chat', 'phone'];

/**
 * Inlines a constant pool as a PostgreSQL text array literal. The values come from this module; quotes are still
 * escaped, and so is `?`, which knex.raw would otherwise take for a binding placeholder.
 */
function sqlArray(values: readonly string[]): string {
  const literal = (v: string) => `'${v.replace(/'/g, "''").replace(/\?/g, '\\?')}'`;
  return `(array[${values.map(literal).join(',')}]::text[])`;
}

/** `pool[1 + expr % pool.length]`: picks from a pool with a non-negative integer SQL expression. */
function pick(values: readonly string[], expr: string): string {
  return `${sqlArray(values)}[1 + (${expr}) % ${values.length}]`;
}

/** Zero-pads to `width` digits without truncating longer numbers (plain lpad would cut '1234567' to '123456'). */
function padded(expr: string, width: number): string {
  return `lpad((${expr})::text, greatest(${width}, length((${expr})::text)), '0')`;
}

/**
 * The row-number source of every bulk statement: `g` counts from..to, `h` is a non-negative 63-bit hash of `g`
 * (salted per table) whose bit ranges feed independent-looking choices, and `t` is an instant in the past two years.
 */
function rowSource(salt: number): string {
  return `(select g, h, now() - ((h >> 20) % ${TWO_YEARS_SECONDS}) * interval '1 second' as t
     from (select g, hashint8extended(g, ${salt}) & 9223372036854775807 as h
             from generate_series(?::bigint, ?::bigint) as g) as hashed) as src`;
}

interface Ids {
  customerId: string;
  contactIds: string[];
  sellerAccountIds: string[];
}

/** One bulk table: how many rows, and the statement that inserts rows from..to (bindings: ids, then from, to). */
interface BulkTable {
  table: string;
  count: number;
  sql: string;
  bindings: readonly string[];
}

function uuidArray(count: number): string {
  return `(array[${Array.from({ length: count }, () => '?').join(',')}]::uuid[])`;
}

function bulkTables(ids: Ids, counts: Record<string, number>): BulkTable[] {
  const sellers = uuidArray(3);
  const contacts = uuidArray(ids.contactIds.length);
  const skuCount = Math.max(counts.inventory_items ?? 0, 1);
  return [
    {
      table: 'orders',
      count: counts.orders ?? 0,
      // Account a = g % 3 decides marketplace, order-id format, buyer countries and currency, as at the real sites.
      sql: `insert into orders (customer_id, seller_account_id, marketplace, external_order_id, status, total_amount,
              currency, buyer_country, ordered_at, created_at)
            select ?, ${sellers}[a + 1], ${pick(
              SELLER_ACCOUNTS.map((s) => s.marketplace),
              'a',
            )},
              case a
                when 0 then ${padded('(h >> 4) % 1000', 3)} || '-' || ${padded('(h >> 14) % 10000000', 7)}
                  || '-' || ${padded('g', 7)}
                when 1 then ${padded('(h >> 4) % 100', 2)} || '-' || ${padded('g', 5)}
                  || '-' || ${padded('(h >> 14) % 100000', 5)}
                else '#' || (1000 + g)::text
              end,
              case
                when t > now() - interval '2 days' and p < 50 then 'pending'
                when t > now() - interval '5 days' and p < 80 then 'paid'
                when t > now() - interval '10 days' and p < 70 then 'shipped'
                when p < 90 then 'delivered'
                when p < 96 then 'cancelled'
                else 'refunded'
              end,
              round(((h >> 30) % 40000 + 499) / 100.0, 2),
              case when country = 'GB' then 'GBP' when a = 2 then 'USD' else 'EUR' end,
              country, t, t + ((h >> 50) % 900) * interval '1 second'
            from (select g, h, t, g % 3 as a, (h >> 8) % 100 as p,
                         case g % 3
                           when 0 then ${pick(EU_BUYER_COUNTRIES, 'h >> 40')}
                           when 1 then ${pick(DE_BUYER_COUNTRIES, 'h >> 40')}
                           else ${pick(US_BUYER_COUNTRIES, 'h >> 40')}
                         end as country
                    from ${rowSource(101)}) as o`,
      bindings: [ids.customerId, ...ids.sellerAccountIds],
    },
    {
      table: 'inventory_items',
      count: counts.inventory_items ?? 0,
      sql: `insert into inventory_items (customer_id, sku, warehouse, quantity, created_at, updated_at)
            select ?, 'SKU-' || ${padded('g', 6)}, ${pick(WAREHOUSES, 'h >> 8')},
              case when h % 100 < 8 then 0 else ((h >> 16) % 750)::int end,
              t, least(now(), t + ((h >> 44) % ${TWO_YEARS_SECONDS}) * interval '1 second')
            from ${rowSource(202)}`,
      bindings: [ids.customerId],
    },
    {
      table: 'listings',
      count: counts.listings ?? 0,
      // Listings point at the SKUs of the inventory rows (several marketplaces list the same SKU).
      sql: `insert into listings (customer_id, seller_account_id, sku, title, price, currency, status, created_at)
            select ?, ${sellers}[g % 3 + 1], 'SKU-' || ${padded(`(g - 1) % ${skuCount} + 1`, 6)},
              ${pick(BRANDS, 'h >> 4')} || ' ' || ${pick(PRODUCTS, 'h >> 12')} || ', ' || ${pick(VARIANTS, 'h >> 20')},
              round(((h >> 30) % 20000 + 299) / 100.0, 2),
              case when g % 3 = 2 then 'USD' when g % 3 = 0 and (h >> 8) % 5 = 0 then 'GBP' else 'EUR' end,
              case when (h >> 40) % 100 < 85 then 'active' when (h >> 40) % 100 < 97 then 'inactive'
                   else 'suppressed' end,
              t
            from ${rowSource(303)}`,
      bindings: [ids.customerId, ...ids.sellerAccountIds],
    },
    {
      table: 'workflow_records',
      count: counts.workflow_records ?? 0,
      sql: `insert into workflow_records (customer_id, kind, definition, created_at)
            select ?, kind,
              case kind
                when 'repricing_rule' then jsonb_build_object('version', 1, 'enabled', enabled,
                  'marketplace', ${pick(
                    SELLER_ACCOUNTS.map((s) => s.marketplace),
                    'h >> 12',
                  )},
                  'strategy', ${pick(REPRICING_STRATEGIES, 'h >> 16')},
                  'beatByPercent', round(((h >> 20) % 50) / 10.0, 1), 'minMarginPercent', 5 + (h >> 24) % 20,
                  'skuPattern', 'SKU-0' || ((h >> 28) % 10)::text || '*')
                when 'fulfilment_rule' then jsonb_build_object('version', 1, 'enabled', enabled,
                  'warehouse', ${pick(WAREHOUSES, 'h >> 12')}, 'carrier', ${pick(CARRIERS, 'h >> 16')},
                  'maxHandlingDays', 1 + (h >> 20) % 3, 'countries', jsonb_build_array('DE', 'AT', 'FR'))
                when 'report_schedule' then jsonb_build_object('version', 1, 'enabled', enabled,
                  'report', ${pick(REPORTS, 'h >> 12')}, 'cron', ${pick(CRONS, 'h >> 16')},
                  'timezone', 'Europe/Berlin', 'format', case when (h >> 20) % 2 = 0 then 'csv' else 'xlsx' end)
                else jsonb_build_object('version', 1, 'enabled', enabled,
                  'source', ${pick(WAREHOUSES, 'h >> 12')}, 'targets', jsonb_build_array('amazon', 'ebay', 'shopify'),
                  'intervalMinutes', (array[5, 15, 30, 60])[1 + (h >> 16) % 4])
              end,
              t
            from (select g, h, t, ${pick(WORKFLOW_KINDS, 'h >> 4')} as kind, h % 10 <> 0 as enabled
                    from ${rowSource(404)}) as w`,
      bindings: [ids.customerId],
    },
    {
      table: 'authentication_logs',
      count: counts.authentication_logs ?? 0,
      sql: `insert into authentication_logs (customer_id, contact_id, event, ip_address, user_agent, device,
              occurred_at)
            select ?, ${contacts}[1 + (h >> 4) % ${ids.contactIds.length}],
              case when p < 70 then 'login_succeeded' when p < 85 then 'logout' when p < 95 then 'mfa_challenge'
                   else 'login_failed' end,
              ${ipAddress()},
              ${pick(USER_AGENTS.slice(0, BROWSER_AGENT_COUNT), 'u')},
              ${pick(DEVICES.slice(0, BROWSER_AGENT_COUNT), 'u')}, t
            from (select g, h, t, (h >> 8) % 100 as p, (h >> 24) % ${BROWSER_AGENT_COUNT} as u
                    from ${rowSource(505)}) as l`,
      bindings: [ids.customerId, ...ids.contactIds],
    },
    {
      table: 'api_access_logs',
      count: counts.api_access_logs ?? 0,
      sql: `insert into api_access_logs (customer_id, method, path, status_code, ip_address, user_agent, device,
              browser, occurred_at)
            select ?, ${pick(
              API_ENDPOINTS.map(([method]) => method!),
              'e',
            )},
              ${pick(
                API_ENDPOINTS.map(([, path]) => path!),
                'e',
              )} || case e
                when 2 then ''
                when 3 then ${padded('(h >> 40) % 100000', 6)}
                when 4 then to_char(t, 'YYYY-MM')
                else ((h >> 40) % 5000 + 1)::text
              end,
              case when p < 80 then case e when 2 then 201 when 5 then 204 else 200 end
                   when p < 85 then 400 when p < 88 then 401 when p < 95 then 404 when p < 99 then 429 else 500 end,
              ${ipAddress()},
              ${pick(USER_AGENTS, 'u')}, ${pick(DEVICES, 'u')}, nullif(${pick(BROWSERS, 'u')}, ''), t
            from (select g, h, t, (h >> 4) % ${API_ENDPOINTS.length} as e, (h >> 8) % 100 as p,
                         (h >> 24) % ${USER_AGENTS.length} as u
                    from ${rowSource(606)}) as l`,
      bindings: [ids.customerId],
    },
    {
      table: 'communication_records',
      count: counts.communication_records ?? 0,
      // dedupe_key stays null: it is reserved for messages the service itself sends (and is globally unique).
      sql: `insert into communication_records (customer_id, contact_id, channel, direction, kind, subject, message_id,
              occurred_at)
            select ?, ${contacts}[1 + (h >> 4) % ${ids.contactIds.length}], channel, direction, kind, subject,
              case when channel = 'email' and direction = 'outbound'
                then '<seed-' || g::text || '.' || ?::text || '@mail.example.com>' end,
              t
            from (select g, h, t, kind, subject,
                         case when kind = 'support' then ${pick(CHANNELS, 'h >> 12')} else 'email' end as channel,
                         case when kind = 'support' and h % 2 = 0 then 'inbound' else 'outbound' end as direction
                    from (select g, h, t, ${pick(COMMUNICATION_KINDS, 'h >> 8')} as kind,
                                 ${pick(COMMUNICATION_SUBJECTS, 'h >> 8')} as subject
                            from ${rowSource(707)}) as typed) as c`,
      bindings: [ids.customerId, ...ids.contactIds, ids.customerId],
    },
  ];
}

/** 80 % IPv4 from the documentation ranges, 20 % IPv6 from 2001:db8::/32 (also reserved for documentation). */
function ipAddress(): string {
  return `case when (h >> 12) % 5 = 0
            then ('2001:db8:' || to_hex((h >> 16) % 65536) || '::' || to_hex((h >> 32) % 65535 + 1))::inet
            else (${pick(IPV4_PREFIXES, 'h >> 16')} || (1 + (h >> 20) % 254)::text)::inet end`;
}

/** A bulk chunk failed; the message names the table and rows, `cause` is the database error. */
export class SeedError extends Error {
  override name = 'SeedError';
  constructor(message: string, cause: unknown) {
    super(message, { cause });
  }
}

/** knex prefixes the database's message with the whole statement (pages of SQL here); keep only the reason. */
function databaseReason(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  const separator = message.lastIndexOf(' - ');
  return separator >= 0 ? message.slice(separator + 3) : message;
}

function requireCount(name: string, value: number, min = 0): number {
  if (!Number.isSafeInteger(value) || value < min) {
    throw new RangeError(`${name} must be an integer >= ${min}, got ${String(value)}`);
  }
  return value;
}

/** Splits the operational total 50/20/25/5 and the technical total 30/70, exactly. */
function plannedCounts(opts: SeedOptions): Record<string, number> {
  const operational = requireCount('operationalRows', opts.operationalRows);
  const technical = requireCount('technicalRows', opts.technicalRows ?? Math.floor(operational / 10));
  const communication = requireCount('communicationRows', opts.communicationRows ?? 50);
  const orders = Math.floor(operational * 0.5);
  const inventory = Math.floor(operational * 0.2);
  const listings = Math.floor(operational * 0.25);
  const authentication = Math.floor(technical * 0.3);
  return {
    orders,
    inventory_items: inventory,
    listings,
    workflow_records: operational - orders - inventory - listings,
    authentication_logs: authentication,
    api_access_logs: technical - authentication,
    communication_records: communication,
  };
}

/** Lower-case DNS label from the registration number, so each demo company has its own `.example` mail domain. */
function domainFor(registrationNumber: string): string {
  const label = registrationNumber
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 50);
  return `${label || 'demo'}.example`;
}

async function insertCustomer(
  trx: Knex.Transaction,
  ids: Ids,
  companyName: string,
  registrationNumber: string,
): Promise<Record<string, number>> {
  await trx('customers').insert({
    id: ids.customerId,
    company_name: companyName,
    registration_number: registrationNumber,
    country: 'DE',
    privacy_regime: 'gdpr',
    status: 'active',
  });
  const domain = domainFor(registrationNumber);
  await trx('contacts').insert(
    CONTACTS.map((c, i) => ({
      id: ids.contactIds[i],
      customer_id: ids.customerId,
      name: c.name,
      email: `${c.local}@${domain}`,
      phone: c.phone,
      role: c.role,
    })),
  );
  const token = randomBytes(5).toString('hex').toUpperCase();
  const externalIds = [
    `A${token}DEMO`,
    `nordwind-demo-${token.toLowerCase()}`,
    `nordwind-demo-${token.toLowerCase()}.myshopify.com`,
  ];
  await trx('seller_accounts').insert(
    SELLER_ACCOUNTS.map((s, i) => ({
      id: ids.sellerAccountIds[i],
      customer_id: ids.customerId,
      marketplace: s.marketplace,
      external_account_id: externalIds[i],
      region: s.region,
    })),
  );
  const startsOn = new Date(Date.now() - TWO_YEARS_SECONDS * 1000).toISOString().slice(0, 10);
  await trx('contracts').insert({
    id: randomUUID(),
    customer_id: ids.customerId,
    starts_on: startsOn,
    ends_on: null,
    termination_disposition: 'return_then_delete',
    plan: 'business',
  });
  return { customers: 1, contacts: CONTACTS.length, seller_accounts: SELLER_ACCOUNTS.length, contracts: 1 };
}

/**
 * Seeds one active GDPR customer (DE) with 3 contacts (one primary), 3 seller accounts (amazon EU, ebay DE,
 * shopify US), a `return_then_delete` contract, and bulk operational, technical and communication rows, then writes a
 * `customer.seeded` audit event whose details are the per-table counts.
 *
 * The customer and its small rows commit in one transaction; each bulk chunk of `chunkSize` rows is one statement and
 * so its own transaction, which keeps a multi-million-row seed from holding one giant transaction. If a bulk chunk
 * fails, the customer is deleted again (the foreign keys cascade), so no half-seeded customer is left behind.
 * Finally the bulk tables are ANALYZEd, so that queries run right after a large seed get sensible plans.
 *
 * @returns the customer id, registration number and the exact number of rows inserted per table.
 * @throws RangeError for a negative or non-integer count; the database error when the customer cannot be inserted
 *   (e.g. a duplicate registration number or customer id), in which case nothing is written; {@link SeedError}
 *   naming the table and row range when a bulk chunk fails, after the customer has been removed again.
 */
export async function seedDemoCustomer(db: Knex, opts: SeedOptions): Promise<SeedResult> {
  const counts = plannedCounts(opts);
  const chunkSize = requireCount('chunkSize', opts.chunkSize ?? DEFAULT_CHUNK_SIZE, 1);
  const registrationNumber = opts.registrationNumber ?? `DEMO-${randomBytes(6).toString('hex').toUpperCase()}`;
  const ids: Ids = {
    customerId: opts.customerId ?? randomUUID(),
    contactIds: CONTACTS.map(() => randomUUID()),
    sellerAccountIds: SELLER_ACCOUNTS.map(() => randomUUID()),
  };
  const progress = opts.onProgress ?? (() => undefined);

  const rows = await db.transaction((trx) =>
    insertCustomer(trx, ids, opts.companyName ?? DEFAULT_COMPANY_NAME, registrationNumber),
  );
  for (const [table, n] of Object.entries(rows)) progress(table, n, n);

  const tables = bulkTables(ids, counts);
  try {
    for (const spec of tables) {
      let done = 0;
      for (let from = 1; from <= spec.count; from += chunkSize) {
        const to = Math.min(from + chunkSize - 1, spec.count);
        const result = (await db.raw(spec.sql, [...spec.bindings, from, to]).catch((err: unknown) => {
          throw new SeedError(`inserting ${spec.table} rows ${from}-${to} failed: ${databaseReason(err)}`, err);
        })) as { rowCount: number };
        done += result.rowCount;
        progress(spec.table, done, spec.count);
      }
      if (spec.count === 0) progress(spec.table, 0, 0);
      rows[spec.table] = done;
    }
    await auditEvents.append(db, {
      actor: 'system:seed',
      action: 'customer.seeded',
      subjectType: 'customer',
      subjectId: ids.customerId,
      customerId: ids.customerId,
      details: { rows },
    });
  } catch (err) {
    await db('customers')
      .where({ id: ids.customerId })
      .delete()
      .catch(() => undefined); // best effort: the original error is the one worth reporting
    throw err;
  }
  await db.raw(`analyze ${tables.map((t) => t.table).join(', ')}`);
  return { customerId: ids.customerId, registrationNumber, rows };
}
