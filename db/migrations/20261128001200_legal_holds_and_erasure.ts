/**
 * Legal holds, the bookkeeping of erasures (one row per erasure, a checkpoint per batched step) and of deletion
 * requests to subprocessors, and statutory retention marks on the records a legal obligation keeps longer.
 *
 * - `legal_holds` suspends every deletion it covers (customer x categories, NULL categories = all). It has no foreign
 *   key to customers on purpose: a hold and its release are evidence that outlives the data it protected.
 * - `erasures` / `erasure_progress`: the erasure workflow (workflows/erasure.ts) records its scope, stage and results;
 *   every batch updates its step's checkpoint (rows so far, last key) in the same transaction as the batch itself, so
 *   counts stay exact when an activity is retried after a crash.
 * - `deletion_requests`: one per deletion sent to a subprocessor (protocol v1), with the receipts of the request and
 *   of its confirmation; a signed callback finds the waiting workflow through `workflow_id`.
 * - `orders.retain_until` / `retention_reason`: invoiced orders that tax law keeps longer than the contract
 *   (lib/statutory-retention.ts); the rolling sweep deletes them once `retain_until` has passed. The customers row
 *   gets the same pair when a termination must keep it as the counterparty of retained invoices.
 * - Indexes on the seller account references of orders and listings: deleting a seller account checks them (ON DELETE
 *   SET NULL), which without an index scans the whole table inside the deleting transaction.
 */
import type { Knex } from 'knex';

const CATEGORIES = [
  'business_contact',
  'communication_records',
  'seller_accounts',
  'orders',
  'inventory',
  'listings',
  'workflow_records',
  'authentication_logs',
  'api_access_logs',
  'export_archives',
  'audit_log',
];

