/**
 * The audit log's intake (db/repositories/audit-intake.ts): an event recorded in a transaction that must not wait for
 * the chain lock (the API's accepting transaction) is written here, keyed and MACed, and chained into `audit_events`
 * moments later by whoever recorded it, or by the start reconciler when that process died first. Chaining it deletes
 * its row in the same transaction that appends the event (keyed: a second chaining appends nothing).
 *
 * No personal data: the event is what `audit_events` will hold (ids, hashes, counts), and the table has no
 * customer or request column of its own; a row lives for milliseconds unless its process died.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('audit_intake', (t) => {
    t.text('idempotency_key').primary().comment('the key the event is appended with: chaining it twice appends once');
    t.jsonb('event').notNullable().comment('the event as auditEvents.append takes it');
    t.timestamp('recorded_at', { useTz: true })
      .notNullable()
      .defaultTo(knex.raw('clock_timestamp()'))
      .comment('when it happened: the chained event occurs at this instant, or at the chain head if that is later');
    t.text('mac_key_id').notNullable().comment('AUDIT_HMAC_KEYS id of the key the MAC was made with');
    t.text('mac').notNullable().comment('HMAC-SHA256 of the key and the event: an altered row is refused, not chained');
  });
  await knex.raw('create index audit_intake_recorded_at_idx on audit_intake (recorded_at)');
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('audit_intake');
}
