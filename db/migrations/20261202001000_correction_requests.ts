/**
 * Correction requests (workflows/correction.ts): the company fields a correction may change that onboarding did not
 * record yet (trading name, postal address), the requested changes with their new values, and one receipt per
 * subprocessor told of the correction (GDPR Art. 19).
 *
 * The new values live only here (never in Temporal payloads or logs): the workflow carries change ids and field names,
 * the activities read the values. `row_version` is the hash of the target row when the change was validated: the apply
 * compares it under a row lock, so a row changed since then is re-validated instead of overwritten blindly.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('customers', (t) => {
    t.text('trading_name').comment('Name the company trades under, when it differs from the legal name');
    t.text('address').comment('Postal address of the company (free text, several lines)');
  });

  await knex.schema.createTable('correction_changes', (t) => {
    t.comment('Changes requested by correction requests, one row per change, with the state each reached');
    t.uuid('id').primary().comment('Change id: what the workflow, the audit log and the API name');
    t.uuid('request_id').notNullable().comment('The lifecycle request (type correction)');
    t.uuid('customer_id').notNullable().references('customers.id').onDelete('CASCADE');
    t.integer('position').notNullable().comment('Index of the change in the request body');
    t.text('kind').notNullable().comment('e.g. company.legalName, contact.email, contact.add, sellerAccount.region');
    t.text('target_table').notNullable().comment('customers | contacts | seller_accounts');
    t.uuid('target_id').notNullable().comment('Row changed; for contact.add the id the new contact gets');
    t.text('target_column').comment('Column changed; null for contact.add and contact.remove');
    t.jsonb('new_value').comment('The corrected value (a whole contact for contact.add); personal data');
    t.jsonb('previous_value').comment('Kept only for contact.email, to tell the old address; cleared once told');
    t.text('before_sha256').comment('SHA-256 of the value before (canonical JSON): what the audit log shows');
    t.text('after_sha256').comment('SHA-256 of the value after');
    t.text('row_version').comment('SHA-256 of the target row when validated (null for contact.add)');
    t.boolean('sensitive').notNullable().defaultTo(false).comment('Needs a privacy officer decision first');
    t.text('state')
      .notNullable()
      .defaultTo('pending')
      .comment('pending | unchanged | awaiting_approval | approved | rejected | applied | conflict | invalid');
    t.text('state_rule').comment('Why the state was reached when not applied, e.g. approval_rejected');
    t.text('data_category').notNullable().comment('business_contact | seller_accounts');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('applied_at', { useTz: true });
    t.unique(['request_id', 'position'], { indexName: 'correction_changes_request_position_unique' });
    t.index(['customer_id', 'data_category'], 'correction_changes_customer_category_idx');
  });
  await knex.raw(
    `alter table correction_changes add constraint correction_changes_state_check check (state in
     ('pending','unchanged','awaiting_approval','approved','rejected','applied','conflict','invalid'))`,
  );

  await knex.schema.createTable('correction_receipts', (t) => {
    t.comment('One receipt per subprocessor told of a correction (GDPR Art. 19): delivered, failed or waived');
    t.uuid('request_id').notNullable();
    t.text('subprocessor_id').notNullable().references('subprocessors.id');
    // No foreign key: the receipts are evidence (GDPR Art. 19) that outlives the customer record.
    t.uuid('customer_id').notNullable();
    t.specificType('categories', 'text[]').notNullable().comment('Affected categories this subprocessor holds');
    t.text('idempotency_key').notNullable().comment('Same on every attempt: the subprocessor applies it once');
    t.text('status').notNullable().defaultTo('pending').comment('pending | delivered | failed | waived');
    t.integer('http_status').comment('Answer of the accepted call (2xx, or 409 already done)');
    t.boolean('already_done').comment('The subprocessor answered 409: done by an earlier attempt');
    t.integer('attempts').notNullable().defaultTo(0).comment('Calls made, failed ones included');
    t.text('last_error').comment('Protocol-level reason of the last failed call (status and path; no body values)');
    t.timestamp('first_attempt_at', { useTz: true });
    t.timestamp('answered_at', { useTz: true });
    t.timestamp('escalated_at', { useTz: true }).comment('When staff were told it keeps failing');
    t.text('waived_by').comment('Privacy officer who waived the receipt');
    t.text('waive_reason').comment('Why it was waived (staff text)');
    t.timestamp('waived_at', { useTz: true });
    t.primary(['request_id', 'subprocessor_id'], { constraintName: 'correction_receipts_pkey' });
    t.index(['customer_id'], 'correction_receipts_customer_idx');
  });
  await knex.raw(
    `alter table correction_receipts add constraint correction_receipts_status_check check (status in
     ('pending','delivered','failed','waived'))`,
  );
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('correction_receipts');
  await knex.schema.dropTable('correction_changes');
  await knex.schema.alterTable('customers', (t) => {
    t.dropColumn('address');
    t.dropColumn('trading_name');
  });
}
