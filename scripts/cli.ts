/**
 * The project's operator CLI: `npm run cli -- <command>`. Each command group lives in scripts/commands/ and talks to
 * the database named by DATABASE_URL.
 */
import { Command } from 'commander';
import { registerAuditCommands } from './commands/audit';
import { registerCertificateCommands } from './commands/certificates';
import { registerTokenCommands } from './commands/tokens';

const program = new Command('data-lifecycle').description('Operator commands for the data lifecycle service');
registerTokenCommands(program);
registerAuditCommands(program);
registerCertificateCommands(program);

program.parseAsync(process.argv).catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
