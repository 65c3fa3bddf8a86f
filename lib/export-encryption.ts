/**
 * Export archive files encrypted at rest: streamed, segmented AES-256-GCM, so that a file is written by appending and
 * read (the download) by decrypting as it streams, in constant memory, whatever its size.
 *
 * Format of one file (all integers big-endian):
 *
 * ```
 * header  "DLOXENC1" | key id length (1 byte) | key id (ASCII) | salt (32 random bytes)
 * record  plaintext length L (4 bytes) | nonce (12 random bytes) | ciphertext (L bytes) | GCM tag (16 bytes)
 * record  ...
 * ```
 *
 * Each file has its own key, HKDF-SHA256(archive key named in the header, salt), so random nonces never meet across
 * files. Each record is authenticated with the header, its index and its length as associated data: a record cannot
 * be altered, moved, reordered or spliced in from another file without the read failing. Dropping whole records off
 * the end cannot be told from the file alone; readers that know the size (the download: the sizes the database
 * recorded) pass `expectedBytes`, and the manifest's SHA-256 per file lets the recipient check what arrived.
 *
 * Appending continues a file where its last complete record ends (an incomplete record left by a crash is cut off
 * first), and a file can be cut back to a plaintext size that ends a record: what a resumable export needs
 * (activities/export.ts). Files are created with mode 0600.
 *
 * Keys: `EXPORT_ENCRYPTION_KEYS` (`keyId:base64key,...`, the active one `EXPORT_ENCRYPTION_ACTIVE_KEY_ID`), required in
 * production; elsewhere keys derived from the payload keys (lib/config.ts). Files name their key, so rotation keeps
 * older archives readable while their key stays listed.
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { open, type FileHandle } from 'node:fs/promises';
import { Readable, Writable } from 'node:stream';

/** Keys that encrypt archive files: the active one encrypts new files, any listed one decrypts. */
export interface ArchiveKeyring {
  activeKeyId: string;
  keys: ReadonlyMap<string, Buffer>;
}

/** First bytes of every encrypted archive file. */
export const ENCRYPTED_ARCHIVE_MAGIC = Buffer.from('DLOXENC1', 'ascii');
const SALT_BYTES = 32;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const LENGTH_BYTES = 4;
/** Bytes a record adds to its plaintext. */
export const RECORD_OVERHEAD = LENGTH_BYTES + NONCE_BYTES + TAG_BYTES;
/** Largest plaintext of one record; a length field above it is corruption, not an allocation to attempt. */
const MAX_RECORD_BYTES = 16 * 1024 * 1024;
/** Least plaintext per record when appending (see {@link encryptingAppender}). */
const WRITE_BLOCK_BYTES = 1024 * 1024;
const HKDF_INFO = 'data-lifecycle export-archive/v1';

/** A file that is not an intact encrypted archive file (or whose key is not in the keyring). */
export class ArchiveDecryptionError extends Error {
  override name = 'ArchiveDecryptionError';
}

/** Derives one archive key per payload key (HKDF-SHA256), keeping its id: the development default. */
export function deriveArchiveKeyring(payloadKeys: ArchiveKeyring): ArchiveKeyring {
  const keys = new Map<string, Buffer>();
  for (const [id, key] of payloadKeys.keys) {
    keys.set(id, Buffer.from(hkdfSync('sha256', key, 'data-lifecycle', 'export-archive-keys/v1', 32)));
  }
  return { activeKeyId: payloadKeys.activeKeyId, keys };
}

/** One file's header and the key derived for it. */
interface FileCipher {
  header: Buffer;
  key: Buffer;
}

function newFileCipher(keyring: ArchiveKeyring): FileCipher {
  const keyId = Buffer.from(keyring.activeKeyId, 'ascii');
  if (keyId.length === 0 || keyId.length > 255) throw new Error('archive key id must be 1-255 ASCII characters');
  const master = keyring.keys.get(keyring.activeKeyId);
  if (!master) throw new Error(`active archive key "${keyring.activeKeyId}" is not in the keyring`);
  const salt = randomBytes(SALT_BYTES);
  const header = Buffer.concat([ENCRYPTED_ARCHIVE_MAGIC, Buffer.from([keyId.length]), keyId, salt]);
  return { header, key: Buffer.from(hkdfSync('sha256', master, salt, HKDF_INFO, 32)) };
}

