/**
 * The audit log: append-only, hash-chained (one global chain, one chain per customer), queryable, verifiable, and
 * itself subject to retention. Hashing is defined in lib/audit-hash.ts; what the database enforces (no UPDATE, DELETE
 * only through {@link auditEvents.purgeBefore}, every insert must extend its chains) in
 * db/migrations/20261128000400_audit_chain.ts.
 *
 * Concurrency: every append takes one transaction-scoped advisory lock before it reads the chain heads, so appends are
 * serialised in commit order and a chain cannot fork (the unique chain positions would refuse a fork anyway). The lock
 * is held until the surrounding transaction ends: append as the last statement of a transaction, so that the lock is
 * held briefly and no other row lock is taken after it (which could deadlock with another appending transaction).
 * Appends must run in READ COMMITTED transactions (the default), so that the heads read after the lock are current.
 * A write that must not queue for the lock (the API's accepting statement) records its event in the intake
 * instead (db/repositories/audit-intake.ts), which chains it through {@link auditEvents.append} right after.
 *
 * Keys (README "Security"): every append MACs its links with the active AUDIT_HMAC_KEYS key, verification checks the
 * MACs, and a purge first signs its anchor into the checkpoint file (lib/audit-checkpoints.ts), then deletes through
 * the database's `audit_purge_through` function (the service's role may not DELETE). The keys and the checkpoint file
 * come from {@link configureAuditLog}, which the entry points call with their configuration; a process that never
 * calls it reads them from its environment on first use, so every process of one deployment uses the same keys.
 */
import type { Knex } from 'knex';
import { escapeLiteral } from 'pg';
import {
  auditContentHash,
  auditLinkMac,
  auditLinkMacMatches,
  chainLinkHash,
  customerChain,
  GENESIS_HASH,
  GLOBAL_CHAIN,
  type AuditContent,
} from '../../lib/audit-hash';
import { appendCheckpoint, type CheckpointStore } from '../../lib/audit-checkpoints';
import type { AuditKeyring } from '../../lib/audit-keys';
import { loadConfig } from '../../lib/config';

/** The secrets of the audit log, held by the service and never by the database. */
export interface AuditLogSecurity {
  /** MACs new events (active key) and verifies old ones (every key). */
  keyring: AuditKeyring;
  /** Where purge anchors (and the scheduled checkpoints) are signed and appended. */
  checkpoints: CheckpointStore;
}

let security: AuditLogSecurity | undefined;

/** Sets the keys and checkpoint file every append, verification and purge of this process uses. */
export function configureAuditLog(settings: AuditLogSecurity): void {
  security = settings;
}

/** The configured keys, else those of this process's environment (lib/config.ts `audit`). */
export function auditLogSecurity(): AuditLogSecurity {
  if (!security) {
    const config = loadConfig();
    security = { keyring: config.audit.keyring, checkpoints: config.audit.checkpoints };
  }
  return security;
}

/** What happened, by whom, to what. Details hold ids, counts and hashes only: never plaintext personal data. */
export interface AuditEventInput {
  actor: string;
  action: string;
  subjectType: string;
  subjectId: string;
  customerId?: string | null;
  requestId?: string | null;
  workflowId?: string | null;
  details?: Record<string, unknown>;
  /**
   * Names the fact the event states (e.g. `notice:<dedupe key>`): a second append with the same key adds nothing and
   * answers the event already recorded, so an activity that runs again writes no second event. Not hashed.
   */
  idempotencyKey?: string | null;
}

/** An event's place in one chain. Positions are bigints, as decimal strings. */
export interface ChainLink {
  seq: string;
  prevHash: string;
  hash: string;
}

/** A stored audit event, with its content hash and its links in the global and (if any) the customer chain. */
export interface AuditEvent extends Required<Omit<AuditEventInput, 'details' | 'idempotencyKey'>> {
  id: string;
  occurredAt: Date;
  details: Record<string, unknown>;
  dataCategory: string;
  contentHash: string;
  chains: { global: ChainLink; customer: ChainLink | null };
}

