/**
 * Path parameters and headers that many routes share: the customer and request ids of `/v1/customers/{id}/...` and
 * `/v1/requests/{requestId}/...`, and the `Idempotency-Key` of every request start.
 */
import { z } from 'zod';

/** `{id}` of `/v1/customers/{id}/...`. */
export const CustomerIdParam = z.strictObject({ id: z.uuid() });
/** `{requestId}` of `/v1/requests/{requestId}/...`. */
export const RequestIdParam = z.strictObject({ requestId: z.uuid() });

/** Optional client-chosen key that makes a retried POST return the first answer instead of starting again. */
export const IdempotencyKeyHeader = z
  .string()
  .regex(/^[A-Za-z0-9._:-]{8,128}$/, 'must be 8-128 characters of letters, digits, ".", "_", ":" or "-"')
  .optional();
