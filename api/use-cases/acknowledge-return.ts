/**
 * A termination's return is acknowledged: by the customer's contact with the emailed link, or by staff for them. Either
 * way the workflow's acknowledgement update, then the audit event (with the link's use, in one transaction).
 */
import { auditEvents } from '../../db/repositories/audit-events';
import { lifecycleRequests } from '../../db/repositories/lifecycle-requests';
import { publicLinks } from '../../db/repositories/public-links';
import { ACKNOWLEDGEMENT_REFUSED } from '../../lib/pure/termination-messages';
import { acknowledgeReturnUpdate } from '../../workflows/termination';
import { HttpProblem } from '../problem';
import { executeRequestUpdate } from '../workflow-calls';
import { linkProblem, useRefused } from './public-link-pages';
import { runningTermination } from './start-termination';
import { linkIdOf, type PublicLinkDeps } from './use-public-link';

/**
 * Acknowledges a termination's return with the emailed link: the workflow's acknowledgement update, audited.
 * @throws HttpProblem 404/410 (not ours, expired, used, no longer awaited), 503 (not delivered; link stays usable).
 */
export async function acknowledgeReturnByLink(
  deps: PublicLinkDeps,
  token: string,
): Promise<{ requestId: string; acknowledgedAt: string }> {
  const linkId = linkIdOf(deps, token, 'acknowledge');
  return deps.db.transaction(async (trx) => {
    const used = await publicLinks.use(trx, linkId, 'acknowledge');
    if (!used.ok) throw useRefused(used.reason);
    const request = await lifecycleRequests.findById(trx, used.link.requestId);
    if (!request) throw linkProblem('gone');
    const { acknowledgedAt } = await executeRequestUpdate(
      deps.temporal,
      request.workflowId,
      acknowledgeReturnUpdate,
      [{ via: 'link', actor: `link:${linkId}`, linkId }],
      {
        refusal: (f) => (f.type === ACKNOWLEDGEMENT_REFUSED ? linkProblem('closed') : undefined),
        ended: linkProblem('closed'),
      },
    );
    await auditEvents.append(trx, {
      actor: `link:${linkId}`,
      action: 'termination.return_acknowledged',
      subjectType: 'public_link',
      subjectId: linkId,
      customerId: used.link.customerId,
      requestId: request.id,
      workflowId: request.workflowId,
      details: { via: 'link', contactId: used.link.contactId },
    });
    return { requestId: request.id, acknowledgedAt };
  });
}

/**
 * Staff acknowledge the return for the customer (`POST /v1/customers/{id}/termination/acknowledgement`).
 * @throws HttpProblem 404 (no termination running), 409 (not awaiting an acknowledgement).
 */
export async function acknowledgeReturnAsStaff(
  deps: Pick<PublicLinkDeps, 'db' | 'temporal'>,
  customerId: string,
  actor: string,
): Promise<{ requestId: string; acknowledgedAt: string }> {
  const request = await runningTermination(deps.db, customerId);
  if (!request) throw new HttpProblem(404, 'No termination running', `customer ${customerId} has none running`);
  const { acknowledgedAt } = await executeRequestUpdate(
    deps.temporal,
    request.workflow_id,
    acknowledgeReturnUpdate,
    [{ via: 'api', actor }],
    {
      refusal: (f) =>
        f.type === ACKNOWLEDGEMENT_REFUSED
          ? new HttpProblem(409, 'Not awaiting an acknowledgement', f.message)
          : undefined,
    },
  );
  await auditEvents.append(deps.db, {
    actor,
    action: 'termination.return_acknowledged',
    subjectType: 'lifecycle_request',
    subjectId: request.id,
    customerId,
    requestId: request.id,
    workflowId: request.workflow_id,
    details: { via: 'api' },
  });
  return { requestId: request.id, acknowledgedAt };
}
