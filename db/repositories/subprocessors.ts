import type { Knex } from 'knex';

/** A subprocessor in the registry: where to call it, how to sign, and which data categories it holds. */
export interface Subprocessor {
  id: string;
  name: string;
  baseUrl: string;
  signingSecret: string;
  categories: string[];
  active: boolean;
}

interface SubprocessorRow {
  id: string;
  name: string;
  base_url: string;
  signing_secret: string;
  categories: string[];
  active: boolean;
}

function toSubprocessor(row: SubprocessorRow): Subprocessor {
  return {
    id: row.id,
    name: row.name,
    baseUrl: row.base_url,
    signingSecret: row.signing_secret,
    categories: row.categories,
    active: row.active,
  };
}

/** A receipt of a subprocessor call, kept as evidence. */
export interface SubprocessorReceipt {
  status: number;
  idempotencyKey: string;
  alreadyDone: boolean;
  answeredAt: string;
}

/** Store for `subprocessors` and `customer_subprocessors`. */
export const subprocessors = {
  /** Creates or updates a registry entry (idempotent; used by the dev stack, seeds and the admin API). */
  async upsert(db: Knex | Knex.Transaction, s: Omit<Subprocessor, 'active'> & { active?: boolean }): Promise<void> {
    await db('subprocessors')
      .insert({
        id: s.id,
        name: s.name,
        base_url: s.baseUrl,
        signing_secret: s.signingSecret,
        categories: s.categories,
        active: s.active ?? true,
      })
      .onConflict('id')
      .merge(['name', 'base_url', 'signing_secret', 'categories', 'active', 'updated_at']);
  },

  async findById(db: Knex | Knex.Transaction, id: string): Promise<Subprocessor | undefined> {
    const row = await db<SubprocessorRow>('subprocessors').where({ id }).first();
    return row && toSubprocessor(row);
  },

  /** Ids among `ids` that are not active registry entries. */
  async missingIds(db: Knex, ids: string[]): Promise<string[]> {
    if (ids.length === 0) return [];
    const found = await db<SubprocessorRow>('subprocessors').whereIn('id', ids).where({ active: true }).pluck('id');
    return ids.filter((id) => !found.includes(id));
  },

  async list(db: Knex): Promise<Subprocessor[]> {
    return (await db<SubprocessorRow>('subprocessors').orderBy('id')).map(toSubprocessor);
  },

  /**
   * Stores the evidence that a subprocessor accepted a customer's tenant, once: a later attempt (a retry that the
   * subprocessor answered "already done") keeps the first receipt. Answers the receipt on record and whether this
   * call recorded it.
   */
  async recordRegistration(
    db: Knex | Knex.Transaction,
    customerId: string,
    subprocessorId: string,
    receipt: SubprocessorReceipt,
  ): Promise<{ receipt: SubprocessorReceipt; recorded: boolean }> {
    const link = { customer_id: customerId, subprocessor_id: subprocessorId };
    const updated = await db('customer_subprocessors')
      .where(link)
      .whereNull('registration_receipt')
      .update({ registered_at: db.fn.now(), registration_receipt: JSON.stringify(receipt) });
    if (updated > 0) return { receipt, recorded: true };
    const row = await db('customer_subprocessors')
      .where(link)
      .first<{ registration_receipt: SubprocessorReceipt | null } | undefined>('registration_receipt');
    return { receipt: row?.registration_receipt ?? receipt, recorded: false };
  },

  /** The registration receipt kept for a customer's tenant at a subprocessor, if any. */
  async registrationReceipt(
    db: Knex | Knex.Transaction,
    customerId: string,
    subprocessorId: string,
  ): Promise<SubprocessorReceipt | undefined> {
    const row = await db('customer_subprocessors')
      .where({ customer_id: customerId, subprocessor_id: subprocessorId })
      .first<{ registration_receipt: SubprocessorReceipt | null } | undefined>('registration_receipt');
    return row?.registration_receipt ?? undefined;
  },
};
