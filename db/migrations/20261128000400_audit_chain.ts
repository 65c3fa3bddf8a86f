/**
 * The audit log becomes evidence: append-only and hash-chained, with a retention purge that keeps what remains
 * verifiable.
 *
 * Chains (see lib/audit-hash.ts for the exact hashing). Every event is in the global chain (`global_seq`,
 * `global_prev_hash`, `global_hash`); an event with a customer id is also in that customer's chain (`customer_seq`,
 * `customer_prev_hash`, `customer_hash`). `content_hash` is the SHA-256 of the event's RFC 8785 canonical content and
 * is shared by both chains; each chain's hash is SHA-256(prev_hash || content_hash). Writers serialise on one
 * transaction-scoped advisory lock (db/repositories/audit-events.ts); the unique positions below make a fork
 * impossible even for a writer that forgets the lock.
 *
 * What the database enforces (triggers):
 * - INSERT: the new event must extend every chain it belongs to: next position, previous hash equal to the chain's
 *   head (or the purge anchor, or the genesis hash), and a link hash that matches. Only the content hash cannot be
 *   checked here (canonical JSON is computed in code); verification recomputes it.
 * - UPDATE and TRUNCATE: always refused.
 * - DELETE: refused, except the retention purge: a transaction that set `audit.allow_purge` to its own transaction id
 *   (`set_config('audit.allow_purge', pg_current_xact_id()::text, true)`, i.e. SET LOCAL, so a pooled connection never
 *   keeps the permission) may delete the oldest events, and only if they form a prefix of the global chain and of
 *   every customer chain they touch, and an anchor for each of those chains was written first.
 * - `audit_chain_anchors` rows can be inserted, never changed or removed.
 *
 * Existing rows are chained in id order, after their `occurred_at` is truncated to milliseconds (the precision the
 * canonical content records, so that a hash is reproducible from the stored row).
 */
import { createHash } from 'node:crypto';
import { canonicalize } from 'json-canonicalize';
import type { Knex } from 'knex';

const GENESIS_HASH = '0'.repeat(64);
const BACKFILL_BATCH = 1000;

const sha256Hex = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');

interface ExistingRow {
  id: string;
  occurred_at: Date;
  actor: string;
  action: string;
  customer_id: string | null;
  request_id: string | null;
  workflow_id: string | null;
  subject_type: string;
  subject_id: string;
  details: Record<string, unknown>;
  data_category: string;
}

/**
 * Content hash of an existing row, in canonical form version 1. A frozen copy of lib/audit-hash.ts as it was when this
 * migration was written (migrations do not follow later changes of application code); the test suite verifies
 * backfilled rows with the library, so the two cannot silently differ.
 */
function contentHashV1(row: ExistingRow): string {
  return sha256Hex(
    canonicalize({
      v: 1,
      id: row.id,
      occurredAt: row.occurred_at.toISOString(),
      actor: row.actor,
      action: row.action,
      subjectType: row.subject_type,
      subjectId: row.subject_id,
      customerId: row.customer_id,
      requestId: row.request_id,
      workflowId: row.workflow_id,
      dataCategory: row.data_category,
      details: row.details,
    }),
  );
}