/** Filters of {@link auditEvents.list}; all optional and combined with AND. */
export interface AuditEventFilter {
  customerId?: string;
  requestId?: string;
  actor?: string;
  action?: string;
  /** Events that occurred at or after this instant. */
  from?: Date;
  /** Events that occurred before this instant (exclusive). */
  to?: Date;
  /** Keyset cursor: only events with a larger id. */
  after?: string;
  /** Page size; unlimited when absent. */
  limit?: number;
}

/** Why verification stopped at an event. */
export type ChainBreakReason =
  /** The stored content no longer hashes to the stored content hash: the event was altered. */
  | 'content_hash_mismatch'
  /** The previous-hash link does not match the event before it (or the anchor): an event was removed, reordered or
   * inserted before this one. */
  | 'prev_hash_mismatch'
  /** The stored chain hash is not SHA-256(prev hash || content hash): the hash columns were rewritten. */
  | 'hash_mismatch'
  /** The chain position is not the next one: positions were renumbered or an event was removed. */
  | 'seq_mismatch'
  /** An event after the keyed chain began carries no MAC: it was written without the key (forged). */
  | 'mac_missing'
  /** The MAC does not match the event's links: the event or the chain up to it was written without the key. */
  | 'mac_mismatch'
  /** The MAC names a key id the verifier does not hold (a removed key, or a forged id). */
  | 'unknown_mac_key';

/** Where a chain starts after a retention purge. */
export interface ChainAnchor {
  seq: string;
  eventId: string;
  hash: string;
  purgedAt: Date;
}

/** Result of verifying one chain. */
export interface AuditVerifyReport {
  ok: boolean;
  /** `global` or `customer:<id>`. */
  chain: string;
  /** Events examined, including the broken one. */
  checked: number;
  /** The latest purge anchor the walk started from, or null when the chain starts at the genesis hash. */
  anchor: ChainAnchor | null;
  /** The last intact event: when ok, the chain's head (record its hash elsewhere to detect a truncated tail). */
  head: { id: string; seq: string; hash: string } | null;
  /** Keyed links: the last position allowed without a MAC, and how many MACs were checked. */
  keyed: { legacyThroughSeq: string; macsChecked: number };
  firstBroken?: { id: string; seq: string; reason: ChainBreakReason; detail: string };
}

/** Result of a retention purge. */
export interface AuditPurgeResult {
  cutoff: Date;
  /** Events deleted (all from the start of the global chain). */
  purged: number;
  /** Customer chains that lost events (each got an anchor). */
  customerChains: number;
  /** The new global anchor, or null when nothing was old enough. */
  anchor: { seq: string; eventId: string; hash: string } | null;
  /** The `audit.purged` event recording the purge, or null when nothing was purged. */
  eventId: string | null;
}

interface AuditEventRow {
  id: string;
  occurred_at: Date;
  actor: string;
  action: string;
  subject_type: string;
  subject_id: string;
  customer_id: string | null;
  request_id: string | null;
  workflow_id: string | null;
  details: Record<string, unknown>;
  data_category: string;
  content_hash: string;
  global_seq: string;
  global_prev_hash: string;
  global_hash: string;
  customer_seq: string | null;
  customer_prev_hash: string | null;
  customer_hash: string | null;
  mac_key_id: string | null;
  mac: string | null;
  idempotency_key?: string | null;
}

interface AnchorRow {
  chain: string;
  last_seq: string;
  last_event_id: string;
  last_hash: string;
  purged_at: Date;
}

/** The category the retention policy applies to audit events. */
const AUDIT_DATA_CATEGORY = 'audit_log';

/**
 * Takes the advisory lock that serialises every writer of the chains (its name hashed to a bigint by PostgreSQL),
 * held until the transaction ends. A constant statement: appends send it in one query string with the heads' read.
 */
const LOCK_CHAINS_SQL = "select pg_advisory_xact_lock(hashtextextended('audit_events.chain', 0))";

/** Rows read per round trip while verifying. */
const VERIFY_BATCH = 1000;

function toAuditEvent(row: AuditEventRow): AuditEvent {
  return {
    ...contentOf(row),
    contentHash: row.content_hash,
    chains: {
      global: { seq: row.global_seq, prevHash: row.global_prev_hash, hash: row.global_hash },
      customer:
        row.customer_id === null
          ? null
          : { seq: row.customer_seq!, prevHash: row.customer_prev_hash!, hash: row.customer_hash! },
    },
  };
}

