/**
 * The bulk of what a customer owns: operational data (orders, inventory, listings, workflow records), technical data
 * (authentication logs, API access logs with device/browser information) and communication records.
 *
 * These tables grow to millions of rows per customer. Keys are bigint identities so that export and erasure can walk
 * them in (customer_id, id) order with keyset pagination and checkpoint the last id; the composite indexes below
 * serve exactly that walk.
 */
import type { Knex } from 'knex';

/** Columns every customer-owned bulk table shares. */
function ownedBy(t: Knex.CreateTableBuilder, category: string): void {
  t.bigIncrements('id').primary();
  t.uuid('customer_id').notNullable().references('customers.id').onDelete('CASCADE');
  t.text('data_category').notNullable().defaultTo(category);
}

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('orders', (t) => {
    ownedBy(t, 'orders');
    t.uuid('seller_account_id').references('seller_accounts.id').onDelete('SET NULL');
    t.text('marketplace').notNullable();
    t.text('external_order_id').notNullable();
    t.text('status').notNullable().comment('pending | paid | shipped | delivered | cancelled | refunded');
    t.decimal('total_amount', 14, 2).notNullable();
    t.string('currency', 3).notNullable();
    t.string('buyer_country', 2);
    t.timestamp('ordered_at', { useTz: true }).notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(['customer_id', 'id'], 'orders_customer_id_idx');
    t.index(['customer_id', 'data_category'], 'orders_customer_category_idx');
  });

  await knex.schema.createTable('inventory_items', (t) => {
    ownedBy(t, 'inventory');
    t.text('sku').notNullable();
    t.text('warehouse').notNullable();
    t.integer('quantity').notNullable();
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(['customer_id', 'id'], 'inventory_items_customer_id_idx');
  });

  await knex.schema.createTable('listings', (t) => {
    ownedBy(t, 'listings');
    t.uuid('seller_account_id').references('seller_accounts.id').onDelete('SET NULL');
    t.text('sku').notNullable();
    t.text('title').notNullable();
    t.decimal('price', 14, 2).notNullable();
    t.string('currency', 3).notNullable();
    t.text('status').notNullable().comment('active | inactive | suppressed');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(['customer_id', 'id'], 'listings_customer_id_idx');
  });

  await knex.schema.createTable('workflow_records', (t) => {
    ownedBy(t, 'workflow_records');
    t.text('kind').notNullable().comment('e.g. repricing_rule, fulfilment_rule, report_schedule');
    t.jsonb('definition').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(['customer_id', 'id'], 'workflow_records_customer_id_idx');
  });

  await knex.schema.createTable('authentication_logs', (t) => {
    ownedBy(t, 'authentication_logs');
    t.uuid('contact_id').comment('No foreign key: logs outlive contact corrections and are swept on their own clock');
    t.text('event').notNullable().comment('login_succeeded | login_failed | logout | mfa_challenge');
    t.specificType('ip_address', 'inet');
    t.text('user_agent');
    t.text('device');
    t.timestamp('occurred_at', { useTz: true }).notNullable();
    t.index(['customer_id', 'id'], 'authentication_logs_customer_id_idx');
    t.index(['occurred_at'], 'authentication_logs_occurred_at_idx');
  });

  await knex.schema.createTable('api_access_logs', (t) => {
    ownedBy(t, 'api_access_logs');
    t.text('method').notNullable();
    t.text('path').notNullable();
    t.integer('status_code').notNullable();
    t.specificType('ip_address', 'inet');
    t.text('user_agent');
    t.text('device');
    t.text('browser');
    t.timestamp('occurred_at', { useTz: true }).notNullable();
    t.index(['customer_id', 'id'], 'api_access_logs_customer_id_idx');
    t.index(['occurred_at'], 'api_access_logs_occurred_at_idx');
  });

  await knex.schema.createTable('communication_records', (t) => {
    ownedBy(t, 'communication_records');
    t.uuid('contact_id');
    t.text('channel').notNullable().comment('email | phone | chat | ticket');
    t.text('direction').notNullable().comment('inbound | outbound');
    t.text('kind').notNullable().comment('e.g. welcome, support, verification');
    t.text('subject');
    t.text('message_id').comment('RFC 5322 Message-ID of an email we sent');
    t.text('dedupe_key').comment('Set for messages the service sends, so a retried activity never sends twice');
    t.timestamp('occurred_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.unique(['dedupe_key'], { indexName: 'communication_records_dedupe_key_unique' });
    t.index(['customer_id', 'id'], 'communication_records_customer_id_idx');
    t.index(['occurred_at'], 'communication_records_occurred_at_idx');
  });
}

export async function down(knex: Knex): Promise<void> {
  for (const table of [
    'communication_records',
    'api_access_logs',
    'authentication_logs',
    'workflow_records',
    'listings',
    'inventory_items',
    'orders',
  ]) {
    await knex.schema.dropTable(table);
  }
}
