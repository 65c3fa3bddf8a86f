/**
 * Staff tokens expire (STAFF_TOKEN_TTL, default P90D; README "Security"): a token that nobody reviews stops working by
 * itself. Tokens issued before this migration get 90 days from their creation, so an old forgotten token does not
 * live for ever; `npm run cli -- access-review` lists what expires when.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('staff_tokens', (t) => {
    t.timestamp('expires_at', { useTz: true }).comment('The token is refused from this instant on');
  });
  await knex.raw(`update staff_tokens set expires_at = created_at + interval '90 days' where expires_at is null`);
  // The default covers an insert that names no expiry (the repository always sets it from STAFF_TOKEN_TTL).
  await knex.raw(
    `alter table staff_tokens alter column expires_at set default now() + interval '90 days',
       alter column expires_at set not null`,
  );
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('staff_tokens', (t) => {
    t.dropColumn('expires_at');
  });
}