/** Reads the header of an open file; undefined when the file does not start with {@link ENCRYPTED_ARCHIVE_MAGIC}. */
async function readFileCipher(
  handle: FileHandle,
  keyring: ArchiveKeyring | undefined,
): Promise<FileCipher | undefined> {
  const start = Buffer.alloc(ENCRYPTED_ARCHIVE_MAGIC.length + 1);
  const { bytesRead } = await handle.read(start, 0, start.length, 0);
  if (bytesRead < start.length || !start.subarray(0, ENCRYPTED_ARCHIVE_MAGIC.length).equals(ENCRYPTED_ARCHIVE_MAGIC))
    return undefined;
  const idLength = start[ENCRYPTED_ARCHIVE_MAGIC.length]!;
  const rest = Buffer.alloc(idLength + SALT_BYTES);
  const more = await handle.read(rest, 0, rest.length, start.length);
  if (more.bytesRead < rest.length) throw new ArchiveDecryptionError('archive file header is incomplete');
  const header = Buffer.concat([start, rest]);
  if (!keyring) return { header, key: Buffer.alloc(0) };
  const keyId = rest.subarray(0, idLength).toString('ascii');
  const master = keyring.keys.get(keyId);
  if (!master)
    throw new ArchiveDecryptionError(`archive file is encrypted with key "${keyId}", which is not configured`);
  const salt = rest.subarray(idLength);
  return { header, key: Buffer.from(hkdfSync('sha256', master, salt, HKDF_INFO, 32)) };
}

function associatedData(header: Buffer, index: number, length: number): Buffer {
  const tail = Buffer.alloc(12);
  tail.writeBigUInt64BE(BigInt(index), 0);
  tail.writeUInt32BE(length, 8);
  return Buffer.concat([header, tail]);
}

/** Encrypts `pieces` (together `length` bytes) as record number `index`. */
function sealRecord(file: FileCipher, index: number, pieces: readonly Buffer[], length: number): Buffer {
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv('aes-256-gcm', file.key, nonce);
  cipher.setAAD(associatedData(file.header, index, length));
  const prefix = Buffer.alloc(LENGTH_BYTES);
  prefix.writeUInt32BE(length, 0);
  const body = pieces.map((p) => cipher.update(p));
  body.push(cipher.final());
  return Buffer.concat([prefix, nonce, ...body, cipher.getAuthTag()]);
}

/** Splits pieces into groups of at most MAX_RECORD_BYTES (a record's limit). */
function* recordsOf(pieces: readonly Buffer[]): Generator<{ pieces: Buffer[]; length: number }> {
  let group: Buffer[] = [];
  let length = 0;
  for (let piece of pieces) {
    while (length + piece.length > MAX_RECORD_BYTES) {
      const room = MAX_RECORD_BYTES - length;
      group.push(piece.subarray(0, room));
      yield { pieces: group, length: MAX_RECORD_BYTES };
      group = [];
      length = 0;
      piece = piece.subarray(room);
    }
    if (piece.length > 0) {
      group.push(piece);
      length += piece.length;
    }
  }
  if (length > 0) yield { pieces: group, length };
}

/** Where a file's records are: each complete record's ciphertext end and plaintext total, in order. */
interface RecordMap {
  cipher?: FileCipher;
  headerBytes: number;
  /** After each complete record: [file offset of its end, plaintext bytes up to and including it]. */
  ends: [number, number][];
  fileSize: number;
}

/** Walks the record lengths of an open file (reads 4 bytes per record, decrypts nothing). */
async function mapRecords(handle: FileHandle, keyring: ArchiveKeyring | undefined): Promise<RecordMap | undefined> {
  const cipher = await readFileCipher(handle, keyring);
  if (!cipher) return undefined;
  const fileSize = (await handle.stat()).size;
  const ends: [number, number][] = [];
  let offset = cipher.header.length;
  let plain = 0;
  const length = Buffer.alloc(LENGTH_BYTES);
  while (offset + RECORD_OVERHEAD <= fileSize) {
    await handle.read(length, 0, LENGTH_BYTES, offset);
    const n = length.readUInt32BE(0);
    if (n > MAX_RECORD_BYTES || offset + RECORD_OVERHEAD + n > fileSize) break;
    offset += RECORD_OVERHEAD + n;
    plain += n;
    ends.push([offset, plain]);
  }
  return { cipher, headerBytes: cipher.header.length, ends, fileSize };
}

