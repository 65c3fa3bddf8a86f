/**
 * What the access-request process keeps besides its lifecycle request: the public links it sends (identity
 * verification, export download), the export archives it builds, the deadline extensions staff grant, and a record of
 * every notice it sends (so a retried activity never sends twice).
 *
 * None of these tables holds a requester's email address: notices name the recipient by kind (requester, contact,
 * staff) and contact id, and the address a request was made from lives only in the request's payload until the
 * request no longer needs it (see activities/access-request.ts).
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('public_links', (t) => {
    t.comment('Signed, expiring links sent by email (lib/signed-links.ts); the token itself is never stored');
    t.uuid('id').primary().comment('Link id carried inside the signed token');
    t.text('purpose').notNullable().comment('verify | export');
    t.uuid('request_id').notNullable().comment('The lifecycle request the link belongs to');
    t.uuid('customer_id').notNullable();
    t.uuid('contact_id').comment('Registered contact the link was sent to');
    t.uuid('archive_id').comment('Export archive served by an export link');
    t.timestamp('expires_at', { useTz: true }).notNullable().comment('Same instant as the expiry signed in the token');
    t.integer('max_uses').comment('1 for single-use links (verification); null for unlimited until expiry (export)');
    t.integer('use_count').notNullable().defaultTo(0);
    t.timestamp('first_used_at', { useTz: true });
    t.timestamp('last_used_at', { useTz: true });
    t.timestamp('revoked_at', { useTz: true }).comment('Set when what the link points to is gone (archive deleted)');
    t.text('data_category').notNullable().defaultTo('export_archives');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(['request_id'], 'public_links_request_idx');
    t.index(['customer_id', 'data_category'], 'public_links_customer_category_idx');
  });
  await knex.raw(
    "alter table public_links add constraint public_links_purpose_check check (purpose in ('verify','export'))",
  );

  await knex.schema.createTable('export_archives', (t) => {
    t.comment('Archives built for access requests: one directory per archive under EXPORT_DIR');
    t.uuid('id').primary().comment('Also the directory name under EXPORT_DIR');
    t.uuid('request_id').notNullable();
    t.uuid('customer_id').notNullable();
    t.text('scope').notNullable().comment('contact_information | service_records | all');
    t.text('status').notNullable().defaultTo('running').comment('running | complete | deleted');
    t.jsonb('checkpoint').comment('Where a resumed export continues: finished tables and the current key range');
    t.bigInteger('rows_total');
    t.bigInteger('rows_done').notNullable().defaultTo(0);
    t.bigInteger('bytes').comment('Size of the table files, manifest excluded');
    t.jsonb('tables').comment('Per table: file, rows, bytes, SHA-256 (the manifest, without generated-at)');
    t.text('manifest_sha256');
    t.text('data_category').notNullable().defaultTo('export_archives');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('completed_at', { useTz: true });
    t.timestamp('deleted_at', { useTz: true });
    t.unique(['request_id'], { indexName: 'export_archives_request_unique' });
    t.index(['customer_id', 'data_category'], 'export_archives_customer_category_idx');
  });
  await knex.raw(
    "alter table export_archives add constraint export_archives_status_check check (status in ('running','complete','deleted'))",
  );

  await knex.schema.createTable('request_extensions', (t) => {
    t.comment('Deadline extensions (GDPR Art. 12(3), CCPA 1798.130(a)(2)(A)): one per request, with its reason');
    t.bigIncrements('id').primary();
    t.uuid('request_id').notNullable();
    t.text('actor').notNullable().comment('Staff member who decided the extension');
    t.text('reason').notNullable().comment('Sent to the requester in the extension notice');
    t.date('previous_due_on').notNullable();
    t.date('due_on').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.unique(['request_id'], { indexName: 'request_extensions_request_unique' });
  });

  await knex.schema.createTable('request_notifications', (t) => {
    t.comment('Every notice a request sent, keyed so that a retried activity sends it once');
    t.bigIncrements('id').primary();
    t.uuid('request_id').notNullable();
    t.text('kind').notNullable().comment('e.g. acknowledgement, verification, refusal, reminder, delivery');
    t.text('recipient').notNullable().comment('requester | contact | staff (never the address itself)');
    t.uuid('contact_id');
    t.text('dedupe_key').notNullable();
    t.text('message_id').notNullable().comment('RFC 5322 Message-ID, derived from the dedupe key');
    t.timestamp('sent_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.unique(['dedupe_key'], { indexName: 'request_notifications_dedupe_key_unique' });
    t.index(['request_id'], 'request_notifications_request_idx');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('request_notifications');
  await knex.schema.dropTable('request_extensions');
  await knex.schema.dropTable('export_archives');
  await knex.schema.dropTable('public_links');
}
