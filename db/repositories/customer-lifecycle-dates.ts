/**
 * Store for `customer_lifecycle_dates`: the evidence record of a customer's contract dates that outlives the
 * `contracts` row (migration 20261202004000). The retention lifecycle plans from it, the contract route and the
 * termination's contract-end notice change it together with the contract (while that row exists), and the lifecycle
 * deletes it once the last contract-end category is erased.
 */
import type { Knex } from 'knex';

type Db = Knex | Knex.Transaction;

/** The dates of one customer's contract. */
export interface LifecycleDates {
  customerId: string;
  contractId: string;
  customerSince: Date;
  contractStartsOn: string;
  contractEndsOn: string | null;
  contractEndedAt: Date | null;
}

interface LifecycleDatesRow {
  customer_id: string;
  contract_id: string;
  customer_since: Date;
  contract_starts_on: string;
  contract_ends_on: string | null;
  contract_ended_at: Date | null;
}

function toDates(row: LifecycleDatesRow): LifecycleDates {
  return {
    customerId: row.customer_id,
    contractId: row.contract_id,
    customerSince: row.customer_since,
    contractStartsOn: row.contract_starts_on,
    contractEndsOn: row.contract_ends_on,
    contractEndedAt: row.contract_ended_at,
  };
}

export const customerLifecycleDates = {
  async find(db: Db, customerId: string): Promise<LifecycleDates | undefined> {
    const row = await db<LifecycleDatesRow>('customer_lifecycle_dates').where({ customer_id: customerId }).first();
    return row && toDates(row);
  },

  /** Locks and reads the record (inside a transaction that changes it). */
  async lock(trx: Knex.Transaction, customerId: string): Promise<LifecycleDates | undefined> {
    const row = await trx<LifecycleDatesRow>('customer_lifecycle_dates')
      .where({ customer_id: customerId })
      .forUpdate()
      .first();
    return row && toDates(row);
  },

  /**
   * Records the dates from the customer's latest contract unless a record exists (idempotent). Called where a
   * contract is written and, for customers recorded before the table existed or seeded directly, by the retention
   * lifecycle before it plans: either way before anything can erase the contract.
   */
  async recordFromContract(db: Db, customerId: string): Promise<LifecycleDates | undefined> {
    await db.raw(
      `insert into customer_lifecycle_dates
         (customer_id, contract_id, customer_since, contract_starts_on, contract_ends_on, contract_ended_at)
       select k.customer_id, k.id, c.created_at, k.starts_on, k.ends_on, k.ended_at
         from contracts k join customers c on c.id = k.customer_id
        where k.customer_id = ?
        order by k.created_at desc
        limit 1
       on conflict (customer_id) do nothing`,
      [customerId],
    );
    return customerLifecycleDates.find(db, customerId);
  },

  /** Sets the contract's end (agreed day and actual instant). */
  async setContractEnd(
    db: Db,
    customerId: string,
    end: { endsOn: string | null; endedAt: Date | null },
  ): Promise<void> {
    await db('customer_lifecycle_dates')
      .where({ customer_id: customerId })
      .update({ contract_ends_on: end.endsOn, contract_ended_at: end.endedAt, updated_at: db.fn.now() });
  },

  /** Deletes the record; returns whether there was one. */
  async delete(db: Db, customerId: string): Promise<boolean> {
    return (await db('customer_lifecycle_dates').where({ customer_id: customerId }).delete()) > 0;
  },
};
