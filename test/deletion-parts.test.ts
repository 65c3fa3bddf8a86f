/** The decision rules of deletion requests and the erasure scope of granted parts (lib/pure/deletion-parts.ts). */
import { decideDeletionParts, erasureScopeOf, type DeletionFacts } from '../lib/pure/deletion-parts';

const primary = '00000000-0000-4000-8000-000000000001';
const billing = '00000000-0000-4000-8000-000000000002';
const account = '00000000-0000-4000-8000-0000000000aa';

function facts(overrides: Partial<DeletionFacts> = {}): DeletionFacts {
  return {
    holds: [],
    contacts: [
      { id: primary, role: 'primary' },
      { id: billing, role: 'billing' },
    ],
    sellerAccountIds: [account],
    statutory: {},
    ...overrides,
  };
}

describe('deciding the parts of a deletion request', () => {
  it('grants a category with some rows under statutory retention, saying which stay and until when', () => {
    const until = '2037-01-01T00:00:00.000Z';
    const [orders] = decideDeletionParts(
      [{ category: 'orders' }],
      facts({ statutory: { orders: { rows: 10, kept: 4, until, reason: 'tax law' } } }),
    );
    expect(orders).toMatchObject({ decision: 'granted', retainUntil: until, details: { keptRows: 4, rows: 10 } });
    expect(orders!.reason).toContain(`4 of 10 records kept under a legal obligation (tax law) until ${until}`);
  });

  it('refuses a category whose every row is under statutory retention, with its end date', () => {
    const [orders] = decideDeletionParts(
      [{ category: 'orders' }],
      facts({ statutory: { orders: { rows: 3, kept: 3, until: '2030-01-01T00:00:00.000Z', reason: 'tax law' } } }),
    );
    expect(orders).toMatchObject({
      decision: 'refused',
      rule: 'statutory_retention',
      retainUntil: '2030-01-01T00:00:00.000Z',
    });
  });

  it('refuses a seller account while a hold covers the orders or listings that point at it', () => {
    const [held] = decideDeletionParts(
      [{ sellerAccountId: account.toUpperCase() }],
      facts({ holds: [{ id: 'h1', categories: ['listings'] }] }),
    );
    expect(held).toMatchObject({
      decision: 'refused',
      rule: 'legal_hold',
      target: account,
      details: { holdIds: ['h1'] },
    });
  });

  it('refuses the only primary contact, the whole business contact category, the audit log and unknown records', () => {
    const decisions = decideDeletionParts(
      [
        { contactId: primary },
        { category: 'business_contact' },
        { category: 'audit_log' },
        { contactId: account },
        { sellerAccountId: billing },
      ],
      facts(),
    );
    expect(decisions.map((d) => d.rule)).toEqual([
      'only_primary_contact',
      'needed_for_service',
      'kept_as_evidence',
      'not_found',
      'not_found',
    ]);
    const twoPrimaries = facts({ contacts: [...facts().contacts, { id: billing, role: 'primary' }] });
    expect(decideDeletionParts([{ contactId: primary }], twoPrimaries)[0]!.decision).toBe('granted');
  });
});

describe('the erasure scope of the granted parts', () => {
  it('narrows the categories of named records to them, unless the whole category is granted', () => {
    const decisions = decideDeletionParts(
      [{ contactId: billing }, { sellerAccountId: account }, { category: 'inventory' }],
      facts(),
    );
    expect(erasureScopeOf(decisions)).toEqual({
      categories: ['business_contact', 'seller_accounts', 'inventory'],
      records: { contacts: [billing], seller_accounts: [account] },
    });
    expect(
      erasureScopeOf(decideDeletionParts([{ sellerAccountId: account }, { category: 'seller_accounts' }], facts())),
    ).toEqual({ categories: ['seller_accounts'] });
    expect(erasureScopeOf(decideDeletionParts([{ category: 'audit_log' }], facts()))).toBeNull();
  });
});