/** Chains the rows that exist already, in id order, in batches. */
async function backfill(knex: Knex): Promise<void> {
  let global = { seq: 0n, hash: GENESIS_HASH };
  const customers = new Map<string, { seq: bigint; hash: string }>();
  let after = '0';
  for (;;) {
    const rows = await knex<ExistingRow>('audit_events')
      .where('id', '>', after)
      .orderBy('id')
      .limit(BACKFILL_BATCH)
      .select(
        'id',
        'occurred_at',
        'actor',
        'action',
        'customer_id',
        'request_id',
        'workflow_id',
        'subject_type',
        'subject_id',
        'details',
        'data_category',
      );
    if (rows.length === 0) return;
    const cols = {
      id: [] as string[],
      content: [] as string[],
      gSeq: [] as string[],
      gPrev: [] as string[],
      gHash: [] as string[],
      cSeq: [] as (string | null)[],
      cPrev: [] as (string | null)[],
      cHash: [] as (string | null)[],
    };
    for (const row of rows) {
      const content = contentHashV1(row);
      const g = { seq: global.seq + 1n, hash: sha256Hex(global.hash + content) };
      cols.id.push(row.id);
      cols.content.push(content);
      cols.gSeq.push(g.seq.toString());
      cols.gPrev.push(global.hash);
      cols.gHash.push(g.hash);
      global = g;
      if (row.customer_id === null) {
        cols.cSeq.push(null);
        cols.cPrev.push(null);
        cols.cHash.push(null);
      } else {
        const prev = customers.get(row.customer_id) ?? { seq: 0n, hash: GENESIS_HASH };
        const c = { seq: prev.seq + 1n, hash: sha256Hex(prev.hash + content) };
        cols.cSeq.push(c.seq.toString());
        cols.cPrev.push(prev.hash);
        cols.cHash.push(c.hash);
        customers.set(row.customer_id, c);
      }
    }
    await knex.raw(
      `update audit_events a
          set content_hash = v.content_hash,
              global_seq = v.global_seq, global_prev_hash = v.global_prev_hash, global_hash = v.global_hash,
              customer_seq = v.customer_seq, customer_prev_hash = v.customer_prev_hash, customer_hash = v.customer_hash
         from unnest(?::bigint[], ?::text[], ?::bigint[], ?::text[], ?::text[], ?::bigint[], ?::text[], ?::text[])
              as v(id, content_hash, global_seq, global_prev_hash, global_hash, customer_seq, customer_prev_hash,
                   customer_hash)
        where a.id = v.id`,
      [
        cols.id,
        cols.content,
        cols.gSeq,
        cols.gPrev,
        cols.gHash,
        cols.cSeq,
        cols.cPrev,
        cols.cHash,
      ] as Knex.RawBinding[],
    );
    after = rows[rows.length - 1]!.id;
  }
}

