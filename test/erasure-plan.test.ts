/**
 * The erasure plan (lib/erasure-plan.ts), the scope key of erasure workflow ids and the statutory retention helpers:
 * pure rules, plus a check of the plan against the live, migrated schema so that a table added later cannot escape
 * erasure unnoticed.
 */
import { createDb, type Db } from '../db/connection';
import { DATA_CATEGORIES } from '../lib/pure/data-categories';
import {
  ERASURE_TABLES,
  TABLES_OUTSIDE_ERASURE,
  deferredCategories,
  erasableCategories,
  erasureSteps,
  includesCustomerRecord,
  normalizeCategories,
} from '../lib/pure/erasure-plan';
import { toPostgresInterval } from '../lib/statutory-retention';
import { erasureScopeKey, erasureWorkflowId } from '../lib/pure/temporal-ids';

describe('erasure steps', () => {
  it('walks tables in dependency order: referencing rows before what they reference, contacts last', () => {
    const steps = erasureSteps([...DATA_CATEGORIES], ['invoiced-orders']).map((s) => s.key);
    const at = (key: string) => {
      const i = steps.indexOf(key);
      expect([key, i >= 0]).toEqual([key, true]);
      return i;
    };
    expect(at('orders:orders:mark-retained:invoiced-orders')).toBeLessThan(at('orders:orders:delete'));
    expect(at('orders:orders:delete')).toBeLessThan(
      at('seller_accounts:seller_accounts:detach:orders.seller_account_id'),
    );
    // Listings in scope are all gone before seller accounts go: nothing left to detach. Retained orders stay.
    expect(steps).not.toContain('seller_accounts:seller_accounts:detach:listings.seller_account_id');
    expect(at('seller_accounts:seller_accounts:detach:orders.seller_account_id')).toBeLessThan(
      at('seller_accounts:seller_accounts:delete'),
    );
    expect(at('public_links:export_archives:delete')).toBeLessThan(at('export_archives:export_archives:delete'));
    expect(steps[steps.length - 1]).toBe('contacts:business_contact:delete');
    // audit_log is the audit module's business; no step touches audit_events.
    expect(steps.some((k) => k.includes('audit'))).toBe(false);
  });

  it('detaches the rows that stay from the seller accounts that go', () => {
    expect(erasureSteps(['seller_accounts'], ['invoiced-orders']).map((s) => s.key)).toEqual([
      // Requested corrections of seller accounts hold their new identifiers: they go with the accounts.
      'correction_changes:seller_accounts:delete',
      'seller_accounts:seller_accounts:detach:orders.seller_account_id',
      'seller_accounts:seller_accounts:detach:listings.seller_account_id',
      'seller_accounts:seller_accounts:delete',
    ]);
    expect(erasureSteps(['orders', 'listings', 'seller_accounts'], []).map((s) => s.action)).toEqual([
      'delete',
      'delete',
      'delete',
      'delete',
    ]);
    // Erased in a later pass than the orders and listings of the same erasure: nothing to detach either.
    expect(
      erasureSteps(['seller_accounts'], [], ['orders', 'listings', 'seller_accounts']).map((s) => s.action),
    ).toEqual(['delete', 'delete']);
  });

  it('marks invoiced orders only when the statutory rule is in force', () => {
    expect(erasureSteps(['orders'], []).map((s) => s.action)).toEqual(['delete']);
    expect(erasureSteps(['orders'], ['invoiced-orders']).map((s) => s.action)).toEqual(['mark-retained', 'delete']);
  });

  it('touches only the tables of the categories in scope', () => {
    expect([...new Set(erasureSteps(['business_contact'], []).map((s) => s.table))]).toEqual([
      'correction_changes',
      'contracts',
      'contacts',
    ]);
    expect(erasureSteps(['audit_log'], [])).toEqual([]);
  });
});

