/**
 * The project's operator CLI: `npm run cli -- <command>` (`--help` lists them). Each command group lives in
 * scripts/commands/ and talks to the database named by DATABASE_URL and, for live workflow state, to the Temporal
 * server of TEMPORAL_ADDRESS (else the local dev server), with the service's own configuration. `--json` on every
 * reading command prints JSON for scripts.
 *
 *   requests list [--type] [--stage] [--status] [--open] [--due-before YYYY-MM-DD]   requests show <id>
 *   retention status <customerId>     schedules status     audit verify [--customer]     audit purge --before
 *   token create|list|revoke
 */
import { Command } from 'commander';
import { registerAuditCommands } from './commands/audit';
import { registerCertificateCommands } from './commands/certificates';
import { registerRequestCommands } from './commands/requests';
import { registerTemporalStatusCommands } from './commands/temporal-status';
import { registerTokenCommands } from './commands/tokens';

const program = new Command('data-lifecycle').description('Operator commands for the data lifecycle service');
registerRequestCommands(program);
registerTemporalStatusCommands(program);
registerAuditCommands(program);
registerCertificateCommands(program);
registerTokenCommands(program);

program.parseAsync(process.argv).catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
