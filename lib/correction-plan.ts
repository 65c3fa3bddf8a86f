/**
 * Validates and diffs the changes of a correction request against what the database holds, without touching it: the
 * API runs it before anything is recorded, and the apply activity runs it again under row locks when a row changed in
 * the meantime (optimistic concurrency). The same rules in both places, so a re-validation never lets through what the
 * API would have refused.
 *
 * Rules: the contact or seller account belongs to this customer; no two changes to the same field (a removed contact
 * cannot also be changed); contact emails stay unique per customer; the customer keeps exactly one primary contact;
 * a registration number is not another customer's; a seller account identity stays unique. A change whose value is
 * already the current one is `unchanged`. Sensitive changes (legal name, registration number, the primary contact's
 * email, removing a contact, anything that moves the primary role) wait for a privacy officer.
 */
import { createHash } from 'node:crypto';
import { canonicalize } from 'json-canonicalize';
import type { DataCategory } from './pure/data-categories';
import type { CorrectionChangeInput, CorrectionKind } from './schemas/correction';

/** The rows a correction may touch, as they are now. `version` is {@link rowVersionSql}'s hash of the row. */
export interface CorrectionSnapshot {
  customer: {
    id: string;
    legalName: string;
    tradingName: string | null;
    registrationNumber: string;
    address: string | null;
    version: string;
  };
  contacts: { id: string; name: string; email: string; phone: string | null; role: string; version: string }[];
  sellerAccounts: {
    id: string;
    marketplace: string;
    accountId: string;
    region: string | null;
    version: string;
  }[];
  /** Those of the requested registration numbers that another customer holds. */
  registrationNumbersTaken: string[];
}

/** One change in the shape both the API body and the stored rows reduce to. */
export interface ChangeRequest {
  index: number;
  kind: CorrectionKind;
  /** The row: customer id, contact id (the new contact's id for `contact.add`) or seller account id. */
  targetId: string;
  /** New value; a whole contact for `contact.add`, nothing for `contact.remove`. */
  value: unknown;
}

export type TargetTable = 'customers' | 'contacts' | 'seller_accounts';

/** A validated change: what it changes, from what, and whether it needs a decision. */
export interface PlannedChange extends ChangeRequest {
  targetTable: TargetTable;
  /** Column changed; null for `contact.add` and `contact.remove`. */
  column: string | null;
  /** Current value (null for `contact.add`; the whole contact for `contact.remove`). */
  oldValue: unknown;
  unchanged: boolean;
  sensitive: boolean;
  category: DataCategory;
  /** Version of the target row now; null for a contact that does not exist yet. */
  rowVersion: string | null;
}

/** A broken rule, named for the problem+json answer (`body.changes[1].contactId`). */
export interface PlanError {
  index: number;
  field: string;
  rule: string;
  message: string;
}

interface KindSpec {
  table: TargetTable;
  column: string | null;
  category: DataCategory;
}

const KINDS: Record<CorrectionKind, KindSpec> = {
  'company.legalName': { table: 'customers', column: 'company_name', category: 'business_contact' },
  'company.tradingName': { table: 'customers', column: 'trading_name', category: 'business_contact' },
  'company.registrationNumber': { table: 'customers', column: 'registration_number', category: 'business_contact' },
  'company.address': { table: 'customers', column: 'address', category: 'business_contact' },
  'contact.name': { table: 'contacts', column: 'name', category: 'business_contact' },
  'contact.email': { table: 'contacts', column: 'email', category: 'business_contact' },
  'contact.phone': { table: 'contacts', column: 'phone', category: 'business_contact' },
  'contact.role': { table: 'contacts', column: 'role', category: 'business_contact' },
  'contact.add': { table: 'contacts', column: null, category: 'business_contact' },
  'contact.remove': { table: 'contacts', column: null, category: 'business_contact' },
  'sellerAccount.marketplace': { table: 'seller_accounts', column: 'marketplace', category: 'seller_accounts' },
  'sellerAccount.accountId': { table: 'seller_accounts', column: 'external_account_id', category: 'seller_accounts' },
  'sellerAccount.region': { table: 'seller_accounts', column: 'region', category: 'seller_accounts' },
};

/** Table, column and data category a kind of change writes. */
export function kindSpec(kind: CorrectionKind): KindSpec {
  return KINDS[kind];
}

/**
 * SQL expression (for `select <expr> as version from <table> t`) hashing a whole row: any change to any column of
 * the row changes it. Alias the table `t`.
 */
export const rowVersionSql = "encode(sha256(convert_to(t::text, 'UTF8')), 'hex')";

