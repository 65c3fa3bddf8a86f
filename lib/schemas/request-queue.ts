/**
 * The request queue: what `GET /v1/requests` accepts and answers (api/routes/request-queue.ts). Open requests of every
 * type, most urgent first, one page at a time: staff work through thousands of them, so paging is keyset-based on the
 * server (a cursor, never an offset) and every filter is checked here, answering 400 with the field it names.
 */
import { z } from 'zod';

export const REQUEST_TYPES = ['onboarding', 'access', 'correction', 'deletion', 'termination', 'retention'] as const;

/** `open`: received or running (the queue); the others one outcome; `all`: every request. */
export const REQUEST_STATUS_FILTERS = ['open', 'completed', 'failed', 'cancelled', 'all'] as const;

/** Largest page; the console asks for 50. */
export const MAX_QUEUE_PAGE = 200;

export const ListRequestsQuery = z
  .strictObject({
    status: z
      .enum(REQUEST_STATUS_FILTERS)
      .default('open')
      .meta({ description: 'Default `open` (received or running)' }),
    type: z.enum(REQUEST_TYPES).optional(),
    stage: z
      .string()
      .regex(/^[a-z][a-z0-9_-]{0,63}$/, 'must be a stage name such as exporting or awaiting-approval')
      .optional()
      .meta({ description: 'Only requests at this stage; `awaiting-approval` lists the pending approvals' }),
    customerId: z.uuid().optional(),
    cursor: z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,400}$/, 'must be the `nextCursor` of an earlier page')
      .optional()
      .meta({ description: 'The `nextCursor` of the previous page' }),
    limit: z.coerce.number().int().min(1).max(MAX_QUEUE_PAGE).default(50),
  })
  .meta({ id: 'ListRequestsQuery' });
export type ListRequestsQuery = z.infer<typeof ListRequestsQuery>;

/** How close a request is to its legal deadline. */
export const Urgency = z
  .enum(['overdue', 'due-soon', 'on-time', 'no-deadline', 'closed'])
  .meta({ id: 'Urgency', description: 'overdue: past its due date; due-soon: within the next days (see dueSoonDays)' });

export const RequestQueueItem = z
  .object({
    id: z.uuid(),
    type: z.enum(REQUEST_TYPES),
    customerId: z.uuid(),
    companyName: z
      .string()
      .nullable()
      .meta({ description: 'Null when the caller may not read customers, or the customer record is gone' }),
    status: z.enum(['received', 'running', 'completed', 'failed', 'cancelled']),
    stage: z.string(),
    dueOn: z.iso.date().nullable(),
    urgency: Urgency,
    receivedAt: z.string(),
    completedAt: z.string().nullable(),
    requestedBy: z.string().meta({ description: '`staff:<id>` or `system:<component>`' }),
    workflowId: z.string(),
  })
  .meta({ id: 'RequestQueueItem' });

export const RequestQueuePage = z
  .object({
    items: z.array(RequestQueueItem),
    nextCursor: z.string().nullable().meta({ description: 'Pass as `cursor` for the next page; null on the last' }),
    today: z.iso.date().meta({ description: 'The day (UTC) urgency was judged on' }),
    dueSoonDays: z.number().int(),
  })
  .meta({ id: 'RequestQueuePage' });

/** One event of a request's audit trail, as `GET /v1/requests/{id}/history` answers it. */
export const RequestHistoryEvent = z
  .object({
    id: z.string(),
    occurredAt: z.string(),
    actor: z.string(),
    action: z.string(),
    subjectType: z.string(),
    subjectId: z.string(),
    details: z.record(z.string(), z.unknown()),
  })
  .meta({ id: 'RequestHistoryEvent' });
