/**
 * Retention policies per data category, their version history, the bookkeeping of rolling sweeps, and the instant a
 * contract actually ended.
 *
 * Policies belong to a policy set (RETENTION_POLICY_SET, default `default`): one database can hold several, so that a
 * deployment (or a test file sharing the database with others) applies its own periods without changing anyone
 * else's. Every change is a new version; `retention_policy_versions` keeps all of them (append-only) and deletions
 * record the version they applied.
 *
 * Defaults (version 1 of the `default` set), and why:
 *
 * | category              | clock           | period | reasoning                                                                 |
 * |-----------------------|-----------------|--------|---------------------------------------------------------------------------|
 * | business_contact      | contract_end    | P90D   | needed to serve the contract; 90 days cover the return-or-delete choice    |
 * |                       |                 |        | (GDPR Art. 28(3)(g), SCC Clause 10), final invoicing and reactivation      |
 * | seller_accounts       | contract_end    | P90D   | as business_contact: identifiers exist only to deliver the service         |
 * | orders                | contract_end    | P90D   | service delivery; invoices tax law keeps longer get their own retain_until |
 * |                       |                 |        | mark from the erasure and are swept when it passes                         |
 * | inventory, listings,  | contract_end    | P90D   | operational data of the service, nothing obliges keeping it afterwards     |
 * | workflow_records      |                 |        |                                                                           |
 * | communication_records | record_creation | P3Y    | evidence of what was agreed until contractual claims are time-barred       |
 * |                       |                 |        | (regular limitation period of three years, e.g. BGB 195)                 |
 * | authentication_logs   | record_creation | P1Y    | security review (GDPR Art. 32): a year covers investigating compromise     |
 * | api_access_logs       | record_creation | P90D   | troubleshooting and abuse detection; high volume, short usefulness        |
 * | export_archives       | record_creation | P30D   | an access-request archive serves only until its download link expires     |
 * | audit_log             | record_creation | P7Y    | accountability (GDPR Art. 5(2)): the evidence of processing and deletions  |
 * |                       |                 |        | outlives the claims it may answer; well above CCPA's 24-month minimum      |
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

/** Frozen copy of the defaults above (migrations do not follow later code). */
const DEFAULTS: { category: string; period: string; clock: string; basis: string }[] = [
  {
    category: 'business_contact',
    period: 'P90D',
    clock: 'contract_end',
    basis:
      'Contract performance (GDPR Art. 6(1)(b)); after the contract ends, 90 days for the return-or-delete choice ' +
      '(GDPR Art. 28(3)(g), SCC Clause 10), final invoicing and reactivation.',
  },
  {
    category: 'communication_records',
    period: 'P3Y',
    clock: 'record_creation',
    basis:
      'Legitimate interest (GDPR Art. 6(1)(f)) in evidence of what was communicated and agreed, until contractual ' +
      'claims are time-barred (regular limitation period of three years).',
  },
  {
    category: 'seller_accounts',
    period: 'P90D',
    clock: 'contract_end',
    basis: 'Contract performance (GDPR Art. 6(1)(b)); kept 90 days after contract end for return and reactivation.',
  },
  {
    category: 'orders',
    period: 'P90D',
    clock: 'contract_end',
    basis:
      'Contract performance (GDPR Art. 6(1)(b)); records that tax or commercial law obliges keeping longer carry ' +
      'their own retain_until and are deleted when it passes.',
  },
  {
    category: 'inventory',
    period: 'P90D',
    clock: 'contract_end',
    basis: 'Contract performance (GDPR Art. 6(1)(b)); kept 90 days after contract end for return and reactivation.',
  },
  {
    category: 'listings',
    period: 'P90D',
    clock: 'contract_end',
    basis: 'Contract performance (GDPR Art. 6(1)(b)); kept 90 days after contract end for return and reactivation.',
  },
  {
    category: 'workflow_records',
    period: 'P90D',
    clock: 'contract_end',
    basis: 'Contract performance (GDPR Art. 6(1)(b)); kept 90 days after contract end for return and reactivation.',
  },
  {
    category: 'authentication_logs',
    period: 'P1Y',
    clock: 'record_creation',
    basis:
      'Security of processing (GDPR Art. 32) and legitimate interest in detecting and investigating account ' +
      'compromise; one year of history.',
  },
  {
    category: 'api_access_logs',
    period: 'P90D',
    clock: 'record_creation',
    basis: 'Legitimate interest (GDPR Art. 6(1)(f)) in troubleshooting and abuse detection; 90 days.',
  },
  {
    category: 'export_archives',
    period: 'P30D',
    clock: 'record_creation',
    basis: 'Needed only to deliver an access request (GDPR Art. 15) until its download link expires; 30 days at most.',
  },
  {
    category: 'audit_log',
    period: 'P7Y',
    clock: 'record_creation',
    basis:
      'Accountability (GDPR Art. 5(2)): evidence of processing, requests and deletions, kept beyond the limitation ' +
      'periods of claims it may answer and above the 24 months CCPA regs 7101 require for request records.',
  },
];

