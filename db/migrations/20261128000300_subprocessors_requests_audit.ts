/**
 * Subprocessors (and which customer is registered with which), lifecycle requests and the audit log.
 *
 * Lifecycle requests deliberately have no foreign key to customers: request records must outlive the customer's
 * erasure (CCPA regs 7101 keep them 24 months), and an onboarding request exists before its customer does.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('subprocessors', (t) => {
    t.text('id').primary().comment('Slug used in URLs and idempotency keys, e.g. "crm"');
    t.text('name').notNullable();
    t.text('base_url').notNullable().comment('Protocol v1 base URL; calls go to {base_url}/v1/...');
    t.text('signing_secret').notNullable().comment('Shared HMAC secret for X-Signature, both directions');
    t.specificType('categories', 'text[]').notNullable().comment('Data categories this subprocessor holds');
    t.boolean('active').notNullable().defaultTo(true);
    t.timestamps(true, true);
  });

  await knex.schema.createTable('customer_subprocessors', (t) => {
    t.uuid('customer_id').notNullable().references('customers.id').onDelete('CASCADE');
    t.text('subprocessor_id').notNullable().references('subprocessors.id');
    t.timestamp('registered_at', { useTz: true }).comment('Null until the subprocessor accepted the tenant');
    t.jsonb('registration_receipt').comment('HTTP status, idempotency key and answer of the registration call');
    t.text('data_category').notNullable().defaultTo('business_contact');
    t.primary(['customer_id', 'subprocessor_id']);
  });

  await knex.schema.createTable('lifecycle_requests', (t) => {
    t.uuid('id').primary();
    t.text('type').notNullable().comment('onboarding | access | correction | termination | retention');
    t.uuid('customer_id').notNullable();
    t.text('subject_key').comment('What makes two requests the same, e.g. the registration number of an onboarding');
    t.text('status').notNullable().defaultTo('received').comment('received | running | completed | failed | cancelled');
    t.text('stage').notNullable().defaultTo('received').comment('Last stage the workflow reported');
    t.text('workflow_id').notNullable();
    t.text('privacy_regime');
    t.date('due_on').comment('Legal deadline, where one applies');
    t.text('actor').notNullable().comment('Who asked: a staff member id, or system:<component>');
    t.text('idempotency_key').comment('Client-supplied Idempotency-Key of the starting API call');
    t.text('request_hash').notNullable().comment('SHA-256 of the canonical request body, to detect key reuse');
    t.jsonb('payload').comment('Validated input, cleared once recorded where it carries personal data');
    t.jsonb('outcome').comment('Small facts about the result: counts, ids, receipts');
    t.text('failure_reason');
    t.timestamp('received_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('completed_at', { useTz: true });
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.unique(['idempotency_key'], { indexName: 'lifecycle_requests_idempotency_key_unique' });
    t.index(['customer_id', 'type'], 'lifecycle_requests_customer_type_idx');
  });
  // Two onboardings of the same company may not run at once; a failed one can be retried.
  await knex.raw(
    `create unique index lifecycle_requests_one_live_onboarding on lifecycle_requests (subject_key)
     where type = 'onboarding' and status in ('received', 'running', 'completed')`,
  );

  await knex.schema.createTable('audit_events', (t) => {
    t.bigIncrements('id').primary();
    t.timestamp('occurred_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.text('actor').notNullable().comment('Staff member id, or system:<component> for automatic steps');
    t.text('action').notNullable().comment('Dotted verb, e.g. customer.recorded, subprocessor.tenant_registered');
    t.uuid('customer_id');
    t.uuid('request_id');
    t.text('workflow_id');
    t.text('subject_type').notNullable();
    t.text('subject_id').notNullable();
    t.jsonb('details').notNullable().defaultTo('{}').comment('Ids, counts and hashes only: never plaintext PII');
    t.text('data_category').notNullable().defaultTo('audit_log');
    t.index(['customer_id', 'id'], 'audit_events_customer_idx');
    t.index(['request_id'], 'audit_events_request_idx');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('audit_events');
  await knex.schema.dropTable('lifecycle_requests');
  await knex.schema.dropTable('customer_subprocessors');
  await knex.schema.dropTable('subprocessors');
}
