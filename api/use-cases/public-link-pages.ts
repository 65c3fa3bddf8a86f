/**
 * What the customer pages of the emailed links show, read without using the link: a page (GET) changes nothing, so a
 * mail scanner that fetches every link in a message confirms, acknowledges and downloads nothing. Each `describe...`
 * checks the token (signature, purpose, expiry), then the link's row (used, revoked, expired on the database clock),
 * then the request it belongs to, and throws the same problems the POST and download routes throw:
 *
 * - 404 `not_ours`: not a token we signed (or the wrong kind of link);
 * - 410 `expired`, `used`, `closed` (the request has ended), `gone` (what it pointed to was deleted).
 *
 * The `reason` goes into the problem (JSON clients) and picks the sentence of the error page (api/pages/render.ts).
 */
import type { Knex } from 'knex';
import { exportArchives, type ArchiveTable } from '../../db/repositories/export-archives';
import { lifecycleRequests, type LifecycleRequest } from '../../db/repositories/lifecycle-requests';
import { publicLinks, type LinkUseRefusal, type PublicLink } from '../../db/repositories/public-links';
import { verifyLinkToken, type LinkKeyring, type LinkPurpose, type LinkRefusal } from '../../lib/signed-links';
import { HttpProblem } from '../problem';

/** Why a link page refuses, in the words of its problem's `reason`. */
export type LinkProblemReason = 'not_ours' | 'expired' | 'used' | 'closed' | 'gone';

/** A refusal of a public link, with its reason. */
export function linkProblem(reason: LinkProblemReason): HttpProblem {
  switch (reason) {
    case 'not_ours':
      return new HttpProblem(404, 'Link not found', 'this link is not valid', { reason });
    case 'expired':
      return new HttpProblem(410, 'Link no longer valid', 'this link has expired', { reason });
    case 'used':
      return new HttpProblem(410, 'Link no longer valid', 'this link has been used already', { reason });
    case 'closed':
      return new HttpProblem(410, 'Link no longer valid', 'this request is closed', { reason });
    case 'gone':
      return new HttpProblem(410, 'Link no longer valid', 'what this link pointed to no longer exists', { reason });
  }
}

/** The problem of a token that failed its check: only an expired (genuine) one is told apart from "not a link". */
export function tokenRefused(reason: LinkRefusal): HttpProblem {
  return linkProblem(reason === 'expired' ? 'expired' : 'not_ours');
}

/** The problem of a link row that may not be used. */
export function useRefused(reason: LinkUseRefusal): HttpProblem {
  switch (reason) {
    case 'used':
      return linkProblem('used');
    case 'expired':
      return linkProblem('expired');
    case 'revoked':
    case 'erased':
      // A genuine token (its signature was checked) whose link is gone: the data it pointed to was deleted, or the
      // request closed and revoked its unused links.
      return linkProblem('gone');
    default:
      return linkProblem('not_ours');
  }
}

interface LinkPageDeps {
  db: Knex;
  config: { links: { keyring: LinkKeyring } };
}

/** Checks a token and its link without using it; returns the link and its request. */
async function inspectLink(
  deps: LinkPageDeps,
  token: string,
  purpose: LinkPurpose,
): Promise<{ link: PublicLink; request: LinkRequest }> {
  const check = verifyLinkToken(deps.config.links.keyring, token, purpose, Date.now());
  if (!check.ok) throw tokenRefused(check.reason);
  const inspected = await publicLinks.inspect(deps.db, check.claims.linkId, purpose);
  if (!inspected.ok) throw useRefused(inspected.reason);
  const request = await lifecycleRequests.findById(deps.db, inspected.link.requestId);
  if (!request) throw linkProblem('gone');
  return { link: inspected.link, request: await withCompany(deps.db, request) };
}

type LinkRequest = LifecycleRequest & { companyName: string };

async function withCompany(db: Knex, request: LifecycleRequest): Promise<LinkRequest> {
  const customer = await db('customers')
    .where({ id: request.customerId })
    .first<{ company_name: string }>('company_name');
  if (!customer) throw linkProblem('gone');
  return { ...request, companyName: customer.company_name };
}

