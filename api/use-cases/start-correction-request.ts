/**
 * Starting a correction request: every change validated against the customer's rows before anything is written
 * (lib/correction-plan.ts), the due date from the deadline engine, then the request, its changes, the start it is
 * owed and its `correction.requested` event in one transaction, then the workflow start (if Temporal cannot take it,
 * the request is still accepted and the start reconciler starts it: api/use-cases/start-request-workflow.ts).
 */
import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import type { Knex } from 'knex';
import { corrections, type NewCorrectionChange } from '../../db/repositories/corrections';
import { customers } from '../../db/repositories/customers';
import { lifecycleRequests, type LifecycleRequest } from '../../db/repositories/lifecycle-requests';
import type { AppConfig } from '../../lib/config';
import { changeRequestsOf, planCorrection, valueHash } from '../../lib/correction-plan';
import {
  calendarFor,
  clockStart,
  dateInZone,
  PRIVACY_REGIMES,
  responseDueDate,
  type PrivacyRegime,
} from '../../lib/pure/deadlines';
import type { Logger } from '../../lib/logger';
import type { CorrectionRequestInput, CorrectionRequestPayload } from '../../lib/schemas/correction';
import { correctionWorkflowId } from '../../lib/pure/temporal-ids';
import type { correctionWorkflow } from '../../workflows/correction';
import { HttpProblem, ValidationProblem } from '../problem';
import {
  acceptedStatus,
  currentStatus,
  acceptRequest,
  startRequestWorkflow,
  type RequestWorkflowStart,
  type StartDeps,
} from './start-request-workflow';
import { requestHash } from './start-onboarding';

export interface StartCorrectionRequestDeps {
  db: Knex;
  temporal: Client;
  taskQueue: string;
  log: Logger;
  config: Pick<AppConfig, 'deadlines' | 'defaultPrivacyRegime' | 'corrections'> & NonNullable<StartDeps['config']>;
}

/** One change as the answer reports it. */
export interface StartedChange {
  changeId: string;
  index: number;
  change: string;
  state: 'pending' | 'unchanged';
  needsApproval: boolean;
}

/** What the API answers (also for a replay with the same Idempotency-Key). */
export interface CorrectionRequestStarted {
  requestId: string;
  workflowId: string;
  privacyRegime: PrivacyRegime;
  receivedOn: string;
  dueOn: string | null;
  clockStarts: 'receipt' | 'identity-confirmed';
  replayed: boolean;
  /** Where the request stands now: `received` (start owed), `running`, or, on a replay, how it ended. */
  status: string;
  changes: StartedChange[];
}

const asRegime = (value: string | null | undefined): PrivacyRegime | undefined =>
  PRIVACY_REGIMES.includes(value as PrivacyRegime) ? (value as PrivacyRegime) : undefined;

/**
 * Validates, records and starts a correction request for `customerId`.
 * @throws HttpProblem 404 unknown customer, 409 customer not active (e.g. terminated), 400 naming each invalid change
 * and rule, 422 Idempotency-Key reused with another body. Temporal being unreachable is no error: the request is
 * recorded and answered `received`; the start reconciler starts it.
 */
