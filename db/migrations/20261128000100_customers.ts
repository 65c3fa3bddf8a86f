/**
 * Customers (the companies that buy the service), their contacts, seller accounts and contracts: the "business
 * contact information" and "seller account identifiers" of the privacy policy.
 *
 * Every customer-owned table carries `customer_id` and `data_category`, indexed together, so that export, retention
 * and erasure select "customer x categories" with one index range scan.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('customers', (t) => {
    t.uuid('id').primary();
    t.text('company_name').notNullable().comment('Legal name of the customer company');
    t.text('registration_number').notNullable().comment('Company registration number; one customer per number');
    t.string('country', 2).notNullable().comment('ISO 3166-1 alpha-2 country of the company');
    t.text('privacy_regime').notNullable().comment('gdpr | uk_gdpr | ccpa: which deadline rules apply to requests');
    t.text('status')
      .notNullable()
      .defaultTo('onboarding')
      .comment('onboarding | active | onboarding_failed | terminated');
    t.text('data_category').notNullable().defaultTo('business_contact');
    t.uuid('onboarding_request_id').comment('The lifecycle request that created this customer');
    t.timestamps(true, true);
    t.unique(['registration_number'], { indexName: 'customers_registration_number_unique' });
    t.index(['status'], 'customers_status_idx');
  });
  await knex.raw(
    "alter table customers add constraint customers_status_check check (status in ('onboarding','active','onboarding_failed','terminated'))",
  );

  await knex.schema.createTable('contacts', (t) => {
    t.uuid('id').primary();
    t.uuid('customer_id').notNullable().references('customers.id').onDelete('CASCADE');
    t.text('name').notNullable();
    t.text('email').notNullable().comment('Stored lower-cased; identity checks compare against it');
    t.text('phone').comment('E.164');
    t.text('role').notNullable().comment('primary | billing | technical | legal | other');
    t.text('data_category').notNullable().defaultTo('business_contact');
    t.timestamps(true, true);
    t.unique(['customer_id', 'email'], { indexName: 'contacts_customer_email_unique' });
    t.index(['customer_id', 'data_category'], 'contacts_customer_category_idx');
  });

  await knex.schema.createTable('seller_accounts', (t) => {
    t.uuid('id').primary();
    t.uuid('customer_id').notNullable().references('customers.id').onDelete('CASCADE');
    t.text('marketplace').notNullable().comment('e.g. amazon, ebay, shopify, aliexpress');
    t.text('external_account_id').notNullable().comment('The seller id at the marketplace');
    t.text('region').comment('Marketplace region, e.g. EU, US, JP');
    t.text('data_category').notNullable().defaultTo('seller_accounts');
    t.timestamps(true, true);
    t.unique(['customer_id', 'marketplace', 'external_account_id'], { indexName: 'seller_accounts_identity_unique' });
    t.index(['customer_id', 'data_category'], 'seller_accounts_customer_category_idx');
  });

  await knex.schema.createTable('contracts', (t) => {
    t.uuid('id').primary();
    t.uuid('customer_id').notNullable().references('customers.id').onDelete('CASCADE');
    t.date('starts_on').notNullable();
    t.date('ends_on').comment('Null while open-ended; the retention clock of customer data starts here');
    t.text('termination_disposition')
      .notNullable()
      .comment('delete | return_then_delete: what the customer chose for the end of the contract (GDPR Art. 28(3)(g))');
    t.text('plan');
    t.text('data_category').notNullable().defaultTo('business_contact');
    t.timestamps(true, true);
    t.index(['customer_id', 'data_category'], 'contracts_customer_category_idx');
  });
  await knex.raw(
    "alter table contracts add constraint contracts_disposition_check check (termination_disposition in ('delete','return_then_delete'))",
  );
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('contracts');
  await knex.schema.dropTable('seller_accounts');
  await knex.schema.dropTable('contacts');
  await knex.schema.dropTable('customers');
}
