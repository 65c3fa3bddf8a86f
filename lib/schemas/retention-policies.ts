/**
 * Retention policies and contract changes as the API accepts and answers them. The same schemas validate requests and
 * generate the OpenAPI description; objects are strict, so an unknown field is an error that names it.
 */
import { z } from 'zod';
import { calendarDate, isoInstant } from './dates';
import { DATA_CATEGORIES } from '../pure/data-categories';
import { ALLOWED_CLOCKS, periodProblem, RETENTION_CLOCKS } from '../pure/retention';

export const RetentionCategoryParam = z.strictObject({
  category: z.enum(DATA_CATEGORIES).meta({ description: 'A data category of the privacy policy' }),
});

const period = z
  .string()
  .max(40)
  .superRefine((value, ctx) => {
    const problem = periodProblem(value);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  })
  .meta({ description: 'ISO 8601 duration, whole numbers, PT1S to P100Y', example: 'P2Y' });

/** Body of `PUT /v1/retention-policies/{category}`: the whole policy (what is not sent keeps no old value). */
export const RetentionPolicyInput = z
  .strictObject({
    period,
    clockStart: z.enum(RETENTION_CLOCKS).meta({
      description:
        'What starts the clock: record_creation (rolling sweep, by the row timestamp) or contract_end (per-customer ' +
        'timer from the end of the contract). Each category allows only the clocks that make sense for it.',
    }),
    legalBasis: z
      .string()
      .trim()
      .min(10, 'must state the legal basis in at least 10 characters')
      .max(2000)
      .meta({ description: 'Why data of this category is kept this long (law, contract, legitimate interest)' }),
  })
  .meta({ id: 'RetentionPolicyInput' });

export type RetentionPolicyInput = z.infer<typeof RetentionPolicyInput>;

/** The clock must be one the category allows (checked with the category from the path). */
export function clockProblem(
  category: (typeof DATA_CATEGORIES)[number],
  clockStart: (typeof RETENTION_CLOCKS)[number],
): string | undefined {
  const allowed = ALLOWED_CLOCKS[category];
  return allowed.includes(clockStart) ? undefined : `must be ${allowed.join(' or ')} for ${category}`;
}

/** `If-Match: "<version>"` (or `W/"<version>"`): update only if the stored version is still this one. */
export const IfMatchHeader = z
  .string()
  .regex(/^(W\/)?"[1-9][0-9]{0,8}"$/, 'must be the ETag of the policy, such as "3"')
  .optional();

export const RetentionPolicyView = z
  .object({
    category: z.enum(DATA_CATEGORIES),
    period: z.string(),
    clockStart: z.enum(RETENTION_CLOCKS),
    legalBasis: z.string(),
    version: z.number().int(),
    changedBy: z.string(),
    changedAt: z.string(),
    policySet: z.string().meta({ description: 'The policy set this deployment applies (RETENTION_POLICY_SET)' }),
    allowedClocks: z.array(z.enum(RETENTION_CLOCKS)),
  })
  .meta({ id: 'RetentionPolicy' });

export const RetentionPolicyWithHistory = RetentionPolicyView.extend({
  history: z.array(
    z.object({
      version: z.number().int(),
      period: z.string(),
      clockStart: z.enum(RETENTION_CLOCKS),
      legalBasis: z.string(),
      changedBy: z.string(),
      changedAt: z.string(),
    }),
  ),
}).meta({ id: 'RetentionPolicyWithHistory' });

export const RetentionPolicyList = z
  .object({ policySet: z.string(), items: z.array(RetentionPolicyView) })
  .meta({ id: 'RetentionPolicyList' });

const isoDate = calendarDate().meta({ description: 'Calendar date, YYYY-MM-DD', example: '2027-12-31' });

/** Body of `PUT /v1/customers/{id}/contract`: the contract's end as it now stands. */
export const ContractChangeInput = z
  .strictObject({
    endsOn: isoDate
      .nullable()
      .meta({ description: 'Agreed last day of the contract; null makes it open-ended (nothing expires)' }),
    endedAt: isoInstant()
      .nullable()
      .optional()
      .meta({
        description:
          'When the contract actually ended (e.g. termination effective), not in the future. The retention clock of ' +
          'customer data starts here; without it, at the end of endsOn (UTC). Omitted keeps the stored value; null ' +
          'clears it.',
        example: '2026-11-28T12:00:00Z',
      }),
  })
  .meta({ id: 'ContractChangeInput' });

export type ContractChangeInput = z.infer<typeof ContractChangeInput>;

export const ContractChangeResult = z
  .object({
    customerId: z.uuid(),
    contract: z.object({ startsOn: z.string(), endsOn: z.string().nullable(), endedAt: z.string().nullable() }),
    changed: z.boolean().meta({ description: 'False when the contract already stood so (nothing was written)' }),
    retention: z.object({
      workflowId: z.string(),
      notified: z.boolean().meta({
        description: 'Whether the retention workflow was signalled now; if not, its periodic re-check will see it',
      }),
    }),
  })
  .meta({ id: 'ContractChangeResult' });
