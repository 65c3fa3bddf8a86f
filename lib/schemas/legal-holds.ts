/**
 * Legal holds and subprocessor deletion callbacks as the API accepts and answers them; the OpenAPI document is built
 * from these schemas (api/openapi.ts via {@link registerLegalHoldPaths}).
 */
import type { OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';
import { DATA_CATEGORIES } from '../pure/data-categories';
import { CustomerIdParam } from './params';

const text = (max: number, description: string) => z.string().trim().min(3).max(max).meta({ description });

export const LegalHoldInput = z
  .strictObject({
    reason: text(2000, 'Why the data must be kept: litigation, regulator request, security investigation'),
    reference: z.string().trim().min(1).max(200).meta({ description: 'Case, matter or ticket reference' }),
    categories: z
      .array(z.enum(DATA_CATEGORIES))
      .min(1)
      .max(DATA_CATEGORIES.length)
      .refine((list) => new Set(list).size === list.length, 'must not repeat a category')
      .nullable()
      .optional()
      .meta({ description: 'Data categories covered; omitted or null covers every category' }),
  })
  .meta({ id: 'LegalHoldInput' });
export type LegalHoldInput = z.infer<typeof LegalHoldInput>;

export const LegalHoldRelease = z
  .strictObject({ reason: text(2000, 'Why the hold ends (case closed, request withdrawn, ...)') })
  .meta({ id: 'LegalHoldRelease' });

export const HoldIdParam = z.strictObject({ holdId: z.uuid() });

export const ListLegalHoldsQuery = z.strictObject({
  active: z
    .enum(['true', 'false'])
    .optional()
    .meta({ description: '`true`: only holds in force; `false`: only released ones; omitted: all' }),
});

export const LegalHoldView = z
  .object({
    id: z.uuid(),
    customerId: z.uuid(),
    categories: z.array(z.enum(DATA_CATEGORIES)).nullable().meta({ description: 'null: every category' }),
    reason: z.string(),
    reference: z.string(),
    placedBy: z.string(),
    placedAt: z.string(),
    releasedBy: z.string().nullable(),
    releasedAt: z.string().nullable(),
    releaseReason: z.string().nullable(),
    active: z.boolean(),
  })
  .meta({ id: 'LegalHold' });

export const SubprocessorCallbackParams = z.strictObject({
  subprocessorId: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'must be a subprocessor id'),
});

/** Protocol v1 deletion confirmation. Unknown fields are ignored (a subprocessor may send more). */
export const DeletionCallback = z
  .object({
    deletionId: z.uuid(),
    tenantId: z.string().min(1).max(200).optional(),
    status: z.literal('deleted'),
  })
  .meta({ id: 'DeletionCallback' });

/** Adds the legal-hold and callback routes to the OpenAPI registry. */
export function registerLegalHoldPaths(
  registry: OpenAPIRegistry,
  problem: (description: string) => Record<string, unknown>,
): void {
  const hold = { content: { 'application/json': { schema: LegalHoldView } } };
  registry.registerPath({
    method: 'post',
    path: '/v1/customers/{id}/legal-holds',
    summary: 'Place a legal hold (privacy officer): suspends every deletion it covers until released',
    request: { params: CustomerIdParam, body: { content: { 'application/json': { schema: LegalHoldInput } } } },
    responses: {
      201: { description: 'Placed; in force for every deletion that starts a batch after this answer', ...hold },
      400: problem('Invalid input; `errors` names each field and rule. Nothing was placed.'),
      404: problem('No such customer'),
    },
  });
  registry.registerPath({
    method: 'get',
    path: '/v1/customers/{id}/legal-holds',
    summary: "A customer's legal holds, newest first",
    request: { params: CustomerIdParam, query: ListLegalHoldsQuery },
    responses: {
      200: {
        description: 'The holds',
        content: { 'application/json': { schema: z.object({ items: z.array(LegalHoldView) }) } },
      },
      400: problem('Invalid id or query'),
    },
  });
  registry.registerPath({
    method: 'get',
    path: '/v1/legal-holds/{holdId}',
    summary: 'One legal hold',
    request: { params: HoldIdParam },
    responses: { 200: { description: 'The hold', ...hold }, 404: problem('No such hold') },
  });
  registry.registerPath({
    method: 'delete',
    path: '/v1/legal-holds/{holdId}',
    summary: 'Release a legal hold (privacy officer); deletions it suspended proceed',
    request: { params: HoldIdParam, body: { content: { 'application/json': { schema: LegalHoldRelease } } } },
    responses: {
      200: {
        description: 'Released; `resumedErasures` lists the waiting erasure workflows that were told',
        content: {
          'application/json': {
            schema: LegalHoldView.extend({ resumedErasures: z.array(z.string()) }),
          },
        },
      },
      400: problem('Invalid input'),
      404: problem('No such hold'),
      409: problem('Already released'),
    },
  });
}

/** Adds the (bearer-less, signed) subprocessor callback route to the OpenAPI registry. */
export function registerSubprocessorCallbackPath(
  registry: OpenAPIRegistry,
  problem: (description: string) => Record<string, unknown>,
): void {
  registry.registerPath({
    method: 'post',
    path: '/v1/subprocessor-callbacks/{subprocessorId}',
    summary: 'Deletion confirmation from a subprocessor (protocol v1)',
    description:
      "No bearer token: the body must be signed with the subprocessor's shared secret, `X-Signature: sha256=<hex HMAC " +
      'of the exact body bytes>`. Repeating a confirmation is harmless.',
    security: [],
    request: {
      params: SubprocessorCallbackParams,
      headers: z.object({ 'X-Signature': z.string(), 'Idempotency-Key': z.string().optional() }),
      body: { content: { 'application/json': { schema: DeletionCallback } } },
    },
    responses: {
      200: {
        description: 'Confirmation recorded (or had been)',
        content: {
          'application/json': {
            schema: z.object({ deletionId: z.uuid(), status: z.literal('confirmed'), confirmedAt: z.string() }),
          },
        },
      },
      400: problem('Not a deletion confirmation'),
      401: problem('Signature missing or wrong, or unknown subprocessor'),
      404: problem('No such deletion for this subprocessor'),
      503: problem('Recorded, but the waiting workflow could not be told yet; retry'),
    },
  });
}
