/**
 * Activities of retention: reading policies and contracts for the per-customer lifecycle, recording its decisions,
 * and the rolling sweep's batched deletions. Each is idempotent; every deletion batch commits together with the
 * counter that the sweep's audit event later reports, so counts stay exact across crashes and retries.
 */
import { activityInfo, cancellationSignal, heartbeat, log } from '@temporalio/activity';
import { CancelledFailure } from '@temporalio/common';
import type { Knex } from 'knex';
import { activityLeases, type Lease } from '../db/repositories/activity-leases';
import { auditEvents, purgeAuditEventsBefore } from '../db/repositories/audit-events';
import { customerLifecycleDates } from '../db/repositories/customer-lifecycle-dates';
import { activeHoldCovers, lockAgainstHoldChanges } from '../db/repositories/legal-holds';
import { retentionPolicies } from '../db/repositories/retention-policies';
import type { AppConfig } from '../lib/config';
import type { DataCategory } from '../lib/pure/data-categories';
import { sweepTables } from '../lib/pure/data-map';
import { CustomerNotFoundError } from '../lib/pure/errors';
import type { ContractEnd, RetentionPolicy } from '../lib/pure/retention';
import { subtractPeriod } from '../lib/pure/retention';
import { notUnderStatutoryRetention } from '../lib/statutory-retention';
import { TABLES_WITH_RETAIN_UNTIL } from '../lib/pure/statutory-rules';
import { claimForThisAttempt } from './attempt-lease';

/** What the retention activities need from the outside world. */
export interface RetentionDeps {
  db: Knex;
  config: AppConfig;
}

/** Who the audit log names for retention's own steps. */
const ACTOR = 'system:retention';

/**
 * Tables the rolling sweep deletes from by record creation (the sweep treatment of lib/pure/data-map.ts). Contact
 * data and seller identities have no creation clock (lib/pure/retention.ts ALLOWED_CLOCKS); audit events are purged by the
 * audit module's own chain-preserving purge; export archives expire with their download link in the access-request
 * process, so the sweep has no table for them.
 */
export const ROLLING_SWEEP_TABLES = sweepTables();

/** What a per-customer retention workflow needs to plan its timers; no personal data. */
export interface RetentionContext {
  customerId: string;
  /** False when the customer record no longer exists (erased by a termination): nothing is left to time. */
  customerExists: boolean;
  customerStatus: string | null;
  contract: (ContractEnd & { startsOn: string }) | null;
  policySet: string;
  policies: RetentionPolicy[];
  jitterMaxMs: number;
  recheckIntervalMs: number;
}

/** One sweep category as the sweep workflow plans it. */
export interface SweepPlanEntry extends RetentionPolicy {
  /** How the sweep handles it: deleting rows, purging the audit log, or nothing (no table on that clock). */
  handling: 'rows' | 'audit-purge' | 'none';
}

/** What one sweep deleted, per category and kind, as recorded in its audit event. */
export interface RetentionSweepSummary {
  sweepId: string;
  policySet: string;
  customerIds: string[] | null;
  categories: Partial<Record<DataCategory, { deleted: number; policyVersion: number; period: string; cutoff: string }>>;
  statutory: Record<string, { deleted: number; policyVersion: number; cutoff: string }>;
  skipped: DataCategory[];
  auditEventId: string | null;
}

interface SweepCountRow {
  category: DataCategory;
  kind: 'period' | 'statutory';
  policy_version: number;
  period: string | null;
  cutoff: Date;
  deleted: string;
}

