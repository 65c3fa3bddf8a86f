/**
 * Deletion requests (`POST /v1/customers/{id}/deletion-requests`, workflows/deletion-request.ts): a verified registered
 * contact asks to delete categories or named contacts / seller accounts while the contract goes on.
 *
 * - `deletion_request_parts`: one row per part of a request (a category, a contact id or a seller account id), with
 *   the decision taken after the requester's identity was confirmed: granted, or refused with the rule and reason
 *   (statutory retention with its end date, a legal hold, data needed to deliver the contracted service), and when the
 *   granted part was erased. Ids and categories only, no personal data. Not to be confused with `deletion_requests`,
 *   the deletions an erasure sends to subprocessors.
 * - `erasures.reason` gains `deletion-request`: the erasure workflow runs the granted parts.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('deletion_request_parts', (t) => {
    t.comment('Parts of a customer deletion request and the decision on each (evidence: ids, categories, rules)');
    t.uuid('request_id').notNullable().references('lifecycle_requests.id').onDelete('CASCADE');
    t.integer('position').notNullable().comment('Order of the part in the request, from 0');
    t.uuid('customer_id').notNullable().comment('No foreign key: the evidence outlives the data it was about');
    t.text('kind').notNullable().comment('category | contact | seller_account');
    t.text('target').notNullable().comment('The category name, or the contact / seller account id');
    t.text('decision').notNullable().defaultTo('pending').comment('pending | granted | refused');
    t.text('rule').comment('Why refused: statutory_retention | legal_hold | needed_for_service | ...');
    t.text('reason').comment('The decision in words, as the requester was told');
    t.timestamp('retain_until', { useTz: true }).comment('Statutory retention: until when the data is kept');
    t.jsonb('details').comment('Small facts behind the decision: row counts, hold ids');
    t.timestamp('decided_at', { useTz: true });
    t.timestamp('erased_at', { useTz: true }).comment('When the erasure of a granted part completed');
    t.text('erasure_workflow_id');
    t.primary(['request_id', 'position']);
    t.index(['customer_id'], 'deletion_request_parts_customer_idx');
  });
  await knex.raw(`alter table deletion_request_parts
    add constraint deletion_request_parts_kind_check check (kind in ('category', 'contact', 'seller_account')),
    add constraint deletion_request_parts_decision_check check (decision in ('pending', 'granted', 'refused'))`);

  await knex.raw(`alter table erasures drop constraint erasures_reason_check,
    add constraint erasures_reason_check check (reason in ('retention', 'termination', 'deletion-request'))`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`alter table erasures drop constraint erasures_reason_check,
    add constraint erasures_reason_check check (reason in ('retention', 'termination'))`);
  await knex.schema.dropTable('deletion_request_parts');
}
