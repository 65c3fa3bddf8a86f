/**
 * Record before the side effect (docs/reliability.md "Outbox and accepted starts"):
 *
 * - `outbox_intents`: one row per email or subprocessor call, written before it leaves, keyed by the email's dedupe
 *   key or the call's idempotency key. It carries the stable Message-ID, counts attempts, and gets its completion (the
 *   receipt) once the side effect is known to have happened. A re-run finds a completed intent and sends nothing; an
 *   intent without completion is sent again with the same Message-ID or idempotency key. No personal data: keys, ids,
 *   Message-IDs, HTTP statuses.
 * - `audit_events.idempotency_key`: an event that states a fact once (an email sent, a receipt kept) carries a key, so
 *   an activity that runs again appends nothing (unique; the key is not part of the hashed content, so chains verify
 *   as before).
 * - `lifecycle_requests.workflow_*`: the API records the workflow start it owes (type, input, reuse policy) in the same
 *   transaction as the request and its `*.requested` event; `workflow_started_at` is set once Temporal took it. The
 *   start reconciler (a Temporal Schedule) starts what stayed unstarted, or closes it.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('outbox_intents', (t) => {
    t.text('key').primary().comment('email dedupe key or subprocessor idempotency key');
    t.text('kind').notNullable().comment('email | subprocessor_call');
    t.text('message_id').comment('email: the Message-ID every attempt sends');
    t.text('target').notNullable().comment('email: recipient kind (requester, contact, staff); call: subprocessor id');
    t.text('operation').notNullable().comment('email: notice kind; call: protocol path without ids');
    t.integer('attempts').notNullable().defaultTo(0).comment('sends started (a second one is a resend)');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('last_attempt_at', { useTz: true });
    t.timestamp('completed_at', { useTz: true }).comment('the side effect is known to have happened');
    t.jsonb('result').comment('what completed it: the accepted Message-ID, or the HTTP status and answer');
  });
  await knex.raw(`alter table outbox_intents add constraint outbox_intents_kind_check
    check (kind in ('email', 'subprocessor_call'))`);
  await knex.raw(`create index outbox_intents_open_idx on outbox_intents (created_at) where completed_at is null`);

  await knex.schema.alterTable('audit_events', (t) => {
    t.text('idempotency_key').comment('set on events that state a fact once: a second append with it adds nothing');
  });
  await knex.raw(
    `alter table audit_events add constraint audit_events_idempotency_key_unique unique (idempotency_key)`,
  );

  await knex.schema.alterTable('lifecycle_requests', (t) => {
    t.text('workflow_type').comment('the workflow the request is owed (recorded with the request)');
    t.jsonb('workflow_args').comment('its input: ids, dates and policy only, as the API computed them');
    t.text('workflow_id_reuse_policy');
    t.timestamp('workflow_started_at', { useTz: true }).comment('set once Temporal accepted the start');
    t.integer('start_attempts').notNullable().defaultTo(0);
    t.text('start_error').comment('why the last start failed (the reconciler tries again)');
  });
  // Requests recorded before this migration were started in the same call that recorded them.
  await knex.raw(`update lifecycle_requests set workflow_started_at = received_at`);
  await knex.raw(`create index lifecycle_requests_unstarted_idx on lifecycle_requests (received_at)
    where workflow_type is not null and workflow_started_at is null`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`drop index if exists lifecycle_requests_unstarted_idx`);
  await knex.schema.alterTable('lifecycle_requests', (t) => {
    t.dropColumns(
      'workflow_type',
      'workflow_args',
      'workflow_id_reuse_policy',
      'workflow_started_at',
      'start_attempts',
      'start_error',
    );
  });
  await knex.raw(`alter table audit_events drop constraint audit_events_idempotency_key_unique`);
  // The append-only trigger refuses UPDATE, not ALTER: dropping a column rewrites nothing it guards.
  await knex.schema.alterTable('audit_events', (t) => t.dropColumn('idempotency_key'));
  await knex.schema.dropTable('outbox_intents');
}
