// placeholder replaced by the audit chain work
import type { Command } from 'commander';
export function registerAuditCommands(_program: Command): void {}
