/**
 * Onboardings for the fault scenarios: a batch submitted through the API process, waiting until every one has
 * finished, and the end-state checks an onboarding must pass after any fault (one customer, one tenant registration
 * per subprocessor with one effective call per idempotency key, one welcome email, one audit event per fact).
 */
import { requestedEventKey } from '../../../api/use-cases/start-request-workflow';
import { onboardingBody } from '../../support/fixtures';
import { auditChains, duplicateAuditEvents, effectiveCallsPerKey } from './checks';
import type { FaultStack } from './fault-stack';
import { waitUntil } from './processes';

/** The demo subprocessors every onboarding of the suite registers with. */
export const SUBPROCESSORS = ['crm', 'analytics', 'warehouse'];

/** One submitted onboarding. */
export interface SubmittedOnboarding {
  requestId: string;
  customerId: string;
  workflowId: string;
  primaryEmail: string;
}

/** Submits `count` onboardings through the API (each with its own Idempotency-Key); all must be accepted (202). */
export async function submitOnboardings(stack: FaultStack, count: number): Promise<SubmittedOnboarding[]> {
  const submitted: SubmittedOnboarding[] = [];
  for (let i = 0; i < count; i++) {
    const body = onboardingBody(SUBPROCESSORS);
    const res = await stack.http('POST', '/v1/customers', body);
    if (res.status !== 202) throw new Error(`onboarding ${i + 1} answered ${res.status}: ${JSON.stringify(res.body)}`);
    submitted.push({ ...res.body, primaryEmail: body.contacts[0]!.email.toLowerCase() });
  }
  return submitted;
}

/** Waits until every onboarding's request is completed (or failed: then the checks say which). */
export async function waitForOnboardings(
  stack: FaultStack,
  onboardings: readonly SubmittedOnboarding[],
  timeoutMs = 300_000,
): Promise<void> {
  const ids = onboardings.map((o) => o.requestId);
  await waitUntil(
    `${ids.length} onboardings finished`,
    async () => {
      const alive = stack.workers.filter((w) => !w.hasExited());
      if (alive.length === 0) throw new Error(`no worker left running: see ${stack.logDir}`);
      const open = await stack
        .db('lifecycle_requests')
        .whereIn('id', ids)
        .whereNotIn('status', ['completed', 'failed'])
        .count<{ n: string }[]>({ n: '*' });
      return Number(open[0]!.n) === 0 ? true : undefined;
    },
    { timeoutMs, intervalMs: 500 },
  );
}

/** What the end state of a batch of onboardings looks like; every `*Duplicates` must be empty. */
export async function onboardingEndState(stack: FaultStack, onboardings: readonly SubmittedOnboarding[]) {
  const ids = onboardings.map((o) => o.requestId);
  const requests = await stack.db('lifecycle_requests').whereIn('id', ids).select('status');
  const customers = await stack
    .db('customers')
    .whereIn(
      'id',
      onboardings.map((o) => o.customerId),
    )
    .select('status');
  const welcome = stack.smtp.messages().filter((m) => /^Welcome: /.test(m.subject));
  // One welcome email per customer: one distinct Message-ID per primary contact (a redelivery of the same Message-ID
  // in the instant between the SMTP server's acceptance and its record is counted apart, as `welcomeRedeliveries`).
  const welcomeIdsPerContact = new Map<string, Set<string>>();
  for (const m of welcome)
    for (const to of m.to) {
      const ids = welcomeIdsPerContact.get(to) ?? new Set<string>();
      ids.add(m.messageId ?? m.id);
      welcomeIdsPerContact.set(to, ids);
    }
  const tenants = effectiveCallsPerKey(stack.sim, '/v1/tenants');
  return {
    completed: requests.filter((r) => r.status === 'completed').length,
    activeCustomers: customers.filter((c) => c.status === 'active').length,
    welcomeEmails: welcome.length,
    welcomeRedeliveries: welcome.length - new Set(welcome.map((m) => m.messageId ?? m.id)).size,
    contactsWithoutWelcome: onboardings.filter((o) => !welcomeIdsPerContact.has(o.primaryEmail)).length,
    contactsWithSeveralWelcomes: [...welcomeIdsPerContact].filter(([, ids]) => ids.size > 1).map(([to]) => to),
    tenantKeys: tenants.keys,
    tenantCalls: tenants.calls,
    tenantEffectiveDuplicates: tenants.effectiveDuplicates,
    // Every accepted onboarding's event reached the chain from the audit intake (db/repositories/audit-intake.ts).
    requestedEvents: (
      await stack.db('audit_events').whereIn('request_id', ids).where({ action: 'onboarding.requested' }).select('id')
    ).length,
    unchainedRequestedEvents: (
      await stack.db('audit_intake').whereIn('idempotency_key', ids.map(requestedEventKey)).select('idempotency_key')
    ).length,
    auditDuplicates: {
      'onboarding.requested': (await duplicateAuditEvents(stack.db, 'onboarding.requested')).duplicates,
      'customer.recorded': (await duplicateAuditEvents(stack.db, 'customer.recorded')).duplicates,
      'subprocessor.tenant_registered': (
        await duplicateAuditEvents(
          stack.db,
          'subprocessor.tenant_registered',
          (e) => `${e.customer_id}|${e.subject_id}`,
        )
      ).duplicates,
      'notification.welcome_sent': (await duplicateAuditEvents(stack.db, 'notification.welcome_sent')).duplicates,
      'customer.activated': (await duplicateAuditEvents(stack.db, 'customer.activated')).duplicates,
    },
    tenantRegisteredEvents: (await duplicateAuditEvents(stack.db, 'subprocessor.tenant_registered')).events,
    brokenAuditChains: (await auditChains(stack.db)).broken.length,
  };
}

/** The end state every batch must reach, whatever the fault: for `expect(state).toEqual(expectedEndState(n))`. */
export function expectedOnboardingEndState(count: number) {
  return {
    completed: count,
    activeCustomers: count,
    contactsWithoutWelcome: 0,
    contactsWithSeveralWelcomes: [],
    tenantKeys: count * SUBPROCESSORS.length,
    tenantEffectiveDuplicates: {},
    requestedEvents: count,
    unchainedRequestedEvents: 0,
    auditDuplicates: {
      'onboarding.requested': {},
      'customer.recorded': {},
      'subprocessor.tenant_registered': {},
      'notification.welcome_sent': {},
      'customer.activated': {},
    },
    tenantRegisteredEvents: count * SUBPROCESSORS.length,
    brokenAuditChains: 0,
  };
}
