/**
 * The staff console's request queue (`GET /v1/requests`, db/repositories/request-queue.ts) lists open requests by due
 * date, those without one last, oldest first, a page at a time with a keyset cursor. These indexes serve exactly that
 * order, so a page deep into thousands of open requests reads one index range instead of sorting the table:
 * - `lifecycle_requests_open_queue_idx`: the open requests only (partial: the ended ones, the vast majority in time,
 *   are not in it and cost nothing to keep);
 * - `lifecycle_requests_customer_queue_idx`: one customer's requests of any status (the customer page).
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`create index lifecycle_requests_open_queue_idx
    on lifecycle_requests ((coalesce(due_on, 'infinity'::date)), received_at, id)
    where status in ('received', 'running')`);
  await knex.raw(`create index lifecycle_requests_customer_queue_idx
    on lifecycle_requests (customer_id, (coalesce(due_on, 'infinity'::date)), received_at, id)`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('drop index lifecycle_requests_customer_queue_idx');
  await knex.raw('drop index lifecycle_requests_open_queue_idx');
}