function contentOf(row: AuditEventRow): AuditContent {
  return {
    id: row.id,
    occurredAt: row.occurred_at,
    actor: row.actor,
    action: row.action,
    subjectType: row.subject_type,
    subjectId: row.subject_id,
    customerId: row.customer_id,
    requestId: row.request_id,
    workflowId: row.workflow_id,
    dataCategory: row.data_category,
    details: row.details,
  };
}

function isTransaction(db: Knex | Knex.Transaction): db is Knex.Transaction {
  return db.isTransaction === true;
}

async function lockChains(trx: Knex.Transaction): Promise<void> {
  await trx.raw(LOCK_CHAINS_SQL);
}

/**
 * Takes the chain lock and reads under it, in ONE round trip (the lock is held until the transaction ends, so every
 * round trip after it lengthens the queue of appends behind it): a new id, the instant (database clock,
 * milliseconds, never before the global head's so that chain order and time order agree), the ids and details as they
 * will read back from their columns (so the content hash is computed over exactly what verification will see), the
 * head of each chain and, for a keyed append, the id of the event already recorded under its key.
 *
 * Two statements in one simple-protocol query: in READ COMMITTED each statement of a query string takes its own
 * snapshot, so the second one (the heads) sees every append committed before the lock was granted, which one
 * statement reading its own lock could not. The simple protocol carries no parameters: the values are inlined as
 * literals escaped by the driver (`escapeLiteral`) and cast as before, so a malformed uuid fails as PostgreSQL's
 * `::uuid` cast always made it fail.
 */
function lockAndReadHeadsSql(
  customerId: string | null,
  requestId: string | null,
  details: string,
  key: string | null,
  occurredAt: Date | null,
) {
  const instant = occurredAt === null ? 'clock_timestamp()' : `${escapeLiteral(occurredAt.toISOString())}::timestamptz`;
  const uuid = (v: string | null) => (v === null ? 'null::uuid' : `${escapeLiteral(v)}::uuid`);
  const recorded =
    key === null ? 'null' : `(select id::text from audit_events where idempotency_key = ${escapeLiteral(key)})`;
  return `${LOCK_CHAINS_SQL};
  with g as (select global_seq as seq, global_hash as hash, occurred_at
               from audit_events order by global_seq desc limit 1),
       ga as (select last_seq as seq, last_hash as hash
                from audit_chain_anchors where chain = 'global' order by last_seq desc limit 1),
       c as (select customer_seq as seq, customer_hash as hash
               from audit_events where customer_id = ${uuid(customerId)} order by customer_seq desc limit 1),
       ca as (select last_seq as seq, last_hash as hash
                from audit_chain_anchors where chain = 'customer:' || ${uuid(customerId)} order by last_seq desc limit 1)
  select ${recorded} as recorded_id,
         nextval(pg_get_serial_sequence('audit_events', 'id'))::text as id,
         greatest(date_trunc('milliseconds', ${instant}), (select occurred_at from g)) as occurred_at,
         ${uuid(customerId)}::text as customer_id,
         ${uuid(requestId)}::text as request_id,
         ${escapeLiteral(details)}::jsonb as details,
         coalesce((select seq from g), (select seq from ga), 0)::text as global_seq,
         coalesce((select hash from g), (select hash from ga), ${escapeLiteral(GENESIS_HASH)}) as global_hash,
         coalesce((select seq from c), (select seq from ca), 0)::text as customer_seq,
         coalesce((select hash from c), (select hash from ca), ${escapeLiteral(GENESIS_HASH)}) as customer_hash`;
}

interface HeadsRow {
  recorded_id: string | null;
  id: string;
  occurred_at: Date;
  customer_id: string | null;
  request_id: string | null;
  details: Record<string, unknown>;
  global_seq: string;
  global_hash: string;
  customer_seq: string;
  customer_hash: string;
}

function nextLink(headSeq: string, headHash: string, contentHash: string): ChainLink {
  return { seq: (BigInt(headSeq) + 1n).toString(), prevHash: headHash, hash: chainLinkHash(headHash, contentHash) };
}

