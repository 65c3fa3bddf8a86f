/**
 * `pending [--older-than <duration>] [--limit <n>] [--json]`: work the service accepted and still owes, older than a
 * grace period (default PT5M, longer than the reconciler's interval): requests whose workflow has not started yet
 * and audit events recorded in the intake but not chained yet (the start reconciler does both), and emails or
 * subprocessor calls recorded as intents but not confirmed (the activity that owns one retries it with the same
 * Message-ID or idempotency key). Every list empty is the normal state; an entry that stays is what to look into
 * (docs/reliability.md).
 */
import { InvalidArgumentError, type Command } from 'commander';
import { auditIntake } from '../../db/repositories/audit-intake';
import { outboxIntents } from '../../db/repositories/outbox-intents';
import { workflowStarts } from '../../db/repositories/workflow-starts';
import { exactDurationMs } from '../../lib/pure/deadlines';
import { output, withDb } from './cli-context';

/** What `pending --json` prints. */
export interface PendingWork {
  olderThan: string;
  unstartedRequests: Array<{
    requestId: string;
    type: string;
    customerId: string;
    workflowId: string;
    status: string;
    receivedAt: string;
    startAttempts: number;
  }>;
  unchainedAuditEvents: Array<{ key: string; action: string; recordedAt: string }>;
  openIntents: Array<{
    key: string;
    kind: string;
    messageId: string | null;
    target: string;
    operation: string;
    attempts: number;
    createdAt: string;
  }>;
}

function parseDuration(value: string): string {
  try {
    if (exactDurationMs(value) > 0) return value;
  } catch {
    // named below
  }
  throw new InvalidArgumentError('must be a positive ISO 8601 duration, e.g. PT5M or P1D');
}

function parseLimit(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 10_000) throw new InvalidArgumentError('must be a whole number, 1 to 10000');
  return n;
}

export function registerPendingWorkCommand(program: Command): void {
  program
    .command('pending')
    .description(
      'Accepted work still owed: requests not started yet, audit events not chained yet, emails and subprocessor calls not confirmed',
    )
    .option('--older-than <duration>', 'only what has waited at least this long (ISO 8601)', parseDuration, 'PT5M')
    .option('--limit <n>', 'at most this many of each', parseLimit, 100)
    .option('--json', 'print JSON')
    .action(async (opts: { olderThan: string; limit: number; json?: boolean }) => {
      const before = new Date(Date.now() - exactDurationMs(opts.olderThan));
      const pending: PendingWork = await withDb(async (db) => ({
        olderThan: opts.olderThan,
        unstartedRequests: (await workflowStarts.unstarted(db, before, opts.limit)).map((r) => ({
          requestId: r.requestId,
          type: r.type,
          customerId: r.customerId,
          workflowId: r.workflowId,
          status: r.status,
          receivedAt: r.receivedAt.toISOString(),
          startAttempts: r.startAttempts,
        })),
        unchainedAuditEvents: (await auditIntake.waiting(db, before, opts.limit)).map((e) => ({
          key: e.key,
          action: e.action,
          recordedAt: e.recordedAt.toISOString(),
        })),
        openIntents: (await outboxIntents.open(db, before, opts.limit)).map((i) => ({
          key: i.key,
          kind: i.kind,
          messageId: i.messageId,
          target: i.target,
          operation: i.operation,
          attempts: i.attempts,
          createdAt: i.createdAt.toISOString(),
        })),
      }));
      output(opts.json, pending, (p) => {
        console.log(`Requests accepted but not started (older than ${p.olderThan}): ${p.unstartedRequests.length}`);
        if (p.unstartedRequests.length > 0) console.table(p.unstartedRequests);
        console.log(
          `Audit events recorded but not chained (older than ${p.olderThan}): ${p.unchainedAuditEvents.length}`,
        );
        if (p.unchainedAuditEvents.length > 0) console.table(p.unchainedAuditEvents);
        console.log(`Emails and subprocessor calls not confirmed (older than ${p.olderThan}): ${p.openIntents.length}`);
        if (p.openIntents.length > 0) console.table(p.openIntents);
      });
    });
}