export async function startCorrectionRequest(
  deps: StartCorrectionRequestDeps,
  customerId: string,
  input: CorrectionRequestInput,
  opts: { idempotencyKey?: string; actor: string },
): Promise<CorrectionRequestStarted> {
  const hash = requestHash({ customerId, ...input });
  if (opts.idempotencyKey) {
    const earlier = await lifecycleRequests.findByIdempotencyKey(deps.db, opts.idempotencyKey);
    if (earlier) return replay(deps, earlier, hash);
  }

  const customer = await customers.findById(deps.db, customerId);
  if (!customer) throw new HttpProblem(404, 'Customer not found', `no customer ${customerId}`);
  if (customer.status !== 'active')
    throw new HttpProblem(
      409,
      'Customer not active',
      `the customer is ${customer.status}: its data cannot be corrected`,
      {
        customerStatus: customer.status,
      },
    );

  const requests = changeRequestsOf(customerId, input.changes, randomUUID);
  const registrationNumbers = requests
    .filter((r) => r.kind === 'company.registrationNumber')
    .map((r) => r.value as string);
  const snapshot = await corrections.snapshot(deps.db, customerId, registrationNumbers);
  if (!snapshot) throw new HttpProblem(404, 'Customer not found', `no customer ${customerId}`);
  const { errors, planned } = planCorrection(snapshot, requests);
  if (errors.length > 0)
    throw new ValidationProblem(errors.map(({ field, rule, message }) => ({ field, rule, message })));

  const regime = input.privacyRegime ?? asRegime(customer.privacyRegime) ?? deps.config.defaultPrivacyRegime;
  const calendar = calendarFor(regime, deps.config.deadlines);
  const receivedOn = dateInZone(Date.now(), calendar.timeZone);
  const starts = clockStart(regime);
  const dueOn = starts === 'receipt' ? responseDueDate(regime, receivedOn, calendar) : null;

  const requestId = randomUUID();
  const workflowId = correctionWorkflowId(requestId);
  const rows: NewCorrectionChange[] = planned.map((p) => {
    const id = randomUUID();
    return {
      id,
      requestId,
      customerId,
      position: p.index,
      kind: p.kind,
      targetTable: p.targetTable,
      targetId: p.targetId,
      targetColumn: p.column,
      newValue: p.value,
      // The old address is kept only to tell it of the change (an account-takeover safeguard), then dropped.
      previousValue: p.kind === 'contact.email' && !p.unchanged ? p.oldValue : undefined,
      beforeSha256: valueHash(id, p.kind === 'contact.add' ? null : p.oldValue),
      afterSha256: valueHash(id, p.kind === 'contact.remove' ? null : p.value),
      rowVersion: p.rowVersion,
      sensitive: p.sensitive,
      state: p.unchanged ? 'unchanged' : 'pending',
      dataCategory: p.category,
    };
  });
  const policy = deps.config.corrections;
  const args: Parameters<typeof correctionWorkflow> = [
    {
      requestId,
      customerId,
      regime,
      receivedOn,
      dueOn,
      calendar,
      requestedBy: opts.actor,
      policy: {
        verificationTimeoutMs: policy.verificationTimeoutMs,
        reminderOffsets: policy.reminderOffsets,
        approvalTimeoutMs: policy.approvalTimeoutMs,
        receiptEscalationAfterMs: policy.receiptEscalationAfterMs,
        propagationRetry: {
          initialIntervalMs: policy.retryInitialIntervalMs,
          maximumIntervalMs: policy.retryMaximumIntervalMs,
        },
      },
      changes: rows.map((r) => ({
        changeId: r.id,
        index: r.position,
        change: r.kind,
        sensitive: r.sensitive,
        unchanged: r.state === 'unchanged',
      })),
    },
  ];
  const start: RequestWorkflowStart = {
    workflowType: 'correctionWorkflow',
    workflowId,
    args,
    requestId,
    requestType: 'correction',
    customerId,
    actor: opts.actor,
    description: 'the correction request',
  };
  const changes = rows.map(startedChange);
  const payload: CorrectionRequestPayload = { requesterEmail: input.requesterEmail.trim() };
  const acceptance = await acceptRequest(
    deps.db,
    start,
    {
      action: 'correction.requested',
      customerId: customerId,
      idempotencyKey: opts.idempotencyKey,
      details: {
        changes: changes.map((c) => ({
          changeId: c.changeId,
          change: c.change,
          state: c.state,
          sensitive: c.needsApproval,
        })),
        regime,
        receivedOn,
        dueOn,
        requestHash: hash,
        idempotencyKey: opts.idempotencyKey ?? null,
      },
    },
    {
      request: {
        id: requestId,
        type: 'correction',
        customerId,
        workflowId,
        privacyRegime: regime,
        dueOn: dueOn ?? undefined,
        actor: opts.actor,
        idempotencyKey: opts.idempotencyKey,
        requestHash: hash,
        payload,
      },
      dependents: [corrections.insertChangesQuery(deps.db, rows)],
    },
  );
  // A concurrent call with the same key won the race: answer what it answered.
  if (!acceptance.accepted) return replay(deps, acceptance.winner, hash);

  const outcome = await startRequestWorkflow(deps, start);
  deps.log.info('correction request accepted', { requestId, workflowId, regime, dueOn, changes: changes.length });
  return {
    requestId,
    workflowId,
    privacyRegime: regime,
    receivedOn,
    dueOn,
    clockStarts: starts,
    replayed: false,
    status: acceptedStatus(outcome),
    changes,
  };
}

function startedChange(r: {
  id: string;
  position: number;
  kind: string;
  state: string;
  sensitive: boolean;
}): StartedChange {
  return {
    changeId: r.id,
    index: r.position,
    change: r.kind,
    state: r.state === 'unchanged' ? 'unchanged' : 'pending',
    needsApproval: r.sensitive,
  };
}

async function replay(
  deps: StartCorrectionRequestDeps,
  earlier: LifecycleRequest,
  hash: string,
): Promise<CorrectionRequestStarted> {
  if (earlier.type !== 'correction' || earlier.requestHash !== hash) {
    throw new HttpProblem(
      422,
      'Idempotency-Key reused',
      'this Idempotency-Key was already used with a different request body',
    );
  }
  const regime = asRegime(earlier.privacyRegime) ?? deps.config.defaultPrivacyRegime;
  const calendar = calendarFor(regime, deps.config.deadlines);
  const changes = await corrections.changes(deps.db, earlier.id);
  return {
    requestId: earlier.id,
    workflowId: earlier.workflowId,
    privacyRegime: regime,
    receivedOn: dateInZone(earlier.receivedAt.getTime(), calendar.timeZone),
    dueOn: earlier.dueOn,
    clockStarts: clockStart(regime),
    replayed: true,
    status: await currentStatus(deps.db, earlier),
    // As first answered: a change's state at receipt.
    changes: changes.map((c) =>
      startedChange({ ...c, state: c.state === 'unchanged' && c.stateRule === null ? 'unchanged' : 'pending' }),
    ),
  };
}
