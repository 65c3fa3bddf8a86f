/**
 * Personal data at rest and in transit (issue #12, point 8), on the real stack: export archives encrypted on disk
 * (mode 0600, not readable as CSV or an archive) yet downloaded as the original bytes; staff reasons kept in the
 * database and out of the workflow's history while the status API shows them; `codec:use` only for the roles that
 * operate workflows; production refuses plain HTTP unless TLS is terminated in front of it.
 */
import { createHash, generateKeyPairSync, randomUUID } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { EXPORT_TABLES } from '../activities/export';
import { deliveredArchiveDirectory } from '../lib/export-archive';
import { loadConfig } from '../lib/config';
import {
  ArchiveDecryptionError,
  decryptingReadStream,
  encryptingAppender,
  ENCRYPTED_ARCHIVE_MAGIC,
  readEncryptedFile,
  RECORD_OVERHEAD,
  writeEncryptedFile,
} from '../lib/export-encryption';
import { AesGcmPayloadCodec } from '../lib/payload-codec';
import { SCOPE_CATEGORIES } from '../lib/pure/access-scope';
import { can, ROLES } from '../lib/roles';
import { seedDemoCustomer } from '../scripts/seed-demo-customer';
import { confirmVerification, expectedTableCsv, linkToken, readTarGz } from './support/access-export';
import { eventually } from './support/polling';
import { startTestStack, type TestStack } from './support/test-stack';

let stack: TestStack;
let exportDir: string;

beforeAll(async () => {
  exportDir = await mkdtemp(path.join(os.tmpdir(), 'dlo-at-rest-'));
  stack = await startTestStack({
    name: 'personal-data-at-rest',
    env: { EXPORT_DIR: exportDir, EXPORT_BATCH_ROWS: '100', ACCESS_REMINDER_OFFSETS: 'none' },
  });
});
afterAll(async () => {
  await stack?.stop();
  await rm(exportDir, { recursive: true, force: true });
});

const mailAbout = (requestId: string, to: string, subject: RegExp) =>
  stack.smtp.waitFor((m) => m.to.includes(to.toLowerCase()) && m.text.includes(requestId) && subject.test(m.subject));

/** Every payload of a workflow's history, decrypted with the payload keys, as text; plus the raw history's text. */
async function historyText(workflowId: string): Promise<string> {
  const history = await stack.client.workflow.getHandle(workflowId).fetchHistory();
  const codec = new AesGcmPayloadCodec(stack.config.payloadEncryption.keyring);
  const parts: string[] = [];
  const visit = async (node: unknown): Promise<void> => {
    if (node === null || typeof node !== 'object') {
      if (typeof node === 'string') parts.push(node);
      return;
    }
    if (node instanceof Uint8Array) {
      parts.push(Buffer.from(node).toString('utf8'));
      return;
    }
    const o = node as { metadata?: Record<string, Uint8Array>; data?: Uint8Array };
    if (o.metadata && typeof o.metadata === 'object' && o.data instanceof Uint8Array) {
      const [decoded] = await codec.decode([o]);
      parts.push(Buffer.from(decoded!.data ?? []).toString('utf8'));
    }
    for (const value of Object.values(node)) await visit(value);
  };
  await visit(history);
  return parts.join('\n');
}

