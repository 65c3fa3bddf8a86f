/**
 * Starting an access request: the due date from the deadline engine, then the request record, the start it is owed
 * and its `access.requested` event in one transaction, then the workflow start (if Temporal cannot take it, the
 * request is still accepted and the start reconciler starts it: api/use-cases/start-request-workflow.ts).
 *
 * Disclosure: the answer does not depend on whether the customer exists or the address is one of its contacts. Any
 * well-formed customer id and address get 202 and a running request; the workflow then acknowledges to the address,
 * checks it against the registered contacts, and either sends a one-time link to the registered address or a refusal
 * that reads the same for an unknown customer as for an unknown contact. The caller is staff, who may read customers
 * anyway; what the requester receives never depends on data the requester has not proven to be entitled to.
 */
import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import type { Knex } from 'knex';
import { customers } from '../../db/repositories/customers';
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
import type { AccessRequestInput, AccessRequestPayload } from '../../lib/schemas/access-request';
import { accessRequestWorkflowId } from '../../lib/pure/temporal-ids';
import type { accessRequestWorkflow } from '../../workflows/access-request';
import { HttpProblem } from '../problem';
import {
  acceptedStatus,
  currentStatus,
  acceptRequest,
  startRequestWorkflow,
  type RequestWorkflowStart,
  type StartDeps,
} from './start-request-workflow';
import { requestHash } from './start-onboarding';

export interface StartAccessRequestDeps {
  db: Knex;
  temporal: Client;
  taskQueue: string;
  log: Logger;
  config: Pick<AppConfig, 'deadlines' | 'defaultPrivacyRegime' | 'accessRequests' | 'exports'> &
    NonNullable<StartDeps['config']>;
}

/** What the API answers: the same shape for every customer id and address, and for a replay. */
export interface AccessRequestStarted {
  requestId: string;
  workflowId: string;
  privacyRegime: PrivacyRegime;
  receivedOn: string;
  /** Null while the clock is stopped (UK GDPR: it starts at identity confirmation). */
  dueOn: string | null;
  clockStarts: 'receipt' | 'identity-confirmed';
  replayed: boolean;
  /** Where the request stands now: `received` (start owed), `running`, or, on a replay, how it ended. */
  status: string;
}

const asRegime = (value: string | null | undefined): PrivacyRegime | undefined =>
  PRIVACY_REGIMES.includes(value as PrivacyRegime) ? (value as PrivacyRegime) : undefined;

/**
 * Records and starts an access request for `customerId`.
 * @param opts.now when the request was received (default: now); tests start requests received in the past.
 * @throws HttpProblem 422 for an Idempotency-Key reused with another body. Temporal being unreachable is no error:
 * the request is recorded and answered `received`; the start reconciler starts it.
 */
export async function startAccessRequest(
  deps: StartAccessRequestDeps,
  customerId: string,
  input: AccessRequestInput,
  opts: { idempotencyKey?: string; actor: string; now?: Date },
): Promise<AccessRequestStarted> {
  const hash = requestHash({ customerId, ...input });
  if (opts.idempotencyKey) {
    const earlier = await lifecycleRequests.findByIdempotencyKey(deps.db, opts.idempotencyKey);
    if (earlier) return replay(deps, earlier, hash);
  }

  const customer = await customers.findById(deps.db, customerId);
  const regime = input.privacyRegime ?? asRegime(customer?.privacyRegime) ?? deps.config.defaultPrivacyRegime;
  const calendar = calendarFor(regime, deps.config.deadlines);
  const receivedAt = opts.now ?? new Date();
  const receivedOn = dateInZone(receivedAt.getTime(), calendar.timeZone);
  const starts = clockStart(regime);
  const dueOn = starts === 'receipt' ? responseDueDate(regime, receivedOn, calendar) : null;

  const requestId = randomUUID();
  const workflowId = accessRequestWorkflowId(requestId);
  const payload: AccessRequestPayload = { requesterEmail: input.requesterEmail.trim(), scope: input.scope };
  const args: Parameters<typeof accessRequestWorkflow> = [
    {
      requestId,
      customerId,
      scope: input.scope,
      regime,
      receivedOn,
      dueOn,
      calendar,
      policy: {
        verificationTimeoutMs: deps.config.accessRequests.verificationTimeoutMs,
        reminderOffsets: deps.config.accessRequests.reminderOffsets,
        linkLifetimeMs: deps.config.exports.linkLifetimeMs,
      },
    },
  ];
  const start: RequestWorkflowStart = {
    workflowType: 'accessRequestWorkflow',
    workflowId,
    args,
    requestId,
    requestType: 'access',
    customerId,
    actor: opts.actor,
    description: 'the access request',
  };
  const acceptance = await acceptRequest(
    deps.db,
    start,
    {
      action: 'access.requested',
      customerId: customer ? customerId : null,
      idempotencyKey: opts.idempotencyKey,
      details: {
        scope: input.scope,
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
        type: 'access',
        customerId,
        workflowId,
        privacyRegime: regime,
        dueOn: dueOn ?? undefined,
        actor: opts.actor,
        idempotencyKey: opts.idempotencyKey,
        requestHash: hash,
        payload,
        receivedAt,
      },
    },
  );
  // A concurrent call with the same key won the race: answer what it answered.
  if (!acceptance.accepted) return replay(deps, acceptance.winner, hash);

  const outcome = await startRequestWorkflow(deps, start);
  deps.log.info('access request accepted', { requestId, workflowId, regime, dueOn, start: outcome });
  return {
    requestId,
    workflowId,
    privacyRegime: regime,
    receivedOn,
    dueOn,
    clockStarts: starts,
    replayed: false,
    status: acceptedStatus(outcome),
  };
}

async function replay(
  deps: StartAccessRequestDeps,
  earlier: LifecycleRequest,
  hash: string,
): Promise<AccessRequestStarted> {
  if (earlier.type !== 'access' || earlier.requestHash !== hash) {
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
    replayed: true,
    status: await currentStatus(deps.db, earlier),
  };
}