export async function up(knex: Knex): Promise<void> {
  // Nobody appends while the existing rows are being chained (readers may go on).
  await knex.raw('lock table audit_events in exclusive mode');

  await knex.schema.alterTable('audit_events', (t) => {
    t.text('content_hash').comment('SHA-256 (hex) of the RFC 8785 canonical content of the event (lib/audit-hash.ts)');
    t.bigInteger('global_seq').comment('Position in the global chain: 1, 2, 3, ... (continues after a purge)');
    t.text('global_prev_hash').comment('global_hash of the previous event, the purge anchor, or 64 zeros');
    t.text('global_hash').comment('SHA-256(global_prev_hash || content_hash)');
    t.bigInteger('customer_seq').comment("Position in the customer's chain; null without customer_id");
    t.text('customer_prev_hash').comment("customer_hash of the customer's previous event, its anchor, or 64 zeros");
    t.text('customer_hash').comment('SHA-256(customer_prev_hash || content_hash)');
  });

  // The canonical content records milliseconds; stored instants must not carry more.
  await knex.raw(
    "update audit_events set occurred_at = date_trunc('milliseconds', occurred_at) where occurred_at <> date_trunc('milliseconds', occurred_at)",
  );
  await backfill(knex);

  await knex.raw(`
    alter table audit_events
      alter column content_hash set not null,
      alter column global_seq set not null,
      alter column global_prev_hash set not null,
      alter column global_hash set not null,
      alter column occurred_at set default date_trunc('milliseconds', now()),
      add constraint audit_events_occurred_at_ms_check
        check (occurred_at = date_trunc('milliseconds', occurred_at)),
      add constraint audit_events_hashes_check check (
        content_hash ~ '^[0-9a-f]{64}$' and global_prev_hash ~ '^[0-9a-f]{64}$' and global_hash ~ '^[0-9a-f]{64}$'
        and customer_prev_hash ~ '^[0-9a-f]{64}$' and customer_hash ~ '^[0-9a-f]{64}$'),
      add constraint audit_events_seq_check check (global_seq > 0 and customer_seq > 0),
      add constraint audit_events_customer_chain_check check (
        (customer_id is null and customer_seq is null and customer_prev_hash is null and customer_hash is null)
        or (customer_id is not null and customer_seq is not null and customer_prev_hash is not null
            and customer_hash is not null))
  `);
  // One event per chain position: two writers that raced past the lock cannot both commit (no fork).
  await knex.raw('create unique index audit_events_global_seq_unique on audit_events (global_seq)');
  await knex.raw(
    'create unique index audit_events_customer_seq_unique on audit_events (customer_id, customer_seq) where customer_id is not null',
  );
  // Query filters of GET /v1/audit-events.
  await knex.raw('create index audit_events_occurred_at_idx on audit_events (occurred_at)');
  await knex.raw('create index audit_events_action_idx on audit_events (action, id)');
  await knex.raw('create index audit_events_actor_idx on audit_events (actor, id)');

  await knex.schema.createTable('audit_chain_anchors', (t) => {
    t.comment('Where each audit chain starts after a retention purge: verification begins from the latest anchor');
    t.bigIncrements('id').primary();
    t.text('chain').notNullable().comment('global | customer:<customer id>');
    t.bigInteger('last_seq').notNullable().comment('Chain position of the last purged event');
    t.bigInteger('last_event_id').notNullable().comment('audit_events.id of the last purged event');
    t.text('last_hash').notNullable().comment('Chain hash of the last purged event: prev hash of the first remaining');
    t.bigInteger('purged_count').notNullable().comment('Events of this chain removed by this purge');
    t.timestamp('cutoff', { useTz: true }).notNullable().comment('The purge removed events that occurred before this');
    t.timestamp('purged_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.unique(['chain', 'last_seq'], { indexName: 'audit_chain_anchors_chain_seq_unique' });
  });
  await knex.raw(
    "alter table audit_chain_anchors add constraint audit_chain_anchors_hash_check check (last_hash ~ '^[0-9a-f]{64}$' and last_seq > 0 and purged_count > 0)",
  );

  // INSERT: the event must extend each of its chains exactly (position, previous hash, link hash).
  await knex.raw(`
    create function audit_events_check_link() returns trigger language plpgsql as $$
    declare
      head_seq bigint;
      head_hash text;
    begin
      select global_seq, global_hash into head_seq, head_hash
        from audit_events order by global_seq desc limit 1;
      if not found then
        select last_seq, last_hash into head_seq, head_hash
          from audit_chain_anchors where chain = 'global' order by last_seq desc limit 1;
        if not found then
          head_seq := 0;
          head_hash := repeat('0', 64);
        end if;
      end if;
      if new.global_seq is distinct from head_seq + 1 or new.global_prev_hash is distinct from head_hash
         or new.global_hash is distinct from
            encode(sha256(convert_to(new.global_prev_hash || new.content_hash, 'UTF8')), 'hex') then
        raise exception 'audit_events: event does not extend the global chain (expected position % after hash %)',
          head_seq + 1, head_hash
          using errcode = 'integrity_constraint_violation',
                hint = 'append audit events through auditEvents.append (db/repositories/audit-events.ts)';
      end if;

      if new.customer_id is not null then
        select customer_seq, customer_hash into head_seq, head_hash
          from audit_events where customer_id = new.customer_id order by customer_seq desc limit 1;
        if not found then
          select last_seq, last_hash into head_seq, head_hash
            from audit_chain_anchors where chain = 'customer:' || new.customer_id order by last_seq desc limit 1;
          if not found then
            head_seq := 0;
            head_hash := repeat('0', 64);
          end if;
        end if;
        if new.customer_seq is distinct from head_seq + 1 or new.customer_prev_hash is distinct from head_hash
           or new.customer_hash is distinct from
              encode(sha256(convert_to(new.customer_prev_hash || new.content_hash, 'UTF8')), 'hex') then
          raise exception 'audit_events: event does not extend the chain of customer % (expected position % after hash %)',
            new.customer_id, head_seq + 1, head_hash
            using errcode = 'integrity_constraint_violation',
                  hint = 'append audit events through auditEvents.append (db/repositories/audit-events.ts)';
        end if;
      end if;
      return new;
    end $$`);
  await knex.raw(`
    create trigger audit_events_link_check before insert on audit_events
      for each row execute function audit_events_check_link()`);

  // UPDATE and TRUNCATE (which would bypass DELETE triggers): never.
  await knex.raw(`
    create function audit_reject_change() returns trigger language plpgsql as $$
    begin
      raise exception '% is append-only: % is not allowed', tg_table_name, tg_op
        using errcode = 'insufficient_privilege';
    end $$`);
  await knex.raw(`
    create trigger audit_events_no_update before update on audit_events
      for each statement execute function audit_reject_change()`);
  await knex.raw(`
    create trigger audit_events_no_truncate before truncate on audit_events
      for each statement execute function audit_reject_change()`);

  // DELETE: only inside a transaction that opened the purge path for itself.
  await knex.raw(`
    create function audit_events_guard_delete() returns trigger language plpgsql as $$
    begin
      if coalesce(current_setting('audit.allow_purge', true), '') <> pg_current_xact_id()::text then
        raise exception 'audit_events is append-only: DELETE is only allowed through the retention purge'
          using errcode = 'insufficient_privilege',
                hint = 'use auditEvents.purgeBefore (npm run cli -- audit purge --before <date>)';
      end if;
      return null;
    end $$`);
  await knex.raw(`
    create trigger audit_events_purge_only before delete on audit_events
      for each statement execute function audit_events_guard_delete()`);

  // ...and what it deleted must be the oldest prefix of every chain it touched, each with its anchor written.
  await knex.raw(`
    create function audit_events_check_purge() returns trigger language plpgsql as $$
    declare
      last_global bigint;
      chain_end record;
    begin
      select max(global_seq) into last_global from purged_events;
      if last_global is null then
        return null;
      end if;
      if exists (select 1 from audit_events where global_seq < last_global) then
        raise exception 'audit_events: a purge may only delete the oldest events of the global chain (events before position % remain)',
          last_global
          using errcode = 'integrity_constraint_violation';
      end if;
      if not exists (
        select 1 from audit_chain_anchors a join purged_events p on p.global_seq = a.last_seq
         where a.chain = 'global' and a.last_seq = last_global and a.last_hash = p.global_hash) then
        raise exception 'audit_events: purge up to global position % has no matching anchor', last_global
          using errcode = 'integrity_constraint_violation';
      end if;
      for chain_end in
        select distinct on (customer_id) customer_id, customer_seq, customer_hash
          from purged_events where customer_id is not null
         order by customer_id, customer_seq desc
      loop
        if exists (select 1 from audit_events e
                    where e.customer_id = chain_end.customer_id and e.customer_seq < chain_end.customer_seq) then
          raise exception 'audit_events: a purge may only delete the oldest events of the chain of customer %',
            chain_end.customer_id
            using errcode = 'integrity_constraint_violation';
        end if;
        if not exists (
          select 1 from audit_chain_anchors a
           where a.chain = 'customer:' || chain_end.customer_id and a.last_seq = chain_end.customer_seq
             and a.last_hash = chain_end.customer_hash) then
          raise exception 'audit_events: purge of the chain of customer % has no matching anchor', chain_end.customer_id
            using errcode = 'integrity_constraint_violation';
        end if;
      end loop;
      return null;
    end $$`);
  await knex.raw(`
    create trigger audit_events_purge_prefix after delete on audit_events
      referencing old table as purged_events
      for each statement execute function audit_events_check_purge()`);

  await knex.raw(`
    create trigger audit_chain_anchors_append_only before update or delete or truncate on audit_chain_anchors
      for each statement execute function audit_reject_change()`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('drop trigger audit_chain_anchors_append_only on audit_chain_anchors');
  await knex.raw('drop trigger audit_events_purge_prefix on audit_events');
  await knex.raw('drop trigger audit_events_purge_only on audit_events');
  await knex.raw('drop trigger audit_events_no_truncate on audit_events');
  await knex.raw('drop trigger audit_events_no_update on audit_events');
  await knex.raw('drop trigger audit_events_link_check on audit_events');
  await knex.raw('drop function audit_events_check_purge()');
  await knex.raw('drop function audit_events_guard_delete()');
  await knex.raw('drop function audit_reject_change()');
  await knex.raw('drop function audit_events_check_link()');
  await knex.schema.dropTable('audit_chain_anchors');
  await knex.raw('drop index audit_events_actor_idx');
  await knex.raw('drop index audit_events_action_idx');
  await knex.raw('drop index audit_events_occurred_at_idx');
  await knex.raw('drop index audit_events_customer_seq_unique');
  await knex.raw('drop index audit_events_global_seq_unique');
  await knex.raw(`
    alter table audit_events
      drop constraint audit_events_customer_chain_check,
      drop constraint audit_events_seq_check,
      drop constraint audit_events_hashes_check,
      drop constraint audit_events_occurred_at_ms_check,
      alter column occurred_at set default now()`);
  await knex.schema.alterTable('audit_events', (t) => {
    t.dropColumns(
      'content_hash',
      'global_seq',
      'global_prev_hash',
      'global_hash',
      'customer_seq',
      'customer_prev_hash',
      'customer_hash',
    );
  });
}