/**
 * Creates (or replaces; `flag: 'wx'` refuses an existing file) `file` holding `data` encrypted with the active key,
 * mode 0600. What `writeFile` is for a plain file.
 */
export async function writeEncryptedFile(
  file: string,
  data: string | Buffer,
  keyring: ArchiveKeyring,
  opts: { flag?: 'w' | 'wx' } = {},
): Promise<void> {
  const cipher = newFileCipher(keyring);
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  const records = [...recordsOf([bytes])].map((r, i) => sealRecord(cipher, i, r.pieces, r.length));
  const handle = await open(file, opts.flag ?? 'w', 0o600);
  try {
    // Replacing an existing file keeps its mode otherwise.
    await handle.chmod(0o600);
    await handle.writeFile(Buffer.concat([cipher.header, ...records]));
  } finally {
    await handle.close();
  }
}

/**
 * The plaintext size of an encrypted file (its complete records), or -1 when the file does not exist or is not an
 * encrypted archive file (a plain file from before encryption: a resumed export then starts that table again).
 */
export async function plaintextSize(file: string): Promise<number> {
  let handle: FileHandle;
  try {
    handle = await open(file, 'r');
  } catch {
    return -1;
  }
  try {
    const map = await mapRecords(handle, undefined);
    return map ? (map.ends.at(-1)?.[1] ?? 0) : -1;
  } finally {
    await handle.close();
  }
}

/**
 * Cuts an encrypted file back to its first `plaintextBytes` (what `truncate` is for a plain file). The size must end a
 * record, as every checkpointed size does (each batch ends with a record).
 */
export async function truncateEncryptedFile(file: string, plaintextBytes: number): Promise<void> {
  const handle = await open(file, 'r+');
  try {
    const map = await mapRecords(handle, undefined);
    if (!map) throw new ArchiveDecryptionError(`${file} is not an encrypted archive file`);
    const end = plaintextBytes === 0 ? map.headerBytes : map.ends.find(([, plain]) => plain === plaintextBytes)?.[0];
    if (end === undefined) throw new ArchiveDecryptionError(`${plaintextBytes} bytes do not end a record of ${file}`);
    await handle.truncate(end);
  } finally {
    await handle.close();
  }
}

/**
 * A stream that appends what it is given to the encrypted `file` (created by {@link writeEncryptedFile}), one record
 * per write of at least 1 MiB: COPY output arrives one socket read at a time (~9 KB), and a record (and a syscall) per
 * piece would cost more CPU than parsing the COPY itself (measured: 1.2 s of CPU per 185 MB in 9 KB writes against
 * 0.2 s in 1 MiB writes). Whatever is held is written as a last, shorter record when the stream ends, so a batch's
 * bytes always end a record. An incomplete record at the end of the file (a crash mid-write) is cut off first.
 */
export function encryptingAppender(file: string, keyring: ArchiveKeyring): Writable {
  let handle: FileHandle | undefined;
  let cipher: FileCipher;
  let index = 0;
  let position = 0;
  let held: Buffer[] = [];
  let heldBytes = 0;
  const writeHeld = async (): Promise<void> => {
    const pieces = held;
    held = [];
    heldBytes = 0;
    for (const record of recordsOf(pieces)) {
      const sealed = sealRecord(cipher, index, record.pieces, record.length);
      const { bytesWritten } = await handle!.write(sealed, 0, sealed.length, position);
      // A short write (a full disk) must fail the range, not leave a file shorter than its checkpoint says.
      if (bytesWritten !== sealed.length)
        throw new Error(`short write to an archive file: ${bytesWritten} of ${sealed.length}`);
      index++;
      position += sealed.length;
    }
  };
  return new Writable({
    construct(done) {
      (async () => {
        handle = await open(file, 'r+');
        const map = await mapRecords(handle, keyring);
        if (!map) throw new ArchiveDecryptionError(`${file} is not an encrypted archive file`);
        cipher = map.cipher!;
        index = map.ends.length;
        position = map.ends.at(-1)?.[0] ?? map.headerBytes;
        if (map.fileSize > position) await handle.truncate(position);
      })().then(() => done(), done);
    },
    write(chunk: Buffer, _encoding, done) {
      held.push(chunk);
      heldBytes += chunk.length;
      if (heldBytes < WRITE_BLOCK_BYTES) return done();
      writeHeld().then(() => done(), done);
    },
    final(done) {
      writeHeld().then(() => done(), done);
    },
    destroy(err, done) {
      const closing = handle?.close() ?? Promise.resolve();
      handle = undefined;
      closing.then(
        () => done(err),
        (closeErr: Error) => done(err ?? closeErr),
      );
    },
  });
}

