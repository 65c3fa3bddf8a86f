/** `token create|list|revoke`: staff bearer tokens. The token is printed once; only its hash is stored. */
import type { Command } from 'commander';
import { auditEvents } from '../../db/repositories/audit-events';
import { staffTokens } from '../../db/repositories/staff-tokens';
import { loadConfig } from '../../lib/config';
import { exactDurationMs } from '../../lib/pure/deadlines';
import { isRole, ROLES } from '../../lib/roles';
import { cliActor, output, withDb } from './cli-context';

export function registerTokenCommands(program: Command): void {
  const token = program.command('token').description('Staff API tokens');

  token
    .command('create')
    .description('Create a token and print it once')
    .requiredOption('--role <role>', `one of ${ROLES.join(', ')}`)
    .requiredOption('--name <name>', 'who holds it (a person or team)')
    .option('--ttl <duration>', 'how long it works, ISO 8601 such as P30D (default STAFF_TOKEN_TTL, P90D)')
    .option('--json', 'print {"id", "role", "token", "expiresAt"} as JSON')
    .action(async (opts: { role: string; name: string; ttl?: string; json?: boolean }) => {
      if (!isRole(opts.role)) throw new Error(`--role must be one of ${ROLES.join(', ')} (got "${opts.role}")`);
      if (!opts.name.trim()) throw new Error('--name must not be empty');
      const role = opts.role;
      const ttlMs = opts.ttl === undefined ? loadConfig().staffTokens.ttlMs : ttlOption(opts.ttl);
      const actor = cliActor();
      const created = await withDb(async (db) => {
        const t = await staffTokens.create(db, { name: opts.name.trim(), role, ttlMs });
        await auditEvents.append(db, {
          actor,
          action: 'staff_token.created',
          subjectType: 'staff_token',
          subjectId: t.id,
          details: { role, expiresAt: t.expiresAt.toISOString() },
        });
        return t;
      });
      console.error(
        `Created ${role} token ${created.id}, valid until ${created.expiresAt.toISOString()}. ` +
          'It is shown once; store it now.',
      );
      output(
        opts.json,
        { id: created.id, role, token: created.token, expiresAt: created.expiresAt.toISOString() },
        (t) => console.log(t.token),
      );
    });

  token
    .command('list')
    .description('List tokens (never their values)')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }) => {
      const tokens = await withDb((db) => staffTokens.list(db));
      const rows = tokens.map((t) => ({
        id: t.id,
        name: t.name,
        role: t.role,
        created: t.createdAt.toISOString(),
        lastUsed: t.lastUsedAt?.toISOString() ?? null,
        revoked: t.revokedAt?.toISOString() ?? null,
        expires: t.expiresAt.toISOString(),
      }));
      output(opts.json, rows, (list) =>
        console.table(list.map((t) => ({ ...t, lastUsed: t.lastUsed ?? '', revoked: t.revoked ?? '' }))),
      );
    });

  token
    .command('revoke <id>')
    .description('Revoke a token; it stops working at once')
    .action(async (id: string) => {
      const actor = cliActor();
      const revoked = await withDb(async (db) => {
        const done = await staffTokens.revoke(db, id);
        if (done) {
          await auditEvents.append(db, {
            actor,
            action: 'staff_token.revoked',
            subjectType: 'staff_token',
            subjectId: id,
          });
        }
        return done;
      });
      if (!revoked) throw new Error(`no active token ${id}`);
      console.log(`revoked ${id}`);
    });
}

/** `--ttl`: a positive ISO 8601 duration of exact units (weeks to seconds). */
function ttlOption(value: string): number {
  try {
    const ms = exactDurationMs(value);
    if (ms > 0) return ms;
  } catch {
    // reported below
  }
  throw new Error(`--ttl must be a positive ISO 8601 duration such as P30D or PT12H (got "${value}")`);
}
