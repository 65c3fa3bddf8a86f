/**
 * Four eyes in tests that only need a change made (README "Approvals"): a change that waits for a second person
 * (202) is approved by a colleague of the right role, as a second staff member would, and the approval's `result`
 * (what the route answers for a change that needs no approval) is handed back in place of the 202.
 */
import { staffTokens } from '../../db/repositories/staff-tokens';
import type { Role } from '../../lib/roles';
import type { TestStack } from './test-stack';

type Answer = Awaited<ReturnType<TestStack['http']>>;

const colleagues = new WeakMap<TestStack, Partial<Record<Role, string>>>();

/** A second token of `role` for the stack (created once): a colleague of the stack's own token of that role. */
export async function colleagueToken(stack: TestStack, role: Role): Promise<string> {
  const known = colleagues.get(stack) ?? {};
  colleagues.set(stack, known);
  known[role] ??= (await staffTokens.create(stack.db, { name: `colleague ${role}`, role })).token;
  return known[role];
}

/** `res` as is, unless it is a pending change: then approved by a colleague, answering the approval's `result`. */
export async function approvedBySecond(stack: TestStack, res: Answer): Promise<Answer> {
  if (res.status !== 202 || !res.body?.changeRequest) return res;
  const change = res.body.changeRequest as { links: { approve: string }; decidedWith: string };
  const role: Role = change.decidedWith === 'subprocessors:manage' ? 'admin' : 'privacy_officer';
  const token = await colleagueToken(stack, role);
  const approved = await stack.http('POST', change.links.approve, {}, { Authorization: `Bearer ${token}` });
  if (approved.status !== 200) throw new Error(`approval refused: ${approved.status} ${JSON.stringify(approved.body)}`);
  return { status: 200, body: approved.body.result, headers: approved.headers };
}