async function contactEmail(db: Knex, contactId: string | null): Promise<string | undefined> {
  if (!contactId) return undefined;
  const row = await db('contacts').where({ id: contactId }).first<{ email: string } | undefined>('email');
  return row?.email;
}

/** What the verification page says is being confirmed. */
export interface VerificationLinkView {
  requestId: string;
  type: LifecycleRequest['type'];
  companyName: string;
  /** The registered address the link was sent to (the page masks it). */
  contactEmail: string | undefined;
  receivedAt: Date;
  /** Null while the clock waits for this confirmation (UK GDPR). */
  dueOn: string | null;
  linkExpiresAt: Date;
}

/** The verification link's request, if it can still be confirmed (GET `/verify/{token}`). */
export async function describeVerificationLink(deps: LinkPageDeps, token: string): Promise<VerificationLinkView> {
  const { link, request } = await inspectLink(deps, token, 'verify');
  if (request.status !== 'running') throw linkProblem('closed');
  return {
    requestId: request.id,
    type: request.type,
    companyName: request.companyName,
    contactEmail: await contactEmail(deps.db, link.contactId),
    receivedAt: request.receivedAt,
    dueOn: request.dueOn,
    linkExpiresAt: link.expiresAt,
  };
}

/** What the download page says about the archive behind an export link. */
export interface ExportLinkView {
  requestId: string;
  /** `access` (an access request's export) or `termination` (the data returned on termination). */
  type: LifecycleRequest['type'];
  companyName: string;
  archiveId: string;
  scope: string;
  tables: ArchiveTable[];
  rows: number;
  /** Bytes of the files in the archive, before compression. */
  bytes: number;
  manifestSha256: string;
  generatedAt: Date | null;
  linkExpiresAt: Date;
  downloads: number;
}

/** The archive an export link points to, if it can still be downloaded (GET `/download/{token}`). */
export async function describeExportLink(deps: LinkPageDeps, token: string): Promise<ExportLinkView> {
  const { link, request } = await inspectLink(deps, token, 'export');
  const archive = link.archiveId ? await exportArchives.findById(deps.db, link.archiveId) : undefined;
  if (!archive || archive.status !== 'complete' || !archive.tables || !archive.manifestSha256)
    throw linkProblem('gone');
  return {
    requestId: request.id,
    type: request.type,
    companyName: request.companyName,
    archiveId: archive.id,
    scope: archive.scope,
    tables: archive.tables,
    rows: archive.tables.reduce((n, t) => n + t.rows, 0),
    bytes: archive.tables.reduce((n, t) => n + t.bytes, 0),
    manifestSha256: archive.manifestSha256,
    generatedAt: archive.completedAt,
    linkExpiresAt: link.expiresAt,
    downloads: link.useCount,
  };
}

/** What the acknowledgement page says is being acknowledged. */
export interface AcknowledgeLinkView {
  requestId: string;
  companyName: string;
  contactEmail: string | undefined;
  /** The returned archive, when the link names one. */
  archive?: { rows: number; files: number; manifestSha256: string | null };
  /** End of the return's grace period: the link stops working and the deletion goes on. */
  linkExpiresAt: Date;
}

/** The termination return an acknowledgement link belongs to, if it can still be acknowledged. */
export async function describeAcknowledgeLink(deps: LinkPageDeps, token: string): Promise<AcknowledgeLinkView> {
  const { link, request } = await inspectLink(deps, token, 'acknowledge');
  if (request.status !== 'running') throw linkProblem('closed');
  const archive = link.archiveId ? await exportArchives.findById(deps.db, link.archiveId) : undefined;
  return {
    requestId: request.id,
    companyName: request.companyName,
    contactEmail: await contactEmail(deps.db, link.contactId),
    ...(archive?.tables
      ? {
          archive: {
            rows: archive.tables.reduce((n, t) => n + t.rows, 0),
            files: archive.tables.length,
            manifestSha256: archive.manifestSha256,
          },
        }
      : {}),
    linkExpiresAt: link.expiresAt,
  };
}
