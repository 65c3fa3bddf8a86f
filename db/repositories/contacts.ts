/**
 * Reads of `contacts` that the request processes share: whether an address is a registered contact of a customer
 * (the requester check of access, correction and deletion requests) and a contact with its company's name (the
 * verification and notice emails).
 */
import type { Knex } from 'knex';

type Db = Knex | Knex.Transaction;

/** A registered contact as the emails address it. */
export interface ContactWithCompany {
  email: string;
  name: string;
  companyName: string;
}

export const contacts = {
  /**
   * The id of the contact of `customerId` registered with `email` (compared case-insensitively), unless the customer
   * is terminated; undefined otherwise. An unknown customer and an unknown address answer alike.
   */
  async registeredContactId(db: Db, customerId: string, email: string): Promise<string | undefined> {
    const contact = await db('contacts as c')
      .join('customers as k', 'k.id', 'c.customer_id')
      .where('c.customer_id', customerId)
      .whereRaw('c.email = lower(?)', [email.trim()])
      .whereNot('k.status', 'terminated')
      .first<{ id: string } | undefined>('c.id as id');
    return contact?.id;
  },

  /** The contact `contactId` of `customerId` with its company's name, if it exists. */
  async withCompany(db: Db, customerId: string, contactId: string): Promise<ContactWithCompany | undefined> {
    return db('contacts as c')
      .join('customers as k', 'k.id', 'c.customer_id')
      .where({ 'c.id': contactId, 'c.customer_id': customerId })
      .first<ContactWithCompany | undefined>('c.email as email', 'c.name as name', 'k.company_name as companyName');
  },
};