/** Options of {@link auditEvents.append}. */
export interface AppendOptions {
  /**
   * When it happened, if before now: an event recorded in the intake (db/repositories/audit-intake.ts) occurred when
   * it was recorded. Never before the global chain's head, so that chain order and time order still agree.
   */
  occurredAt?: Date;
}

async function appendIn(trx: Knex.Transaction, event: AuditEventInput, opts: AppendOptions = {}): Promise<AuditEvent> {
  const details = event.details ?? {};
  if (typeof details !== 'object' || details === null || Array.isArray(details)) {
    throw new TypeError('audit event details must be an object');
  }
  const customerId = event.customerId ?? null;
  const results = await trx.raw<Array<{ rows: HeadsRow[] }>>(
    lockAndReadHeadsSql(
      customerId,
      event.requestId ?? null,
      JSON.stringify(details),
      event.idempotencyKey ?? null,
      opts.occurredAt ?? null,
    ),
  );
  const head = results[1]?.rows[0];
  // Under the chain lock every append is serialised, so a keyed event found here cannot be being written concurrently.
  if (head?.recorded_id) {
    const recorded = await trx<AuditEventRow>('audit_events').where({ id: head.recorded_id }).first();
    if (recorded) return toAuditEvent(recorded);
  }
  if (!head) throw new Error('reading the audit chain heads returned no row');

  const content: AuditContent = {
    id: head.id,
    occurredAt: head.occurred_at,
    actor: event.actor,
    action: event.action,
    subjectType: event.subjectType,
    subjectId: event.subjectId,
    customerId: head.customer_id,
    requestId: head.request_id,
    workflowId: event.workflowId ?? null,
    dataCategory: AUDIT_DATA_CATEGORY,
    details: head.details,
  };
  const contentHash = auditContentHash(content);
  const global = nextLink(head.global_seq, head.global_hash, contentHash);
  const customer = content.customerId === null ? null : nextLink(head.customer_seq, head.customer_hash, contentHash);
  const { keyring } = auditLogSecurity();
  const mac = auditLinkMac(keyring.keys.get(keyring.activeKeyId)!, {
    id: content.id,
    globalSeq: global.seq,
    globalHash: global.hash,
    customerSeq: customer?.seq ?? null,
    customerHash: customer?.hash ?? null,
  });

  await trx('audit_events').insert({
    id: content.id,
    occurred_at: content.occurredAt,
    actor: content.actor,
    action: content.action,
    subject_type: content.subjectType,
    subject_id: content.subjectId,
    customer_id: content.customerId,
    request_id: content.requestId,
    workflow_id: content.workflowId,
    details: JSON.stringify(content.details),
    data_category: content.dataCategory,
    content_hash: contentHash,
    global_seq: global.seq,
    global_prev_hash: global.prevHash,
    global_hash: global.hash,
    customer_seq: customer?.seq ?? null,
    customer_prev_hash: customer?.prevHash ?? null,
    customer_hash: customer?.hash ?? null,
    mac_key_id: keyring.activeKeyId,
    mac,
    // Only when set: an unkeyed append writes the columns every schema version has.
    ...(event.idempotencyKey ? { idempotency_key: event.idempotencyKey } : {}),
  });
  return { ...content, contentHash, chains: { global, customer } };
}

async function latestAnchor(db: Knex, chain: string): Promise<ChainAnchor | null> {
  const row = await db<AnchorRow>('audit_chain_anchors')
    .where({ chain })
    .orderByRaw('last_seq desc')
    .first('last_seq', 'last_event_id', 'last_hash', 'purged_at');
  return row ? { seq: row.last_seq, eventId: row.last_event_id, hash: row.last_hash, purgedAt: row.purged_at } : null;
}

/** Last global position allowed without a MAC (audit_keying), or 0 when the table is missing its row. */
export async function legacyThroughSeq(db: Knex | Knex.Transaction): Promise<string> {
  // A schema from before the keyed chain (a migration test stepping through versions): nothing is keyed yet.
  const {
    rows: [table],
  } = await db.raw<{ rows: { t: string | null }[] }>("select to_regclass('audit_keying')::text as t");
  if (!table?.t) return UNKEYED_SCHEMA;
  const row = await db('audit_keying').first<{ legacy_through_seq: string } | undefined>('legacy_through_seq');
  return row?.legacy_through_seq ?? '0';
}

