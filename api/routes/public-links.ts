/**
 * The public links the service emails out, served without a staff token (api/route-permissions.ts lists them as
 * public): each carries its own signed, expiring token (lib/signed-links.ts), and `public_links` decides whether it may
 * still be used. A person opening a link gets a page (api/pages/), a client asking for JSON gets JSON.
 *
 * - `GET /verify/{token}`: the page saying what is being confirmed (request type, company, the registered address
 *   masked) with a confirm button. It changes nothing: mail scanners that fetch every link in a message confirm
 *   nothing.
 * - `POST /verify` with `token` in the body (the page's form, or JSON): the one-time identity confirmation. Single
 *   use: the use is claimed in a transaction that also delivers the confirmation to the workflow, so a second use (or
 *   two at once) is refused and a confirmation the workflow did not take leaves the link unused.
 * - `GET /download/{token}`: the download page of an export: what the archive holds, its size and manifest hash, how
 *   long the link works. Viewing it is not a download.
 * - `GET /exports/{token}`: the archive as a `.tar.gz`, as often as needed until the link expires; every download is
 *   audited. Once the archive is deleted the link answers 410.
 *
 * Refusals say as little as possible: a token that is not ours is 404; a genuine one that has expired, been used or
 * whose request has closed is 410 (api/use-cases/public-link-pages.ts).
 */
import { pipeline } from 'node:stream/promises';
import type { OpenAPIRegistry, ResponseConfig } from '@asteasolutions/zod-to-openapi';
import express, { Router } from 'express';
import { z } from 'zod';
import { maskEmail } from '../../lib/page-layout';
import { MANIFEST_FILE, servedArchiveDirectory, tarGzStream } from '../../lib/export-archive';
import { PublicLinkParam } from '../../lib/schemas/access-request';
import type { AppDeps } from '../deps';
import { downloadPage } from '../pages/download';
import { pageErrorHandler, sendPage, wantsJson } from '../pages/render';
import { verificationPage, verifiedPage } from '../pages/verification';
import { parseOr400 } from '../problem';
import { describeExportLink, describeVerificationLink } from '../use-cases/public-link-pages';
import { claimExportDownload, confirmIdentityByLink } from '../use-cases/use-public-link';

/** The body of the confirm and acknowledge forms (`token=...`), or the same as JSON; a token is a few hundred bytes. */
export const linkFormBody = express.urlencoded({ extended: false, limit: '4kb', parameterLimit: 5 });

export function publicLinksRouter(deps: AppDeps): Router {
  const router = Router();

  router.get('/verify/:token', async (req, res) => {
    const { token } = parseOr400(PublicLinkParam, req.params, 'path');
    const view = await describeVerificationLink(deps, token);
    if (wantsJson(req)) {
      res.set('Cache-Control', 'no-store').json({
        status: 'awaiting_confirmation',
        requestId: view.requestId,
        type: view.type,
        companyName: view.companyName,
        registeredAddress: view.contactEmail ? maskEmail(view.contactEmail) : null,
        dueOn: view.dueOn,
        linkExpiresAt: view.linkExpiresAt.toISOString(),
        confirm: { method: 'POST', href: '/verify', body: { token } },
      });
      return;
    }
    sendPage(res, deps.config.brand, 200, verificationPage(deps.config.brand, view, token));
  });

  router.post('/verify', linkFormBody, async (req, res) => {
    const { token } = parseOr400(PublicLinkParam, req.body, 'body');
    const answer = await confirmIdentityByLink(deps, token);
    if (!wantsJson(req)) {
      sendPage(res, deps.config.brand, 200, verifiedPage(deps.config.brand, answer));
      return;
    }
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

  router.get('/download/:token', async (req, res) => {
    const { token } = parseOr400(PublicLinkParam, req.params, 'path');
    const view = await describeExportLink(deps, token);
    if (wantsJson(req)) {
      res.set('Cache-Control', 'no-store').json({
        requestId: view.requestId,
        scope: view.scope,
        files: view.tables.map((t) => ({ file: t.file, categories: t.categories, rows: t.rows, bytes: t.bytes })),
        rows: view.rows,
        bytes: view.bytes,
        manifestSha256: view.manifestSha256,
        linkExpiresAt: view.linkExpiresAt.toISOString(),
        downloads: view.downloads,
        download: `/exports/${token}`,
      });
      return;
    }
    sendPage(res, deps.config.brand, 200, downloadPage(deps.config.brand, view, token));
  });

  router.get('/exports/:token', async (req, res) => {
    const { token } = parseOr400(PublicLinkParam, req.params, 'path');
    const { link, archive } = await claimExportDownload(deps, token);
    const name = `access-export-${link.requestId}`;
    // The content-addressed directory of the manifest the database recorded: exactly what was delivered.
    const stream = tarGzStream(
      await servedArchiveDirectory(deps.config.exports.dir, archive.id, archive.manifestSha256),
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

  // A person who opens a link gets a page for a refusal too (used, expired, not ours), not problem+json.
  router.use(pageErrorHandler({ brand: deps.config.brand, log: deps.log }));
  return router;
}

/** Describes the public links in the OpenAPI document (api/openapi.ts); they need no staff token. */
export function registerPublicLinksOpenApi(
  registry: OpenAPIRegistry,
  problem: (description: string) => ResponseConfig,
): void {
  const html = { 'text/html': { schema: z.string() } };
  registry.registerPath({
    method: 'get',
    path: '/verify/{token}',
    summary:
      'Identity confirmation page of a request (sent to the registered contact): what is being confirmed and a ' +
      'confirm button. Changes nothing; JSON with Accept: application/json',
    request: { params: PublicLinkParam },
    responses: {
      200: { description: 'The page (or its content as JSON)', content: html },
      404: problem('Not a link of this service (an HTML page for browsers)'),
      410: problem('Expired, used already, or the request is closed (an HTML page for browsers)'),
    },
  });
  registry.registerPath({
    method: 'post',
    path: '/verify',
    summary: 'Confirm the identity with the link token (single use, expiring): the form of the page, or JSON',
    request: {
      body: {
        content: {
          'application/x-www-form-urlencoded': { schema: PublicLinkParam },
          'application/json': { schema: PublicLinkParam },
        },
      },
    },
    responses: {
      200: { description: 'Identity confirmed; the answer names the due date (a page, or JSON)', content: html },
      400: problem('No token in the body'),
      404: problem('Not a link of this service'),
      410: problem('Expired, used already, or the request is closed'),
      503: problem('Could not be recorded; the link stays usable'),
    },
  });
  registry.registerPath({
    method: 'get',
    path: '/download/{token}',
    summary:
      'Download page of an export: files, categories and rows from the manifest, size, manifest SHA-256, how long ' +
      'the link works; a button to /exports/{token}. Not a download; JSON with Accept: application/json',
    request: { params: PublicLinkParam },
    responses: {
      200: { description: 'The page', content: html },
      404: problem('Not a link of this service'),
      410: problem('Expired, or the archive has been deleted'),
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
