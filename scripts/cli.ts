/**
 * The project's operator CLI: `npm run cli -- <command>` (`--help` lists them). Each command group lives in
 * scripts/commands/ and talks to the database named by DATABASE_URL and, for live workflow state, to the Temporal
 * server of TEMPORAL_ADDRESS (else the local dev server), with the service's own configuration. `--json` on every
 * reading command prints JSON for scripts.
 *
 *   requests list [--type] [--stage] [--status] [--open] [--due-before YYYY-MM-DD]   requests show <id>
 *   retention status <customerId>     schedules status     audit verify [--customer]     audit purge --before
 *   token create|list|revoke     access-review [--stale-after P30D] [--expiring-within P14D]
 *
 * `--actor <name>` (before or after the command) names the operator in the audit events a command writes; without it
 * the operating-system user is recorded.
 */
import { Command } from 'commander';
import { registerAccessReviewCommand } from './commands/access-review';
import { registerAuditCommands } from './commands/audit';
import { registerCertificateCommands } from './commands/certificates';
import { registerPendingWorkCommand } from './commands/pending-work';
import { registerRequestCommands } from './commands/requests';
import { registerTemporalStatusCommands } from './commands/temporal-status';
import { registerTokenCommands } from './commands/tokens';
import { setCliActor } from './commands/cli-context';

const program = new Command('data-lifecycle')
  .description('Operator commands for the data lifecycle service')
  .option('--actor <name>', 'who runs the command, as audit events record it (default: the operating-system user)');
// Before any command runs: a bad --actor stops it before it changes anything.
program.hook('preAction', (thisCommand) => setCliActor(thisCommand.opts<{ actor?: string }>().actor));
registerRequestCommands(program);
registerPendingWorkCommand(program);
registerTemporalStatusCommands(program);
registerAuditCommands(program);
registerCertificateCommands(program);
registerTokenCommands(program);
registerAccessReviewCommand(program);

program.parseAsync(process.argv).catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
