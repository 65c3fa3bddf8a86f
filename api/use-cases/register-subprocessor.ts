/**
 * Registering or changing a subprocessor (`POST /v1/subprocessors`, admin).
 *
 * A subprocessor receives customer data at its URL and is trusted on its signing secret, so creating one, or changing
 * its URL or secret, needs four eyes: it is recorded as a pending change request and applied by
 * {@link applySubprocessorChange} when a second admin approves it. Its name, categories or active flag change at once
 * (deactivating one must never wait).
 *
 * The URL must be a destination the service may call (lib/outbound-destinations.ts): `https` (plain `http` only with
 * SUBPROCESSOR_ALLOW_HTTP outside production) to public addresses, unless SUBPROCESSOR_ALLOWED_HOSTS says otherwise.
 * Checked when proposed (400 naming `body.baseUrl` and the rule), again on approval (DNS may have changed since), and
 * again at every call, on the address actually connected to.
 */
import type { Knex } from 'knex';
import { auditEvents } from '../../db/repositories/audit-events';
import { subprocessors, type Subprocessor } from '../../db/repositories/subprocessors';
import { destinationProblem } from '../../lib/outbound-destinations';
import type { SubprocessorInput } from '../../lib/schemas/subprocessors';
import type { AppDeps } from '../deps';
import { ValidationProblem } from '../problem';
import { proposeChange, type AppliedChange, type PendingChangeAnswer } from './pending-changes';

/** Everything but the signing secret. */
export function subprocessorView(s: Subprocessor) {
  return { id: s.id, name: s.name, baseUrl: s.baseUrl, categories: s.categories, active: s.active };
}

/** @throws ValidationProblem naming `body.baseUrl` and the rule when the URL is not a destination the service calls. */
async function checkDestination(deps: Pick<AppDeps, 'config'>, baseUrl: string): Promise<void> {
  const problem = await destinationProblem(baseUrl, deps.config.subprocessors.outbound);
  if (problem) throw new ValidationProblem([{ field: 'body.baseUrl', rule: problem.rule, message: problem.message }]);
}

/**
 * Applies a change that needs no approval (200 with the entry), or records one that does (202 with the change
 * request). @throws ValidationProblem (the URL's destination), HttpProblem 409 (a change already pending).
 */
export async function registerSubprocessor(
  deps: AppDeps,
  input: SubprocessorInput,
  actor: string,
): Promise<{ applied: ReturnType<typeof subprocessorView> } | { pending: PendingChangeAnswer }> {
  await checkDestination(deps, input.baseUrl);
  return deps.db.transaction(async (trx) => {
    const existing = await subprocessors.findById(trx, input.id);
    const trustChanges =
      !existing || existing.baseUrl !== input.baseUrl || existing.signingSecret !== input.signingSecret;
    if (trustChanges) {
      const pending = await proposeChange(deps, trx, {
        kind: 'subprocessor',
        subjectType: 'subprocessor',
        subjectId: input.id,
        summary: {
          id: input.id,
          created: !existing,
          name: { from: existing?.name ?? null, to: input.name },
          baseUrl: { from: existing?.baseUrl ?? null, to: input.baseUrl },
          secretChanged: existing !== undefined && existing.signingSecret !== input.signingSecret,
          categories: { from: existing?.categories ?? null, to: input.categories },
          active: { from: existing?.active ?? null, to: input.active },
        },
        payload: { input, existed: existing !== undefined },
        actor,
      });
      return { pending };
    }
    await write(trx, input, { actor, existed: true });
    return { applied: subprocessorView((await subprocessors.findById(trx, input.id))!) };
  });
}

/** Upserts the entry and audits it (`subprocessor.registered` / `subprocessor.updated`), never with the secret. */
async function write(
  trx: Knex.Transaction,
  input: SubprocessorInput,
  who: { actor: string; existed: boolean; approvedBy?: string; changeRequestId?: string },
): Promise<void> {
  await subprocessors.upsert(trx, input);
  await auditEvents.append(trx, {
    actor: who.actor,
    action: who.existed ? 'subprocessor.updated' : 'subprocessor.registered',
    subjectType: 'subprocessor',
    subjectId: input.id,
    details: {
      categories: input.categories,
      active: input.active,
      baseUrl: input.baseUrl,
      ...(who.changeRequestId ? { changeRequestId: who.changeRequestId, approvedBy: who.approvedBy } : {}),
    },
  });
}

/**
 * Applies an approved subprocessor change in `trx` as its requester made it, after checking its URL's destination
 * again. @throws ValidationProblem when the URL now resolves somewhere the service does not call.
 */
export async function applySubprocessorChange(
  deps: AppDeps,
  trx: Knex.Transaction,
  payload: Record<string, unknown>,
  who: { requestedBy: string; approvedBy: string; changeRequestId: string },
): Promise<AppliedChange> {
  const { input } = payload as { input: SubprocessorInput };
  await checkDestination(deps, input.baseUrl);
  const existed = (await subprocessors.findById(trx, input.id)) !== undefined;
  await write(trx, input, {
    actor: who.requestedBy,
    existed,
    approvedBy: who.approvedBy,
    changeRequestId: who.changeRequestId,
  });
  const view = subprocessorView((await subprocessors.findById(trx, input.id))!);
  return { outcome: { subprocessor: view }, afterCommit: () => Promise.resolve(view) };
}