describe('an access request: reasons by reference, archives encrypted at rest', () => {
  it('keeps the extension reason out of the history, shows it in the status API, and encrypts the archive it downloads', async () => {
    const seed = await seedDemoCustomer(stack.db, { operationalRows: 250, technicalRows: 40, communicationRows: 6 });
    const primary = await stack.db('contacts').where({ customer_id: seed.customerId, role: 'primary' }).first();
    const email = primary.email as string;
    const started = await stack.http('POST', `/v1/customers/${seed.customerId}/access-requests`, {
      requesterEmail: email,
      scope: 'all',
    });
    expect(started.status).toBe(202);
    const { requestId, workflowId } = started.body;

    // A reason that names a person: it must reach the notice and the status API, never the workflow's history.
    const canary = `CANARY-${randomUUID()}: Greta Lindqvist asked us to include her archived invoices`;
    const extended = await stack.http(
      'POST',
      `/v1/requests/${requestId}/extend`,
      { reason: canary },
      {},
      'privacy_officer',
    );
    expect(extended.status).toBe(200);
    const notice = await mailAbout(requestId, email, /^More time is needed/);
    expect(notice.text).toContain(canary);
    const ext = await stack.db('request_extensions').where({ request_id: requestId }).first();
    expect(ext.reason).toBe(canary);
    const status = await stack.http('GET', `/v1/requests/${requestId}`, undefined, {}, 'auditor');
    expect(status.body.reasons).toEqual([
      { kind: 'extension_reason', text: canary, actor: ext.actor, givenAt: expect.any(String) },
    ]);
    // A refused second extension leaves no reason behind.
    const again = await stack.http(
      'POST',
      `/v1/requests/${requestId}/extend`,
      { reason: 'A second extension, which the law does not allow.' },
      {},
      'privacy_officer',
    );
    expect(again.status).toBe(409);
    expect(await stack.db('request_texts').where({ request_id: requestId })).toHaveLength(1);

    // Verify, export, deliver.
    const verification = await mailAbout(requestId, email, /^Confirm your data access request/);
    expect((await confirmVerification(stack, linkToken(verification.text, 'verify'))).status).toBe(200);
    const delivery = await mailAbout(requestId, email, /^Your data export for .* is ready/);
    await eventually(
      () => stack.http('GET', `/v1/requests/${requestId}`),
      (r) => r.body.stage === 'delivered',
    );

    // Everything the workflow's history holds, decrypted: no trace of the reason.
    const text = await historyText(workflowId);
    expect(text).toContain(requestId);
    expect(text).not.toContain(canary.slice(0, 40));
    expect(text).not.toContain('Greta Lindqvist');

    // On disk: every file 0600, starts with the encryption header, and holds no plaintext of the export.
    const archive = await stack.db('export_archives').where({ request_id: requestId }).first();
    // The delivered archive, content-addressed (db/export-engine.ts); the attempts' working files are gone.
    const dir = deliveredArchiveDirectory(exportDir, archive.id, archive.manifest_sha256);
    const files = await readdir(dir);
    expect(files).toContain('manifest.json');
    const sellerAccount = await stack.db('seller_accounts').where({ customer_id: seed.customerId }).first();
    for (const file of files) {
      const info = await stat(path.join(dir, file));
      // For the service's user alone (created 0600, read-only 0400 once delivered).
      expect([file, info.mode & 0o077, info.mode & 0o400]).toEqual([file, 0, 0o400]);
      const raw = await readFile(path.join(dir, file));
      expect([file, raw.subarray(0, 8).equals(ENCRYPTED_ARCHIVE_MAGIC)]).toEqual([file, true]);
      // Not a zip (PK), not gzip (1f 8b), not CSV or JSON text.
      expect(raw.subarray(0, 2).toString('latin1')).not.toBe('PK');
      expect(raw[0] === 0x1f && raw[1] === 0x8b).toBe(false);
      const latin = raw.toString('latin1');
      expect(latin).not.toContain('customer_id');
      expect(latin).not.toContain(seed.customerId);
      expect(latin).not.toContain(String(sellerAccount.account_id));
      expect(latin).not.toContain('"tables"');
    }

    // The download is the original bytes: each CSV what the database holds, the manifest what the database recorded.
    const download = await fetch(`${stack.api.url}/exports/${linkToken(delivery.text, 'download')}`);
    expect(download.status).toBe(200);
    const entries = readTarGz(Buffer.from(await download.arrayBuffer()));
    const prefix = `access-export-${requestId}`;
    const manifest = JSON.parse(entries.get(`${prefix}/manifest.json`)!.toString('utf8'));
    expect(manifest.tables.length).toBeGreaterThan(3);
    for (const entry of manifest.tables) {
      const spec = EXPORT_TABLES.find((t) => t.table === entry.table)!;
      const expected = await expectedTableCsv(stack.db, spec, seed.customerId, SCOPE_CATEGORIES.all);
      expect([entry.table, entries.get(`${prefix}/${entry.file}`)!.equals(expected)]).toEqual([entry.table, true]);
    }
    expect(
      createHash('sha256')
        .update(entries.get(`${prefix}/manifest.json`)!)
        .digest('hex'),
    ).toBe(archive.manifest_sha256);
    await stack.client.workflow.getHandle(workflowId).terminate('test done');
  });
});

