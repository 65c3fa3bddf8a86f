/**
 * The rules that decide each part of a customer's deletion request (issue #11, "Deletion requests"), and the erasure
 * scope of the granted parts. Pure: the facts (holds, contacts, statutory retention counts) are gathered by an activity
 * (activities/deletion-request.ts); the decisions are data the workflow carries and the requester is told.
 *
 * A part is refused, with the rule and the reason, when:
 * - `kept_as_evidence`: it is the audit log, the record of how data was processed (GDPR Art. 5(2)), purged on its own
 *   retention period by the audit module;
 * - `needed_for_service`: it is the whole business contact category (the contract and the contacts the service is
 *   delivered to) while the contract goes on;
 * - `only_primary_contact`: it names the customer's only primary contact, needed to deliver the contracted service;
 * - `legal_hold`: an active legal hold covers it (or rows that point at it);
 * - `statutory_retention`: every row of the category is kept under a legal obligation (lib/statutory-retention.ts),
 *   answered with the date it ends. When only some rows are kept, the part is granted and says which stay, until when;
 * - `not_found`: the named contact or seller account is not one of the customer's.
 */
import type { DataCategory } from './data-categories';
import { holdingCategories, normalizeCategories, type ErasureRecords } from './erasure-plan';

/** One thing a requester asks to delete: a whole data category, one contact, or one seller account. */
export type DeletionPart = { category: DataCategory } | { contactId: string } | { sellerAccountId: string };

/** A stable text key of a part (`category:orders`, `contact:<id>`), to detect repeats and to name parts in answers. */
export function partKey(part: DeletionPart): string {
  if ('category' in part) return `category:${part.category}`;
  if ('contactId' in part) return `contact:${part.contactId.toLowerCase()}`;
  return `seller_account:${part.sellerAccountId.toLowerCase()}`;
}

/** Why a part was refused. */
export type DeletionRefusalRule =
  | 'kept_as_evidence'
  | 'needed_for_service'
  | 'only_primary_contact'
  | 'legal_hold'
  | 'statutory_retention'
  | 'not_found';

/** What the decision rules look at, gathered from the database at decision time. */
export interface DeletionFacts {
  /** Active legal holds of the customer (categories null: every category). */
  holds: { id: string; categories: DataCategory[] | null }[];
  contacts: { id: string; role: string }[];
  sellerAccountIds: string[];
  /** Per requested category under a statutory rule in force: its rows, those the rule keeps, until when, why. */
  statutory: Partial<Record<DataCategory, { rows: number; kept: number; until: string | null; reason: string }>>;
}

/** The decision on one part. */
export interface DeletionPartDecision {
  position: number;
  kind: 'category' | 'contact' | 'seller_account';
  /** Category name or record id. */
  target: string;
  decision: 'granted' | 'refused';
  rule?: DeletionRefusalRule;
  /** The decision in words, as the requester is told. */
  reason: string;
  /** Statutory retention: when the kept rows are deleted (ISO 8601). */
  retainUntil?: string;
  details?: Record<string, unknown>;
}

function describe(part: DeletionPart): Pick<DeletionPartDecision, 'kind' | 'target'> {
  if ('category' in part) return { kind: 'category', target: part.category };
  if ('contactId' in part) return { kind: 'contact', target: part.contactId.toLowerCase() };
  return { kind: 'seller_account', target: part.sellerAccountId.toLowerCase() };
}

/** The holds that stop the deletion of `category`'s rows (itself held, or rows pointing at it held). */
function holdsOn(category: DataCategory, facts: DeletionFacts): string[] {
  const blocking = holdingCategories(category);
  return facts.holds
    .filter((h) => h.categories === null || h.categories.some((c) => blocking.includes(c)))
    .map((h) => h.id);
}

