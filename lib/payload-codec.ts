/**
 * Encryption of everything Temporal stores (DESIGN.md principle 5): a {@link PayloadCodec} that seals each payload with
 * AES-256-GCM before it leaves the process, so workflow inputs, results, signals, queries, heartbeat details and
 * (with the failure converter of lib/failure-converter.ts) failure messages reach the Temporal server only encrypted.
 *
 * Format (the one of Temporal's encryption samples, so codec servers in other languages can read it):
 * - metadata `encoding` = `binary/encrypted`, `encryption-key-id` = the id of the key that sealed it;
 * - data = 12-byte random nonce || ciphertext || 16-byte GCM tag, where the plaintext is the original payload
 *   serialized as a `temporal.api.common.v1.Payload` protobuf message.
 *
 * Keys rotate without re-encrypting history: several keys are configured, new payloads are sealed with the active one,
 * and each payload is opened with whichever key its metadata names.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { METADATA_ENCODING_KEY, type Payload, type PayloadCodec } from '@temporalio/common';

/** `encoding` metadata of a payload this codec sealed. */
export const ENCRYPTED_ENCODING = 'binary/encrypted';
/** Metadata key that names the key a payload was sealed with. */
export const METADATA_KEY_ID = 'encryption-key-id';

const ALGORITHM = 'aes-256-gcm';
const KEY_BYTES = 32;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const KEY_ID_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;

/** The keys a codec may use: every key that may still be needed to read history, and the one that seals new data. */
export interface PayloadKeyring {
  /** Id of the key new payloads are sealed with; always present in {@link keys}. */
  activeKeyId: string;
  /** Key id -> 32 key bytes. */
  keys: ReadonlyMap<string, Buffer>;
}

/**
 * Id of the well-known development key: the default outside production so that `npm start` and the tests work from a
 * fresh clone. It is public (it is derived from a string in this file), so it protects nothing; configuration refuses
 * it in production.
 */
export const INSECURE_DEV_KEY_ID = 'insecure-dev-key';

/** The well-known development keyring (see {@link INSECURE_DEV_KEY_ID}). Never use it for real data. */
export const INSECURE_DEV_KEYRING: PayloadKeyring = {
  activeKeyId: INSECURE_DEV_KEY_ID,
  keys: new Map([[INSECURE_DEV_KEY_ID, createHash('sha256').update('data-lifecycle insecure dev key v1').digest()]]),
};

/** True when `keyring` contains the well-known development key bytes (under any id). */
export function usesInsecureDevKey(keyring: PayloadKeyring): boolean {
  const dev = INSECURE_DEV_KEYRING.keys.get(INSECURE_DEV_KEY_ID)!;
  return [...keyring.keys.values()].some((key) => key.equals(dev));
}

/** Raised for a key specification that does not parse; `variable` names the environment variable at fault. */
export class PayloadKeyError extends Error {
  override name = 'PayloadKeyError';
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Parses `PAYLOAD_KEYS` (`keyId:base64key,keyId:base64key,...`, each key exactly 32 bytes) and `PAYLOAD_ACTIVE_KEY_ID`.
 * The active key id may be omitted when exactly one key is listed. Error messages never contain key material.
 * `variables` names the variables in errors: the same format serves EXPORT_ENCRYPTION_KEYS (lib/export-encryption.ts).
 * @throws PayloadKeyError naming the variable and the rule.
 */
export function parsePayloadKeys(
  spec: string,
  activeKeyId?: string,
  variables: { keys: string; active: string } = { keys: 'PAYLOAD_KEYS', active: 'PAYLOAD_ACTIVE_KEY_ID' },
): PayloadKeyring {
  const keys = new Map<string, Buffer>();
  const entries = spec
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
  if (entries.length === 0) throw new PayloadKeyError(variables.keys, 'must list at least one keyId:base64key');
  entries.forEach((entry, i) => {
    const colon = entry.indexOf(':');
    const id = colon === -1 ? '' : entry.slice(0, colon).trim();
    const material = colon === -1 ? '' : entry.slice(colon + 1).trim();
    if (!KEY_ID_PATTERN.test(id))
      throw new PayloadKeyError(
        variables.keys,
        `entry ${i + 1} must be keyId:base64key with a key id of 1-64 letters, digits, dots, dashes or underscores`,
      );
    if (keys.has(id)) throw new PayloadKeyError(variables.keys, `key id "${id}" is listed twice`);
    if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(material))
      throw new PayloadKeyError(variables.keys, `key "${id}" is not base64`);
    const key = Buffer.from(material, 'base64');
    if (key.length !== KEY_BYTES)
      throw new PayloadKeyError(
        variables.keys,
        `key "${id}" must decode to ${KEY_BYTES} bytes (AES-256), got ${key.length}; generate one with \`openssl rand -base64 32\``,
      );
    keys.set(id, key);
  });
  const active = activeKeyId?.trim() || (keys.size === 1 ? [...keys.keys()][0]! : undefined);
  if (!active)
    throw new PayloadKeyError(
      variables.active,
      `is required when ${variables.keys} lists several keys (one of: ${[...keys.keys()].join(', ')})`,
    );
  if (!keys.has(active))
    throw new PayloadKeyError(
      variables.active,
      `"${active}" is not a key id listed in ${variables.keys} (${[...keys.keys()].join(', ')})`,
    );
  return { activeKeyId: active, keys };
}

