import type { Knex } from 'knex';
import { customerLifecycleDates } from './customer-lifecycle-dates';
import type { OnboardingInput } from '../../lib/schemas/onboarding';

export type CustomerStatus = 'onboarding' | 'active' | 'onboarding_failed' | 'terminating' | 'terminated';

/** A customer with everything the API shows about it. */
export interface Customer {
  id: string;
  companyName: string;
  registrationNumber: string;
  country: string;
  privacyRegime: string;
  status: CustomerStatus;
  onboardingRequestId: string | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface CustomerDetails extends Customer {
  contacts: { id: string; name: string; email: string; phone: string | null; role: string }[];
  sellerAccounts: { id: string; marketplace: string; accountId: string; region: string | null }[];
  contract: { startsOn: string; endsOn: string | null; terminationDisposition: string; plan: string | null } | null;
  subprocessors: { id: string; registeredAt: Date | null }[];
}

interface ContactRow {
  customer_id: string;
  created_at: Date;
  id: string;
  name: string;
  email: string;
  phone: string | null;
  role: string;
}

interface SellerAccountRow {
  customer_id: string;
  id: string;
  marketplace: string;
  external_account_id: string;
  region: string | null;
}

interface ContractRow {
  customer_id: string;
  created_at: Date;
  starts_on: string;
  ends_on: string | null;
  termination_disposition: string;
  plan: string | null;
}

interface CustomerRow {
  id: string;
  company_name: string;
  registration_number: string;
  country: string;
  privacy_regime: string;
  status: CustomerStatus;
  onboarding_request_id: string | null;
  created_at: Date;
  updated_at: Date;
}

function toCustomer(row: CustomerRow): Customer {
  return {
    id: row.id,
    companyName: row.company_name,
    registrationNumber: row.registration_number,
    country: row.country,
    privacyRegime: row.privacy_regime,
    status: row.status,
    onboardingRequestId: row.onboarding_request_id,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

/** Ids generated for the rows of a new customer, so that a retried insert writes the same rows. */
export interface NewCustomerIds {
  contactIds: string[];
  sellerAccountIds: string[];
  contractId: string;
}

/** Store for the customer aggregate: customers, contacts, seller accounts, contract, subprocessor links. */
export const customers = {
  /**
   * Inserts a customer and its parts in one transaction. Returns false (and writes nothing) when the customer id
   * already exists, which makes a retried activity harmless.
   */
  async insertIfAbsent(
    trx: Knex.Transaction,
    customerId: string,
    requestId: string,
    input: OnboardingInput,
    privacyRegime: string,
    ids: NewCustomerIds,
  ): Promise<boolean> {
    const inserted = await trx('customers')
      .insert({
        id: customerId,
        company_name: input.company.name,
        registration_number: input.company.registrationNumber,
        country: input.company.country,
        privacy_regime: privacyRegime,
        onboarding_request_id: requestId,
      })
      .onConflict('id')
      .ignore()
      .returning('id');
    if (inserted.length === 0) return false;
    if (input.contacts.length > 0) {
      await trx('contacts').insert(
        input.contacts.map((c, i) => ({
          id: ids.contactIds[i],
          customer_id: customerId,
          name: c.name,
          email: c.email.toLowerCase(),
          phone: c.phone ?? null,
          role: c.role,
        })),
      );
    }
    if (input.sellerAccounts.length > 0) {
      await trx('seller_accounts').insert(
        input.sellerAccounts.map((a, i) => ({
          id: ids.sellerAccountIds[i],
          customer_id: customerId,
          marketplace: a.marketplace,
          external_account_id: a.accountId,
          region: a.region ?? null,
        })),
      );
    }
    await trx('contracts').insert({
      id: ids.contractId,
      customer_id: customerId,
      starts_on: input.contract.startsOn,
      ends_on: input.contract.endsOn ?? null,
      termination_disposition: input.contract.terminationDisposition,
      plan: input.contract.plan ?? null,
    });
    // The dates that drive retention, kept apart from the contract row that a business_contact erasure removes.
    await customerLifecycleDates.recordFromContract(trx, customerId);
    if (input.subprocessors.length > 0) {
      await trx('customer_subprocessors').insert(
        input.subprocessors.map((s) => ({ customer_id: customerId, subprocessor_id: s })),
      );
    }
    return true;
  },

  async findById(db: Knex, id: string): Promise<Customer | undefined> {
    const row = await db<CustomerRow>('customers').where({ id }).first();
    return row && toCustomer(row);
  },

  async findByRegistrationNumber(db: Knex, registrationNumber: string): Promise<Customer | undefined> {
    const row = await db<CustomerRow>('customers').where({ registration_number: registrationNumber }).first();
    return row && toCustomer(row);
  },

  async details(db: Knex, id: string): Promise<CustomerDetails | undefined> {
    const customer = await customers.findById(db, id);
    if (!customer) return undefined;
    const [contacts, accounts, contract, links] = await Promise.all([
      db<ContactRow>('contacts').where({ customer_id: id }).orderBy('created_at').orderBy('email'),
      db<SellerAccountRow>('seller_accounts')
        .where({ customer_id: id })
        .orderBy('marketplace')
        .orderBy('external_account_id'),
      db<ContractRow>('contracts').where({ customer_id: id }).orderBy('created_at', 'desc').first(),
      db<{ customer_id: string; subprocessor_id: string; registered_at: Date | null }>('customer_subprocessors')
        .where({ customer_id: id })
        .orderBy('subprocessor_id'),
    ]);
    return {
      ...customer,
      contacts: contacts.map((c) => ({ id: c.id, name: c.name, email: c.email, phone: c.phone, role: c.role })),
      sellerAccounts: accounts.map((a) => ({
        id: a.id,
        marketplace: a.marketplace,
        accountId: a.external_account_id,
        region: a.region,
      })),
      contract: contract
        ? {
            startsOn: contract.starts_on,
            endsOn: contract.ends_on,
            terminationDisposition: contract.termination_disposition,
            plan: contract.plan,
          }
        : null,
      subprocessors: links.map((l) => ({ id: l.subprocessor_id, registeredAt: l.registered_at })),
    };
  },

  /** One page of customers in id order (keyset pagination: stable under concurrent inserts). */
  async list(db: Knex, opts: { limit: number; after?: string; status?: CustomerStatus }): Promise<Customer[]> {
    const q = db<CustomerRow>('customers').orderBy('id').limit(opts.limit);
    if (opts.after) void q.where('id', '>', opts.after);
    if (opts.status) void q.where('status', opts.status);
    return (await q).map(toCustomer);
  },

  async setStatus(db: Knex | Knex.Transaction, id: string, status: CustomerStatus): Promise<void> {
    await db('customers').where({ id }).update({ status, updated_at: db.fn.now() });
  },

  /** The contact that receives notices (exactly one per customer, enforced at onboarding). */
  async primaryContact(db: Knex, customerId: string): Promise<{ id: string; name: string; email: string } | undefined> {
    return db<ContactRow>('contacts').where({ customer_id: customerId, role: 'primary' }).first('id', 'name', 'email');
  },
};