/** Legacy boundary of a schema without `audit_keying`: every position. */
const UNKEYED_SCHEMA = '9223372036854775807';

/** Options of {@link auditEvents.verify}. */
export interface AuditVerifyOptions {
  customerId?: string;
  /** Keys to check MACs with (default: the configured keyring). */
  keyring?: AuditKeyring;
  /**
   * Last global position allowed without a MAC, when a more trustworthy source than the database states it (the signed
   * checkpoints): the lower of this and the database's value applies.
   */
  legacyThroughSeq?: string;
}

async function verifyIn(db: Knex, opts: AuditVerifyOptions): Promise<AuditVerifyReport> {
  const customerId = opts.customerId;
  const keyring = opts.keyring ?? auditLogSecurity().keyring;
  const stored = BigInt(await legacyThroughSeq(db));
  const legacyThrough =
    opts.legacyThroughSeq !== undefined && BigInt(opts.legacyThroughSeq) < stored
      ? BigInt(opts.legacyThroughSeq)
      : stored;
  const keyed = { legacyThroughSeq: legacyThrough.toString(), macsChecked: 0 };
  const chain = customerId === undefined ? GLOBAL_CHAIN : customerChain(customerId);
  const col =
    customerId === undefined
      ? ({ seq: 'global_seq', prev: 'global_prev_hash', hash: 'global_hash' } as const)
      : ({ seq: 'customer_seq', prev: 'customer_prev_hash', hash: 'customer_hash' } as const);
  const anchor = await latestAnchor(db, chain);
  let expectedSeq = anchor ? BigInt(anchor.seq) + 1n : 1n;
  let expectedPrev = anchor?.hash ?? GENESIS_HASH;
  let head: AuditVerifyReport['head'] = null;
  let checked = 0;
  let cursor: string | null = null;

  for (;;) {
    const q = db<AuditEventRow>('audit_events').orderBy(col.seq).limit(VERIFY_BATCH);
    if (customerId !== undefined) void q.where('customer_id', customerId);
    if (cursor !== null) void q.where(col.seq, '>', cursor);
    const rows = await q;
    if (rows.length === 0) return { ok: true, chain, checked, anchor, head, keyed };

    for (const row of rows) {
      checked += 1;
      const seq = row[col.seq]!;
      const prev = row[col.prev]!;
      const stored = row[col.hash]!;
      const broken = (reason: ChainBreakReason, detail: string): AuditVerifyReport => ({
        ok: false,
        chain,
        checked,
        anchor,
        head,
        keyed,
        firstBroken: { id: row.id, seq, reason, detail },
      });
      const content = auditContentHash(contentOf(row));
      if (content !== row.content_hash) {
        return broken('content_hash_mismatch', 'the stored event no longer matches its content hash: it was altered');
      }
      if (prev !== expectedPrev) {
        return broken(
          'prev_hash_mismatch',
          `previous hash ${prev} is not ${expectedPrev}: an event before this one was removed, reordered or inserted`,
        );
      }
      if (stored !== chainLinkHash(prev, content)) {
        return broken('hash_mismatch', 'the chain hash is not SHA-256(previous hash || content hash)');
      }
      if (seq !== expectedSeq.toString()) {
        return broken('seq_mismatch', `chain position ${seq} where ${expectedSeq.toString()} was expected`);
      }
      if (row.mac == null || row.mac_key_id == null) {
        if (BigInt(row.global_seq) > legacyThrough) {
          return broken(
            'mac_missing',
            `no MAC on an event after global position ${legacyThrough.toString()}, where every event carries one: it was not written by the service`,
          );
        }
      } else {
        const key = keyring.keys.get(row.mac_key_id);
        if (!key) {
          return broken('unknown_mac_key', `MAC key "${row.mac_key_id}" is not in AUDIT_HMAC_KEYS`);
        }
        const macInput = {
          id: row.id,
          globalSeq: row.global_seq,
          globalHash: row.global_hash,
          customerSeq: row.customer_seq,
          customerHash: row.customer_hash,
        };
        if (!auditLinkMacMatches(key, macInput, row.mac)) {
          return broken('mac_mismatch', 'the MAC does not match: the event or the chain before it was rewritten');
        }
        keyed.macsChecked += 1;
      }
      head = { id: row.id, seq, hash: stored };
      expectedPrev = stored;
      expectedSeq += 1n;
    }
    cursor = rows[rows.length - 1]![col.seq];
  }
}