/**
 * Hash of a value as the audit log shows it (before/after). Salted with the change id so equal values in different
 * changes do not compare equal across the log.
 */
export function valueHash(changeId: string, value: unknown): string {
  return createHash('sha256')
    .update(`${changeId}\n${canonicalize(value ?? null)}`, 'utf8')
    .digest('hex');
}

/** The API body's changes as {@link ChangeRequest}s; `newId` names each contact to add. */
export function changeRequestsOf(
  customerId: string,
  changes: readonly CorrectionChangeInput[],
  newId: () => string,
): ChangeRequest[] {
  return changes.map((c, index): ChangeRequest => {
    switch (c.change) {
      case 'contact.add':
        return { index, kind: c.change, targetId: newId(), value: { ...c.contact, email: c.contact.email.trim() } };
      case 'contact.remove':
        return { index, kind: c.change, targetId: c.contactId, value: null };
      case 'contact.name':
      case 'contact.email':
      case 'contact.phone':
      case 'contact.role':
        return { index, kind: c.change, targetId: c.contactId, value: c.value };
      case 'sellerAccount.marketplace':
      case 'sellerAccount.accountId':
      case 'sellerAccount.region':
        return { index, kind: c.change, targetId: c.sellerAccountId, value: c.value };
      default:
        return { index, kind: c.change, targetId: customerId, value: c.value };
    }
  });
}

const lower = (v: unknown) => (typeof v === 'string' ? v.trim().toLowerCase() : v);

/** The change's value in the form it is stored in (emails lower-cased, as onboarding stores them). */
function normalized(c: ChangeRequest): unknown {
  if (c.kind === 'contact.email') return lower(c.value);
  if (c.kind === 'contact.add') {
    const contact = c.value as { name: string; email: string; phone?: string; role?: string };
    return { ...contact, email: lower(contact.email), role: contact.role ?? 'other', phone: contact.phone ?? null };
  }
  return c.value;
}

