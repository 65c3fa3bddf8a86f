/**
 * The public links the service emails out, served without a staff token (api/route-permissions.ts lists them as
 * public): each carries its own signed, expiring token (lib/signed-links.ts), and `public_links` decides whether it may
 * still be used.
 *
 * - `GET /verify/{token}`: the one-time identity confirmation of an access request. Single use: the use is claimed in a
 *   transaction that also delivers the confirmation to the workflow, so a second use (or two at once) is refused and a
 *   confirmation the workflow did not take leaves the link unused.
 * - `GET /exports/{token}`: the archive as a `.tar.gz`, as often as needed until the link expires; every download is
 *   audited. Once the archive is deleted the link answers 410.
 *
 * Refusals say as little as possible: a token that is not ours is 404; a genuine one that has expired, been used or
 * whose request has closed is 410.
 */
import { pipeline } from 'node:stream/promises';
import type { OpenAPIRegistry, ResponseConfig } from '@asteasolutions/zod-to-openapi';
import { Router } from 'express';
import { z } from 'zod';
import { auditEvents } from '../../db/repositories/audit-events';
import { exportArchives } from '../../db/repositories/export-archives';
import { lifecycleRequests } from '../../db/repositories/lifecycle-requests';
import { publicLinks, type LinkUseRefusal } from '../../db/repositories/public-links';
import { CONFIRMATION_REFUSED, type ConfirmIdentityResult } from '../../lib/pure/access-request-messages';
import { confirmIdentityUpdate } from '../../workflows/deadline-clock';
import { archiveDirectory, MANIFEST_FILE, tarGzStream } from '../../lib/export-archive';
import { PublicLinkParam } from '../../lib/schemas/access-request';
import { verifyLinkToken, type LinkRefusal } from '../../lib/signed-links';
import type { AppDeps } from '../deps';
import { HttpProblem, parseOr400 } from '../problem';
import { updateProblem, UPDATE_DEADLINE_MS } from '../workflow-calls';

/** The audit prefix of each request type that verifies its requester through `/verify`. */
const VERIFYING_PROCESS: Partial<Record<string, string>> = { correction: 'correction', deletion: 'deletion' };

const notFound = () => new HttpProblem(404, 'Link not found', 'this link is not valid');
const gone = (detail: string) => new HttpProblem(410, 'Link no longer valid', detail);

function tokenRefused(reason: LinkRefusal): HttpProblem {
  return reason === 'expired' ? gone('this link has expired') : notFound();
}

function useRefused(reason: LinkUseRefusal): HttpProblem {
  switch (reason) {
    case 'used':
      return gone('this link has been used already');
    case 'expired':
      return gone('this link has expired');
    case 'revoked':
    case 'erased':
      // A genuine token (its signature was checked) whose link is gone: the data it pointed to was deleted.
      return gone('what this link pointed to no longer exists');
    default:
      return notFound();
  }
}

export function publicLinksRouter(deps: AppDeps): Router {
  const router = Router();
  const keyring = deps.config.links.keyring;

  router.get('/verify/:token', async (req, res) => {
    const { token } = parseOr400(PublicLinkParam, req.params, 'path');
    const check = verifyLinkToken(keyring, token, 'verify', Date.now());
    if (!check.ok) throw tokenRefused(check.reason);
    const { linkId } = check.claims;

    const answer = await deps.db.transaction(async (trx) => {
      const used = await publicLinks.use(trx, linkId, 'verify');
      if (!used.ok) throw useRefused(used.reason);
      const link = used.link;
      const request = await lifecycleRequests.findById(trx, link.requestId);
      if (!request) throw notFound();
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
          ended: gone('this request is closed'),
          refusal: (failure) => (failure.type === CONFIRMATION_REFUSED ? gone('this request is closed') : undefined),
        });
        if (closed?.status === 410) throw closed;
        deps.log.error('identity confirmation not delivered to the workflow', {
          requestId: request.id,
          err: (err as Error).message,
        });
        // Rolling back gives the link back: it can be used again once the workflow service answers.
        throw new HttpProblem(
          503,
          'Try again later',
          'the confirmation could not be recorded; use the link again later',
        );
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
    const promise =
      answer.type === 'correction' || answer.type === 'deletion'
        ? `We will answer your ${answer.type} request by ${answer.dueOn} at the latest.`
        : `We will send the data by ${answer.dueOn} at the latest.`;
    res.json({
      status: 'verified',
      requestId: answer.requestId,
      dueOn: answer.dueOn,
      message: `Thank you: your identity is confirmed. ${promise}`,
    });
  });

  router.get('/exports/:token', async (req, res) => {
    const { token } = parseOr400(PublicLinkParam, req.params, 'path');
    const check = verifyLinkToken(keyring, token, 'export', Date.now());
    if (!check.ok) throw tokenRefused(check.reason);
    const { linkId } = check.claims;
    // The use is counted and audited in one transaction, before a byte leaves.
    const { link, archive } = await deps.db.transaction(async (trx) => {
      const used = await publicLinks.use(trx, linkId, 'export');
      if (!used.ok) throw useRefused(used.reason);
      const found = used.link.archiveId ? await exportArchives.findById(trx, used.link.archiveId) : undefined;
      if (!found || found.status !== 'complete' || !found.tables)
        throw gone('what this link pointed to no longer exists');
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
      return { link: used.link, archive: { id: found.id, tables: found.tables } };
    });
    const name = `access-export-${link.requestId}`;
    const stream = tarGzStream(
      archiveDirectory(deps.config.exports.dir, archive.id),
      [...archive.tables.map((t) => t.file), MANIFEST_FILE],
      name,
      // Encrypted at rest (lib/export-encryption.ts): decrypted here as it streams.
      deps.config.exports.encryption,
      new Map(archive.tables.map((t) => [t.file, t.bytes])),
    );
    res.status(200).type('application/gzip').attachment(`${name}.tar.gz`).set('Cache-Control', 'no-store');
    try {
      await pipeline(stream, res);
    } catch (err) {
      // Headers are out: the client sees a truncated download, which the manifest's hashes expose.
      deps.log.warn('export download interrupted', { archiveId: archive.id, err: (err as Error).message });
      res.destroy();
    }
  });

  return router;
}

/** Describes the public links in the OpenAPI document (api/openapi.ts); they need no staff token. */
export function registerPublicLinksOpenApi(
  registry: OpenAPIRegistry,
  problem: (description: string) => ResponseConfig,
): void {
  registry.registerPath({
    method: 'get',
    path: '/verify/{token}',
    summary: 'Identity confirmation link of an access request (single use, expiring; sent to the registered contact)',
    request: { params: PublicLinkParam },
    responses: {
      200: { description: 'Identity confirmed; the answer names the due date' },
      404: problem('Not a link of this service'),
      410: problem('Expired, used already, or the request is closed'),
      503: problem('Could not be recorded; the link stays usable'),
    },
  });
  registry.registerPath({
    method: 'get',
    path: '/exports/{token}',
    summary: 'Download an access-request archive (.tar.gz: one CSV per table and manifest.json); every use audited',
    request: { params: PublicLinkParam },
    responses: {
      200: {
        description: 'The archive',
        content: { 'application/gzip': { schema: z.string().meta({ format: 'binary' }) } },
      },
      404: problem('Not a link of this service'),
      410: problem('Expired, or the archive has been deleted'),
    },
  });
}
