/**
 * Store for `public_links`: the state behind the signed tokens of lib/signed-links.ts. The token proves who minted a
 * link and until when it is valid; this table decides whether it may still be used (single use, revocation) and counts
 * its uses.
 */
import type { Knex } from 'knex';
import type { LinkPurpose } from '../../lib/signed-links';

type Db = Knex | Knex.Transaction;

/** A link as the rest of the code sees it. */
export interface PublicLink {
  id: string;
  purpose: LinkPurpose;
  requestId: string;
  customerId: string;
  contactId: string | null;
  archiveId: string | null;
  expiresAt: Date;
  maxUses: number | null;
  useCount: number;
  firstUsedAt: Date | null;
  revokedAt: Date | null;
}

interface PublicLinkRow {
  id: string;
  purpose: LinkPurpose;
  request_id: string;
  customer_id: string;
  contact_id: string | null;
  archive_id: string | null;
  expires_at: Date;
  max_uses: number | null;
  use_count: number;
  first_used_at: Date | null;
  last_used_at: Date | null;
  revoked_at: Date | null;
}

function toLink(row: PublicLinkRow): PublicLink {
  return {
    id: row.id,
    purpose: row.purpose,
    requestId: row.request_id,
    customerId: row.customer_id,
    contactId: row.contact_id,
    archiveId: row.archive_id,
    expiresAt: row.expires_at,
    maxUses: row.max_uses,
    useCount: row.use_count,
    firstUsedAt: row.first_used_at,
    revokedAt: row.revoked_at,
  };
}

/**
 * Why a link could not be used. `erased`: no such row, although the caller checked that we signed the token: the link
 * existed and was deleted with what it pointed to (an erasure removes links with the data).
 */
export type LinkUseRefusal = 'unknown' | 'erased' | 'used' | 'expired' | 'revoked';

export const publicLinks = {
  /** Records a link; a retried activity that records the same link id again changes nothing. */
  async insertIfAbsent(
    db: Db,
    l: Pick<
      PublicLink,
      'id' | 'purpose' | 'requestId' | 'customerId' | 'contactId' | 'archiveId' | 'expiresAt' | 'maxUses'
    >,
  ): Promise<void> {
    await db('public_links')
      .insert({
        id: l.id,
        purpose: l.purpose,
        request_id: l.requestId,
        customer_id: l.customerId,
        contact_id: l.contactId,
        archive_id: l.archiveId,
        expires_at: l.expiresAt,
        max_uses: l.maxUses,
      })
      .onConflict('id')
      .ignore();
  },

  async findById(db: Db, id: string): Promise<PublicLink | undefined> {
    const row = await db<PublicLinkRow>('public_links').where({ id }).first();
    return row && toLink(row);
  },

  /**
   * Counts one use of a link, atomically: only while it is unexpired (database clock), unrevoked and below its use
   * limit. Inside a transaction the row stays locked until commit, so a concurrent second use of a single-use link
   * waits and is then refused.
   */
  async use(
    db: Db,
    id: string,
    purpose: LinkPurpose,
  ): Promise<{ ok: true; link: PublicLink } | { ok: false; reason: LinkUseRefusal }> {
    const [row] = await db<PublicLinkRow>('public_links')
      .where({ id, purpose })
      .whereNull('revoked_at')
      .where('expires_at', '>', db.fn.now())
      .where((q) => void q.whereNull('max_uses').orWhere('use_count', '<', db.ref('max_uses')))
      .update({
        use_count: db.raw('use_count + 1'),
        first_used_at: db.raw('coalesce(first_used_at, now())'),
        last_used_at: db.fn.now(),
      })
      .returning('*');
    if (row) return { ok: true, link: toLink(row) };
    const link = await publicLinks.findById(db, id);
    if (!link) return { ok: false, reason: 'erased' };
    if (link.purpose !== purpose) return { ok: false, reason: 'unknown' };
    if (link.revokedAt) return { ok: false, reason: 'revoked' };
    if (link.maxUses !== null && link.useCount >= link.maxUses) return { ok: false, reason: 'used' };
    return { ok: false, reason: 'expired' };
  },

  /**
   * Whether a link could be used now, without using it: what a page shows before its button is pressed (a GET must
   * change nothing). Same refusals as {@link publicLinks.use}, on the database clock.
   */
  async inspect(
    db: Db,
    id: string,
    purpose: LinkPurpose,
  ): Promise<{ ok: true; link: PublicLink } | { ok: false; reason: LinkUseRefusal }> {
    const row = await db('public_links')
      .where({ id })
      .first<(PublicLinkRow & { expired: boolean }) | undefined>('*', db.raw('expires_at <= now() as expired'));
    if (!row) return { ok: false, reason: 'erased' };
    const link = toLink(row);
    if (link.purpose !== purpose) return { ok: false, reason: 'unknown' };
    if (link.revokedAt) return { ok: false, reason: 'revoked' };
    if (link.maxUses !== null && link.useCount >= link.maxUses) return { ok: false, reason: 'used' };
    if (row.expired) return { ok: false, reason: 'expired' };
    return { ok: true, link };
  },

  /** Revokes every link of an archive (it has been deleted). */
  async revokeForArchive(db: Db, archiveId: string): Promise<number> {
    return db('public_links')
      .where({ archive_id: archiveId })
      .whereNull('revoked_at')
      .update({ revoked_at: db.fn.now() });
  },

  /** Revokes the unused links of a request with a purpose (e.g. the verification link of a closed request). */
  async revokeUnused(db: Db, requestId: string, purpose: LinkPurpose): Promise<number> {
    return db('public_links')
      .where({ request_id: requestId, purpose, use_count: 0 })
      .whereNull('revoked_at')
      .update({ revoked_at: db.fn.now() });
  },
};