// `{0,1}` rather than `?`: knex turns every `?` of a raw statement into a positional parameter.
const PERIOD_CHECK = String.raw`'^P(\d+Y){0,1}(\d+M){0,1}(\d+W){0,1}(\d+D){0,1}(T(\d+H){0,1}(\d+M){0,1}(\d+S){0,1}){0,1}$'`;

export async function up(knex: Knex): Promise<void> {
  const categoryList = CATEGORIES.map((c) => `'${c}'`).join(',');

  await knex.schema.createTable('retention_policies', (t) => {
    t.comment('The current retention policy per policy set and data category; history in retention_policy_versions');
    t.text('policy_set').notNullable().defaultTo('default').comment('RETENTION_POLICY_SET that applies this row');
    t.text('category').notNullable().comment('Data category (lib/data-categories.ts)');
    t.integer('version').notNullable().comment('1, 2, 3, ...: every change is a new version');
    t.text('period').notNullable().comment('ISO 8601 duration, whole numbers (P2Y, P90D, PT5S)');
    t.text('clock_start').notNullable().comment('record_creation (rolling sweep) | contract_end (per-customer timer)');
    t.text('legal_basis').notNullable().comment('Why data of this category is kept this long');
    t.text('changed_by').notNullable().comment('Staff member (staff:<id>) or system:<component> of this version');
    t.timestamp('changed_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.primary(['policy_set', 'category']);
  });
  await knex.raw(`alter table retention_policies
    add constraint retention_policies_category_check check (category in (${categoryList})),
    add constraint retention_policies_clock_check check (clock_start in ('record_creation', 'contract_end')),
    add constraint retention_policies_period_check check (period ~ ${PERIOD_CHECK} and period <> 'P' and period !~ 'T$'),
    add constraint retention_policies_version_check check (version >= 1)`);

  await knex.schema.createTable('retention_policy_versions', (t) => {
    t.comment('Every version of every retention policy, append-only: what applied when, and who changed it');
    t.text('policy_set').notNullable();
    t.text('category').notNullable();
    t.integer('version').notNullable();
    t.text('period').notNullable();
    t.text('clock_start').notNullable();
    t.text('legal_basis').notNullable();
    t.text('changed_by').notNullable();
    t.timestamp('changed_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.primary(['policy_set', 'category', 'version']);
  });
  await knex.raw(`
    create function retention_policy_versions_immutable() returns trigger language plpgsql as $$
    begin
      raise exception 'retention_policy_versions is append-only: a policy change is a new version';
    end $$`);
  await knex.raw(`create trigger retention_policy_versions_append_only before update or delete on retention_policy_versions
    for each statement execute function retention_policy_versions_immutable()`);

  const rows = DEFAULTS.map((d) => ({
    policy_set: 'default',
    category: d.category,
    version: 1,
    period: d.period,
    clock_start: d.clock,
    legal_basis: d.basis,
    changed_by: 'system:migration',
  }));
  await knex('retention_policies').insert(rows);
  await knex('retention_policy_versions').insert(rows);

  await knex.schema.createTable('retention_sweeps', (t) => {
    t.comment('One run of the rolling retention sweep (Temporal Schedule): its scope and when it completed');
    t.text('id').primary().comment('The sweep workflow id');
    t.text('policy_set').notNullable();
    t.specificType('customer_ids', 'uuid[]').comment('Restricted to these customers; null sweeps every customer');
    t.timestamp('started_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('completed_at', { useTz: true }).comment('Set with the audit event that records the counts');
  });

  await knex.schema.createTable('retention_sweep_counts', (t) => {
    t.comment(
      'Rows deleted per sweep, category and kind, incremented in the same transaction as each batch delete so the ' +
        'counts stay exact across retries and crashes',
    );
    t.text('sweep_id').notNullable().references('retention_sweeps.id').onDelete('CASCADE');
    t.text('category').notNullable();
    t.text('kind').notNullable().comment('period (older than the policy period) | statutory (retain_until passed)');
    t.integer('policy_version').notNullable().comment('Version of the policy the deletion applied');
    t.text('period').comment('The period applied (kind period)');
    t.timestamp('cutoff', { useTz: true }).notNullable().comment('Rows older than this (or marked until before it)');
    t.bigInteger('deleted').notNullable().defaultTo(0);
    t.primary(['sweep_id', 'category', 'kind']);
  });

  await knex.schema.alterTable('contracts', (t) => {
    t.timestamp('ended_at', { useTz: true }).comment(
      'When the contract actually ended (termination effective); the retention clock of customer data starts here, ' +
        'else at the end of ends_on (UTC)',
    );
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('contracts', (t) => {
    t.dropColumn('ended_at');
  });
  await knex.schema.dropTable('retention_sweep_counts');
  await knex.schema.dropTable('retention_sweeps');
  await knex.schema.dropTable('retention_policy_versions');
  await knex.raw('drop function retention_policy_versions_immutable()');
  await knex.schema.dropTable('retention_policies');
}
