/**
 * The export archive on disk and on the wire.
 *
 * On disk an archive is a directory `<EXPORT_DIR>/<archiveId>/`; the delivered archive inside it,
 * `<manifestSha256>/`, holds one CSV file per table and `manifest.json` (db/export-engine.ts writes it; files, not a
 * single file, so that an interrupted export resumes from the table it was writing). Each export attempt works in
 * `attempts/<n>-<token>/` of its own, so a stale attempt never writes into what another delivered. On the wire (`GET /exports/{token}`) the directory is streamed as a gzip-compressed
 * POSIX tar, built on the fly from the files: constant memory, no second copy on disk, and an open format that every
 * operating system unpacks. The manifest's SHA-256 per file lets the recipient check what arrived.
 *
 * At rest every file is encrypted (lib/export-encryption.ts: segmented AES-256-GCM, mode 0600); the tar stream
 * decrypts each file as it sends it, so the plaintext exists only on the wire (TLS) and at the recipient.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { createGzip } from 'node:zlib';
import { decryptingReadStream, isEncryptedArchiveFile, plaintextSize, type ArchiveKeyring } from './export-encryption';

/** Name of the manifest file inside an archive. */
export const MANIFEST_FILE = 'manifest.json';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const BLOCK = 512;

/** The directory of an archive; the id must be a UUID, so no id can point outside the export directory. */
export function archiveDirectory(exportDir: string, archiveId: string): string {
  if (!UUID.test(archiveId)) throw new Error('archive id must be a lower-case UUID');
  return path.join(exportDir, archiveId);
}

/** Sub-directory of an archive directory holding each export attempt's own working files (`attempts/<n>-<token>/`). */
export const ATTEMPTS_DIR = 'attempts';

const SHA256_HEX = /^[0-9a-f]{64}$/;

/**
 * The delivered archive: `<EXPORT_DIR>/<archiveId>/<manifestSha256>/`, immutable and content-addressed (the export
 * assembles it elsewhere and renames it into place; nothing is ever appended to it or rewritten). An archive delivered
 * before content addressing (its files directly in the archive directory) is served from there.
 */
export function deliveredArchiveDirectory(exportDir: string, archiveId: string, manifestSha256: string): string {
  if (!SHA256_HEX.test(manifestSha256)) throw new Error('manifest hash must be 64 lower-case hex digits');
  return path.join(archiveDirectory(exportDir, archiveId), manifestSha256);
}

/** Where the files of a delivered archive are: its content-addressed directory, or the archive directory (legacy). */
export async function servedArchiveDirectory(
  exportDir: string,
  archiveId: string,
  manifestSha256: string,
): Promise<string> {
  const addressed = deliveredArchiveDirectory(exportDir, archiveId, manifestSha256);
  return stat(path.join(addressed, MANIFEST_FILE)).then(
    () => addressed,
    () => archiveDirectory(exportDir, archiveId),
  );
}

/** Writes `value` as a NUL-terminated octal field, or in base-256 when it does not fit (GNU tar, sizes >= 8 GiB). */
function numericField(header: Buffer, offset: number, length: number, value: number): void {
  const octal = value.toString(8);
  if (octal.length < length) {
    header.write(octal.padStart(length - 1, '0'), offset, length - 1, 'ascii');
    header[offset + length - 1] = 0;
    return;
  }
  let rest = BigInt(value);
  for (let i = offset + length - 1; i > offset; i--) {
    header[i] = Number(rest & 0xffn);
    rest >>= 8n;
  }
  header[offset] = 0x80;
}

/** A ustar header for a regular file. */
function tarHeader(name: string, size: number, mtimeSeconds: number): Buffer {
  if (Buffer.byteLength(name) > 100) throw new Error(`tar entry name too long: ${name}`);
  const header = Buffer.alloc(BLOCK);
  header.write(name, 0, 100, 'utf8');
  numericField(header, 100, 8, 0o644);
  numericField(header, 108, 8, 0);
  numericField(header, 116, 8, 0);
  numericField(header, 124, 12, size);
  numericField(header, 136, 12, mtimeSeconds);
  header.fill(0x20, 148, 156); // checksum field counts as spaces while summing
  header.write('0', 156, 1, 'ascii');
  header.write('ustar\u000000', 257, 8, 'binary');
  let sum = 0;
  for (const byte of header) sum += byte;
  header.write(`${sum.toString(8).padStart(6, '0')}\u0000 `, 148, 8, 'binary');
  return header;
}

/** Size and content of one archive file: decrypted when encrypted (lib/export-encryption.ts), as is when plain. */
async function archiveFile(
  full: string,
  keyring: ArchiveKeyring,
): Promise<{ size: number; mtimeMs: number; open: () => Readable }> {
  const info = await stat(full);
  // Archives written before encryption at rest are plain files; they stay downloadable until their link expires.
  if (!(await isEncryptedArchiveFile(full)))
    return { size: info.size, mtimeMs: info.mtimeMs, open: () => createReadStream(full) };
  const size = await plaintextSize(full);
  return { size, mtimeMs: info.mtimeMs, open: () => decryptingReadStream(full, keyring, { expectedBytes: size }) };
}

async function* tarEntries(
  dir: string,
  files: readonly string[],
  prefix: string,
  keyring: ArchiveKeyring,
  expectedSizes: ReadonlyMap<string, number>,
): AsyncGenerator<Buffer> {
  for (const file of files) {
    const entry = await archiveFile(path.join(dir, file), keyring);
    // Records cut off the end of a file cannot be told from the file alone: the sizes the database recorded can.
    const expected = expectedSizes.get(file);
    if (expected !== undefined && expected !== entry.size)
      throw new Error(`${file} holds ${entry.size} bytes, not the ${expected} the export recorded`);
    yield tarHeader(`${prefix}/${file}`, entry.size, Math.floor(entry.mtimeMs / 1000));
    let written = 0;
    for await (const chunk of entry.open()) {
      written += (chunk as Buffer).length;
      yield chunk as Buffer;
    }
    if (written !== entry.size) throw new Error(`${file} changed while it was being archived`);
    const padding = (BLOCK - (entry.size % BLOCK)) % BLOCK;
    if (padding > 0) yield Buffer.alloc(padding);
  }
  yield Buffer.alloc(BLOCK * 2);
}

/**
 * Streams `files` (names relative to `dir`) as a `.tar.gz` whose entries sit under `prefix/`, decrypting each file as
 * it goes (`keyring`: the archive keys, lib/export-encryption.ts); `expectedSizes` (plaintext bytes by file name, as
 * the export recorded them) are checked before each file is sent. Errors (a file removed meanwhile, a record that does
 * not authenticate) surface as stream errors.
 */
export function tarGzStream(
  dir: string,
  files: readonly string[],
  prefix: string,
  keyring: ArchiveKeyring,
  expectedSizes: ReadonlyMap<string, number> = new Map(),
): Readable {
  const tar = Readable.from(tarEntries(dir, files, prefix, keyring, expectedSizes), { objectMode: false });
  const gzip = createGzip({ level: 6 });
  tar.on('error', (err) => gzip.destroy(err));
  return tar.pipe(gzip);
}
