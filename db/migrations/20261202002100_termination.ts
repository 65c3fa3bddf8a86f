/**
 * Contract termination (workflows/termination.ts):
 *
 * - `customers.status` gains `terminating`: access revoked, data being returned or erased; `terminated` once done.
 * - `customers.access_revoked_at` and `seller_accounts.access_revoked_at`: the instant the termination revoked the
 *   customer's API access and its seller accounts' access (the rows themselves go with the erasure).
 * - `public_links.purpose` gains `acknowledge`: the link that lets the primary contact acknowledge the return of
 *   their data (`/acknowledge/{token}`), after which the erasure may proceed before the grace period ends.
 * - `termination_recipients`: the one address the deletion certificate must reach after the erasure has deleted every
 *   contact. It is captured before the erasure, encrypted with the payload key (AES-256-GCM, key id recorded), and
 *   deleted as soon as the certificate was sent; the certificate names this row among the retained records.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw('alter table customers drop constraint customers_status_check');
  await knex.raw(`alter table customers add constraint customers_status_check
    check (status in ('onboarding','active','onboarding_failed','terminating','terminated'))`);
  await knex.schema.alterTable('customers', (t) => {
    t.timestamp('access_revoked_at', { useTz: true }).comment('When a termination revoked the API access');
  });
  await knex.schema.alterTable('seller_accounts', (t) => {
    t.timestamp('access_revoked_at', { useTz: true }).comment('When a termination revoked this account');
  });
  await knex.raw('alter table public_links drop constraint public_links_purpose_check');
  await knex.raw(`alter table public_links add constraint public_links_purpose_check
    check (purpose in ('verify','export','acknowledge'))`);

  await knex.schema.createTable('termination_recipients', (t) => {
    t.comment('Encrypted address that receives the deletion certificate; deleted once it was sent');
    t.uuid('request_id').primary().comment('The termination request');
    t.uuid('customer_id').notNullable().comment('No foreign key: it must outlive the customer row until sent');
    t.text('key_id').notNullable().comment('Payload key id that encrypted the address');
    t.text('ciphertext').notNullable().comment('base64(iv | tag | AES-256-GCM ciphertext) of the address');
    t.uuid('contact_id').notNullable().comment('The primary contact the address belonged to (id only)');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(['customer_id'], 'termination_recipients_customer_idx');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('termination_recipients');
  await knex.raw("delete from public_links where purpose = 'acknowledge'");
  await knex.raw('alter table public_links drop constraint public_links_purpose_check');
  await knex.raw(`alter table public_links add constraint public_links_purpose_check
    check (purpose in ('verify','export'))`);
  await knex.schema.alterTable('seller_accounts', (t) => {
    t.dropColumn('access_revoked_at');
  });
  await knex.schema.alterTable('customers', (t) => {
    t.dropColumn('access_revoked_at');
  });
  await knex.raw("update customers set status = 'active' where status = 'terminating'");
  await knex.raw('alter table customers drop constraint customers_status_check');
  await knex.raw(`alter table customers add constraint customers_status_check
    check (status in ('onboarding','active','onboarding_failed','terminated'))`);
}