async function* decryptRecords(
  file: string,
  keyring: ArchiveKeyring,
  opts: { end?: number; expectedBytes?: number },
): AsyncGenerator<Buffer> {
  const handle = await open(file, 'r');
  try {
    const cipher = await readFileCipher(handle, keyring);
    if (!cipher) throw new ArchiveDecryptionError(`${file} is not an encrypted archive file`);
    const fileSize = (await handle.stat()).size;
    let offset = cipher.header.length;
    let delivered = 0;
    const limit = opts.end ?? Infinity;
    const head = Buffer.alloc(LENGTH_BYTES + NONCE_BYTES);
    for (let index = 0; offset < fileSize && delivered < limit; index++) {
      if (offset + RECORD_OVERHEAD > fileSize) throw new ArchiveDecryptionError('archive file ends inside a record');
      await handle.read(head, 0, head.length, offset);
      const length = head.readUInt32BE(0);
      if (length > MAX_RECORD_BYTES || offset + RECORD_OVERHEAD + length > fileSize)
        throw new ArchiveDecryptionError('archive file ends inside a record');
      const body = Buffer.alloc(length + TAG_BYTES);
      await handle.read(body, 0, body.length, offset + head.length);
      const decipher = createDecipheriv('aes-256-gcm', cipher.key, head.subarray(LENGTH_BYTES));
      decipher.setAAD(associatedData(cipher.header, index, length));
      decipher.setAuthTag(body.subarray(length));
      let plain: Buffer;
      try {
        plain = Buffer.concat([decipher.update(body.subarray(0, length)), decipher.final()]);
      } catch {
        throw new ArchiveDecryptionError(`record ${index} of an archive file does not authenticate`);
      }
      offset += RECORD_OVERHEAD + length;
      const take = Math.min(plain.length, limit - delivered);
      delivered += take;
      yield take === plain.length ? plain : plain.subarray(0, take);
    }
    if (opts.end !== undefined && delivered < opts.end)
      throw new ArchiveDecryptionError(`archive file holds ${delivered} bytes, fewer than the ${opts.end} asked for`);
    if (opts.expectedBytes !== undefined && delivered !== opts.expectedBytes)
      throw new ArchiveDecryptionError(`archive file holds ${delivered} bytes, not the ${opts.expectedBytes} recorded`);
  } finally {
    await handle.close();
  }
}

/**
 * The plaintext of the encrypted `file`, decrypted as it streams (one record in memory at a time). `end`: stop after
 * that many plaintext bytes (a prefix). `expectedBytes`: fail unless the file holds exactly that many (so records cut
 * off the end are noticed). A record that does not authenticate fails the stream with {@link ArchiveDecryptionError}.
 */
export function decryptingReadStream(
  file: string,
  keyring: ArchiveKeyring,
  opts: { end?: number; expectedBytes?: number } = {},
): Readable {
  return Readable.from(decryptRecords(file, keyring, opts), { objectMode: false });
}

/** Whether `file` starts like an encrypted archive file (archives written before encryption are plain). */
export async function isEncryptedArchiveFile(file: string): Promise<boolean> {
  const handle = await open(file, 'r');
  try {
    return (await readFileCipher(handle, undefined)) !== undefined;
  } finally {
    await handle.close();
  }
}

/** The whole plaintext of the encrypted `file` (for small files and checks; downloads stream). */
export async function readEncryptedFile(file: string, keyring: ArchiveKeyring): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of decryptingReadStream(file, keyring)) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
