/**
 * Store for retention policies: the current version per policy set and category, the append-only history of every
 * version, and the creation of a policy set from the `default` one.
 */
import { createHash } from 'node:crypto';
import type { Knex } from 'knex';
import { DATA_CATEGORIES, type DataCategory } from '../../lib/pure/data-categories';
import type { RetentionClock, RetentionPolicy } from '../../lib/pure/retention';
import { auditEvents } from './audit-events';

/** The set the migration ships, copied for any other set on first use. */
export const DEFAULT_POLICY_SET = 'default';

/** A stored policy version, with who made it and when. */
export interface StoredRetentionPolicy extends RetentionPolicy {
  policySet: string;
  changedBy: string;
  changedAt: Date;
}

interface PolicyRow {
  policy_set: string;
  category: DataCategory;
  version: number;
  period: string;
  clock_start: RetentionClock;
  legal_basis: string;
  changed_by: string;
  changed_at: Date;
}

function toPolicy(row: PolicyRow): StoredRetentionPolicy {
  return {
    policySet: row.policy_set,
    category: row.category,
    version: row.version,
    period: row.period,
    clockStart: row.clock_start,
    legalBasis: row.legal_basis,
    changedBy: row.changed_by,
    changedAt: row.changed_at,
  };
}

const byCategory = (a: { category: DataCategory }, b: { category: DataCategory }) =>
  DATA_CATEGORIES.indexOf(a.category) - DATA_CATEGORIES.indexOf(b.category);

/** What a policy change sets. */
export interface PolicyChange {
  period: string;
  clockStart: RetentionClock;
  legalBasis: string;
}

/** Outcome of {@link retentionPolicies.update}. */
export type PolicyUpdateResult =
  | { outcome: 'changed'; policy: StoredRetentionPolicy; previousVersion: number }
  | { outcome: 'unchanged'; policy: StoredRetentionPolicy }
  | { outcome: 'version_mismatch'; policy: StoredRetentionPolicy };

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');

export const retentionPolicies = {
  /**
   * Makes sure `policySet` has a policy for every category, copying the missing ones from the `default` set as their
   * version 1 (audited once, when anything was copied). Idempotent and safe to call concurrently.
   */
  async ensureSet(db: Knex, policySet: string, actor = 'system:retention'): Promise<void> {
    if (policySet === DEFAULT_POLICY_SET) return;
    const present = await db('retention_policies').where({ policy_set: policySet }).count<{ count: string }[]>({
      count: '*',
    });
    if (Number(present[0]?.count ?? 0) >= DATA_CATEGORIES.length) return;
    await db.transaction(async (trx) => {
      const copied = await trx.raw<{ rows: { category: string }[] }>(
        `insert into retention_policies (policy_set, category, version, period, clock_start, legal_basis, changed_by)
         select ?, category, 1, period, clock_start, legal_basis, ?
           from retention_policies where policy_set = ?
         on conflict (policy_set, category) do nothing
         returning category`,
        [policySet, actor, DEFAULT_POLICY_SET],
      );
      const categories = copied.rows.map((r) => r.category);
      if (categories.length === 0) return;
      await trx.raw(
        `insert into retention_policy_versions (policy_set, category, version, period, clock_start, legal_basis, changed_by, changed_at)
         select policy_set, category, version, period, clock_start, legal_basis, changed_by, changed_at
           from retention_policies where policy_set = ? and category = any(?)`,
        [policySet, categories],
      );
      await auditEvents.append(trx, {
        actor,
        action: 'retention_policy.set_created',
        subjectType: 'retention_policy_set',
        subjectId: policySet,
        details: { policySet, copiedFrom: DEFAULT_POLICY_SET, categories },
      });
    });
  },

  /** The current policy of every category of a set, in category order. */
  async list(db: Knex | Knex.Transaction, policySet: string): Promise<StoredRetentionPolicy[]> {
    const rows = await db<PolicyRow>('retention_policies').where({ policy_set: policySet });
    return rows.map(toPolicy).sort(byCategory);
  },

  /** The current policy of one category, or undefined. */
  async get(
    db: Knex | Knex.Transaction,
    policySet: string,
    category: DataCategory,
  ): Promise<StoredRetentionPolicy | undefined> {
    const row = await db<PolicyRow>('retention_policies').where({ policy_set: policySet, category }).first();
    return row && toPolicy(row);
  },

  /** Every version of one category's policy, newest first. */
  async history(db: Knex, policySet: string, category: DataCategory): Promise<StoredRetentionPolicy[]> {
    const rows = await db<PolicyRow>('retention_policy_versions')
      .where({ policy_set: policySet, category })
      .orderBy('version', 'desc');
    return rows.map(toPolicy);
  },

  /**
   * Changes one policy: a new version (current + 1) in the policy and its history, and an audit event naming the new
   * version, all in one transaction. Nothing is written when the policy already says exactly this, or when
   * `expectedVersion` is given and the stored version differs (another change came first).
   */
  async update(
    db: Knex,
    policySet: string,
    category: DataCategory,
    change: PolicyChange,
    opts: {
      actor: string;
      expectedVersion?: number;
      /** For a change that waited for a second person: its change request and who approved it (audited). */
      approval?: { changeRequestId: string; approvedBy: string };
    },
  ): Promise<PolicyUpdateResult | undefined> {
    return db.transaction(async (trx) => {
      const current = await trx<PolicyRow>('retention_policies')
        .where({ policy_set: policySet, category })
        .forUpdate()
        .first();
      if (!current) return undefined;
      const policy = toPolicy(current);
      if (opts.expectedVersion !== undefined && opts.expectedVersion !== current.version)
        return { outcome: 'version_mismatch', policy };
      if (
        current.period === change.period &&
        current.clock_start === change.clockStart &&
        current.legal_basis === change.legalBasis
      )
        return { outcome: 'unchanged', policy };

      const next = {
        policy_set: policySet,
        category,
        version: current.version + 1,
        period: change.period,
        clock_start: change.clockStart,
        legal_basis: change.legalBasis,
        changed_by: opts.actor,
        changed_at: trx.fn.now(),
      };
      const [updated] = await trx<PolicyRow>('retention_policies')
        .where({ policy_set: policySet, category })
        .update(next)
        .returning('*');
      await trx('retention_policy_versions').insert({ ...next, changed_at: updated!.changed_at });
      await auditEvents.append(trx, {
        actor: opts.actor,
        action: 'retention_policy.changed',
        subjectType: 'retention_policy',
        subjectId: `${policySet}/${category}`,
        details: {
          policySet,
          category,
          version: next.version,
          previousVersion: current.version,
          period: { from: current.period, to: change.period },
          clockStart: { from: current.clock_start, to: change.clockStart },
          legalBasisSha256: sha256(change.legalBasis),
          ...opts.approval,
        },
      });
      return { outcome: 'changed', policy: toPolicy(updated!), previousVersion: current.version };
    });
  },
};