async function purgeIn(
  trx: Knex.Transaction,
  cutoff: Date,
  opts: { actor: string; maxEvents?: number },
): Promise<AuditPurgeResult> {
  await lockChains(trx);
  // The purge takes the longest prefix of the global chain whose events all occurred before the cutoff.
  const firstKept = await trx<AuditEventRow>('audit_events')
    .where('occurred_at', '>=', cutoff)
    .orderBy('global_seq')
    .first('global_seq');
  const {
    rows: [bounds],
  } = await trx.raw<{ rows: { first: string | null; last: string | null }[] }>(
    `select min(global_seq)::text as first, max(global_seq)::text as last
       from audit_events where ?::bigint is null or global_seq < ?::bigint`,
    [firstKept?.global_seq ?? null, firstKept?.global_seq ?? null],
  );
  const first = bounds?.first ?? null;
  const lastOld = bounds?.last ?? null;
  const nothing: AuditPurgeResult = { cutoff, purged: 0, customerChains: 0, anchor: null, eventId: null };
  if (first === null || lastOld === null) return nothing;
  let lastSeq = lastOld;
  if (opts.maxEvents !== undefined) {
    const capped = BigInt(first) + BigInt(opts.maxEvents) - 1n;
    if (capped < BigInt(lastSeq)) lastSeq = capped.toString();
  }

  const lastEvent = await trx<AuditEventRow>('audit_events')
    .where('global_seq', lastSeq)
    .first('id', 'global_seq', 'global_hash');
  if (!lastEvent) throw new Error(`audit chain has no event at global position ${lastSeq}`);

  // The anchor is signed into the checkpoint file before anything is deleted: a purge without one is a break.
  appendCheckpoint(auditLogSecurity().checkpoints, {
    type: 'purge_anchor',
    chain: GLOBAL_CHAIN,
    seq: lastEvent.global_seq,
    hash: lastEvent.global_hash,
    eventId: lastEvent.id,
    legacyThroughSeq: await legacyThroughSeq(trx),
    cutoff: cutoff.toISOString(),
  });
  // The database function checks the anchor against the chain, writes the chains' anchors and deletes (it may; the
  // service's role may not).
  const {
    rows: [done],
  } = await trx.raw<{ rows: { purged: string; customer_chains: string }[] }>(
    'select purged::text, customer_chains::text from audit_purge_through(?::bigint, ?, ?::timestamptz)',
    [lastEvent.global_seq, lastEvent.global_hash, cutoff],
  );
  const deleted = Number(done!.purged);
  const customerChains = Number(done!.customer_chains);

  const anchor = { seq: lastEvent.global_seq, eventId: lastEvent.id, hash: lastEvent.global_hash };
  const recorded = await appendIn(trx, {
    actor: opts.actor,
    action: 'audit.purged',
    subjectType: 'audit_log',
    subjectId: GLOBAL_CHAIN,
    details: {
      cutoff: cutoff.toISOString(),
      purged: deleted,
      customerChains,
      anchor,
    },
  });
  return { cutoff, purged: deleted, customerChains, anchor, eventId: recorded.id };
}

/** The ids that name a lifecycle request in the audit log: what every workflow step of a request carries. */
export interface AuditRequestRef {
  requestId: string;
  customerId?: string | null;
  workflowId?: string | null;
}

/** An event about a request: who did what, and the subject when it is something of the request (a link, an archive). */
export interface AuditRequestEvent {
  actor: string;
  action: string;
  details?: Record<string, unknown>;
  subject?: { type: string; id: string };
  /** See {@link AuditEventInput.idempotencyKey}. */
  idempotencyKey?: string | null;
}

