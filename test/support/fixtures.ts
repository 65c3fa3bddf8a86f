/** Realistic request bodies, unique per call so tests sharing one database never collide. */
import { randomUUID } from 'node:crypto';

/** A valid onboarding body for a cross-border seller, with the given subprocessors. */
export function onboardingBody(subprocessors: string[] = []) {
  const tag = randomUUID().slice(0, 8);
  return {
    company: { name: `Nordlicht Handel ${tag} GmbH`, registrationNumber: `HRB ${tag}`, country: 'DE' },
    contacts: [
      { name: 'Greta Lindqvist', email: `greta.${tag}@nordlicht.example`, phone: '+4930123456', role: 'primary' },
      { name: 'Jonas Weber', email: `billing.${tag}@nordlicht.example`, role: 'billing' },
    ],
    sellerAccounts: [
      { marketplace: 'amazon', accountId: `A1${tag.toUpperCase()}`, region: 'EU' },
      { marketplace: 'ebay', accountId: `nordlicht-${tag}`, region: 'DE' },
    ],
    contract: {
      startsOn: '2026-01-01',
      endsOn: '2027-12-31',
      terminationDisposition: 'return_then_delete',
      plan: 'growth',
    },
    subprocessors,
  };
}
