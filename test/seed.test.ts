/**
 * The demo-customer seed against the run's real PostgreSQL database. Other test files share that database, so every
 * count here is scoped to the seeded customer's id.
 */
import { randomUUID } from 'node:crypto';
import { createDb, type Db } from '../db/connection';
import { auditEvents } from '../db/repositories/audit-events';
import { seedDemoCustomer, type SeedResult } from '../scripts/seed-demo-customer';

/** Each table the seed writes, with the data category its rows must carry (the schema's column default). */
const EXPECTED_CATEGORY: Record<string, string> = {
  customers: 'business_contact',
  contacts: 'business_contact',
  seller_accounts: 'seller_accounts',
  contracts: 'business_contact',
  orders: 'orders',
  inventory_items: 'inventory',
  listings: 'listings',
  workflow_records: 'workflow_records',
  authentication_logs: 'authentication_logs',
  api_access_logs: 'api_access_logs',
  communication_records: 'communication_records',
};

const ROWS = 5000;

let db: Db;
let first: SeedResult;
let progress: Map<string, { done: number; total: number; calls: number }>;

/** Rows of `table` owned by the customer, and how many of those carry `category`. */
async function countRows(table: string, customerId: string, category: string): Promise<[number, number]> {
  const owner = table === 'customers' ? 'id' : 'customer_id';
  const result = await db.raw<{ rows: { owned: string; categorised: string }[] }>(
    `select count(*) as owned, count(*) filter (where data_category = ?) as categorised from ?? where ?? = ?`,
    [category, table, owner, customerId],
  );
  const row = result.rows[0]!;
  return [Number(row.owned), Number(row.categorised)];
}

beforeAll(async () => {
  db = createDb(process.env.TEST_DATABASE_URL!, 2);
  progress = new Map();
  // A small chunk size so every bulk table needs several chunks: boundaries must neither drop nor repeat rows.
  first = await seedDemoCustomer(db, {
    operationalRows: ROWS,
    chunkSize: 700,
    onProgress: (table, done, total) => {
      const seen = progress.get(table);
      progress.set(table, { done, total, calls: (seen?.calls ?? 0) + 1 });
    },
  });
});
afterAll(async () => {
  await db?.destroy();
});

