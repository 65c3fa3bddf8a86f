import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import type { Role } from '../../lib/roles';

/** A staff token as the API sees it after authentication (never the token itself). */
export interface StaffIdentity {
  id: string;
  name: string;
  role: Role;
}

export interface StaffTokenRecord extends StaffIdentity {
  createdAt: Date;
  /** Last successful authentication, to the minute (written at most once a minute per token). */
  lastUsedAt: Date | null;
  revokedAt: Date | null;
  /** The token is refused from this instant on (STAFF_TOKEN_TTL after creation). */
  expiresAt: Date;
}

interface StaffTokenRow {
  id: string;
  name: string;
  role: Role;
  token_hash: string;
  created_at: Date;
  last_used_at: Date | null;
  revoked_at: Date | null;
  expires_at: Date;
}

/** How long a token works when its creator names no lifetime: the default of STAFF_TOKEN_TTL (P90D). */
export const DEFAULT_TOKEN_TTL_MS = 90 * 24 * 3600_000;

/** Prefix that makes leaked tokens recognisable to secret scanners. */
const TOKEN_PREFIX = 'dlo_';

/** SHA-256 (hex) of a bearer token: what the database stores and looks up. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** Store for `staff_tokens`. */
/** How precisely `last_used_at` is kept: it is written at most once per this interval per token. */
const LAST_USE_RESOLUTION_MS = 60_000;

export const staffTokens = {
  /**
   * Creates a token that works for `ttlMs` (default {@link DEFAULT_TOKEN_TTL_MS}; pass `config.staffTokens.ttlMs`);
   * returns it in the clear exactly once.
   */
  async create(
    db: Knex,
    opts: { name: string; role: Role; ttlMs?: number },
  ): Promise<{ id: string; token: string; expiresAt: Date }> {
    const id = randomUUID();
    const token = `${TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
    const [row] = await db('staff_tokens')
      .insert({
        id,
        name: opts.name,
        role: opts.role,
        token_hash: hashToken(token),
        expires_at: db.raw(`now() + make_interval(secs => ?)`, [(opts.ttlMs ?? DEFAULT_TOKEN_TTL_MS) / 1000]),
      })
      .returning<{ expires_at: Date }[]>('expires_at');
    return { id, token, expiresAt: row!.expires_at };
  },

  /** The identity behind a bearer token, or undefined when unknown, revoked or expired. */
  async authenticate(db: Knex, token: string): Promise<StaffIdentity | undefined> {
    const row = await db<StaffTokenRow>('staff_tokens')
      .where({ token_hash: hashToken(token) })
      .whereNull('revoked_at')
      .where('expires_at', '>', db.fn.now())
      .first('id', 'name', 'role', 'last_used_at');
    if (!row) return undefined;
    // At most one write a minute per token: enough for "last used" without a statement per request (the read above
    // says whether one is due; the condition below keeps concurrent requests from writing twice).
    if (row.last_used_at && Date.now() - row.last_used_at.getTime() < LAST_USE_RESOLUTION_MS) {
      return { id: row.id, name: row.name, role: row.role };
    }
    void db('staff_tokens')
      .where({ id: row.id })
      .andWhere((q) => q.whereNull('last_used_at').orWhere('last_used_at', '<', db.raw("now() - interval '1 minute'")))
      .update({ last_used_at: db.fn.now() })
      .catch(() => undefined);
    return { id: row.id, name: row.name, role: row.role };
  },

  async list(db: Knex): Promise<StaffTokenRecord[]> {
    const rows = await db<StaffTokenRow>('staff_tokens').orderBy('created_at');
    return rows.map((r) => ({
      id: r.id,
      name: r.name,
      role: r.role,
      createdAt: r.created_at,
      lastUsedAt: r.last_used_at,
      revokedAt: r.revoked_at,
      expiresAt: r.expires_at,
    }));
  },

  /** Revokes a token; returns false when no active token has that id. */
  async revoke(db: Knex, id: string): Promise<boolean> {
    const n = await db('staff_tokens').where({ id }).whereNull('revoked_at').update({ revoked_at: db.fn.now() });
    return n > 0;
  },
};
