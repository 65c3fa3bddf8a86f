/**
 * Correction requests: what `POST /v1/customers/{id}/correction-requests` and
 * `POST /v1/requests/{id}/receipts/{subprocessorId}/waive` accept and answer. One change per field: a change names
 * what it corrects (`change`), the row when there are several (`contactId`, `sellerAccountId`) and the new value.
 * Syntax is checked here (email, E.164 phone); the rules across changes and those that need the database (no two
 * changes to the same field, the contact belongs to the customer, one primary contact remains, unique email) are
 * checked by lib/correction-plan.ts.
 */
import { z } from 'zod';
import { CORRECTION_CHANGE_STATES } from '../pure/correction-messages';
import { ContactInput, ContactRole } from './onboarding';

const companyName = z.string().trim().min(1).max(200);
const registrationNumber = z
  .string()
  .trim()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9][A-Za-z0-9 ./-]*$/, 'must contain only letters, digits, spaces, dots, slashes and dashes');
const phone = z.string().regex(/^\+[1-9]\d{6,14}$/, 'must be an E.164 phone number such as +4930123456');
const contactId = z.uuid().meta({ description: 'A contact of this customer' });
const sellerAccountId = z.uuid().meta({ description: 'A seller account of this customer' });

/** One requested change. */
export const CorrectionChangeInput = z
  .discriminatedUnion('change', [
    z.strictObject({ change: z.literal('company.legalName'), value: companyName }),
    z.strictObject({ change: z.literal('company.tradingName'), value: companyName.nullable() }),
    z.strictObject({ change: z.literal('company.registrationNumber'), value: registrationNumber }),
    z.strictObject({ change: z.literal('company.address'), value: z.string().trim().min(1).max(500).nullable() }),
    z.strictObject({ change: z.literal('contact.name'), contactId, value: z.string().trim().min(1).max(200) }),
    z.strictObject({ change: z.literal('contact.email'), contactId, value: z.email().max(254) }),
    z.strictObject({ change: z.literal('contact.phone'), contactId, value: phone.nullable() }),
    z.strictObject({ change: z.literal('contact.role'), contactId, value: ContactRole }),
    z.strictObject({ change: z.literal('contact.add'), contact: ContactInput }),
    z.strictObject({ change: z.literal('contact.remove'), contactId }),
    z.strictObject({
      change: z.literal('sellerAccount.marketplace'),
      sellerAccountId,
      value: z
        .string()
        .trim()
        .min(1)
        .max(50)
        .regex(/^[a-z0-9_-]+$/, 'must be a lower-case marketplace slug such as amazon or ebay'),
    }),
    z.strictObject({
      change: z.literal('sellerAccount.accountId'),
      sellerAccountId,
      value: z.string().trim().min(1).max(100),
    }),
    z.strictObject({
      change: z.literal('sellerAccount.region'),
      sellerAccountId,
      value: z.string().trim().min(1).max(20).nullable(),
    }),
  ])
  .meta({ id: 'CorrectionChangeInput' });
export type CorrectionChangeInput = z.infer<typeof CorrectionChangeInput>;

/** The kinds of change, e.g. `contact.email`. */
export type CorrectionKind = CorrectionChangeInput['change'];

/** Body of `POST /v1/customers/{id}/correction-requests`. */
export const CorrectionRequestInput = z
  .strictObject({
    requesterEmail: z
      .email()
      .max(254)
      .meta({ description: 'Address the request came from; only a registered contact of the customer is served' }),
    changes: z.array(CorrectionChangeInput).min(1).max(50),
    privacyRegime: z
      .enum(['gdpr', 'uk_gdpr', 'ccpa'])
      .optional()
      .meta({ description: "Overrides the customer's regime" }),
  })
  .meta({
    id: 'CorrectionRequestInput',
    example: {
      requesterEmail: 'greta@nordlicht.example',
      changes: [
        { change: 'company.tradingName', value: 'Nordlicht' },
        { change: 'contact.phone', contactId: '6f1c2a9e-2f55-4a51-9d0e-3c1b8f0e7a11', value: '+4930999888' },
        { change: 'company.legalName', value: 'Nordlicht Handel GmbH & Co. KG' },
      ],
    },
  });
export type CorrectionRequestInput = z.infer<typeof CorrectionRequestInput>;

/** What a correction request's lifecycle record keeps until the requester's address is no longer needed. */
export const CorrectionRequestPayload = z.object({ requesterEmail: z.string() });
export type CorrectionRequestPayload = z.infer<typeof CorrectionRequestPayload>;

/** States a change goes through (GET /v1/requests/{id}). */
export const CorrectionChangeState = z.enum(CORRECTION_CHANGE_STATES);

/** Answer of `POST /v1/customers/{id}/correction-requests`. */
export const CorrectionRequestStarted = z
  .object({
    requestId: z.uuid(),
    workflowId: z.string(),
    status: z
      .enum(['received', 'running', 'completed', 'failed', 'cancelled'])
      .describe(
        '`running` once the workflow started; `received` while its start is owed (Temporal unavailable: the start reconciler starts it); a replayed Idempotency-Key answers the current status',
      ),
    privacyRegime: z.enum(['gdpr', 'uk_gdpr', 'ccpa']),
    receivedOn: z.iso.date(),
    dueOn: z.iso.date().nullable(),
    clockStarts: z.enum(['receipt', 'identity-confirmed']),
    replayed: z.boolean(),
    changes: z.array(
      z.object({
        changeId: z.uuid(),
        index: z.number().int(),
        change: z.string(),
        state: z.enum(['pending', 'unchanged']).meta({ description: 'unchanged: the value is already the one asked' }),
        needsApproval: z.boolean(),
      }),
    ),
    links: z.object({ request: z.string() }),
  })
  .meta({
    id: 'CorrectionRequestStarted',
    example: {
      requestId: '0b7d4c1e-5f7a-4d8e-9a51-2c3b4d5e6f70',
      workflowId: 'correction-0b7d4c1e-5f7a-4d8e-9a51-2c3b4d5e6f70',
      status: 'running',
      privacyRegime: 'gdpr',
      receivedOn: '2026-12-02',
      dueOn: '2027-01-04',
      clockStarts: 'receipt',
      replayed: false,
      changes: [
        { changeId: '8a0e…', index: 0, change: 'company.tradingName', state: 'pending', needsApproval: false },
        { changeId: '9b1f…', index: 1, change: 'contact.phone', state: 'unchanged', needsApproval: false },
        { changeId: 'ac20…', index: 2, change: 'company.legalName', state: 'pending', needsApproval: true },
      ],
      links: { request: '/v1/requests/0b7d4c1e-5f7a-4d8e-9a51-2c3b4d5e6f70' },
    },
  });

/** Path of `POST /v1/requests/{requestId}/receipts/{subprocessorId}/waive`. */
export const WaiveReceiptParams = z.strictObject({
  requestId: z.uuid(),
  subprocessorId: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'must be a subprocessor id'),
});

/** Body of the waive route. */
export const WaiveReceiptInput = z
  .strictObject({
    reason: z
      .string()
      .trim()
      .min(10)
      .max(2000)
      .meta({ description: 'Why the receipt is not needed (e.g. the subprocessor confirmed by phone); audited' }),
  })
  .meta({ id: 'WaiveReceiptInput', example: { reason: 'Vendor confirmed the correction by phone, ticket 4711' } });
