/**
 * The audit chain becomes evidence against an insider (README "Security", threat model):
 *
 * - Keyed links. `mac_key_id` and `mac` hold an HMAC-SHA256 of each event's links under a key from AUDIT_HMAC_KEYS,
 *   which the database never holds (lib/audit-hash.ts `auditLinkMac`). Rows written before this migration have none:
 *   `audit_keying.legacy_through_seq` records the last global position that may lack a MAC, and every signed
 *   checkpoint repeats it (lib/audit-checkpoints.ts), so raising it later is detected. A trigger refuses new events
 *   without a MAC (a writer without the key cannot produce one that verifies anyway).
 * - Purge only through `audit_purge_through(last_seq, last_hash, cutoff)`, a SECURITY DEFINER function owned by the
 *   migration role: it checks that the anchor the application signed (and wrote to the checkpoint file) names an event
 *   that exists with that hash, that everything up to it is older than the cutoff, writes the chain anchors and
 *   deletes. The service's role keeps SELECT and INSERT on `audit_events` and SELECT on the anchors, nothing more.
 * - `audit_integrity_alerts`: one row per distinct break the scheduled verification found and mailed, so that a break
 *   is reported once, not at every run.
 *
 * Privileges: UPDATE, DELETE and TRUNCATE on the audit tables are revoked from every role but the owner (whatever
 * granted them: deploy/postgres/init-roles.sh's default privileges, db/roles.ts), so the service's role cannot change
 * or remove audit rows even with the triggers (which only the owner may disable) in place.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw('lock table audit_events in exclusive mode');
  await knex.schema.alterTable('audit_events', (t) => {
    t.text('mac_key_id').comment('Id of the AUDIT_HMAC_KEYS key that MACed this event; null only for legacy rows');
    t.text('mac').comment('HMAC-SHA256 (hex) of the event id and its chain links (lib/audit-hash.ts auditLinkMac)');
  });
  await knex.raw(
    "alter table audit_events add constraint audit_events_mac_check check (mac is null or mac ~ '^[0-9a-f]{64}$')",
  );

  await knex.schema.createTable('audit_keying', (t) => {
    t.comment('When the audit chain became keyed: events up to legacy_through_seq may lack a MAC (one row)');
    t.boolean('singleton').primary().defaultTo(true);
    t.bigInteger('legacy_through_seq').notNullable().comment('Last global position written before keyed links');
    t.timestamp('keyed_since', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  await knex.raw('alter table audit_keying add constraint audit_keying_singleton_check check (singleton)');
  await knex.raw(`
    insert into audit_keying (legacy_through_seq)
    select coalesce((select max(global_seq) from audit_events),
                    (select max(last_seq) from audit_chain_anchors where chain = 'global'), 0)`);
  await knex.raw(`
    create trigger audit_keying_append_only before update or delete or truncate on audit_keying
      for each statement execute function audit_reject_change()`);

  await knex.raw(`
    create function audit_events_require_mac() returns trigger language plpgsql as $$
    begin
      if new.mac is null or new.mac_key_id is null then
        raise exception 'audit_events: a new event must carry its MAC (mac_key_id, mac)'
          using errcode = 'integrity_constraint_violation',
                hint = 'append audit events through auditEvents.append (db/repositories/audit-events.ts)';
      end if;
      return new;
    end $$`);
  await knex.raw(`
    create trigger audit_events_mac_required before insert on audit_events
      for each row execute function audit_events_require_mac()`);

  // The purge path for roles that may not DELETE: runs as the owner, checks the anchor it is given.
  await knex.raw(`
    create function audit_purge_through(p_last_seq bigint, p_last_hash text, p_cutoff timestamptz)
      returns table (purged bigint, customer_chains bigint, last_event_id bigint)
      language plpgsql security definer set search_path = public, pg_temp as $$
    declare
      v_id bigint;
      v_hash text;
      v_count bigint;
      v_customers bigint;
      v_deleted bigint;
    begin
      perform pg_advisory_xact_lock(hashtextextended('audit_events.chain', 0));
      select e.id, e.global_hash into v_id, v_hash from audit_events e where e.global_seq = p_last_seq;
      if not found or v_hash is distinct from p_last_hash then
        raise exception 'audit purge: no event at global position % with the anchored hash', p_last_seq
          using errcode = 'integrity_constraint_violation';
      end if;
      if exists (select 1 from audit_events e where e.global_seq <= p_last_seq and e.occurred_at >= p_cutoff) then
        raise exception 'audit purge: events up to global position % are not all older than %', p_last_seq, p_cutoff
          using errcode = 'integrity_constraint_violation';
      end if;
      select count(*) into v_count from audit_events e where e.global_seq <= p_last_seq;
      insert into audit_chain_anchors (chain, last_seq, last_event_id, last_hash, purged_count, cutoff)
        values ('global', p_last_seq, v_id, v_hash, v_count, p_cutoff);
      insert into audit_chain_anchors (chain, last_seq, last_event_id, last_hash, purged_count, cutoff)
        select 'customer:' || c.customer_id, c.customer_seq, c.id, c.customer_hash, c.n, p_cutoff
          from (select distinct on (e.customer_id) e.customer_id, e.customer_seq, e.customer_hash, e.id,
                       count(*) over (partition by e.customer_id) as n
                  from audit_events e
                 where e.global_seq <= p_last_seq and e.customer_id is not null
                 order by e.customer_id, e.customer_seq desc) c;
      get diagnostics v_customers = row_count;
      perform set_config('audit.allow_purge', pg_current_xact_id()::text, true);
      delete from audit_events e where e.global_seq <= p_last_seq;
      get diagnostics v_deleted = row_count;
      perform set_config('audit.allow_purge', '', true);
      return query select v_deleted, v_customers, v_id;
    end $$`);

  await knex.schema.createTable('audit_integrity_alerts', (t) => {
    t.comment('Breaks of the audit chain found by the scheduled verification, each mailed to staff once');
    t.bigIncrements('id').primary();
    t.text('break_key').notNullable().comment('chain, reason and position of the break: the same break, the same key');
    t.jsonb('finding').notNullable().comment('The verification finding (positions, reason, hashes; no personal data)');
    t.timestamp('detected_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('notified_at', { useTz: true }).comment('When staff were mailed; null while the mail is pending');
    t.unique(['break_key'], { indexName: 'audit_integrity_alerts_break_key_unique' });
  });

  // Whoever was granted more than reading and appending (default privileges, earlier grants) loses it here.
  await knex.raw(`
    do $$
    declare
      g record;
    begin
      for g in
        select distinct grantee, table_name from information_schema.role_table_grants
         where table_schema = current_schema()
           and table_name in ('audit_events', 'audit_chain_anchors', 'audit_keying')
           and grantee not in (select tableowner::text from pg_tables
                                where schemaname = current_schema() and tablename = table_name)
      loop
        execute format('revoke update, delete, truncate, references, trigger on %I from %I', g.table_name,
                       case when g.grantee = 'PUBLIC' then 'public' else g.grantee end);
        if g.table_name <> 'audit_events' then
          execute format('revoke insert on %I from %I', g.table_name,
                         case when g.grantee = 'PUBLIC' then 'public' else g.grantee end);
        end if;
      end loop;
    end $$`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('audit_integrity_alerts');
  await knex.raw('drop function audit_purge_through(bigint, text, timestamptz)');
  await knex.raw('drop trigger audit_events_mac_required on audit_events');
  await knex.raw('drop function audit_events_require_mac()');
  await knex.raw('drop trigger audit_keying_append_only on audit_keying');
  await knex.schema.dropTable('audit_keying');
  await knex.raw('alter table audit_events drop constraint audit_events_mac_check');
  await knex.schema.alterTable('audit_events', (t) => {
    t.dropColumns('mac_key_id', 'mac');
  });
}
