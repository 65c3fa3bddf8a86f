/**
 * The scheduled verification of the audit log (workflows/audit-verify.ts): verify the chain with the keys and the
 * checkpoint file (db/audit-integrity.ts); when it holds, sign its head into the checkpoint file; when it is broken,
 * tell staff once per distinct break (AUDIT_ALERT_EMAIL) and record it, so the API's `dlo_audit_integrity_alerts`
 * and the worker's `dlo_audit_chain_scheduled_ok` show it.
 */
import { log } from '@temporalio/activity';
import type { Knex } from 'knex';
import { verifyAuditIntegrity, writeAuditCheckpoint, type AuditIntegrityReport } from '../db/audit-integrity';
import { auditEvents } from '../db/repositories/audit-events';
import type { AppConfig } from '../lib/config';
import type { Mailer } from '../lib/mailer';
import { createOutbox } from './outbox';

/** What the scheduled verification needs. */
export interface AuditIntegrityDeps {
  db: Knex;
  mailer: Mailer;
  config: Pick<AppConfig, 'audit'>;
  /** Reports each verification's outcome (the worker sets its Prometheus gauge with it; workers/metrics.ts). */
  onAuditVerified?: (ok: boolean) => void;
}

/** What one scheduled verification found and did: positions, hashes and reasons only. */
export interface AuditVerification {
  ok: boolean;
  checked: number;
  head: { seq: string; hash: string } | null;
  /** The checkpoint written by this run (null: none, e.g. the head was checkpointed already). */
  checkpointSeq: string | null;
  firstBroken: AuditIntegrityReport['firstBroken'] | null;
  /** True when this run mailed staff about the break (false: no break, or reported before). */
  alerted: boolean;
}

/** Who the audit log names for the scheduled verification. */
const ACTOR = 'system:audit-verify';

/** Builds the audit verification activities from their dependencies. */
export function createAuditIntegrityActivities(deps: AuditIntegrityDeps) {
  const outbox = createOutbox(deps);
  return {
    /** Verifies the global chain; checkpoints its head when intact, alerts staff once per break when not. */
    async verifyAuditChain(): Promise<AuditVerification> {
      const report = await verifyAuditIntegrity(deps.db);
      deps.onAuditVerified?.(report.ok);
      const head = report.head && { seq: report.head.seq, hash: report.head.hash };
      if (report.ok) {
        const written = await writeAuditCheckpoint(deps.db, report.head);
        return {
          ok: true,
          checked: report.checked,
          head,
          checkpointSeq: written?.seq ?? null,
          firstBroken: null,
          alerted: false,
        };
      }
      const broken = report.firstBroken!;
      const breakKey = `${report.chain}:${broken.reason}:${broken.seq ?? '-'}`;
      log.error('audit chain broken', { breakKey, detail: broken.detail });
      const [inserted] = await deps
        .db('audit_integrity_alerts')
        .insert({ break_key: breakKey, finding: JSON.stringify(broken) })
        .onConflict('break_key')
        .ignore()
        .returning<{ id: string }[]>('id');
      const pending = await deps
        .db('audit_integrity_alerts')
        .where({ break_key: breakKey })
        .whereNull('notified_at')
        .first<{ id: string } | undefined>('id');
      let alerted = false;
      if (pending) {
        // Through the outbox (activities/outbox.ts): recorded before it leaves, Message-ID from the break, marked
        // notified in the transaction that completes it; a retried activity never sends a completed alert again.
        await outbox.sendEmail({
          key: `audit-break-${pending.id}`,
          operation: 'audit-integrity-alert',
          recipient: 'staff',
          mail: {
            to: deps.config.audit.alertEmail,
            subject: `Audit log integrity: chain broken (${broken.reason})`,
            text: [
              'The scheduled verification of the audit log found a break. The evidence the service keeps may have',
              'been altered by someone with database or host access; investigate before relying on the audit log.',
              '',
              `Chain: ${report.chain}`,
              `Reason: ${broken.reason}`,
              `Event: ${broken.id ?? '-'} at position ${broken.seq ?? '-'}`,
              `Detail: ${broken.detail}`,
              `Events checked before the break: ${report.checked}`,
              `Checkpoint file: ${report.checkpoints.path} (${report.checkpoints.count} signed lines)`,
              '',
              'Verify again with `npm run cli -- audit verify` or GET /v1/audit/verify. This break is reported once;',
              'a different break is reported again.',
            ].join('\n'),
          },
          record: async (trx) => {
            await trx('audit_integrity_alerts').where({ id: pending.id }).update({ notified_at: trx.fn.now() });
          },
        });
        alerted = true;
      }
      if (inserted) {
        // The finding also goes into the log itself: appending still extends the head, whatever broke before it.
        await auditEvents.append(deps.db, {
          actor: ACTOR,
          action: 'audit.integrity_broken',
          subjectType: 'audit_log',
          subjectId: report.chain,
          details: { breakKey, reason: broken.reason, eventId: broken.id, seq: broken.seq },
        });
      }
      return { ok: false, checked: report.checked, head, checkpointSeq: null, firstBroken: broken, alerted };
    },
  };
}

export type AuditIntegrityActivities = ReturnType<typeof createAuditIntegrityActivities>;
