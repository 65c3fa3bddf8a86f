/**
 * Using a public link (the customer's side of a request, reached from an email): confirming an identity
 * (`POST /verify`) and downloading an export (`GET /exports/{token}`); acknowledging a termination's return is in
 * api/use-cases/acknowledge-return.ts. Each claims the link's use, tells the workflow or reads the archive, and writes its audit event
 * in one transaction: refused or undelivered, the transaction rolls back and the link stays usable. The routes render
 * the answers (a page, or JSON); api/use-cases/public-link-pages.ts describes a link without using it.
 */
import type { Client } from '@temporalio/client';
import type { Knex } from 'knex';
import { auditEvents } from '../../db/repositories/audit-events';
import { exportArchives, type ArchiveTable } from '../../db/repositories/export-archives';
import { lifecycleRequests } from '../../db/repositories/lifecycle-requests';
import { publicLinks, type PublicLink } from '../../db/repositories/public-links';
import type { Logger } from '../../lib/logger';
import { CONFIRMATION_REFUSED, type ConfirmIdentityResult } from '../../lib/pure/access-request-messages';
import { verifyLinkToken, type LinkKeyring } from '../../lib/signed-links';
import { confirmIdentityUpdate } from '../../workflows/deadline-clock';
import { HttpProblem } from '../problem';
import { updateProblem, UPDATE_DEADLINE_MS } from '../workflow-calls';
import { linkProblem, tokenRefused, useRefused } from './public-link-pages';

/** What using a link needs. */
export interface PublicLinkDeps {
  db: Knex;
  temporal: Client;
  log: Logger;
  config: { links: { keyring: LinkKeyring } };
}

/** The audit prefix of each request type that verifies its requester through `/verify` (access otherwise). */
const VERIFYING_PROCESS: Partial<Record<string, string>> = { correction: 'correction', deletion: 'deletion' };

/** The link id of a genuine, unexpired token of `purpose`. @throws HttpProblem 404/410 otherwise. */
export function linkIdOf(deps: PublicLinkDeps, token: string, purpose: 'verify' | 'export' | 'acknowledge'): string {
  const check = verifyLinkToken(deps.config.links.keyring, token, purpose, Date.now());
  if (!check.ok) throw tokenRefused(check.reason);
  return check.claims.linkId;
}

/**
 * Confirms the requester's identity with a verification link: the workflow's confirmation update, audited.
 * @throws HttpProblem 404/410 (not ours, expired, used, request closed), 503 (the workflow could not be told; the
 * link stays usable).
 */
export async function confirmIdentityByLink(
  deps: PublicLinkDeps,
  token: string,
): Promise<{ requestId: string; type: string; dueOn: string }> {
  const linkId = linkIdOf(deps, token, 'verify');
  return deps.db.transaction(async (trx) => {
    const used = await publicLinks.use(trx, linkId, 'verify');
    if (!used.ok) throw useRefused(used.reason);
    const link = used.link;
    const request = await lifecycleRequests.findById(trx, link.requestId);
    if (!request) throw linkProblem('gone');
    let confirmed: ConfirmIdentityResult;
    try {
      confirmed = await deps.temporal.connection.withDeadline(Date.now() + UPDATE_DEADLINE_MS, () =>
        deps.temporal.workflow
          .getHandle(request.workflowId)
          .executeUpdate(confirmIdentityUpdate, { args: [{ linkId }] }),
      );
    } catch (err) {
      // A closed request (ended, or no longer waiting for this link) answers 410; anything else gives the link back.
      const closed = updateProblem(err, confirmIdentityUpdate.name, {
        ended: linkProblem('closed'),
        refusal: (failure) => (failure.type === CONFIRMATION_REFUSED ? linkProblem('closed') : undefined),
      });
      if (closed?.status === 410) throw closed;
      deps.log.error('identity confirmation not delivered to the workflow', {
        requestId: request.id,
        err: (err as Error).message,
      });
      // Rolling back gives the link back: it can be used again once the workflow service answers.
      throw new HttpProblem(503, 'Try again later', 'the confirmation could not be recorded; use the link again later');
    }
    await auditEvents.appendForRequest(
      trx,
      { requestId: request.id, customerId: link.customerId, workflowId: request.workflowId },
      {
        actor: `link:${linkId}`,
        action: `${VERIFYING_PROCESS[request.type] ?? 'access'}.verification_link_used`,
        details: { contactId: link.contactId, verifiedOn: confirmed.verifiedOn, dueOn: confirmed.dueOn },
        subject: { type: 'public_link', id: linkId },
      },
    );
    return { requestId: request.id, type: request.type, dueOn: confirmed.dueOn };
  });
}

/** A download the link may make now: the link (its use counted) and the archive as delivered. */
export interface ClaimedDownload {
  link: PublicLink;
  archive: { id: string; tables: ArchiveTable[]; manifestSha256: string };
}

/**
 * Counts one use of a download link and audits it, before a byte leaves.
 * @throws HttpProblem 404/410 (not ours, expired, used up, archive gone).
 */
export async function claimExportDownload(deps: PublicLinkDeps, token: string): Promise<ClaimedDownload> {
  const linkId = linkIdOf(deps, token, 'export');
  return deps.db.transaction(async (trx) => {
    const used = await publicLinks.use(trx, linkId, 'export');
    if (!used.ok) throw useRefused(used.reason);
    const found = used.link.archiveId ? await exportArchives.findById(trx, used.link.archiveId) : undefined;
    if (!found || found.status !== 'complete' || !found.tables) throw linkProblem('gone');
    await auditEvents.appendForRequest(
      trx,
      { requestId: used.link.requestId, customerId: used.link.customerId },
      {
        actor: `link:${linkId}`,
        action: 'access.export_downloaded',
        details: { linkId, download: used.link.useCount, manifestSha256: found.manifestSha256 },
        subject: { type: 'export_archive', id: found.id },
      },
    );
    return {
      link: used.link,
      archive: { id: found.id, tables: found.tables, manifestSha256: found.manifestSha256! },
    };
  });
}
