/**
 * `customer_lifecycle_dates`: the minimal evidence record of when a customer's contract started and ended, kept apart
 * from the `contracts` row (issue #11, "the retention clock depends on data it erases").
 *
 * The contract-end retention clock of every category starts at the contract's end. The `contracts` row itself is
 * business contact data (category `business_contact`), so when that category expires first its erasure used to take
 * the dates with it, and every other contract-end category lost its clock. This record holds dates and ids only (no
 * personal data), is what the retention lifecycle plans from, and is deleted by that lifecycle once the last
 * contract-end category is erased (or with the customer record, by the foreign key).
 *
 * Existing customers are backfilled from their latest contract.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('customer_lifecycle_dates', (t) => {
    t.comment(
      'Evidence of the customer and contract dates that drive retention deadlines; outlives the contracts row, ' +
        'deleted when the last contract-end category is erased',
    );
    t.uuid('customer_id').primary().references('customers.id').onDelete('CASCADE');
    t.uuid('contract_id').notNullable().comment('The contract the dates belong to (no foreign key: it may be erased)');
    t.timestamp('customer_since', { useTz: true }).notNullable().comment('When the customer record was created');
    t.date('contract_starts_on').notNullable();
    t.date('contract_ends_on').comment('Agreed last day; null while open-ended');
    t.timestamp('contract_ended_at', { useTz: true }).comment('When the contract actually ended (termination)');
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  await knex.raw(`
    insert into customer_lifecycle_dates
      (customer_id, contract_id, customer_since, contract_starts_on, contract_ends_on, contract_ended_at)
    select distinct on (k.customer_id) k.customer_id, k.id, c.created_at, k.starts_on, k.ends_on, k.ended_at
      from contracts k join customers c on c.id = k.customer_id
     order by k.customer_id, k.created_at desc`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('customer_lifecycle_dates');
}
