/**
 * The onboarding request: one zod schema validates `POST /v1/customers` and generates its OpenAPI description, so the
 * documentation cannot drift from what the API accepts. Objects are strict: an unknown field is an error that names
 * it, not something silently dropped.
 */
import { z } from 'zod';
import { calendarDate } from './dates';

const isoDate = calendarDate().meta({ description: 'Calendar date, YYYY-MM-DD', example: '2026-01-01' });

/** Role of a customer contact; exactly one contact is `primary` (the welcome email and verifications go there). */
export const ContactRole = z.enum(['primary', 'billing', 'technical', 'legal', 'other']);

export const ContactInput = z
  .strictObject({
    name: z.string().trim().min(1).max(200),
    email: z.email().max(254),
    phone: z
      .string()
      .regex(/^\+[1-9]\d{6,14}$/, 'must be an E.164 phone number such as +4930123456')
      .optional(),
    role: ContactRole.default('other'),
  })
  .meta({ id: 'ContactInput' });

export const SellerAccountInput = z
  .strictObject({
    marketplace: z
      .string()
      .trim()
      .min(1)
      .max(50)
      .regex(/^[a-z0-9_-]+$/, 'must be a lower-case marketplace slug such as amazon or ebay'),
    accountId: z.string().trim().min(1).max(100),
    region: z.string().trim().min(1).max(20).optional(),
  })
  .meta({ id: 'SellerAccountInput' });

export const ContractInput = z
  .strictObject({
    startsOn: isoDate,
    endsOn: isoDate.optional(),
    terminationDisposition: z
      .enum(['delete', 'return_then_delete'])
      .meta({ description: 'At contract end: delete the data, or return it first and then delete it' }),
    plan: z.string().trim().min(1).max(100).optional(),
  })
  .refine((c) => c.endsOn === undefined || c.endsOn > c.startsOn, {
    message: 'must be after startsOn',
    path: ['endsOn'],
  })
  .meta({ id: 'ContractInput' });

export const OnboardingInput = z
  .strictObject({
    company: z.strictObject({
      name: z.string().trim().min(1).max(200),
      registrationNumber: z
        .string()
        .trim()
        .min(1)
        .max(64)
        .regex(/^[A-Za-z0-9][A-Za-z0-9 ./-]*$/, 'must contain only letters, digits, spaces, dots, slashes and dashes'),
      country: z.string().regex(/^[A-Z]{2}$/, 'must be an ISO 3166-1 alpha-2 code such as DE'),
      privacyRegime: z.enum(['gdpr', 'uk_gdpr', 'ccpa']).optional(),
    }),
    contacts: z.array(ContactInput).min(1).max(20),
    sellerAccounts: z.array(SellerAccountInput).max(100).default([]),
    contract: ContractInput,
    subprocessors: z
      .array(z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'must be a subprocessor id'))
      .max(20)
      .default([]),
  })
  .superRefine((input, ctx) => {
    const primaries = input.contacts.filter((c) => c.role === 'primary').length;
    if (primaries !== 1) {
      ctx.addIssue({
        code: 'custom',
        path: ['contacts'],
        message: `must contain exactly one primary contact (found ${primaries})`,
      });
    }
    const seen = new Set<string>();
    input.contacts.forEach((c, i) => {
      const email = c.email.toLowerCase();
      if (seen.has(email))
        ctx.addIssue({ code: 'custom', path: ['contacts', i, 'email'], message: 'must be unique among contacts' });
      seen.add(email);
    });
    const subs = new Set<string>();
    input.subprocessors.forEach((s, i) => {
      if (subs.has(s)) ctx.addIssue({ code: 'custom', path: ['subprocessors', i], message: 'must not repeat' });
      subs.add(s);
    });
  })
  .meta({ id: 'OnboardingInput' });

/** A validated onboarding request. */
export type OnboardingInput = z.infer<typeof OnboardingInput>;

export const ListCustomersQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  after: z.uuid().optional().meta({ description: 'Cursor: the last id of the previous page' }),
  status: z.enum(['onboarding', 'active', 'onboarding_failed', 'terminated']).optional(),
});
