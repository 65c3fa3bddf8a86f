/**
 * `requests list [--type] [--stage] [--status] [--open] [--due-before <date>] [--limit]` and `requests show <id>`: the
 * lifecycle requests (onboarding, access, correction, termination, ...) as recorded in the database, with their legal
 * due dates. Payloads are never printed: they may carry personal data.
 */
import { InvalidArgumentError, type Command } from 'commander';
import { z } from 'zod';
import { output, withDb } from './cli-context';

/** A request as the CLI prints it (no payload). */
export interface RequestSummary {
  id: string;
  type: string;
  customerId: string;
  status: string;
  stage: string;
  dueOn: string | null;
  privacyRegime: string | null;
  workflowId: string;
  receivedAt: string;
  completedAt: string | null;
  failureReason: string | null;
}

interface RequestRow {
  id: string;
  type: string;
  customer_id: string;
  status: string;
  stage: string;
  due_on: string | null;
  privacy_regime: string | null;
  workflow_id: string;
  received_at: Date;
  completed_at: Date | null;
  failure_reason: string | null;
}

const COLUMNS = [
  'id',
  'type',
  'customer_id',
  'status',
  'stage',
  'due_on',
  'privacy_regime',
  'workflow_id',
  'received_at',
  'completed_at',
  'failure_reason',
] as const;

function summary(row: RequestRow): RequestSummary {
  return {
    id: row.id,
    type: row.type,
    customerId: row.customer_id,
    status: row.status,
    stage: row.stage,
    dueOn: row.due_on,
    privacyRegime: row.privacy_regime,
    workflowId: row.workflow_id,
    receivedAt: row.received_at.toISOString(),
    completedAt: row.completed_at?.toISOString() ?? null,
    failureReason: row.failure_reason,
  };
}

function parseDate(value: string): string {
  const parsed = z.iso.date().safeParse(value);
  if (!parsed.success) throw new InvalidArgumentError('must be a date, YYYY-MM-DD');
  return parsed.data;
}

function parseLimit(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 10_000) throw new InvalidArgumentError('must be a whole number, 1 to 10000');
  return n;
}

function parseUuid(value: string): string {
  const parsed = z.uuid().safeParse(value);
  if (!parsed.success) throw new InvalidArgumentError('must be a request id (UUID)');
  return parsed.data;
}

interface ListOptions {
  type?: string;
  stage?: string;
  status?: string;
  open?: boolean;
  dueBefore?: string;
  limit: number;
  json?: boolean;
}

export function registerRequestCommands(program: Command): void {
  const requests = program.command('requests').description('Lifecycle requests and their due dates');

  requests
    .command('list')
    .description('List requests, soonest due first (then newest); filters combine')
    .option('--type <type>', 'onboarding, access, correction, termination, deletion, retention')
    .option('--stage <stage>', 'the stage the workflow last reported, e.g. waiting-for-verification')
    .option('--status <status>', 'received, running, completed, failed, cancelled')
    .option('--open', 'only requests not finished yet (received or running)')
    .option('--due-before <date>', 'only requests due before this date (YYYY-MM-DD)', parseDate)
    .option('--limit <n>', 'at most this many', parseLimit, 100)
    .option('--json', 'print JSON')
    .action(async (opts: ListOptions) => {
      const rows = await withDb((db) => {
        const q = db('lifecycle_requests').select<RequestRow[]>(COLUMNS);
        if (opts.type) q.where('type', opts.type);
        if (opts.stage) q.where('stage', opts.stage);
        if (opts.status) q.where('status', opts.status);
        if (opts.open) q.whereIn('status', ['received', 'running']);
        if (opts.dueBefore) q.where('due_on', '<', opts.dueBefore);
        return q.orderByRaw('due_on asc nulls last, received_at desc').limit(opts.limit);
      });
      output(opts.json, rows.map(summary), (list) => {
        if (list.length === 0) return console.log('No requests match.');
        console.table(
          list.map((r) => ({
            id: r.id,
            type: r.type,
            status: r.status,
            stage: r.stage,
            due: r.dueOn ?? '',
            customer: r.customerId,
            received: r.receivedAt.slice(0, 19).replace('T', ' '),
          })),
        );
      });
    });

  requests
    .command('show <requestId>')
    .description('One request: its record (without payload), outcome and audit trail')
    .option('--json', 'print JSON')
    .action(async (requestId: string, opts: { json?: boolean }) => {
      const id = parseUuid(requestId);
      const found = await withDb(async (db) => {
        const row = await db('lifecycle_requests')
          .where({ id })
          .first<(RequestRow & { outcome: unknown }) | undefined>([...COLUMNS, 'outcome']);
        if (!row) return undefined;
        const audit = await db('audit_events')
          .where({ request_id: id })
          .orderBy('id')
          .select<{ id: string; occurred_at: Date; actor: string; action: string }[]>(
            'id',
            'occurred_at',
            'actor',
            'action',
          );
        return {
          ...summary(row),
          outcome: row.outcome,
          audit: audit.map((e) => ({
            id: String(e.id),
            occurredAt: e.occurred_at.toISOString(),
            actor: e.actor,
            action: e.action,
          })),
        };
      });
      if (!found) throw new Error(`no request ${id}`);
      output(opts.json, found, (r) => {
        console.log(`${r.type} request ${r.id} (workflow ${r.workflowId})`);
        console.log(`  customer ${r.customerId}`);
        console.log(`  status   ${r.status}, stage ${r.stage}`);
        console.log(`  due      ${r.dueOn ?? '-'}${r.privacyRegime ? ` (${r.privacyRegime})` : ''}`);
        console.log(`  received ${r.receivedAt}${r.completedAt ? `, finished ${r.completedAt}` : ''}`);
        if (r.failureReason) console.log(`  failure  ${r.failureReason}`);
        if (r.outcome) console.log(`  outcome  ${JSON.stringify(r.outcome)}`);
        console.log('  audit trail:');
        for (const e of r.audit) console.log(`    ${e.occurredAt}  ${e.action}  (${e.actor})`);
      });
    });
}
