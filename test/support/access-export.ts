/**
 * Helpers of the access-request and export tests: read a downloaded `.tar.gz`, compute what an archive file must
 * contain straight from the database (independently of the export code: `SELECT *` with COPY's own header), and pull
 * link tokens out of emails.
 */
import { gunzipSync } from 'node:zlib';
import type { Knex } from 'knex';
import { escapeIdentifier, escapeLiteral, type PoolClient } from 'pg';
import { to as copyTo } from 'pg-copy-streams';

/** Entries of a (gzip-compressed) tar: name -> content. */
export function readTarGz(archive: Buffer): Map<string, Buffer> {
  const tar = gunzipSync(archive);
  const files = new Map<string, Buffer>();
  let offset = 0;
  while (offset + 512 <= tar.length) {
    const header = tar.subarray(offset, offset + 512);
    if (header.every((b) => b === 0)) break;
    const name = header.subarray(0, 100).toString('utf8').replace(/\0.*$/s, '');
    const size = parseInt(header.subarray(124, 136).toString('ascii').replace(/\0.*$/s, '').trim(), 8);
    const checksum = parseInt(header.subarray(148, 156).toString('ascii').replace(/\0.*$/s, '').trim(), 8);
    let sum = 0;
    for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 0x20 : header[i]!;
    if (sum !== checksum) throw new Error(`tar header checksum mismatch for ${name}`);
    files.set(name, Buffer.from(tar.subarray(offset + 512, offset + 512 + size)));
    offset += 512 + Math.ceil(size / 512) * 512;
  }
  return files;
}

/** Runs a COPY ... TO STDOUT and returns what it wrote. */
export async function copyOut(db: Knex, sql: string): Promise<Buffer> {
  const pool = db.client as {
    acquireConnection(): Promise<PoolClient>;
    releaseConnection(c: PoolClient): Promise<void>;
  };
  const conn = await pool.acquireConnection();
  try {
    const chunks: Buffer[] = [];
    for await (const chunk of conn.query(copyTo(sql))) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  } finally {
    await pool.releaseConnection(conn);
  }
}

/** What the archive file of `table` must hold: every row of the customer in the categories, in key order, as CSV. */
export async function expectedTableCsv(
  db: Knex,
  t: { table: string; owner: string; key: string },
  customerId: string,
  categories: readonly string[],
): Promise<Buffer> {
  return copyOut(
    db,
    `COPY (SELECT * FROM ${escapeIdentifier(t.table)} WHERE ${escapeIdentifier(t.owner)} = ${escapeLiteral(customerId)}
       AND data_category IN (${categories.map((c) => escapeLiteral(c)).join(', ')}) ORDER BY ${escapeIdentifier(t.key)})
     TO STDOUT (FORMAT csv, HEADER true)`,
  );
}

/**
 * The token of a link in an email's text: `/verify/...` (the confirmation page), `/download/...` (the download page of
 * an export; the archive itself is at `/exports/<same token>`) or `/acknowledge/...`.
 */
export function linkToken(text: string, kind: 'verify' | 'download' | 'acknowledge'): string {
  const match = new RegExp(`/${kind}/([A-Za-z0-9_.-]+)`).exec(text);
  if (!match) throw new Error(`no /${kind}/ link in:\n${text}`);
  return match[1]!;
}

/** A client of the API like TestStack.http (kept as a type here so this module does not import the stack). */
type Http = (
  method: string,
  urlPath: string,
  body?: unknown,
  headers?: Record<string, string>,
  as?: null,
) => Promise<{ status: number; body: any; headers: Headers }>;

/**
 * Confirms a verification link as its page's button does (POST /verify with the token in the body), asking for the
 * JSON answer: `{ status: 'verified', requestId, dueOn }`, or a problem (404, 410, 503).
 */
export function confirmVerification(stack: { http: Http }, token: string) {
  return stack.http('POST', '/verify', { token }, { Accept: 'application/json' }, null);
}