describe('seeding a demo customer', () => {
  it('splits the operational rows 50/20/25/5, adds a tenth as technical rows and 50 communication records', () => {
    expect(first.rows).toEqual({
      customers: 1,
      contacts: 3,
      seller_accounts: 3,
      contracts: 1,
      orders: 2500,
      inventory_items: 1000,
      listings: 1250,
      workflow_records: 250,
      authentication_logs: 150,
      api_access_logs: 350,
      communication_records: 50,
    });
  });

  it('stores exactly the returned count per table, every row owned by the customer and in its category', async () => {
    for (const [table, category] of Object.entries(EXPECTED_CATEGORY)) {
      const [owned, categorised] = await countRows(table, first.customerId, category);
      expect({ table, owned, categorised }).toEqual({
        table,
        owned: first.rows[table],
        categorised: first.rows[table],
      });
    }
  });

  it('reports progress chunk by chunk up to each table total', () => {
    for (const [table, count] of Object.entries(first.rows)) {
      expect({ table, ...progress.get(table) }).toMatchObject({ table, done: count, total: count });
    }
    expect(progress.get('orders')!.calls).toBe(Math.ceil(2500 / 700));
  });

  it('creates an active GDPR customer with one primary contact and lower-case example-domain emails', async () => {
    const customer = await db('customers').where({ id: first.customerId }).first();
    expect(customer).toMatchObject({
      registration_number: first.registrationNumber,
      status: 'active',
      privacy_regime: 'gdpr',
      country: 'DE',
    });
    const contacts = await db('contacts').where({ customer_id: first.customerId });
    expect(contacts.filter((c: { role: string }) => c.role === 'primary')).toHaveLength(1);
    for (const { email } of contacts as { email: string }[]) {
      expect(email).toBe(email.toLowerCase());
      expect(email).toMatch(/@([a-z0-9-]+\.)*(example\.com|example)$/);
    }
    const contract = await db('contracts').where({ customer_id: first.customerId }).first();
    expect(contract.termination_disposition).toBe('return_then_delete');
    const accounts = await db('seller_accounts').where({ customer_id: first.customerId }).orderBy('marketplace');
    expect(accounts.map((a: { marketplace: string; region: string }) => [a.marketplace, a.region])).toEqual([
      ['amazon', 'EU'],
      ['ebay', 'DE'],
      ['shopify', 'US'],
    ]);
  });

  it('generates plausible values: matching marketplaces, known currencies, SKUs, recent timestamps', async () => {
    const id = first.customerId;
    const [mismatched] = await db('orders as o')
      .join('seller_accounts as s', 's.id', 'o.seller_account_id')
      .where('o.customer_id', id)
      .whereRaw('s.marketplace <> o.marketplace')
      .count<{ count: string }[]>({ count: '*' });
    expect(Number(mismatched!.count)).toBe(0);

    const currencies = await db('orders').where({ customer_id: id }).distinct('currency').pluck('currency');
    expect(currencies.sort()).toEqual(['EUR', 'GBP', 'USD']);

    const [range] = await db('orders')
      .where({ customer_id: id })
      .select(
        db.raw(`bool_and(ordered_at between now() - interval '2 years 1 day' and now()) as in_range`),
        db.raw(`max(ordered_at) - min(ordered_at) > interval '300 days' as spread`),
      );
    expect(range).toEqual({ in_range: true, spread: true });

    const [orphanListings] = await db('listings as l')
      .where('l.customer_id', id)
      .whereNotExists(db('inventory_items as i').where('i.customer_id', id).whereRaw('i.sku = l.sku'))
      .count<{ count: string }[]>({ count: '*' });
    expect(Number(orphanListings!.count)).toBe(0);
    const skus = await db('inventory_items').where({ customer_id: id }).orderBy('id').limit(2).pluck('sku');
    expect(skus).toEqual(['SKU-000001', 'SKU-000002']);

    const families = await db.raw<{ rows: { family: number }[] }>(
      'select distinct family(ip_address) as family from api_access_logs where customer_id = ? order by family',
      [id],
    );
    expect(families.rows.map((r) => r.family)).toEqual([4, 6]);
  });

  it('records a customer.seeded audit event whose details are the per-table counts', async () => {
    const events = await auditEvents.list(db, { customerId: first.customerId, action: 'customer.seeded' });
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ actor: 'system:seed', subjectType: 'customer', subjectId: first.customerId });
    expect(events[0]!.details).toEqual({ rows: first.rows });
  });

  it('seeds a second customer alongside the first without touching its rows', async () => {
    const second = await seedDemoCustomer(db, { operationalRows: 1000, technicalRows: 0, communicationRows: 5 });
    expect(second.customerId).not.toBe(first.customerId);
    expect(second.registrationNumber).not.toBe(first.registrationNumber);
    expect(second.rows).toMatchObject({
      orders: 500,
      authentication_logs: 0,
      api_access_logs: 0,
      communication_records: 5,
    });
    for (const [table, category] of Object.entries(EXPECTED_CATEGORY)) {
      const [secondOwned] = await countRows(table, second.customerId, category);
      const [firstOwned] = await countRows(table, first.customerId, category);
      expect({ table, secondOwned, firstOwned }).toEqual({
        table,
        secondOwned: second.rows[table],
        firstOwned: first.rows[table],
      });
    }
  });

  it('refuses a registration number that is already taken and writes nothing', async () => {
    const customerId = randomUUID();
    await expect(
      seedDemoCustomer(db, { operationalRows: 10, customerId, registrationNumber: first.registrationNumber }),
    ).rejects.toThrow(/customers_registration_number_unique/);
    expect(await db('customers').where({ id: customerId }).first()).toBeUndefined();
    expect(await auditEvents.list(db, { customerId })).toEqual([]);
  });

  it('rejects a negative row count before writing anything', async () => {
    const customerId = randomUUID();
    await expect(seedDemoCustomer(db, { operationalRows: -1, customerId })).rejects.toThrow(RangeError);
    expect(await db('customers').where({ id: customerId }).first()).toBeUndefined();
  });
});