describe('scope rules', () => {
  it('defers the held categories and those whose rows held rows point at, nothing else', () => {
    const scope = normalizeCategories(['seller_accounts', 'inventory', 'listings', 'orders']);
    expect(deferredCategories(scope, ['orders'])).toEqual(['seller_accounts', 'orders']);
    expect(deferredCategories(scope, ['listings'])).toEqual(['seller_accounts', 'listings']);
    expect(deferredCategories(scope, ['inventory'])).toEqual(['inventory']);
    expect(deferredCategories(scope, ['communication_records'])).toEqual([]);
  });

  it('removes the customer record only with a termination that includes business_contact', () => {
    expect(includesCustomerRecord('termination', ['business_contact', 'orders'])).toBe(true);
    expect(includesCustomerRecord('termination', ['orders'])).toBe(false);
    expect(includesCustomerRecord('retention', ['business_contact'])).toBe(false);
  });

  it('never erases the audit log and refuses unknown categories', () => {
    expect(erasableCategories(['audit_log', 'orders'])).toEqual(['orders']);
    expect(() => normalizeCategories(['orders', 'passwords'])).toThrow('unknown data category "passwords"');
  });
});

describe('erasure workflow ids', () => {
  it('are the same for the same scope in any order, and differ by reason and categories', () => {
    const a = erasureScopeKey('retention', ['orders', 'listings', 'orders']);
    expect(a).toBe(erasureScopeKey('retention', ['listings', 'orders']));
    expect(a).toMatch(/^retention-[0-9a-f]{16}$/);
    expect(a).not.toBe(erasureScopeKey('termination', ['listings', 'orders']));
    expect(a).not.toBe(erasureScopeKey('retention', ['listings']));
    expect(erasureWorkflowId('c1', a)).toBe(`erasure-c1-${a}`);
  });
});

describe('statutory retention periods', () => {
  it('keep calendar units when converted to PostgreSQL intervals', () => {
    expect(toPostgresInterval('P10Y')).toBe('10 years 0 months 0 days 0 hours 0 minutes 0 seconds');
    expect(toPostgresInterval('P6Y6M')).toBe('6 years 6 months 0 days 0 hours 0 minutes 0 seconds');
    expect(toPostgresInterval('PT1.5S')).toBe('0 years 0 months 0 days 0 hours 0 minutes 1.5 seconds');
    expect(() => toPostgresInterval('ten years')).toThrow(RangeError);
  });
});

describe('the plan against the migrated schema', () => {
  let db: Db;
  beforeAll(() => {
    db = createDb(process.env.TEST_DATABASE_URL!, 1);
  });
  afterAll(async () => {
    await db.destroy();
  });

  it('names every table that holds a customer_id, and each planned table has the columns the erasure uses', async () => {
    const { rows } = await db.raw<{ rows: { table_name: string; column_name: string; data_type: string }[] }>(
      `select table_name, column_name, data_type from information_schema.columns
        where table_schema = current_schema() and column_name in ('customer_id', 'data_category', 'id')`,
    );
    const columns = new Map<string, Map<string, string>>();
    for (const r of rows) {
      if (!columns.has(r.table_name)) columns.set(r.table_name, new Map());
      columns.get(r.table_name)!.set(r.column_name, r.data_type);
    }
    const withCustomer = [...columns].filter(([, cols]) => cols.has('customer_id')).map(([t]) => t);
    const known = new Set([...ERASURE_TABLES.map((t) => t.table), ...Object.keys(TABLES_OUTSIDE_ERASURE)]);
    expect(withCustomer.filter((t) => !known.has(t)).sort()).toEqual([]);
    for (const t of ERASURE_TABLES) {
      const cols = columns.get(t.table);
      expect([t.table, cols?.get('customer_id'), cols?.has('data_category'), cols?.get('id')]).toEqual([
        t.table,
        'uuid',
        true,
        t.keyType === 'uuid' ? 'uuid' : 'bigint',
      ]);
    }
  });
});