/** Builds the retention activities from their dependencies. */
export function createRetentionActivities(deps: RetentionDeps) {
  const { db } = deps;
  const policySet = deps.config.retention.policySet;

  async function loadPolicies(): Promise<RetentionPolicy[]> {
    await retentionPolicies.ensureSet(db, policySet);
    const stored = await retentionPolicies.list(db, policySet);
    return stored.map(({ category, period, clockStart, legalBasis, version }) => ({
      category,
      period,
      clockStart,
      legalBasis,
      version,
    }));
  }

  /**
   * Whether a retention event for this erasure was already written (a retried activity whose first attempt committed
   * but could not report back): the lifecycle's audit events are written once per erasure.
   */
  async function alreadyAudited(customerId: string, action: string, erasureWorkflowId: string): Promise<boolean> {
    const row = await db('audit_events')
      .where({ customer_id: customerId, action })
      .whereRaw("details->>'erasureWorkflowId' = ?", [erasureWorkflowId])
      .first<{ id: string } | undefined>('id');
    return row !== undefined;
  }

  /** Opens the counter row of one sweep category (idempotent), before its first batch. */
  async function openCount(
    sweepId: string,
    entry: { category: string; kind: 'period' | 'statutory'; policyVersion: number; period?: string; cutoff: Date },
  ): Promise<void> {
    await db('retention_sweep_counts')
      .insert({
        sweep_id: sweepId,
        category: entry.category,
        kind: entry.kind,
        policy_version: entry.policyVersion,
        period: entry.period ?? null,
        cutoff: entry.cutoff,
      })
      .onConflict(['sweep_id', 'category', 'kind'])
      .ignore();
  }

  /**
   * Claims the sweep's lease for the running attempt: a sweep attempt replaced by a newer one (paused past its
   * heartbeat timeout) is refused at its next batch and counts nothing more (docs/reliability.md).
   */
  function claimSweep(sweepId: string): Promise<Lease> {
    return claimForThisAttempt(db, `retention-sweep:${sweepId}`);
  }

  /**
   * Deletes the rows `select` picks, `batchSize` at a time, each batch in its own short transaction (under the
   * attempt's lease) together with the increment of the sweep counter; heartbeats the running total. Returns the rows
   * deleted by this attempt.
   */
  async function deleteInBatches(opts: {
    lease: Lease;
    sweepId: string;
    table: string;
    category: string;
    kind: 'period' | 'statutory';
    batchSize: number;
    select: (trx: Knex.Transaction) => Knex.QueryBuilder;
  }): Promise<number> {
    let total = 0;
    for (;;) {
      if (cancellationSignal().aborted) throw new CancelledFailure('retention sweep cancelled');
      const deleted = await activityLeases.fenced(db, opts.lease, async (trx) => {
        // A hold placed while this batch runs waits for it; the next batch sees the hold.
        await lockAgainstHoldChanges(trx);
        const n = await trx(opts.table).whereIn('id', opts.select(trx).limit(opts.batchSize)).del();
        if (n > 0) {
          await trx('retention_sweep_counts')
            .where({ sweep_id: opts.sweepId, category: opts.category, kind: opts.kind })
            .increment('deleted', n);
        }
        return n;
      });
      total += deleted;
      heartbeat({ table: opts.table, deleted: total });
      if (deleted < opts.batchSize) return total;
    }
  }

  return {
    /**
     * Everything a per-customer retention workflow plans with: whether the customer still exists, its contract end,
     * the policies of this deployment's set, and the timer settings from configuration.
     */
    async loadRetentionContext(input: { customerId: string }): Promise<RetentionContext> {
      const [customer, policies] = await Promise.all([
        db<{ id: string; status: string }>('customers').where({ id: input.customerId }).first('id', 'status'),
        loadPolicies(),
      ]);
      // The evidence record, not the contracts row: a business_contact erasure removes the latter (issue #11).
      const dates =
        (await customerLifecycleDates.find(db, input.customerId)) ??
        (customer ? await customerLifecycleDates.recordFromContract(db, input.customerId) : undefined);
      return {
        customerId: input.customerId,
        customerExists: customer !== undefined,
        customerStatus: customer?.status ?? null,
        contract: dates
          ? {
              startsOn: dates.contractStartsOn,
              endsOn: dates.contractEndsOn,
              endedAt: dates.contractEndedAt?.toISOString() ?? null,
            }
          : null,
        policySet,
        policies,
        jitterMaxMs: deps.config.retention.jitterMaxMs,
        recheckIntervalMs: deps.config.retention.recheckIntervalMs,
      };
    },

    /**
     * Records that the contract ended at `endedAt` (from the termination process): sets it on the customer's
     * lifecycle dates (and on the contract row while that exists) and audits it, unless it already says so.
     */
    async recordContractEnd(input: {
      customerId: string;
      endedAt: string;
      source: string;
      workflowId: string;
    }): Promise<{ changed: boolean }> {
      const endedAt = new Date(input.endedAt);
      return db.transaction(async (trx) => {
        await customerLifecycleDates.recordFromContract(trx, input.customerId);
        const dates = await customerLifecycleDates.lock(trx, input.customerId);
        if (!dates) throw new CustomerNotFoundError(input.customerId);
        if (dates.contractEndedAt?.getTime() === endedAt.getTime()) return { changed: false };
        await customerLifecycleDates.setContractEnd(trx, input.customerId, { endsOn: dates.contractEndsOn, endedAt });
        // The contract row too while it exists (a business_contact erasure may have removed it).
        await trx('contracts').where({ id: dates.contractId }).update({ ended_at: endedAt, updated_at: trx.fn.now() });
        await auditEvents.append(trx, {
          actor: input.source.startsWith('staff:') ? input.source : `system:${input.source}`,
          action: 'contract.ended',
          subjectType: 'contract',
          subjectId: dates.contractId,
          customerId: input.customerId,
          workflowId: input.workflowId,
          details: { endedAt: endedAt.toISOString(), previousEndedAt: dates.contractEndedAt?.toISOString() ?? null },
        });
        return { changed: true };
      });
    },

    /**
     * Deletes the customer's lifecycle dates once every contract-end category has been erased: the evidence they were
     * kept for is complete (the erasures' audit events name the clock start). Audited once.
     */
    async forgetLifecycleDates(input: { customerId: string; workflowId: string }): Promise<{ deleted: boolean }> {
      return db.transaction(async (trx) => {
        const dates = await customerLifecycleDates.lock(trx, input.customerId);
        if (!dates) return { deleted: false };
        await customerLifecycleDates.delete(trx, input.customerId);
        await auditEvents.append(trx, {
          actor: ACTOR,
          action: 'retention.lifecycle_dates_deleted',
          subjectType: 'customer',
          subjectId: input.customerId,
          customerId: input.customerId,
          workflowId: input.workflowId,
          details: {
            contractId: dates.contractId,
            contractStartsOn: dates.contractStartsOn,
            contractEndsOn: dates.contractEndsOn,
            contractEndedAt: dates.contractEndedAt?.toISOString() ?? null,
          },
        });
        return { deleted: true };
      });
    },

    /** Audits that categories of a customer reached their expiry and which erasure will delete them. */
    async recordRetentionExpiry(input: {
      customerId: string;
      workflowId: string;
      categories: DataCategory[];
      policyVersions: Partial<Record<DataCategory, number>>;
      clockStart: string;
      expiresAt: string;
      erasureWorkflowId: string;
    }): Promise<void> {
      if (await alreadyAudited(input.customerId, 'retention.expired', input.erasureWorkflowId)) return;
      await auditEvents.append(db, {
        actor: ACTOR,
        action: 'retention.expired',
        subjectType: 'customer',
        subjectId: input.customerId,
        customerId: input.customerId,
        workflowId: input.workflowId,
        details: {
          policySet,
          categories: input.categories,
          policyVersions: input.policyVersions,
          clockStart: input.clockStart,
          expiresAt: input.expiresAt,
          erasureWorkflowId: input.erasureWorkflowId,
        },
      });
    },

    /** Audits that the erasure of expired categories finished, with its per-table counts. */
    async recordRetentionErasure(input: {
      customerId: string;
      workflowId: string;
      categories: DataCategory[];
      policyVersions: Partial<Record<DataCategory, number>>;
      erasureWorkflowId: string;
      tables: Record<string, number>;
      retained: Record<string, number>;
      verified: boolean | null;
    }): Promise<void> {
      if (await alreadyAudited(input.customerId, 'retention.erased', input.erasureWorkflowId)) return;
      await auditEvents.append(db, {
        actor: ACTOR,
        action: 'retention.erased',
        subjectType: 'customer',
        subjectId: input.customerId,
        customerId: input.customerId,
        workflowId: input.workflowId,
        details: {
          policySet,
          categories: input.categories,
          policyVersions: input.policyVersions,
          erasureWorkflowId: input.erasureWorkflowId,
          tables: input.tables,
          retained: input.retained,
          verified: input.verified,
        },
      });
    },

    /** Audits that the erasure of expired categories failed, and when the lifecycle tries again. */
    async recordRetentionErasureFailed(input: {
      customerId: string;
      workflowId: string;
      categories: DataCategory[];
      erasureWorkflowId: string;
      failure: string;
      retryAt: string;
    }): Promise<void> {
      await auditEvents.append(db, {
        actor: ACTOR,
        action: 'retention.erasure_failed',
        subjectType: 'customer',
        subjectId: input.customerId,
        customerId: input.customerId,
        workflowId: input.workflowId,
        details: {
          categories: input.categories,
          erasureWorkflowId: input.erasureWorkflowId,
          failure: input.failure.slice(0, 500),
          retryAt: input.retryAt,
        },
      });
    },

    /**
     * Opens a sweep (idempotent) and answers its plan: the current policy of every category with how the sweep
     * handles it, and the batch size from configuration.
     */
    async beginRetentionSweep(input: {
      sweepId: string;
      customerIds?: string[];
    }): Promise<{ policySet: string; plan: SweepPlanEntry[]; batchSize: number }> {
      const policies = await loadPolicies();
      await db('retention_sweeps')
        .insert({ id: input.sweepId, policy_set: policySet, customer_ids: input.customerIds ?? null })
        .onConflict('id')
        .ignore();
      const plan = policies.map((p): SweepPlanEntry => {
        if (p.clockStart !== 'record_creation') return { ...p, handling: 'none' };
        if (p.category === 'audit_log') return { ...p, handling: 'audit-purge' };
        return { ...p, handling: ROLLING_SWEEP_TABLES[p.category] ? 'rows' : 'none' };
      });
      return { policySet, plan, batchSize: deps.config.retention.sweepBatchSize };
    },

    /**
     * Deletes, in batches, the rows of one rolling category created before `cutoff`, except those of customers under
     * an active legal hold for that category and those under statutory retention (`retain_until` in the future).
     */
    async sweepRetentionCategory(input: {
      sweepId: string;
      category: DataCategory;
      policyVersion: number;
      period: string;
      cutoff: string;
      batchSize: number;
      customerIds?: string[];
    }): Promise<{ deleted: number }> {
      const spec = ROLLING_SWEEP_TABLES[input.category];
      if (!spec) throw new RangeError(`the sweep has no table for category ${input.category}`);
      const cutoff = new Date(input.cutoff);
      const lease = await claimSweep(input.sweepId);
      await openCount(input.sweepId, { ...input, kind: 'period', cutoff });
      const statutory = TABLES_WITH_RETAIN_UNTIL.includes(spec.table);
      const deleted = await deleteInBatches({
        lease,
        sweepId: input.sweepId,
        table: spec.table,
        category: input.category,
        kind: 'period',
        batchSize: input.batchSize,
        select: (trx) => {
          const q = trx(`${spec.table} as t`)
            .select('t.id')
            .where('t.data_category', input.category)
            .where(`t.${spec.timestamp}`, '<', cutoff)
            .whereRaw('not exists (?)', [activeHoldCovers(trx, 't.customer_id', input.category)]);
          if (statutory) void q.where(notUnderStatutoryRetention(trx, 't.retain_until'));
          if (input.customerIds) void q.whereIn('t.customer_id', input.customerIds);
          return q;
        },
      });
      log.info('retention sweep category done', { sweepId: input.sweepId, category: input.category, deleted });
      return { deleted };
    },

    /**
     * Deletes records whose statutory retention (`retain_until`, set by an erasure) has passed: orders first, then
     * customer records kept for them. Holds apply: an order under a hold for `orders` stays, and a customer record
     * stays while any hold covers the customer or any of its records is still retained.
     */
    async sweepStatutoryRetention(input: {
      sweepId: string;
      now: string;
      batchSize: number;
      policyVersions: Partial<Record<DataCategory, number>>;
      customerIds?: string[];
    }): Promise<{ deleted: Record<string, number> }> {
      const now = new Date(input.now);
      const lease = await claimSweep(input.sweepId);
      const deleted: Record<string, number> = {};
      for (const table of TABLES_WITH_RETAIN_UNTIL) {
        const category: DataCategory = table === 'customers' ? 'business_contact' : 'orders';
        const customerColumn = table === 'customers' ? 't.id' : 't.customer_id';
        await openCount(input.sweepId, {
          category: table,
          kind: 'statutory',
          policyVersion: input.policyVersions[category] ?? 0,
          cutoff: now,
        });
        deleted[table] = await deleteInBatches({
          lease,
          sweepId: input.sweepId,
          table,
          category: table,
          kind: 'statutory',
          batchSize: input.batchSize,
          select: (trx) => {
            const q = trx(`${table} as t`)
              .select('t.id')
              .whereNotNull('t.retain_until')
              .where('t.retain_until', '<', now);
            if (table === 'customers') {
              // Deleting a customer cascades to everything it owns: only when nothing of it is held or still retained.
              void q.whereNotExists(
                trx('legal_holds as lh')
                  .select(trx.raw('1'))
                  .whereRaw('lh.customer_id = t.id')
                  .whereNull('lh.released_at'),
              );
              for (const other of TABLES_WITH_RETAIN_UNTIL.filter((name) => name !== 'customers')) {
                void q.whereNotExists(
                  trx(`${other} as r`)
                    .select(trx.raw('1'))
                    .whereRaw('r.customer_id = t.id')
                    .where('r.retain_until', '>=', now),
                );
              }
            } else {
              void q.whereRaw('not exists (?)', [activeHoldCovers(trx, customerColumn, category)]);
            }
            if (input.customerIds) void q.whereIn(customerColumn, input.customerIds);
            return q;
          },
        });
      }
      return { deleted };
    },

    /**
     * Retention of the audit log itself: purges events older than `cutoff` through the chain-preserving purge, but
     * never past the first event of a customer under an active hold for `audit_log` (a purge removes a prefix of the
     * global chain, so a held customer's events stop it there).
     */
    async sweepAuditLog(input: {
      sweepId: string;
      policyVersion: number;
      period: string;
      cutoff: string;
      batchSize: number;
    }): Promise<{ purged: number; heldFrom: string | null }> {
      // Never past the floor, whatever an older policy version says (AUDIT_RETENTION_FLOOR).
      const floorCutoff = subtractPeriod(Date.now(), deps.config.audit.retentionFloor);
      const cutoff = new Date(Math.min(new Date(input.cutoff).getTime(), floorCutoff));
      const lease = await claimSweep(input.sweepId);
      await openCount(input.sweepId, { category: 'audit_log', kind: 'period', ...input, cutoff });
      const held = await db('audit_events as e')
        .whereNotNull('e.customer_id')
        .whereRaw('exists (?)', [activeHoldCovers(db, 'e.customer_id', 'audit_log')])
        .min<{ min: Date | null }[]>({ min: 'e.occurred_at' });
      const heldFrom = held[0]?.min ?? null;
      const effective = heldFrom && heldFrom < cutoff ? heldFrom : cutoff;
      let purged = 0;
      for (;;) {
        if (cancellationSignal().aborted) throw new CancelledFailure('retention sweep cancelled');
        const result = await activityLeases.fenced(db, lease, async (trx) => {
          // The counter row is touched only by this sweep, so updating it after the purge (which holds the audit chain
          // lock until commit) cannot deadlock with appenders.
          const r = await purgeAuditEventsBefore(trx, effective, { actor: ACTOR, maxEvents: input.batchSize });
          if (r.purged > 0) {
            await trx('retention_sweep_counts')
              .where({ sweep_id: input.sweepId, category: 'audit_log', kind: 'period' })
              .increment('deleted', r.purged);
          }
          return r;
        });
        purged += result.purged;
        heartbeat({ table: 'audit_events', deleted: purged });
        if (result.purged < input.batchSize) break;
      }
      return { purged, heldFrom: heldFrom?.toISOString() ?? null };
    },

    /**
     * Closes a sweep: marks it completed and records its counts per category (with the policy version and cutoff each
     * deletion applied) in one audit event. A repeated call answers the same summary without a second event.
     */
    async completeRetentionSweep(input: { sweepId: string; skipped: DataCategory[] }): Promise<RetentionSweepSummary> {
      return db.transaction(async (trx) => {
        const sweep = await trx<{
          id: string;
          policy_set: string;
          customer_ids: string[] | null;
          completed_at: Date | null;
        }>('retention_sweeps')
          .where({ id: input.sweepId })
          .forUpdate()
          .first();
        if (!sweep) throw new RangeError(`no retention sweep ${input.sweepId}`);
        const counts = (await trx('retention_sweep_counts')
          .where({ sweep_id: input.sweepId })
          .orderBy(['kind', 'category'])) as SweepCountRow[];
        const summary: RetentionSweepSummary = {
          sweepId: sweep.id,
          policySet: sweep.policy_set,
          customerIds: sweep.customer_ids,
          categories: {},
          statutory: {},
          skipped: input.skipped,
          auditEventId: null,
        };
        for (const row of counts) {
          const entry = {
            deleted: Number(row.deleted),
            policyVersion: row.policy_version,
            cutoff: row.cutoff.toISOString(),
          };
          if (row.kind === 'period') summary.categories[row.category] = { ...entry, period: row.period ?? '' };
          else summary.statutory[row.category] = entry;
        }
        if (sweep.completed_at) {
          const earlier = await trx('audit_events')
            .where({ action: 'retention.swept', subject_id: input.sweepId })
            .first<{ id: string } | undefined>('id');
          return { ...summary, auditEventId: earlier?.id ?? null };
        }
        await trx('retention_sweeps').where({ id: input.sweepId }).update({ completed_at: trx.fn.now() });
        const event = await auditEvents.append(trx, {
          actor: ACTOR,
          action: 'retention.swept',
          subjectType: 'retention_sweep',
          subjectId: input.sweepId,
          workflowId: activityInfo().workflowExecution?.workflowId ?? null,
          details: {
            policySet: summary.policySet,
            customerIds: summary.customerIds,
            categories: summary.categories,
            statutory: summary.statutory,
            skipped: summary.skipped,
          },
        });
        return { ...summary, auditEventId: event.id };
      });
    },
  };
}

/** The retention lifecycle's and the rolling sweep's activities. */
export type RetentionActivities = ReturnType<typeof createRetentionActivities>;
