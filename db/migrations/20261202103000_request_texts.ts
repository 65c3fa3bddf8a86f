/**
 * `request_texts`: free text staff give for a decision about a request (why a deadline is extended, why a
 * subprocessor's receipt is waived). Such text may name people, so it stays in the database and workflows carry only
 * its id (issue #12, "personal data at rest and in transit"): the API records the text, the workflow passes the id to
 * the activity that needs the words (the notice to the requester, the waiver record), and the status API shows it.
 * Part of the request record: deleted with the request, by the foreign key.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('request_texts', (t) => {
    t.comment('Free text staff gave for a decision about a request; workflows carry only the id (never the words)');
    t.uuid('id').primary();
    t.uuid('request_id').notNullable().references('lifecycle_requests.id').onDelete('CASCADE');
    t.text('kind').notNullable().comment('extension_reason | waiver_reason');
    t.text('text').notNullable().comment('The words as given (may name people)');
    t.text('actor').notNullable().comment('Staff member who gave it, staff:<id>');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(['request_id'], 'request_texts_request_idx');
  });
  await knex.raw(`alter table request_texts add constraint request_texts_kind_check
    check (kind in ('extension_reason', 'waiver_reason'))`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('request_texts');
}