/** Validates `changes` against `snapshot`: either errors (nothing may be recorded) or the planned changes. */
export function planCorrection(
  snapshot: CorrectionSnapshot,
  changes: readonly ChangeRequest[],
): { errors: PlanError[]; planned: PlannedChange[] } {
  const errors: PlanError[] = [];
  const at = (c: ChangeRequest, sub: string) => `body.changes[${c.index}]${sub}`;
  const fail = (c: ChangeRequest, sub: string, rule: string, message: string) =>
    errors.push({ index: c.index, field: at(c, sub), rule, message });

  // One change per field; a removed contact is not changed as well.
  const owner = new Map<string, ChangeRequest>();
  const removed = new Map<string, ChangeRequest>();
  for (const c of changes) if (c.kind === 'contact.remove') removed.set(c.targetId, c);
  for (const c of changes) {
    const key = c.kind === 'contact.add' ? `add:${c.index}` : `${c.kind}:${c.targetId}`;
    const first = owner.get(key);
    if (first) fail(c, '', 'one_change_per_field', `changes the same field as changes[${first.index}]`);
    else owner.set(key, c);
    const removal = removed.get(c.targetId);
    if (c.kind.startsWith('contact.') && c.kind !== 'contact.remove' && removal)
      fail(c, '', 'one_change_per_field', `changes a contact that changes[${removal.index}] removes`);
  }

  const contacts = new Map(snapshot.contacts.map((c) => [c.id, c]));
  const accounts = new Map(snapshot.sellerAccounts.map((a) => [a.id, a]));
  const planned: PlannedChange[] = [];
  for (const c of changes) {
    const spec = KINDS[c.kind];
    const value = normalized(c);
    let oldValue: unknown = null;
    let rowVersion: string | null = null;
    if (spec.table === 'customers') {
      const field = c.kind.slice('company.'.length) as 'legalName' | 'tradingName' | 'registrationNumber' | 'address';
      oldValue = snapshot.customer[field];
      rowVersion = snapshot.customer.version;
      if (c.kind === 'company.registrationNumber' && snapshot.registrationNumbersTaken.includes(value as string))
        fail(c, '.value', 'unique_registration_number', 'another customer holds this registration number');
    } else if (spec.table === 'contacts' && c.kind !== 'contact.add') {
      const contact = contacts.get(c.targetId);
      if (!contact) {
        fail(c, '.contactId', 'contact_of_customer', `${c.targetId} is not a contact of this customer`);
        continue;
      }
      rowVersion = contact.version;
      oldValue =
        c.kind === 'contact.remove'
          ? { name: contact.name, email: contact.email, phone: contact.phone, role: contact.role }
          : contact[spec.column as 'name' | 'email' | 'phone' | 'role'];
    } else if (spec.table === 'seller_accounts') {
      const account = accounts.get(c.targetId);
      if (!account) {
        fail(
          c,
          '.sellerAccountId',
          'seller_account_of_customer',
          `${c.targetId} is not a seller account of this customer`,
        );
        continue;
      }
      rowVersion = account.version;
      const field =
        c.kind === 'sellerAccount.accountId'
          ? 'accountId'
          : c.kind === 'sellerAccount.region'
            ? 'region'
            : 'marketplace';
      oldValue = account[field];
    }
    const unchanged =
      c.kind !== 'contact.add' && c.kind !== 'contact.remove' && canonicalize(oldValue) === canonicalize(value);
    planned.push({
      ...c,
      value,
      targetTable: spec.table,
      column: spec.column,
      oldValue,
      unchanged,
      sensitive: false,
      category: spec.category,
      rowVersion,
    });
  }

  // The contacts and seller accounts as they would be afterwards.
  const after = new Map(snapshot.contacts.map((c) => [c.id, { ...c }]));
  const touchedPrimary: PlannedChange[] = [];
  for (const p of planned) {
    if (p.unchanged) continue;
    if (p.kind === 'contact.remove') {
      if (after.get(p.targetId)?.role === 'primary') touchedPrimary.push(p);
      after.delete(p.targetId);
    } else if (p.kind === 'contact.add') {
      const v = p.value as { name: string; email: string; phone: string | null; role: string };
      after.set(p.targetId, { id: p.targetId, ...v, version: '' });
      if (v.role === 'primary') touchedPrimary.push(p);
    } else if (p.targetTable === 'contacts') {
      const row = after.get(p.targetId);
      if (!row) continue;
      if (p.kind === 'contact.role' && (row.role === 'primary' || p.value === 'primary')) touchedPrimary.push(p);
      (row as Record<string, unknown>)[p.column!] = p.value;
    }
  }
  const primaries = [...after.values()].filter((c) => c.role === 'primary').length;
  if (touchedPrimary.length > 0 && primaries !== 1) {
    const message =
      primaries === 0
        ? 'the customer must keep exactly one primary contact: this leaves none (name another primary contact)'
        : `the customer must keep exactly one primary contact: this leaves ${primaries}`;
    for (const p of touchedPrimary) fail(p, '', 'one_primary_contact', message);
  }
  const emails = new Map<string, string>();
  for (const c of after.values()) {
    const other = emails.get(c.email);
    if (other !== undefined) {
      const culprit = planned.find(
        (p) =>
          !p.unchanged &&
          (p.targetId === c.id || p.targetId === other) &&
          (p.kind === 'contact.email' || p.kind === 'contact.add'),
      );
      if (culprit)
        fail(
          culprit,
          culprit.kind === 'contact.add' ? '.contact.email' : '.value',
          'unique_contact_email',
          'another contact of this customer has this email address',
        );
    }
    emails.set(c.email, c.id);
  }
  const accountsAfter = new Map(snapshot.sellerAccounts.map((a) => [a.id, { ...a }]));
  for (const p of planned) {
    if (p.unchanged || p.targetTable !== 'seller_accounts') continue;
    const row = accountsAfter.get(p.targetId);
    if (row && p.kind === 'sellerAccount.marketplace') row.marketplace = p.value as string;
    if (row && p.kind === 'sellerAccount.accountId') row.accountId = p.value as string;
  }
  const identities = new Map<string, string>();
  for (const a of accountsAfter.values()) {
    const key = `${a.marketplace}\n${a.accountId}`;
    const other = identities.get(key);
    if (other !== undefined) {
      const culprit = planned.find(
        (p) => !p.unchanged && p.targetTable === 'seller_accounts' && (p.targetId === a.id || p.targetId === other),
      );
      if (culprit)
        fail(culprit, '.value', 'unique_seller_account', 'another seller account of this customer has this identity');
    }
    identities.set(key, a.id);
  }

  const primaryBefore = new Set(snapshot.contacts.filter((c) => c.role === 'primary').map((c) => c.id));
  for (const p of planned) {
    p.sensitive =
      !p.unchanged &&
      (p.kind === 'company.legalName' ||
        p.kind === 'company.registrationNumber' ||
        p.kind === 'contact.remove' ||
        touchedPrimary.includes(p) ||
        (p.kind === 'contact.email' && (primaryBefore.has(p.targetId) || after.get(p.targetId)?.role === 'primary')));
  }
  errors.sort((a, b) => a.index - b.index);
  return { errors, planned };
}
