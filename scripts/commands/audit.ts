/**
 * `audit verify [--customer <id>]` and `audit purge --before <date>`: checking the hash-chained audit log, and the
 * retention purge of its oldest events.
 */
import { InvalidArgumentError, type Command } from 'commander';
import { z } from 'zod';
import { verifyAuditIntegrity } from '../../db/audit-integrity';
import { auditEvents } from '../../db/repositories/audit-events';
import { cliActor, output, withDb } from './cli-context';

function parseUuid(value: string): string {
  const parsed = z.uuid().safeParse(value);
  if (!parsed.success) throw new InvalidArgumentError('must be a customer id (UUID)');
  return parsed.data;
}

function parseInstant(value: string): Date {
  const parsed = z.union([z.iso.datetime({ offset: true }), z.iso.date()]).safeParse(value);
  if (!parsed.success) {
    throw new InvalidArgumentError('must be an ISO 8601 date (2025-01-01, midnight UTC) or instant with a zone');
  }
  return new Date(parsed.data);
}

function parsePositiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be a positive integer');
  return n;
}

export function registerAuditCommands(program: Command): void {
  const audit = program.command('audit').description('The append-only, hash-chained audit log');

  audit
    .command('verify')
    .description('Verify the global chain (or one customer chain); prints the report, exits 1 when it is broken')
    .option('--customer <id>', "verify this customer's chain instead of the global one", parseUuid)
    .option('--json', 'print the whole report as JSON')
    .action(async (opts: { customer?: string; json?: boolean }) => {
      const report = await withDb((db) => verifyAuditIntegrity(db, { customerId: opts.customer }));
      output(opts.json, report, (r) => {
        if (r.ok)
          console.log(
            `audit chain ${r.chain}: intact (${r.checked} events checked, ${r.keyed.macsChecked} MACs, ` +
              `${r.checkpoints.count} signed checkpoints, head ${r.head?.hash ?? '-'})`,
          );
        else
          console.log(
            `audit chain ${r.chain}: BROKEN at event ${r.firstBroken?.id ?? '-'} position ${r.firstBroken?.seq ?? '-'} (${r.firstBroken?.reason}: ${r.firstBroken?.detail})`,
          );
      });
      if (!opts.json && report.checkpoints.unverifiable > 0)
        console.log(
          `warning: ${report.checkpoints.unverifiable} checkpoint lines are signed by another key than this ` +
            'configuration holds (AUDIT_CHECKPOINT_SIGNING_KEY / CERTIFICATE_SIGNING_KEY): they were not checked',
        );
      if (!report.ok) process.exitCode = 1;
    });

  audit
    .command('purge')
    .description(
      'Retention: delete the oldest audit events that occurred before a date, anchoring each chain so that what ' +
        'remains still verifies; records an audit.purged event',
    )
    .requiredOption('--before <date>', 'delete events that occurred before this date or instant', parseInstant)
    .option('--max-events <n>', 'delete at most this many events (the oldest)', parsePositiveInt)
    .action(async (opts: { before: Date; maxEvents?: number }) => {
      if (opts.before.getTime() > Date.now()) {
        throw new Error('--before is in the future: refusing to purge events that are not past their retention');
      }
      const result = await withDb((db) =>
        auditEvents.purgeBefore(db, opts.before, { actor: cliActor(), maxEvents: opts.maxEvents }),
      );
      console.log(JSON.stringify(result, null, 2));
    });
}
