/**
 * Starting an onboarding: the checks that must hold before anything is written, then the request record, the start
 * it is owed and its `onboarding.requested` event (in the audit intake) in one statement, then the workflow start
 * (and the event chained beside it). Accepted means recorded: if Temporal cannot take the start, the answer is still
 * 202 and the start reconciler starts it (api/use-cases/start-request-workflow.ts).
 */
import { createHash, randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { canonicalize } from 'json-canonicalize';
import type { Knex } from 'knex';
import { customers } from '../../db/repositories/customers';
import { lifecycleRequests, type LifecycleRequest } from '../../db/repositories/lifecycle-requests';
import { subprocessors } from '../../db/repositories/subprocessors';
import type { Logger } from '../../lib/logger';
import type { OnboardingInput } from '../../lib/schemas/onboarding';
import { onboardingWorkflowId } from '../../lib/pure/temporal-ids';
import type { onboardingWorkflow } from '../../workflows/onboarding';
import { HttpProblem, ValidationProblem } from '../problem';
import {
  acceptedStatus,
  acceptRequest,
  currentStatus,
  startRequestWorkflow,
  type Acceptance,
  type RequestWorkflowStart,
  type StartDeps,
} from './start-request-workflow';

export interface StartOnboardingDeps {
  db: Knex;
  temporal: Client;
  taskQueue: string;
  log: Logger;
  config?: StartDeps['config'];
}

/** What the API answers: the same for the first call and for a replay with the same Idempotency-Key. */
export interface OnboardingStarted {
  requestId: string;
  customerId: string;
  workflowId: string;
  /** True when this answer replays an earlier call with the same Idempotency-Key. */
  replayed: boolean;
  /** Where the request stands now: `received` (start owed), `running`, or, on a replay, how it ended. */
  status: string;
}

/** SHA-256 of the canonical JSON (RFC 8785) of a request, so key reuse with another body is detected. */
export function requestHash(input: unknown): string {
  return createHash('sha256').update(canonicalize(input)).digest('hex');
}

function isUniqueViolation(err: unknown, constraint: string): boolean {
  const e = err as { code?: string; constraint?: string };
  return e.code === '23505' && e.constraint === constraint;
}

/**
 * Records and starts an onboarding.
 * @throws ValidationProblem (400) for unknown subprocessors; HttpProblem 409 for an existing customer or a live
 * onboarding of the same registration number, 422 for an Idempotency-Key reused with another body. Temporal being
 * unreachable is no error: the onboarding is recorded and answered `received`; the start reconciler starts it.
 */
export async function startOnboarding(
  deps: StartOnboardingDeps,
  input: OnboardingInput,
  opts: { idempotencyKey?: string; actor: string },
): Promise<OnboardingStarted> {
  const hash = requestHash(input);
  if (opts.idempotencyKey) {
    const earlier = await lifecycleRequests.findByIdempotencyKey(deps.db, opts.idempotencyKey);
    if (earlier) return replay(deps.db, earlier, hash);
  }

  // Two independent reads, side by side: each is a round trip on the way to every answer.
  const [missing, existing] = await Promise.all([
    subprocessors.missingIds(deps.db, input.subprocessors),
    customers.findByRegistrationNumber(deps.db, input.company.registrationNumber),
  ]);
  if (missing.length > 0) {
    throw new ValidationProblem(
      missing.map((id) => ({
        field: `body.subprocessors[${input.subprocessors.indexOf(id)}]`,
        rule: 'unknown_subprocessor',
        message: `"${id}" is not an active subprocessor in the registry`,
      })),
    );
  }
  if (existing) {
    throw new HttpProblem(
      409,
      'Customer already exists',
      'a customer with this company.registrationNumber is already onboarded',
      {
        customerId: existing.id,
      },
    );
  }

  const requestId = randomUUID();
  const customerId = randomUUID();
  const workflowId = onboardingWorkflowId(customerId);
  const args: Parameters<typeof onboardingWorkflow> = [{ requestId, customerId }];
  const start: RequestWorkflowStart = {
    workflowType: 'onboardingWorkflow',
    workflowId,
    args,
    requestId,
    requestType: 'onboarding',
    customerId,
    actor: opts.actor,
    description: 'the onboarding',
  };
  let acceptance: Acceptance;
  try {
    acceptance = await acceptRequest(
      deps.db,
      start,
      {
        action: 'onboarding.requested',
        customerId,
        idempotencyKey: opts.idempotencyKey,
        details: {
          requestHash: hash,
          subprocessors: input.subprocessors,
          idempotencyKey: opts.idempotencyKey ?? null,
        },
      },
      {
        request: {
          id: requestId,
          type: 'onboarding',
          customerId,
          subjectKey: input.company.registrationNumber,
          workflowId,
          privacyRegime: input.company.privacyRegime,
          actor: opts.actor,
          idempotencyKey: opts.idempotencyKey,
          requestHash: hash,
          payload: input,
        },
      },
    );
  } catch (err) {
    if (isUniqueViolation(err, 'lifecycle_requests_one_live_onboarding')) {
      throw new HttpProblem(
        409,
        'Onboarding already in progress',
        'an onboarding of this company.registrationNumber is already running',
      );
    }
    throw err;
  }
  // A concurrent call with the same key won the race: answer what it answered.
  if (!acceptance.accepted) return replay(deps.db, acceptance.winner, hash);

  const outcome = await startRequestWorkflow(deps, start);
  deps.log.info('onboarding accepted', { requestId, customerId, workflowId, start: outcome });
  return { requestId, customerId, workflowId, replayed: false, status: acceptedStatus(outcome) };
}

async function replay(db: Knex, earlier: LifecycleRequest, hash: string): Promise<OnboardingStarted> {
  if (earlier.type !== 'onboarding' || earlier.requestHash !== hash) {
    throw new HttpProblem(
      422,
      'Idempotency-Key reused',
      'this Idempotency-Key was already used with a different request body',
    );
  }
  return {
    requestId: earlier.id,
    customerId: earlier.customerId,
    workflowId: earlier.workflowId,
    replayed: true,
    status: await currentStatus(db, earlier),
  };
}