/** Decides every part of a request against the facts; see the module comment for the rules, checked in that order. */
export function decideDeletionParts(parts: readonly DeletionPart[], facts: DeletionFacts): DeletionPartDecision[] {
  return parts.map((part, position) => {
    const base = { position, ...describe(part) };
    const refuse = (rule: DeletionRefusalRule, reason: string, extra: Partial<DeletionPartDecision> = {}) => ({
      ...base,
      decision: 'refused' as const,
      rule,
      reason,
      ...extra,
    });
    const category: DataCategory =
      'category' in part ? part.category : 'contactId' in part ? 'business_contact' : 'seller_accounts';

    if ('category' in part && category === 'audit_log')
      return refuse(
        'kept_as_evidence',
        'the audit log records how data was processed (GDPR Art. 5(2)); it is deleted on its own retention period',
      );
    if ('category' in part && category === 'business_contact')
      return refuse(
        'needed_for_service',
        'the contract and the registered contacts are needed to deliver the contracted service while the contract ' +
          'runs; individual contacts other than the only primary contact can be deleted',
      );
    if ('contactId' in part) {
      const contact = facts.contacts.find((c) => c.id === base.target);
      if (!contact) return refuse('not_found', 'no contact with this id is registered for the customer');
      const primaries = facts.contacts.filter((c) => c.role === 'primary');
      if (contact.role === 'primary' && primaries.length === 1)
        return refuse(
          'only_primary_contact',
          'this is the only primary contact, needed to deliver the contracted service; name another primary contact ' +
            'first',
        );
    }
    if ('sellerAccountId' in part && !facts.sellerAccountIds.includes(base.target))
      return refuse('not_found', 'no seller account with this id belongs to the customer');

    const holds = holdsOn(category, facts);
    if (holds.length > 0)
      return refuse('legal_hold', 'a legal hold suspends the deletion of this data until it is released', {
        details: { holdIds: holds },
      });

    const statutory = 'category' in part ? facts.statutory[category] : undefined;
    if (statutory && statutory.kept > 0) {
      const until = statutory.until ?? undefined;
      if (statutory.kept === statutory.rows)
        return refuse('statutory_retention', `kept under a legal obligation (${statutory.reason}) until ${until}`, {
          ...(until ? { retainUntil: until } : {}),
          details: { keptRows: statutory.kept },
        });
      return {
        ...base,
        decision: 'granted' as const,
        reason:
          `deleted, except ${statutory.kept} of ${statutory.rows} records kept under a legal obligation ` +
          `(${statutory.reason}) until ${until}`,
        ...(until ? { retainUntil: until } : {}),
        details: { keptRows: statutory.kept, rows: statutory.rows },
      };
    }
    return { ...base, decision: 'granted' as const, reason: 'deleted here and at every subprocessor holding it' };
  });
}

/**
 * The erasure of the granted parts: whole categories, plus the categories of named records narrowed to those records
 * (a seller account named while its whole category is granted goes with the category). Null when nothing is granted.
 */
export function erasureScopeOf(
  decisions: readonly DeletionPartDecision[],
): { categories: DataCategory[]; records?: ErasureRecords } | null {
  const granted = decisions.filter((d) => d.decision === 'granted');
  if (granted.length === 0) return null;
  const whole = granted.filter((d) => d.kind === 'category').map((d) => d.target as DataCategory);
  const records: ErasureRecords = {};
  const contacts = granted.filter((d) => d.kind === 'contact').map((d) => d.target);
  const accounts = granted.filter((d) => d.kind === 'seller_account').map((d) => d.target);
  if (contacts.length > 0 && !whole.includes('business_contact')) records.contacts = contacts;
  if (accounts.length > 0 && !whole.includes('seller_accounts')) records.seller_accounts = accounts;
  const categories = normalizeCategories([
    ...whole,
    ...(records.contacts ? ['business_contact'] : []),
    ...(records.seller_accounts ? ['seller_accounts'] : []),
  ]);
  return Object.keys(records).length > 0 ? { categories, records } : { categories };
}