/** A payload names a key that is not configured, or is not a payload this codec can open. */
export class PayloadDecryptionError extends Error {
  override name = 'PayloadDecryptionError';
}

/** AES-256-GCM payload codec with key ids and rotation. */
export class AesGcmPayloadCodec implements PayloadCodec {
  private readonly activeKeyId: string;
  private readonly activeKey: Buffer;
  private readonly keys: ReadonlyMap<string, Buffer>;

  constructor(keyring: PayloadKeyring) {
    const active = keyring.keys.get(keyring.activeKeyId);
    if (!active) throw new PayloadKeyError('PAYLOAD_ACTIVE_KEY_ID', `"${keyring.activeKeyId}" is not in the keyring`);
    for (const [id, key] of keyring.keys) {
      if (key.length !== KEY_BYTES) throw new PayloadKeyError('PAYLOAD_KEYS', `key "${id}" is not ${KEY_BYTES} bytes`);
    }
    this.activeKeyId = keyring.activeKeyId;
    this.activeKey = active;
    this.keys = keyring.keys;
  }

  /** Seals every payload with the active key. */
  encode(payloads: Payload[]): Promise<Payload[]> {
    return Promise.resolve(payloads.map((payload) => this.seal(payload)));
  }

  /**
   * Opens every payload this codec sealed, with the key its metadata names; passes other payloads through unchanged.
   * @throws PayloadDecryptionError when the key id is missing or not configured, or the data does not authenticate.
   */
  decode(payloads: Payload[]): Promise<Payload[]> {
    try {
      return Promise.resolve(payloads.map((payload) => this.open(payload)));
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new PayloadDecryptionError(String(err)));
    }
  }

  private seal(payload: Payload): Payload {
    const nonce = randomBytes(NONCE_BYTES);
    const cipher = createCipheriv(ALGORITHM, this.activeKey, nonce, { authTagLength: TAG_BYTES });
    const sealed = Buffer.concat([
      nonce,
      cipher.update(encodePayloadProto(payload)),
      cipher.final(),
      cipher.getAuthTag(),
    ]);
    return {
      metadata: {
        [METADATA_ENCODING_KEY]: Buffer.from(ENCRYPTED_ENCODING),
        [METADATA_KEY_ID]: Buffer.from(this.activeKeyId),
      },
      data: sealed,
    };
  }

  private open(payload: Payload): Payload {
    const encoding = payload.metadata?.[METADATA_ENCODING_KEY];
    if (!encoding || Buffer.from(encoding).toString() !== ENCRYPTED_ENCODING) return payload;
    const keyIdBytes = payload.metadata?.[METADATA_KEY_ID];
    if (!keyIdBytes || keyIdBytes.length === 0)
      throw new PayloadDecryptionError(`encrypted payload has no "${METADATA_KEY_ID}" metadata: cannot choose a key`);
    const keyId = Buffer.from(keyIdBytes).toString();
    const key = this.keys.get(keyId);
    if (!key)
      throw new PayloadDecryptionError(
        `payload was encrypted with key "${keyId}", which is not configured (PAYLOAD_KEYS has: ${[...this.keys.keys()].join(', ')}); keep retired keys in PAYLOAD_KEYS while history sealed with them exists`,
      );
    const data = Buffer.from(payload.data ?? new Uint8Array());
    if (data.length < NONCE_BYTES + TAG_BYTES)
      throw new PayloadDecryptionError(`encrypted payload (key "${keyId}") is too short to be valid`);
    const decipher = createDecipheriv(ALGORITHM, key, data.subarray(0, NONCE_BYTES), { authTagLength: TAG_BYTES });
    decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
    let plain: Buffer;
    try {
      plain = Buffer.concat([decipher.update(data.subarray(NONCE_BYTES, data.length - TAG_BYTES)), decipher.final()]);
    } catch {
      throw new PayloadDecryptionError(
        `encrypted payload does not authenticate with key "${keyId}" (wrong key material or tampered data)`,
      );
    }
    return decodePayloadProto(plain);
  }
}

