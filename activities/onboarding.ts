/**
 * Activities of the onboarding process: record the customer, register its tenant with subprocessors, welcome it,
 * activate it. Each one is idempotent (safe to retry after a crash at any point) and writes its audit event in the
 * same transaction as the change it describes.
 */
import { randomUUID } from 'node:crypto';
import { log } from '@temporalio/activity';
import type { Knex } from 'knex';
import { auditEvents } from '../db/repositories/audit-events';
import { customers } from '../db/repositories/customers';
import { lifecycleRequests } from '../db/repositories/lifecycle-requests';
import { subprocessors, type SubprocessorReceipt } from '../db/repositories/subprocessors';
import {
  CustomerNotFoundError,
  DuplicateCustomerError,
  RequestNotFoundError,
  UnknownSubprocessorError,
} from '../lib/pure/errors';
import type { Mailer } from '../lib/mailer';
import { OnboardingInput } from '../lib/schemas/onboarding';
import type { SubprocessorClient } from '../lib/subprocessor-client';
import { welcomeEmail } from './email-templates';
import { auditKeyFor, createOutbox, type OutboxCallReceipt } from './outbox';
import type { AppConfig } from '../lib/config';

/** The receipt type the onboarding workflow keeps per subprocessor (workflows import activity types only). */
export type { SubprocessorReceipt };

/** What the onboarding activities need from the outside world. */
export interface OnboardingDeps {
  db: Knex;
  mailer: Mailer;
  subprocessorClient: SubprocessorClient;
  /** `defaultPrivacyRegime`: the regime of customers whose request names none. */
  config: Pick<AppConfig, 'defaultPrivacyRegime'>;
}

/** Who the audit log names for steps the workflow takes on its own. */
const ACTOR = 'system:onboarding';

/** Ids and counts the workflow needs after recording; no personal data. */
export interface RecordedCustomer {
  customerId: string;
  subprocessorIds: string[];
  contactCount: number;
  sellerAccountCount: number;
}

export interface OnboardingStep {
  requestId: string;
  customerId: string;
  workflowId: string;
}

