/**
 * A contact's email is unique per customer, checked at commit instead of per statement: one correction may swap the
 * addresses of two contacts, which passes through a moment where both rows hold the same address inside the
 * transaction that applies it. No ON CONFLICT uses this constraint (a deferrable one cannot be an arbiter).
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`alter table contacts drop constraint contacts_customer_email_unique`);
  await knex.raw(
    `alter table contacts add constraint contacts_customer_email_unique unique (customer_id, email)
       deferrable initially deferred`,
  );
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`alter table contacts drop constraint contacts_customer_email_unique`);
  await knex.raw(`alter table contacts add constraint contacts_customer_email_unique unique (customer_id, email)`);
}
