/**
 * Starting an onboarding: the checks that must hold before anything is written, the request record, and the
 * workflow start. Either the request is recorded and its workflow started, or nothing is left behind.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { canonicalize } from 'json-canonicalize';
import type { Knex } from 'knex';
import { auditEvents } from '../../db/repositories/audit-events';
import { customers } from '../../db/repositories/customers';
import { lifecycleRequests, type LifecycleRequest } from '../../db/repositories/lifecycle-requests';
import { subprocessors } from '../../db/repositories/subprocessors';
import type { Logger } from '../../lib/logger';
import type { OnboardingInput } from '../../lib/schemas/onboarding';
import { onboardingWorkflowId } from '../../lib/pure/temporal-ids';
import type { onboardingWorkflow } from '../../workflows/onboarding';
import { HttpProblem, ValidationProblem } from '../problem';
import { startRequestWorkflow } from './start-request-workflow';

export interface StartOnboardingDeps {
  db: Knex;
  temporal: Client;
  taskQueue: string;
  log: Logger;
}

/** What the API answers: the same for the first call and for a replay with the same Idempotency-Key. */
export interface OnboardingStarted {
  requestId: string;
  customerId: string;
  workflowId: string;
  /** True when this answer replays an earlier call with the same Idempotency-Key. */
  replayed: boolean;
}

/** SHA-256 of the canonical JSON (RFC 8785) of a request, so key reuse with another body is detected. */
export function requestHash(input: unknown): string {
  return createHash('sha256').update(canonicalize(input)).digest('hex');
}

function started(request: LifecycleRequest, replayed: boolean): OnboardingStarted {
  return { requestId: request.id, customerId: request.customerId, workflowId: request.workflowId, replayed };
}

function isUniqueViolation(err: unknown, constraint: string): boolean {
  const e = err as { code?: string; constraint?: string };
  return e.code === '23505' && e.constraint === constraint;
}

/**
 * Records and starts an onboarding.
 * @throws ValidationProblem (400) for unknown subprocessors; HttpProblem 409 for an existing customer or a live
 * onboarding of the same registration number, 422 for an Idempotency-Key reused with another body, 503 when Temporal
 * cannot be reached (nothing is recorded then).
 */
export async function startOnboarding(
  deps: StartOnboardingDeps,
  input: OnboardingInput,
  opts: { idempotencyKey?: string; actor: string },
): Promise<OnboardingStarted> {
  const hash = requestHash(input);
  if (opts.idempotencyKey) {
    const earlier = await lifecycleRequests.findByIdempotencyKey(deps.db, opts.idempotencyKey);
    if (earlier) return replay(earlier, hash);
  }

  const missing = await subprocessors.missingIds(deps.db, input.subprocessors);
  if (missing.length > 0) {
    throw new ValidationProblem(
      missing.map((id) => ({
        field: `body.subprocessors[${input.subprocessors.indexOf(id)}]`,
        rule: 'unknown_subprocessor',
        message: `"${id}" is not an active subprocessor in the registry`,
      })),
    );
  }
  const existing = await customers.findByRegistrationNumber(deps.db, input.company.registrationNumber);
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
  try {
    await lifecycleRequests.insert(deps.db, {
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
    });
  } catch (err) {
    if (isUniqueViolation(err, 'lifecycle_requests_one_live_onboarding')) {
      throw new HttpProblem(
        409,
        'Onboarding already in progress',
        'an onboarding of this company.registrationNumber is already running',
      );
    }
    if (opts.idempotencyKey && isUniqueViolation(err, 'lifecycle_requests_idempotency_key_unique')) {
      // A concurrent call with the same key won the race: answer what it answered.
      const winner = await lifecycleRequests.findByIdempotencyKey(deps.db, opts.idempotencyKey);
      if (winner) return replay(winner, hash);
    }
    throw err;
  }

  const args: Parameters<typeof onboardingWorkflow> = [{ requestId, customerId }];
  await startRequestWorkflow(deps, {
    workflowType: 'onboardingWorkflow',
    workflowId,
    args,
    requestId,
    requestType: 'onboarding',
    customerId,
    actor: opts.actor,
    description: 'the onboarding',
  });
  await auditEvents.append(deps.db, {
    actor: opts.actor,
    action: 'onboarding.requested',
    subjectType: 'lifecycle_request',
    subjectId: requestId,
    customerId,
    requestId,
    workflowId,
    details: { requestHash: hash, subprocessors: input.subprocessors, idempotencyKey: opts.idempotencyKey ?? null },
  });
  deps.log.info('onboarding started', { requestId, customerId, workflowId });
  return { requestId, customerId, workflowId, replayed: false };
}

function replay(earlier: LifecycleRequest, hash: string): OnboardingStarted {
  if (earlier.type !== 'onboarding' || earlier.requestHash !== hash) {
    throw new HttpProblem(
      422,
      'Idempotency-Key reused',
      'this Idempotency-Key was already used with a different request body',
    );
  }
  return started(earlier, true);
}