export async function up(knex: Knex): Promise<void> {
  const categoryArray = `array[${CATEGORIES.map((c) => `'${c}'`).join(',')}]::text[]`;

  await knex.schema.createTable('legal_holds', (t) => {
    t.comment('Legal holds: while active (released_at null), no deletion of what they cover may run');
    t.uuid('id').primary();
    t.uuid('customer_id').notNullable().comment('No foreign key: the hold is evidence that outlives the customer');
    t.specificType('categories', 'text[]').comment('Data categories covered; NULL covers every category');
    t.text('reason').notNullable().comment('Why (litigation, regulator request, investigation); audited as a hash');
    t.text('reference').notNullable().comment('Case, matter or ticket reference');
    t.text('placed_by').notNullable().comment('staff:<id> who placed the hold');
    t.timestamp('placed_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.text('released_by').comment('staff:<id> who released it');
    t.timestamp('released_at', { useTz: true });
    t.text('release_reason');
  });
  await knex.raw(`alter table legal_holds
    add constraint legal_holds_categories_check check (
      categories is null or (cardinality(categories) > 0 and categories <@ ${categoryArray})),
    add constraint legal_holds_release_check check (
      (released_at is null and released_by is null and release_reason is null)
      or (released_at is not null and released_by is not null and release_reason is not null))`);
  await knex.raw('create index legal_holds_active_idx on legal_holds (customer_id) where released_at is null');
  await knex.raw('create index legal_holds_customer_idx on legal_holds (customer_id, placed_at)');

  await knex.schema.createTable('erasures', (t) => {
    t.comment('One erasure of a scope (customer x categories): workflows/erasure.ts');
    t.uuid('id').primary().comment('First run id of the erasure workflow (stable across continue-as-new)');
    t.text('workflow_id').notNullable();
    t.uuid('customer_id').notNullable().comment('No foreign key: the evidence outlives the customer');
    t.text('reason').notNullable().comment('retention | termination');
    t.uuid('request_id').comment('Lifecycle request the erasure belongs to, if any');
    t.specificType('categories', 'text[]').notNullable();
    t.jsonb('policy_versions').comment('Retention policy version applied per category');
    t.text('status').notNullable().defaultTo('running').comment('running | waiting-for-legal-hold | completed');
    t.specificType('held_categories', 'text[]').notNullable().defaultTo('{}').comment('Categories waiting for a hold');
    t.jsonb('tables').comment('Rows deleted per table');
    t.jsonb('retained').comment('Rows kept under statutory retention per table: rows, until, reason');
    t.jsonb('subprocessors').comment('Deletion receipt per subprocessor');
    t.boolean('verified').comment('No row of the scope remained (except retained) when it completed');
    t.timestamp('started_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('completed_at', { useTz: true });
    t.index(['customer_id', 'status'], 'erasures_customer_status_idx');
    t.index(['workflow_id'], 'erasures_workflow_idx');
  });
  await knex.raw(`alter table erasures
    add constraint erasures_reason_check check (reason in ('retention', 'termination')),
    add constraint erasures_status_check check (status in ('running', 'waiting-for-legal-hold', 'completed'))`);

  await knex.schema.createTable('erasure_progress', (t) => {
    t.comment('Checkpoint of each batched step of an erasure, updated in the same transaction as each batch');
    t.uuid('erasure_id').notNullable().references('erasures.id').onDelete('CASCADE');
    t.text('step_key').notNullable().comment('<table>:<category>:<action>[:...] (lib/erasure-plan.ts)');
    t.text('table_name').notNullable();
    t.text('category').notNullable();
    t.text('action').notNullable().comment('mark-retained | detach | delete');
    t.bigInteger('rows').notNullable().defaultTo(0).comment('Rows this step changed so far');
    t.text('last_key').comment('Key of the last row walked (keyset checkpoint); null before the first batch');
    t.integer('batches').notNullable().defaultTo(0);
    t.boolean('completed').notNullable().defaultTo(false);
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.primary(['erasure_id', 'step_key']);
  });

  await knex.schema.createTable('deletion_requests', (t) => {
    t.comment('Deletions requested from subprocessors (protocol v1) and their confirmations: the receipts');
    t.uuid('id').primary().comment('The deletionId sent to the subprocessor');
    t.uuid('erasure_id').notNullable().references('erasures.id');
    t.text('workflow_id').notNullable().comment('Erasure workflow to signal when the confirmation arrives');
    t.uuid('customer_id').notNullable().comment('The tenant id at the subprocessor');
    t.text('subprocessor_id').notNullable().references('subprocessors.id');
    t.specificType('categories', 'text[]').notNullable();
    t.text('status').notNullable().defaultTo('requested').comment('requested | confirmed | escalated');
    t.text('idempotency_key').notNullable();
    t.jsonb('request_receipt').comment('HTTP status, already-done flag and answer time of the request');
    t.timestamp('requested_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('confirmed_at', { useTz: true });
    t.text('confirmed_via').comment('sync (in the answer) | callback (signed POST)');
    t.jsonb('confirmation_receipt').comment('How the confirmation arrived: callback idempotency key, body hash');
    t.timestamp('escalated_at', { useTz: true });
    t.jsonb('escalation').comment('Why and to whom it was escalated (message id), never customer data');
    t.index(['erasure_id'], 'deletion_requests_erasure_idx');
    t.index(['customer_id'], 'deletion_requests_customer_idx');
  });
  await knex.raw(`alter table deletion_requests
    add constraint deletion_requests_status_check check (status in ('requested', 'confirmed', 'escalated'))`);

  await knex.schema.alterTable('orders', (t) => {
    t.timestamp('retain_until', { useTz: true }).comment(
      'Kept under a statutory obligation until then (lib/statutory-retention.ts); deleted by the sweep afterwards',
    );
    t.text('retention_reason').comment('The statutory rule that keeps the row');
  });
  await knex.raw('create index orders_retain_until_idx on orders (retain_until) where retain_until is not null');
  await knex.raw(
    'create index orders_seller_account_idx on orders (seller_account_id) where seller_account_id is not null',
  );
  await knex.raw(
    'create index listings_seller_account_idx on listings (seller_account_id) where seller_account_id is not null',
  );

  await knex.schema.alterTable('customers', (t) => {
    t.timestamp('retain_until', { useTz: true }).comment(
      'Set when a termination keeps the record as the counterparty of retained invoices; deleted with the last of them',
    );
    t.text('retention_reason');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('customers', (t) => {
    t.dropColumns('retain_until', 'retention_reason');
  });
  await knex.raw('drop index listings_seller_account_idx');
  await knex.raw('drop index orders_seller_account_idx');
  await knex.raw('drop index orders_retain_until_idx');
  await knex.schema.alterTable('orders', (t) => {
    t.dropColumns('retain_until', 'retention_reason');
  });
  await knex.schema.dropTable('deletion_requests');
  await knex.schema.dropTable('erasure_progress');
  await knex.schema.dropTable('erasures');
  await knex.schema.dropTable('legal_holds');
}