/** Append-only access to the audit log. Pass a transaction so the event commits with the change it describes. */
export const auditEvents = {
  /**
   * Appends an event about the request `ref` names (see {@link auditEvents.append}): its subject is the request itself
   * unless `event.subject` says otherwise, and it carries the request's customer and workflow ids.
   */
  async appendForRequest(
    db: Knex | Knex.Transaction,
    ref: AuditRequestRef,
    event: AuditRequestEvent,
  ): Promise<AuditEvent> {
    return auditEvents.append(db, {
      actor: event.actor,
      action: event.action,
      subjectType: event.subject?.type ?? 'lifecycle_request',
      subjectId: event.subject?.id ?? ref.requestId,
      customerId: ref.customerId ?? null,
      requestId: ref.requestId,
      workflowId: ref.workflowId ?? null,
      details: event.details,
      idempotencyKey: event.idempotencyKey,
    });
  },

  /**
   * Appends an event to the global chain and, when it names a customer, to that customer's chain. Given a transaction
   * it takes the chain lock inside it (held until it ends); given a plain knex instance it opens its own.
   * @returns the stored event with its hashes.
   */
  async append(db: Knex | Knex.Transaction, event: AuditEventInput, opts: AppendOptions = {}): Promise<AuditEvent> {
    if (isTransaction(db)) return appendIn(db, event, opts);
    return db.transaction((trx) => appendIn(trx, event, opts));
  },

  /** Events matching `filter`, in id order (which is also chain order). */
  async list(db: Knex, filter: AuditEventFilter = {}): Promise<AuditEvent[]> {
    const q = db<AuditEventRow>('audit_events').orderBy('id', 'asc');
    if (filter.customerId) void q.where('customer_id', filter.customerId);
    if (filter.requestId) void q.where('request_id', filter.requestId);
    if (filter.actor) void q.where('actor', filter.actor);
    if (filter.action) void q.where('action', filter.action);
    if (filter.from) void q.where('occurred_at', '>=', filter.from);
    if (filter.to) void q.where('occurred_at', '<', filter.to);
    if (filter.after) void q.where('id', '>', filter.after);
    if (filter.limit !== undefined) void q.limit(filter.limit);
    return (await q).map(toAuditEvent);
  },

  /**
   * Walks one chain (a customer's when `customerId` is given, else the global one) from its latest anchor (or the
   * genesis hash) and reports the first event whose content hash, previous-hash link, chain hash or position does not
   * hold. Reads one consistent snapshot (a read-only REPEATABLE READ transaction unless given a transaction).
   */
  async verify(db: Knex | Knex.Transaction, opts: AuditVerifyOptions = {}): Promise<AuditVerifyReport> {
    if (isTransaction(db)) return verifyIn(db, opts);
    return db.transaction((trx) => verifyIn(trx, opts), {
      isolationLevel: 'repeatable read',
      readOnly: true,
    });
  },

  /**
   * Retention of the audit log itself: deletes the longest prefix of the global chain whose events occurred before
   * `cutoff` (at most `maxEvents` of them), which is also a prefix of every customer chain it touches. An anchor per
   * affected chain records the last purged position and hash, so verification starts there and still proves the
   * rest; an `audit.purged` event records the purge. Nothing is written when no event is old enough. Appends wait
   * while a purge runs.
   */
  async purgeBefore(
    db: Knex | Knex.Transaction,
    cutoff: Date,
    opts: { actor?: string; maxEvents?: number } = {},
  ): Promise<AuditPurgeResult> {
    if (Number.isNaN(cutoff.getTime())) throw new RangeError('cutoff is not a valid date');
    if (opts.maxEvents !== undefined && (!Number.isInteger(opts.maxEvents) || opts.maxEvents < 1)) {
      throw new RangeError('maxEvents must be a positive integer');
    }
    const run = (trx: Knex.Transaction) =>
      purgeIn(trx, cutoff, { actor: opts.actor ?? 'system:retention', maxEvents: opts.maxEvents });
    if (isTransaction(db)) return run(db);
    return db.transaction(run);
  },
};

/** {@link auditEvents.purgeBefore} as a function, for the retention workflow's activities. */
export function purgeAuditEventsBefore(
  db: Knex | Knex.Transaction,
  cutoff: Date,
  opts?: { actor?: string; maxEvents?: number },
): Promise<AuditPurgeResult> {
  return auditEvents.purgeBefore(db, cutoff, opts);
}
