/**
 * The audit API: query strings of `GET /v1/audit-events` and `GET /v1/audit/verify`, and the shapes they answer. The
 * same schemas validate requests and generate the OpenAPI description. Query objects are strict: an unknown parameter
 * is an error that names it.
 */
import { z } from 'zod';
import { isoInstant } from './dates';

const instant = isoInstant().meta({
  description: 'ISO 8601 instant with a zone, e.g. 2026-01-31T12:00:00Z',
  example: '2026-01-31T12:00:00Z',
});

/** A bigint id as a decimal string (ids outgrow JavaScript numbers). */
const eventId = z
  .string()
  .regex(/^[1-9][0-9]{0,18}$/, 'must be an audit event id (a positive integer)')
  .meta({ example: '42' });

const hash = z.string().regex(/^[0-9a-f]{64}$/);

export const ListAuditEventsQuery = z
  .strictObject({
    customerId: z.uuid().optional().meta({ description: "Only events in this customer's chain" }),
    requestId: z.uuid().optional().meta({ description: 'Only events of this lifecycle request' }),
    actor: z
      .string()
      .min(1)
      .max(200)
      .optional()
      .meta({ description: 'Only events by this actor (staff id or system:<component>)' }),
    action: z
      .string()
      .regex(/^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$/, 'must be a dotted action name such as customer.recorded')
      .max(100)
      .optional(),
    from: instant.optional().meta({ description: 'Only events that occurred at or after this instant' }),
    to: instant.optional().meta({ description: 'Only events that occurred before this instant' }),
    after: eventId.optional().meta({ description: 'Cursor: the last id of the previous page' }),
    limit: z.coerce.number().int().min(1).max(500).default(100),
  })
  .refine((q) => q.from === undefined || q.to === undefined || Date.parse(q.from) < Date.parse(q.to), {
    message: 'must be after from',
    path: ['to'],
  })
  .meta({ id: 'ListAuditEventsQuery' });

export type ListAuditEventsQuery = z.infer<typeof ListAuditEventsQuery>;

export const VerifyAuditQuery = z
  .strictObject({
    customerId: z
      .uuid()
      .optional()
      .meta({ description: "Verify this customer's chain; without it, the global chain (every event)" }),
  })
  .meta({ id: 'VerifyAuditQuery' });

const ChainLink = z
  .object({ seq: z.string().meta({ description: 'Position in the chain' }), prevHash: hash, hash })
  .meta({ id: 'AuditChainLink' });

export const AuditEvent = z
  .object({
    id: eventId,
    occurredAt: z.string().meta({ description: 'ISO 8601, millisecond precision' }),
    actor: z.string(),
    action: z.string(),
    subjectType: z.string(),
    subjectId: z.string(),
    customerId: z.uuid().nullable(),
    requestId: z.uuid().nullable(),
    workflowId: z.string().nullable(),
    details: z
      .record(z.string(), z.unknown())
      .meta({ description: 'Ids, counts and hashes only: never personal data' }),
    dataCategory: z.string(),
    contentHash: hash.meta({ description: 'SHA-256 of the RFC 8785 canonical content' }),
    chains: z.object({ global: ChainLink, customer: ChainLink.nullable() }),
  })
  .meta({ id: 'AuditEvent' });

export const AuditEventPage = z
  .object({
    items: z.array(AuditEvent),
    next: z.string().nullable().meta({ description: 'URL of the next page, or null on the last one' }),
  })
  .meta({ id: 'AuditEventPage' });

export const AuditVerifyReport = z
  .object({
    ok: z.boolean(),
    chain: z.string().meta({ description: 'global or customer:<customerId>' }),
    checked: z.number().int().meta({ description: 'Events examined, including the broken one' }),
    anchor: z
      .object({ seq: z.string(), eventId: eventId, hash, purgedAt: z.string() })
      .nullable()
      .meta({ description: 'The retention purge anchor the walk started from; null when it started at genesis' }),
    head: z
      .object({ id: eventId, seq: z.string(), hash })
      .nullable()
      .meta({ description: 'The last intact event (the chain head when ok)' }),
    keyed: z
      .object({
        legacyThroughSeq: z.string().meta({ description: 'Last global position allowed without a MAC (older events)' }),
        macsChecked: z.number().int().meta({ description: 'Event MACs verified with AUDIT_HMAC_KEYS' }),
      })
      .meta({ description: 'Keyed links: the HMAC of each event under a key the database never holds' }),
    checkpoints: z
      .object({
        path: z.string(),
        exists: z.boolean(),
        count: z.number().int().meta({ description: 'Signed checkpoints and purge anchors that verified' }),
        latest: z.object({ seq: z.string(), hash, at: z.string() }).nullable(),
        invalidLines: z.number().int(),
        unverifiable: z.number().int().meta({ description: 'Lines signed by another key (before a rotation)' }),
      })
      .optional()
      .meta({ description: 'The signed checkpoint file (AUDIT_CHECKPOINT_PATH); global chain only' }),
    firstBroken: z
      .object({
        id: eventId.nullable(),
        seq: z.string().nullable(),
        reason: z
          .enum([
            'content_hash_mismatch',
            'prev_hash_mismatch',
            'hash_mismatch',
            'seq_mismatch',
            'mac_missing',
            'mac_mismatch',
            'unknown_mac_key',
            'truncated',
            'checkpoint_mismatch',
            'unsigned_purge',
            'checkpoint_invalid',
          ])
          .meta({
            description:
              'content_hash_mismatch: the event was altered; prev_hash_mismatch / seq_mismatch: an event before it ' +
              'was removed, reordered or inserted; hash_mismatch: its chain hash was rewritten; mac_missing / ' +
              'mac_mismatch / unknown_mac_key: written without the HMAC key (forged, or rewritten with recomputed ' +
              'hashes); truncated: the chain ends before a signed checkpoint; checkpoint_mismatch: the event at a ' +
              'signed checkpoint changed; unsigned_purge: events deleted without a signed purge anchor; ' +
              'checkpoint_invalid: the checkpoint file was edited',
          }),
        detail: z.string(),
      })
      .optional(),
  })
  .meta({ id: 'AuditVerifyReport' });
