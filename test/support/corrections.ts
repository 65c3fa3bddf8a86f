/**
 * Helpers of the correction tests: a customer onboarded through the API with the given subprocessors, a correction
 * request filed and verified as a requester would (the link from the email), and reads of what the request recorded.
 */
import { auditEvents } from '../../db/repositories/audit-events';
import { hashToken } from '../../db/repositories/staff-tokens';
import { confirmVerification, linkToken } from './access-export';
import { eventually } from './polling';
import { onboardingBody } from './fixtures';
import type { TestStack } from './test-stack';

export interface OnboardedCustomer {
  customerId: string;
  primary: { id: string; email: string };
  billing: { id: string; email: string };
  sellerAccountIds: string[];
  body: ReturnType<typeof onboardingBody>;
}

/** Onboards a customer through the API (tenants registered with `subprocessorIds`) and waits until it is active. */
export async function onboardCustomer(stack: TestStack, subprocessorIds: string[]): Promise<OnboardedCustomer> {
  const body = onboardingBody(subprocessorIds);
  const res = await stack.http('POST', '/v1/customers', body);
  if (res.status !== 202) throw new Error(`onboarding refused: ${JSON.stringify(res.body)}`);
  await stack.client.workflow.getHandle(res.body.workflowId).result();
  const customerId = res.body.customerId as string;
  const contacts = await stack.db('contacts').where({ customer_id: customerId });
  const byRole = (role: string) => contacts.find((c: { role: string }) => c.role === role);
  const accounts = await stack.db('seller_accounts').where({ customer_id: customerId }).orderBy('marketplace');
  return {
    customerId,
    primary: { id: byRole('primary').id, email: byRole('primary').email },
    billing: { id: byRole('billing').id, email: byRole('billing').email },
    sellerAccountIds: accounts.map((a: { id: string }) => a.id),
    body,
  };
}

/** Waits for a mail to `to` that mentions `requestId` and whose subject matches. */
export function mailAbout(stack: TestStack, requestId: string, to: string, subject: RegExp) {
  return stack.smtp.waitFor(
    (m) => m.to.includes(to.toLowerCase()) && m.text.includes(requestId) && subject.test(m.subject),
  );
}

/** Uses the verification link the registered contact received for `requestId`. */
export async function verifyAs(stack: TestStack, requestId: string, contactEmail: string): Promise<void> {
  const mail = await mailAbout(stack, requestId, contactEmail, /^Confirm your correction request/);
  const res = await confirmVerification(stack, linkToken(mail.text, 'verify'));
  if (res.status !== 200) throw new Error(`verification refused: ${JSON.stringify(res.body)}`);
}

/** `GET /v1/requests/{id}` until `done` holds. */
export function requestStatusWhen(
  stack: TestStack,
  requestId: string,
  done: (body: any) => boolean,
): Promise<{ status: number; body: any }> {
  return eventually(
    () => stack.http('GET', `/v1/requests/${requestId}`),
    (r) => r.status === 200 && done(r.body),
  );
}

/** The request row once it has completed. */
export function completedRequest(stack: TestStack, requestId: string) {
  return eventually(
    () => stack.db('lifecycle_requests').where({ id: requestId }).first(),
    (r) => r?.status === 'completed',
    60_000,
  );
}

/** `staff:<id>` of the holder of a token, as the API names actors. */
export async function actorOf(stack: TestStack, token: string): Promise<string> {
  const row = await stack
    .db('staff_tokens')
    .where({ token_hash: hashToken(token) })
    .first('id');
  return `staff:${row.id}`;
}

/** Audit actions of a request, oldest first. */
export async function auditActions(stack: TestStack, requestId: string): Promise<string[]> {
  return (await auditEvents.list(stack.db, { requestId })).map((e) => e.action);
}

/** The stored states of a request's changes, in request order. */
export async function changeStates(
  stack: TestStack,
  requestId: string,
): Promise<{ state: string; rule: string | null }[]> {
  const rows = await stack.db('correction_changes').where({ request_id: requestId }).orderBy('position');
  return rows.map((r: { state: string; state_rule: string | null }) => ({ state: r.state, rule: r.state_rule }));
}
