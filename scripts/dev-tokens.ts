/**
 * Staff tokens of the local stacks (`npm start`, `npm run topology`), so a new user can call the API at once.
 */
import fs from 'node:fs';
import type { Db } from '../db/connection';
import { staffTokens } from '../db/repositories/staff-tokens';
import { ROLES, type Role } from '../lib/roles';

/**
 * One staff token per role. Reused across starts while they still authenticate against `db`; created (and written to
 * `file`, mode 600, git-ignored under .data/) otherwise. Development only.
 */
export async function devTokens(db: Db, file: string): Promise<Record<Role, string>> {
  let saved: Partial<Record<Role, string>> = {};
  try {
    saved = JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<Record<Role, string>>;
  } catch {
    // first start, or unreadable: make new ones
  }
  const tokens = {} as Record<Role, string>;
  for (const role of ROLES) {
    const known = saved[role];
    const valid = known ? (await staffTokens.authenticate(db, known))?.role === role : false;
    tokens[role] = valid && known ? known : (await staffTokens.create(db, { name: `dev-stack ${role}`, role })).token;
  }
  fs.writeFileSync(file, JSON.stringify(tokens, null, 2), { mode: 0o600 });
  return tokens;
}
