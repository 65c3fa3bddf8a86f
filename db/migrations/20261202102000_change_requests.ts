/**
 * Changes that wait for a second person (README "Approvals"): bringing a contract's erasure forward, shortening a
 * retention period (or moving its clock), and creating a subprocessor or changing its URL or secret. The proposal is
 * kept here until another staff member approves it (then it is applied), rejects it, or it expires.
 *
 * No `customer_id` column on purpose: a contract change names its customer in `subject_id`, like an audit event's
 * subject, and the row is evidence about a decision, not customer data (lib/pure/data-map.ts lists customer data).
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('change_requests', (t) => {
    t.uuid('id').primary();
    t.text('kind').notNullable().comment('contract_end | retention_policy | subprocessor');
    t.text('subject_type').notNullable().comment('customer | retention_policy | subprocessor');
    t.text('subject_id').notNullable().comment('Customer id, policy set/category, or subprocessor id');
    t.jsonb('summary').notNullable().comment('What changes, from and to, as staff see it (never a secret)');
    t.jsonb('payload').comment('The change as it will be applied (may hold a signing secret); cleared once decided');
    t.text('status').notNullable().defaultTo('pending').comment('pending | applied | rejected | expired | superseded');
    t.text('requested_by').notNullable().comment('staff:<id> who proposed the change');
    t.timestamp('requested_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('expires_at', { useTz: true }).notNullable().comment('After this a pending change can only lapse');
    t.text('decided_by').comment('staff:<id> who approved or rejected it');
    t.timestamp('decided_at', { useTz: true });
    t.text('decision_reason');
    t.jsonb('outcome').comment('What applying it did, e.g. the new policy version');
    t.index(['status', 'requested_at'], 'change_requests_status_idx');
  });
  await knex.raw(
    `alter table change_requests add constraint change_requests_kind_check
       check (kind in ('contract_end', 'retention_policy', 'subprocessor'))`,
  );
  await knex.raw(
    `alter table change_requests add constraint change_requests_status_check
       check (status in ('pending', 'applied', 'rejected', 'expired', 'superseded'))`,
  );
  // One pending change per subject: a second proposal is answered with the first one, never silently stacked.
  await knex.raw(
    `create unique index change_requests_one_pending on change_requests (kind, subject_id) where status = 'pending'`,
  );
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('change_requests');
}
