/**
 * `access-review`: the periodic review of who can reach the API (README "Security", "Review procedures"). Lists every
 * staff token by role with its age, last use and expiry, and flags what a reviewer should act on: tokens that have
 * expired, tokens nobody used for `--stale-after` (or never used since then), and tokens that expire within
 * `--expiring-within`. The review is recorded as an audit event with the reviewer's name and the counts, so the
 * evidence that reviews happen is in the audit log.
 */
import type { Command } from 'commander';
import { auditEvents } from '../../db/repositories/audit-events';
import { staffTokens, type StaffTokenRecord } from '../../db/repositories/staff-tokens';
import { exactDurationMs } from '../../lib/pure/deadlines';
import { ROLES } from '../../lib/roles';
import { cliActor, output, withDb } from './cli-context';

/** Why a token needs a reviewer's attention. */
export type ReviewFlag = 'expired' | 'stale' | 'never_used' | 'expiring_soon';

/** One token as the review shows it (never the token's value or hash). */
export interface ReviewedToken {
  id: string;
  name: string;
  role: string;
  createdAt: string;
  ageDays: number;
  lastUsedAt: string | null;
  daysSinceLastUse: number | null;
  expiresAt: string;
  revokedAt: string | null;
  flags: ReviewFlag[];
}

const DAY_MS = 24 * 3600_000;

/**
 * Flags of one token at `now`: `expired` once past its expiry; `stale` when last used before `staleAfterMs`;
 * `never_used` when never used and older than that; `expiring_soon` when it expires within `expiringWithinMs`.
 * Revoked tokens get no flags: nothing is left to do about them.
 */
export function reviewToken(
  t: StaffTokenRecord,
  now: Date,
  opts: { staleAfterMs: number; expiringWithinMs: number },
): ReviewedToken {
  const flags: ReviewFlag[] = [];
  if (!t.revokedAt) {
    const expired = t.expiresAt.getTime() <= now.getTime();
    if (expired) flags.push('expired');
    else if (t.expiresAt.getTime() - now.getTime() <= opts.expiringWithinMs) flags.push('expiring_soon');
    if (!expired) {
      if (t.lastUsedAt && now.getTime() - t.lastUsedAt.getTime() > opts.staleAfterMs) flags.push('stale');
      if (!t.lastUsedAt && now.getTime() - t.createdAt.getTime() > opts.staleAfterMs) flags.push('never_used');
    }
  }
  return {
    id: t.id,
    name: t.name,
    role: t.role,
    createdAt: t.createdAt.toISOString(),
    ageDays: Math.floor((now.getTime() - t.createdAt.getTime()) / DAY_MS),
    lastUsedAt: t.lastUsedAt?.toISOString() ?? null,
    daysSinceLastUse: t.lastUsedAt ? Math.floor((now.getTime() - t.lastUsedAt.getTime()) / DAY_MS) : null,
    expiresAt: t.expiresAt.toISOString(),
    revokedAt: t.revokedAt?.toISOString() ?? null,
    flags,
  };
}

function durationOption(option: string) {
  return (value: string): number => {
    try {
      const ms = exactDurationMs(value);
      if (ms > 0) return ms;
    } catch {
      // reported below
    }
    throw new Error(`${option} must be a positive ISO 8601 duration such as P30D (got "${value}")`);
  };
}

export function registerAccessReviewCommand(program: Command): void {
  program
    .command('access-review')
    .description(
      'Review staff tokens: by role, age, last use and expiry; flags expired, stale, never used and expiring ones ' +
        '(exit code 2 when any active token is flagged expired, stale or never used); recorded in the audit log',
    )
    .option(
      '--stale-after <duration>',
      'unused for longer than this is stale',
      durationOption('--stale-after'),
      30 * DAY_MS,
    )
    .option(
      '--expiring-within <duration>',
      'flag tokens that expire within this',
      durationOption('--expiring-within'),
      14 * DAY_MS,
    )
    .option('--include-revoked', 'list revoked tokens too')
    .option('--json', 'print JSON')
    .action(async (opts: { staleAfter: number; expiringWithin: number; includeRevoked?: boolean; json?: boolean }) => {
      const actor = cliActor();
      const now = new Date();
      const review = await withDb(async (db) => {
        const all = await staffTokens.list(db);
        const tokens = all
          .filter((t) => opts.includeRevoked || !t.revokedAt)
          .map((t) => reviewToken(t, now, { staleAfterMs: opts.staleAfter, expiringWithinMs: opts.expiringWithin }))
          .sort((a, b) => ROLES.indexOf(a.role as never) - ROLES.indexOf(b.role as never) || a.ageDays - b.ageDays);
        const count = (flag: ReviewFlag) => tokens.filter((t) => t.flags.includes(flag)).length;
        const summary = {
          reviewedAt: now.toISOString(),
          reviewedBy: actor,
          staleAfterDays: opts.staleAfter / DAY_MS,
          active: tokens.filter((t) => !t.revokedAt && !t.flags.includes('expired')).length,
          expired: count('expired'),
          stale: count('stale'),
          neverUsed: count('never_used'),
          expiringSoon: count('expiring_soon'),
          byRole: Object.fromEntries(ROLES.map((r) => [r, tokens.filter((t) => t.role === r && !t.revokedAt).length])),
        };
        await auditEvents.append(db, {
          actor,
          action: 'staff_tokens.reviewed',
          subjectType: 'staff_tokens',
          subjectId: 'all',
          details: { ...summary, flagged: tokens.filter((t) => t.flags.length > 0).map((t) => t.id) },
        });
        return { summary, tokens };
      });
      output(opts.json, review, ({ summary, tokens }) => {
        for (const role of ROLES) {
          const ofRole = tokens.filter((t) => t.role === role);
          if (ofRole.length === 0) continue;
          console.log(`\n${role} (${ofRole.length})`);
          console.table(
            ofRole.map((t) => ({
              id: t.id,
              name: t.name,
              'age (days)': t.ageDays,
              'last used': t.lastUsedAt ? `${t.daysSinceLastUse} days ago` : 'never',
              expires: t.expiresAt.slice(0, 10),
              revoked: t.revokedAt?.slice(0, 10) ?? '',
              flags: t.flags.join(', ') || 'ok',
            })),
          );
        }
        console.log(
          `\n${summary.active} active tokens; ${summary.expired} expired, ${summary.stale} stale, ` +
            `${summary.neverUsed} never used, ${summary.expiringSoon} expiring within ` +
            `${opts.expiringWithin / DAY_MS} days. Revoke with \`npm run cli -- token revoke <id>\`.`,
        );
      });
      if (review.tokens.some((t) => t.flags.some((f) => f !== 'expiring_soon'))) process.exitCode = 2;
    });
}
