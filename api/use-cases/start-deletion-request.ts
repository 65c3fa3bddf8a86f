/**
 * Starting a deletion request: the due date from the deadline engine, then the request record, its parts, the start
 * it is owed and its `deletion.requested` event in one transaction, then the workflow start (if Temporal cannot take
 * it, the request is still accepted and the start reconciler starts it: api/use-cases/start-request-workflow.ts).
 *
 * Disclosure, as for access requests (api/use-cases/start-access-request.ts): any well-formed customer id and address
 * get 202 and a running request; the workflow decides whether the requester is a registered contact, and the parts are
 * decided only after the requester's identity is confirmed.
 */
import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import type { Knex } from 'knex';
import { customers } from '../../db/repositories/customers';
import { deletionRequestParts } from '../../db/repositories/deletion-request-parts';
import { lifecycleRequests, type LifecycleRequest } from '../../db/repositories/lifecycle-requests';
import type { AppConfig } from '../../lib/config';
import {
  calendarFor,
  clockStart,
  dateInZone,
  PRIVACY_REGIMES,
  responseDueDate,
  type PrivacyRegime,
} from '../../lib/pure/deadlines';
import type { Logger } from '../../lib/logger';
import { partKey, type DeletionPart } from '../../lib/pure/deletion-parts';
import type { DeletionRequestInput } from '../../lib/schemas/deletion-request';
import { deletionRequestWorkflowId } from '../../lib/pure/temporal-ids';
import type { deletionRequestWorkflow } from '../../workflows/deletion-request';
import { HttpProblem } from '../problem';
import { requestHash } from './start-onboarding';
import {
  acceptedStatus,
  currentStatus,
  acceptRequest,
  startRequestWorkflow,
  type RequestWorkflowStart,
  type StartDeps,
} from './start-request-workflow';

export interface StartDeletionRequestDeps {
  db: Knex;
  temporal: Client;
  taskQueue: string;
  log: Logger;
  config: Pick<AppConfig, 'deadlines' | 'defaultPrivacyRegime' | 'accessRequests'> & NonNullable<StartDeps['config']>;
}

/** What the API answers: the same shape for every customer id and address, and for a replay. */
export interface DeletionRequestStarted {
  requestId: string;
  workflowId: string;
  privacyRegime: PrivacyRegime;
  receivedOn: string;
  dueOn: string | null;
  clockStarts: 'receipt' | 'identity-confirmed';
  parts: DeletionPart[];
  replayed: boolean;
  /** Where the request stands now: `received` (start owed), `running`, or, on a replay, how it ended. */
  status: string;
}

const asRegime = (value: string | null | undefined): PrivacyRegime | undefined =>
  PRIVACY_REGIMES.includes(value as PrivacyRegime) ? (value as PrivacyRegime) : undefined;

/**
 * Records and starts a deletion request for `customerId`.
 * @throws HttpProblem 422 for an Idempotency-Key reused with another body. Temporal being unreachable is no error:
 * the request is recorded and answered `received`; the start reconciler starts it.
 */
export async function startDeletionRequest(
  deps: StartDeletionRequestDeps,
  customerId: string,
  input: DeletionRequestInput,
  opts: { idempotencyKey?: string; actor: string },
): Promise<DeletionRequestStarted> {
  // Canonical parts: ids lower-cased, as the decisions and the erasure compare them.
  const parts = input.parts.map((p): DeletionPart => {
    const [kind, target] = partKey(p).split(/:(.*)/s) as [string, string];
    if (kind === 'contact') return { contactId: target };
    if (kind === 'seller_account') return { sellerAccountId: target };
    return p;
  });
  const hash = requestHash({ customerId, kind: 'deletion', ...input });
  if (opts.idempotencyKey) {
    const earlier = await lifecycleRequests.findByIdempotencyKey(deps.db, opts.idempotencyKey);
    if (earlier) return replay(deps, earlier, hash, parts);
  }

  const customer = await customers.findById(deps.db, customerId);
  const regime = input.privacyRegime ?? asRegime(customer?.privacyRegime) ?? deps.config.defaultPrivacyRegime;
  const calendar = calendarFor(regime, deps.config.deadlines);
  const receivedOn = dateInZone(Date.now(), calendar.timeZone);
  const starts = clockStart(regime);
  const dueOn = starts === 'receipt' ? responseDueDate(regime, receivedOn, calendar) : null;

  const requestId = randomUUID();
  const workflowId = deletionRequestWorkflowId(requestId);
  const args: Parameters<typeof deletionRequestWorkflow> = [
    {
      requestId,
      customerId,
      parts,
      regime,
      receivedOn,
      dueOn,
      calendar,
      policy: {
        verificationTimeoutMs: deps.config.accessRequests.verificationTimeoutMs,
        reminderOffsets: deps.config.accessRequests.reminderOffsets,
      },
    },
  ];
  const start: RequestWorkflowStart = {
    workflowType: 'deletionRequestWorkflow',
    workflowId,
    args,
    requestId,
    requestType: 'deletion',
    customerId,
    actor: opts.actor,
    description: 'the deletion request',
  };
  const acceptance = await acceptRequest(
    deps.db,
    start,
    {
      action: 'deletion.requested',
      customerId: customer ? customerId : null,
      idempotencyKey: opts.idempotencyKey,
      details: {
        parts: parts.map(partKey),
        regime,
        receivedOn,
        dueOn,
        customerKnown: customer !== undefined,
        requestHash: hash,
        idempotencyKey: opts.idempotencyKey ?? null,
      },
    },
    {
      request: {
        id: requestId,
        type: 'deletion',
        customerId,
        workflowId,
        privacyRegime: regime,
        dueOn: dueOn ?? undefined,
        actor: opts.actor,
        idempotencyKey: opts.idempotencyKey,
        requestHash: hash,
        // The address stays until the request closes (activities/deletion-request.ts says why).
        payload: { requesterEmail: input.requesterEmail.trim() },
      },
      dependents: [deletionRequestParts.insertAllQuery(deps.db, requestId, customerId, parts)],
    },
  );
  // A concurrent call with the same key won the race: answer what it answered.
  if (!acceptance.accepted) return replay(deps, acceptance.winner, hash, parts);

  const outcome = await startRequestWorkflow(deps, start);
  deps.log.info('deletion request accepted', { requestId, workflowId, regime, dueOn, parts: parts.length });
  return {
    requestId,
    workflowId,
    privacyRegime: regime,
    receivedOn,
    dueOn,
    clockStarts: starts,
    parts,
    replayed: false,
    status: acceptedStatus(outcome),
  };
}

async function replay(
  deps: StartDeletionRequestDeps,
  earlier: LifecycleRequest,
  hash: string,
  parts: DeletionPart[],
): Promise<DeletionRequestStarted> {
  if (earlier.type !== 'deletion' || earlier.requestHash !== hash) {
    throw new HttpProblem(
      422,
      'Idempotency-Key reused',
      'this Idempotency-Key was already used with a different request body',
    );
  }
  const regime = asRegime(earlier.privacyRegime) ?? deps.config.defaultPrivacyRegime;
  const calendar = calendarFor(regime, deps.config.deadlines);
  return {
    requestId: earlier.id,
    workflowId: earlier.workflowId,
    privacyRegime: regime,
    receivedOn: dateInZone(earlier.receivedAt.getTime(), calendar.timeZone),
    dueOn: earlier.dueOn,
    clockStarts: clockStart(regime),
    parts,
    replayed: true,
    status: await currentStatus(deps.db, earlier),
  };
}