// --- temporal.api.common.v1.Payload protobuf wire format -----------------------------------------------------------
// message Payload { map<string, bytes> metadata = 1; bytes data = 2; ... }. Written by hand (it is two fields) so the
// codec needs nothing beyond node:crypto; unknown fields are skipped when reading.

function varint(value: number): Buffer {
  const out: number[] = [];
  let v = value;
  while (v > 0x7f) {
    out.push((v & 0x7f) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return Buffer.from(out);
}

function lengthDelimited(field: number, bytes: Uint8Array): Buffer {
  return Buffer.concat([varint((field << 3) | 2), varint(bytes.length), bytes]);
}

/** Serializes a payload as a `temporal.api.common.v1.Payload` message. */
export function encodePayloadProto(payload: Payload): Buffer {
  const parts: Buffer[] = [];
  for (const [key, value] of Object.entries(payload.metadata ?? {})) {
    const entry = Buffer.concat([lengthDelimited(1, Buffer.from(key)), lengthDelimited(2, value ?? new Uint8Array())]);
    parts.push(lengthDelimited(1, entry));
  }
  if (payload.data && payload.data.length > 0) parts.push(lengthDelimited(2, payload.data));
  return Buffer.concat(parts);
}

class ProtoReader {
  private pos = 0;
  constructor(private readonly buf: Buffer) {}

  get done(): boolean {
    return this.pos >= this.buf.length;
  }

  varint(): number {
    let result = 0;
    let factor = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.buf.length) throw new PayloadDecryptionError('decrypted payload is not a valid protobuf');
      const byte = this.buf[this.pos++]!;
      result += (byte & 0x7f) * factor;
      if (byte < 0x80) return result;
      factor *= 128;
    }
    throw new PayloadDecryptionError('decrypted payload is not a valid protobuf');
  }

  bytes(): Buffer {
    const length = this.varint();
    if (this.pos + length > this.buf.length)
      throw new PayloadDecryptionError('decrypted payload is not a valid protobuf');
    const out = this.buf.subarray(this.pos, this.pos + length);
    this.pos += length;
    return out;
  }

  skip(wireType: number): void {
    if (wireType === 0) this.varint();
    else if (wireType === 1) this.pos += 8;
    else if (wireType === 2) this.bytes();
    else if (wireType === 5) this.pos += 4;
    else throw new PayloadDecryptionError('decrypted payload is not a valid protobuf');
  }
}

/** Parses a `temporal.api.common.v1.Payload` message. */
export function decodePayloadProto(buf: Buffer): Payload {
  const reader = new ProtoReader(buf);
  const metadata: Record<string, Uint8Array> = {};
  let data: Uint8Array = new Uint8Array();
  while (!reader.done) {
    const tag = reader.varint();
    const field = Math.floor(tag / 8);
    const wireType = tag & 7;
    if (field === 1 && wireType === 2) {
      const entry = new ProtoReader(reader.bytes());
      let key = '';
      let value: Uint8Array = new Uint8Array();
      while (!entry.done) {
        const entryTag = entry.varint();
        if (entryTag === (1 << 3) + 2) key = entry.bytes().toString();
        else if (entryTag === (2 << 3) + 2) value = Uint8Array.from(entry.bytes());
        else entry.skip(entryTag & 7);
      }
      metadata[key] = value;
    } else if (field === 2 && wireType === 2) {
      data = Uint8Array.from(reader.bytes());
    } else {
      reader.skip(wireType);
    }
  }
  return { metadata, data };
}
