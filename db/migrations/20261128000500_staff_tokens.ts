/**
 * Staff API tokens. Only a SHA-256 hash of each token is stored: the token itself is shown once, by the CLI that
 * creates it. A revoked token stays (with its revocation time) so that audit events naming it remain explainable.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('staff_tokens', (t) => {
    t.uuid('id').primary().comment('Recorded as the actor (staff:<id>) on requests and audit events');
    t.text('name').notNullable().comment('Who holds the token, e.g. a staff member or a team');
    t.text('role').notNullable().comment('support | privacy_officer | auditor | admin');
    t.text('token_hash').notNullable().comment('SHA-256 (hex) of the bearer token');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('last_used_at', { useTz: true });
    t.timestamp('revoked_at', { useTz: true });
    t.unique(['token_hash'], { indexName: 'staff_tokens_token_hash_unique' });
  });
  await knex.raw(
    "alter table staff_tokens add constraint staff_tokens_role_check check (role in ('support','privacy_officer','auditor','admin'))",
  );
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('staff_tokens');
}