describe('the encrypted archive file format (lib/export-encryption.ts)', () => {
  const keyring = () => stack.config.exports.encryption;

  it('refuses a file whose bytes were altered, reordered or cut, and a key that is not configured', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'dlo-enc-'));
    try {
      const file = path.join(dir, 'orders.csv');
      await writeEncryptedFile(file, 'id,total\n', keyring());
      const rows = Array.from({ length: 40_000 }, (_, i) => `${i},${i * 3}\n`).join('');
      await pipeline(Readable.from([Buffer.from(rows)]), encryptingAppender(file, keyring()));
      const plain = `id,total\n${rows}`;
      expect((await readEncryptedFile(file, keyring())).toString()).toBe(plain);
      // A prefix reads without decrypting past it.
      const head: Buffer[] = [];
      for await (const chunk of decryptingReadStream(file, keyring(), { end: 20 })) head.push(chunk as Buffer);
      expect(Buffer.concat(head).toString()).toBe(plain.slice(0, 20));

      const original = await readFile(file);
      const flipped = Buffer.from(original);
      flipped[flipped.length - 100]! ^= 0x01;
      await writeFile(file, flipped);
      await expect(readEncryptedFile(file, keyring())).rejects.toThrow(ArchiveDecryptionError);

      // The last record cut off: the file alone cannot tell, the size the export recorded can.
      await writeFile(file, original.subarray(0, original.length - (Buffer.byteLength(rows) + RECORD_OVERHEAD)));
      await expect(
        (async () => {
          for await (const _ of decryptingReadStream(file, keyring(), { expectedBytes: plain.length })) void _;
        })(),
      ).rejects.toThrow(ArchiveDecryptionError);

      await writeFile(file, original);
      const other = loadConfig({ EXPORT_ENCRYPTION_KEYS: `other:${Buffer.alloc(32, 7).toString('base64')}` });
      await expect(readEncryptedFile(file, other.exports.encryption)).rejects.toThrow(
        /key ".*", which is not configured/,
      );
      expect((await stat(file)).mode & 0o777).toBe(0o600);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('who may use the codec endpoint', () => {
  it('only the roles that operate workflows (support, privacy officer): not auditors, not admins', async () => {
    expect(ROLES.filter((role) => can(role, 'codec:use'))).toEqual(['support', 'privacy_officer']);
    for (const role of ['auditor', 'admin'] as const) {
      const res = await stack.http('POST', '/codec/decode', { payloads: [] }, {}, role);
      expect([role, res.status]).toEqual([role, 403]);
    }
    expect((await stack.http('POST', '/codec/decode', { payloads: [] }, {}, 'support')).status).toBe(200);
  });
});

describe('production configuration', () => {
  const production = {
    NODE_ENV: 'production',
    PAYLOAD_KEYS: `p1:${Buffer.alloc(32, 1).toString('base64')}`,
    CERTIFICATE_SIGNING_KEY: generateKeyPairSync('ed25519')
      .privateKey.export({ format: 'pem', type: 'pkcs8' })
      .toString(),
    EXPORT_ENCRYPTION_KEYS: `e1:${Buffer.alloc(32, 2).toString('base64')}`,
    AUDIT_HMAC_KEYS: `a1:${Buffer.alloc(32, 4).toString('base64')}`,
  };

  it('refuses plain HTTP unless TLS is terminated upstream or TLS files are configured', () => {
    expect(() => loadConfig(production)).toThrow(/TLS_TERMINATED_UPSTREAM: must be "true" when NODE_ENV=production/);
    expect(loadConfig({ ...production, TLS_TERMINATED_UPSTREAM: 'true' }).http.tls).toBeUndefined();
    expect(
      loadConfig({ ...production, TLS_CERT_PATH: '/etc/tls/cert.pem', TLS_KEY_PATH: '/etc/tls/key.pem' }).http.tls,
    ).toEqual({ certPath: '/etc/tls/cert.pem', keyPath: '/etc/tls/key.pem' });
    expect(() => loadConfig({ ...production, TLS_TERMINATED_UPSTREAM: 'yes' })).toThrow(/TLS_TERMINATED_UPSTREAM/);
    // Outside production plain HTTP is the default (npm start, tests).
    expect(loadConfig({}).http.tls).toBeUndefined();
  });

  it('requires archive keys in production and never shows them in errors', () => {
    const withoutKeys = { ...production, EXPORT_ENCRYPTION_KEYS: undefined };
    expect(() => loadConfig({ ...withoutKeys, TLS_TERMINATED_UPSTREAM: 'true' })).toThrow(
      /EXPORT_ENCRYPTION_KEYS: is required when NODE_ENV=production/,
    );
    let message = '';
    try {
      loadConfig({ ...production, TLS_TERMINATED_UPSTREAM: 'true', EXPORT_ENCRYPTION_KEYS: 'e1:c2hvcnQ=' });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/EXPORT_ENCRYPTION_KEYS: key "e1" must decode to 32 bytes/);
    expect(message).not.toContain('c2hvcnQ');
    // Outside production the keys are derived from the payload keys, so an archive stays readable across restarts.
    expect(loadConfig({}).exports.encryption.keys.size).toBe(1);
  });
});