/** Builds the onboarding activities from their dependencies. */
export function createOnboardingActivities(deps: OnboardingDeps) {
  const { db } = deps;
  const outbox = createOutbox(deps);

  async function summary(customerId: string): Promise<RecordedCustomer> {
    const [subs, contacts, accounts] = await Promise.all([
      db('customer_subprocessors')
        .where({ customer_id: customerId })
        .orderBy('subprocessor_id')
        .pluck('subprocessor_id'),
      db('contacts').where({ customer_id: customerId }).count<{ count: string }[]>({ count: '*' }),
      db('seller_accounts').where({ customer_id: customerId }).count<{ count: string }[]>({ count: '*' }),
    ]);
    return {
      customerId,
      subprocessorIds: subs as string[],
      contactCount: Number(contacts[0]?.count ?? 0),
      sellerAccountCount: Number(accounts[0]?.count ?? 0),
    };
  }

  return {
    /**
     * Writes the customer, contacts, seller accounts, contract and subprocessor links from the request's stored input,
     * then clears that input from the request (it holds personal data that now lives where it belongs).
     * Already recorded: returns the same summary without writing.
     */
    async recordCustomer(step: OnboardingStep): Promise<RecordedCustomer> {
      const existing = await customers.findById(db, step.customerId);
      if (existing) return summary(step.customerId);

      const request = await lifecycleRequests.findById(db, step.requestId);
      if (!request) throw new RequestNotFoundError(step.requestId);
      const input = OnboardingInput.parse(request.payload);
      const other = await customers.findByRegistrationNumber(db, input.company.registrationNumber);
      if (other) throw new DuplicateCustomerError(other.id);

      await db.transaction(async (trx) => {
        const inserted = await customers.insertIfAbsent(
          trx,
          step.customerId,
          step.requestId,
          input,
          input.company.privacyRegime ?? deps.config.defaultPrivacyRegime,
          {
            contactIds: input.contacts.map(() => randomUUID()),
            sellerAccountIds: input.sellerAccounts.map(() => randomUUID()),
            contractId: randomUUID(),
          },
        );
        if (!inserted) return;
        await lifecycleRequests.setStage(trx, step.requestId, 'customer-recorded');
        await lifecycleRequests.clearPayload(trx, step.requestId);
        await auditEvents.appendForRequest(trx, step, {
          actor: ACTOR,
          action: 'customer.recorded',
          details: {
            contacts: input.contacts.length,
            sellerAccounts: input.sellerAccounts.length,
            subprocessors: input.subprocessors,
          },
          subject: { type: 'customer', id: step.customerId },
        });
      });
      log.info('customer recorded', { customerId: step.customerId, requestId: step.requestId });
      return summary(step.customerId);
    },

    /**
     * Registers the customer's tenant with one subprocessor (protocol v1 `POST /v1/tenants`) through the outbox: the
     * idempotency key is derived from customer and subprocessor and recorded before the call, so a retry (or a 409
     * "already done") never registers twice; a retry after an attempt that recorded its receipt answers that first
     * receipt without calling, and the `subprocessor.tenant_registered` event is written once.
     */
    async registerTenant(step: OnboardingStep & { subprocessorId: string }): Promise<SubprocessorReceipt> {
      const sub = await subprocessors.findById(db, step.subprocessorId);
      if (!sub) throw new UnknownSubprocessorError(step.subprocessorId);
      const idempotencyKey = `tenant-registration-${step.customerId}-${sub.id}`;
      const asReceipt = (r: OutboxCallReceipt): SubprocessorReceipt => ({
        status: r.status,
        idempotencyKey,
        alreadyDone: r.alreadyDone,
        answeredAt: r.answeredAt,
      });
      const kept = await outbox.callSubprocessor({
        key: idempotencyKey,
        subprocessor: sub,
        path: '/v1/tenants',
        operation: 'tenant-registration',
        body: { tenantId: step.customerId, categories: sub.categories },
        // Registrations kept before the outbox existed stay the receipt on record.
        recorded: async (r) => (await subprocessors.registrationReceipt(db, step.customerId, sub.id)) ?? asReceipt(r),
        record: async (trx, r) => {
          const receipt = asReceipt(r);
          const registration = await subprocessors.recordRegistration(trx, step.customerId, sub.id, receipt);
          // An earlier attempt recorded (and audited) it already; this one only heard "already done" again.
          if (!registration.recorded) return registration.receipt;
          await auditEvents.appendForRequest(trx, step, {
            actor: ACTOR,
            action: 'subprocessor.tenant_registered',
            details: {
              status: receipt.status,
              alreadyDone: receipt.alreadyDone,
              idempotencyKey,
              categories: sub.categories,
            },
            subject: { type: 'subprocessor', id: sub.id },
            idempotencyKey: auditKeyFor('subprocessor.tenant_registered', idempotencyKey),
          });
          return receipt;
        },
      });
      log.info('tenant registered with subprocessor', {
        customerId: step.customerId,
        subprocessorId: sub.id,
        status: kept.status,
      });
      return kept;
    },

    /**
     * Emails the primary contact that the account is ready, through the outbox under the dedupe key
     * `welcome-<customerId>`: recorded before it leaves, never sent again once recorded, and resent after a crash
     * between sending and recording only with the same Message-ID (`<welcome-<customerId>@data-lifecycle.local>`).
     */
    async sendWelcomeEmail(step: OnboardingStep): Promise<{ alreadySent: boolean; messageId: string }> {
      const dedupeKey = `welcome-${step.customerId}`;
      // Welcome emails recorded before the outbox existed have a communication record and no intent.
      // Three independent reads, side by side (each a round trip on every onboarding's way to completion).
      const [sent, customer, contact] = await Promise.all([
        db<{ dedupe_key: string; message_id: string }>('communication_records')
          .where({ dedupe_key: dedupeKey })
          .first('message_id'),
        customers.findById(db, step.customerId),
        customers.primaryContact(db, step.customerId),
      ]);
      if (sent) return { alreadySent: true, messageId: sent.message_id };
      if (!customer || !contact) throw new CustomerNotFoundError(step.customerId);
      const mail = welcomeEmail({ contactName: contact.name, companyName: customer.companyName });
      return outbox.sendEmail({
        key: dedupeKey,
        operation: 'welcome',
        recipient: 'contact',
        mail: {
          to: contact.email,
          subject: mail.subject,
          text: mail.text,
          headers: { 'X-Request-Id': step.requestId },
        },
        record: async (trx, { messageId }) => {
          await trx('communication_records')
            .insert({
              customer_id: step.customerId,
              contact_id: contact.id,
              channel: 'email',
              direction: 'outbound',
              kind: 'welcome',
              subject: mail.subject,
              message_id: messageId,
              dedupe_key: dedupeKey,
            })
            .onConflict('dedupe_key')
            .ignore();
          await auditEvents.appendForRequest(trx, step, {
            actor: ACTOR,
            action: 'notification.welcome_sent',
            details: { messageId },
            subject: { type: 'contact', id: contact.id },
            idempotencyKey: auditKeyFor('notification.welcome_sent', dedupeKey),
          });
        },
      });
    },

    /** Marks the customer active and the request completed, with the subprocessor receipts as its outcome. */
    async activateCustomer(step: OnboardingStep & { receipts: Record<string, SubprocessorReceipt> }): Promise<void> {
      await db.transaction(async (trx) => {
        await customers.setStatus(trx, step.customerId, 'active');
        const closed = await lifecycleRequests.complete(trx, step.requestId, {
          customerStatus: 'active',
          subprocessors: step.receipts,
        });
        // A re-run after a crash between commit and completion finds the request closed: no second event.
        if (!closed) return;
        await auditEvents.appendForRequest(trx, step, {
          actor: ACTOR,
          action: 'customer.activated',
          details: { subprocessors: Object.keys(step.receipts) },
          subject: { type: 'customer', id: step.customerId },
        });
      });
    },

    /** Records why onboarding could not finish: the request fails with the reason, the customer is marked failed. */
    async failOnboarding(step: OnboardingStep & { reason: string; failedSubprocessors: string[] }): Promise<void> {
      await db.transaction(async (trx) => {
        await trx('customers')
          .where({ id: step.customerId })
          .update({ status: 'onboarding_failed', updated_at: trx.fn.now() });
        const closed = await lifecycleRequests.fail(trx, step.requestId, step.reason, {
          failedSubprocessors: step.failedSubprocessors,
        });
        if (!closed) return; // a re-run: recorded already
        await auditEvents.appendForRequest(trx, step, {
          actor: ACTOR,
          action: 'onboarding.failed',
          details: { failedSubprocessors: step.failedSubprocessors },
        });
      });
    },
  };
}

/** The onboarding workflow's activities (workflows/onboarding.ts proxies these and the stage activity). */
export type OnboardingActivities = ReturnType<typeof createOnboardingActivities>;
