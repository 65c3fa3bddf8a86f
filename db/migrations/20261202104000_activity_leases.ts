/**
 * Fencing of stale activity attempts (docs/reliability.md, "Fencing stale attempts").
 *
 * A worker paused past the heartbeat timeout (SIGSTOP, a VM freeze, a network partition) still believes it runs the
 * activity when it wakes up, while Temporal has started a newer attempt elsewhere. Temporal ignores the old attempt's
 * completion, but not its database writes and files. Every long or side-effecting activity therefore claims a lease
 * on what it works on (`export:<archiveId>`, `erasure:<erasureId>`, `retention-sweep:<sweepId>`) and writes only while
 * it still holds it:
 *
 * - `activity_leases`: one row per fenced resource, holding the token of the attempt that owns it. A claim replaces
 *   the token only for an attempt scheduled no earlier than the holder (Temporal's `currentAttemptScheduledTime`
 *   grows with every retry and every later activity of the workflow), so an old attempt that wakes up before its
 *   claim cannot take the resource back.
 * - `assert_activity_lease(key, token)`: takes the lease row FOR SHARE and raises SQLSTATE `DLF01` when the token no
 *   longer holds it. Called first in the transaction of every fenced write (a checkpoint, a batch, a completion), so
 *   the check and the write commit together: a claim (which needs the row exclusively) waits for a running batch to
 *   commit, and every batch after the claim sees the new token and is refused.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('activity_leases', (t) => {
    t.comment('Which activity attempt may write to a fenced resource (export archive, erasure, retention sweep)');
    t.text('fence_key').primary().comment('<kind>:<id>, e.g. export:<archiveId>, erasure:<erasureId>');
    t.uuid('token').notNullable().comment('Random id of the attempt holding the lease; fenced writes compare it');
    t.text('activity_type').notNullable();
    t.text('workflow_id').notNullable();
    t.text('activity_id').notNullable();
    t.integer('attempt').notNullable().comment('Temporal attempt number of the holder');
    t.bigInteger('attempt_scheduled_ms')
      .notNullable()
      .comment("Temporal's currentAttemptScheduledTime of the holder (ms); a claim needs one at least as late");
    t.timestamp('claimed_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  await knex.raw(`
    create function assert_activity_lease(p_key text, p_token uuid) returns void language plpgsql as $$
    begin
      perform 1 from activity_leases where fence_key = p_key and token = p_token for share;
      if not found then
        raise exception 'stale activity attempt: lease % is held by a newer attempt', p_key using errcode = 'DLF01';
      end if;
    end $$`);
  await knex.raw(
    `comment on function assert_activity_lease(text, uuid) is ` +
      `'Raises DLF01 unless the attempt token still holds the lease; holds the lease row FOR SHARE until commit'`,
  );
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('drop function if exists assert_activity_lease(text, uuid)');
  await knex.schema.dropTable('activity_leases');
}
