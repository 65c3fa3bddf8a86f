/**
 * Deletion certificates: signing and verification (lib/certificate.ts), the store, the API (JSON, HTML, verify, the
 * published key) and the offline CLI. A certificate that changed in any value, in the database or in a copy someone
 * holds, must fail verification everywhere.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { createDb } from '../db/connection';
import { certificates, type CertificateDraft } from '../db/repositories/certificates';
import { auditEvents } from '../db/repositories/audit-events';
import { signCertificate, verifyCertificate, type SignedCertificate } from '../lib/certificate';
import { deriveDevelopmentSigningKey, parseCertificateSigningKey, publicKeyPem } from '../lib/certificate-keys';
import { ConfigError, loadConfig } from '../lib/config';
import { startTestStack, type TestStack } from './support/test-stack';

const run = promisify(execFile);

/** A termination certificate's facts as a workflow would hand them over: ids, counts, dates, hashes. */
function draft(overrides: Partial<CertificateDraft> = {}): CertificateDraft {
  return {
    kind: 'termination',
    customerId: randomUUID(),
    requestId: randomUUID(),
    contract: {
      contractId: randomUUID(),
      endedAt: '2026-12-01T00:00:00.000Z',
      disposition: 'delete',
      dispositionSource: 'contract',
    },
    returned: null,
    categories: ['business_contact', 'orders'],
    refused: [],
    timeline: { requestedAt: '2026-11-01T10:00:00.000Z', effectiveAt: '2026-12-01T00:00:00.000Z' },
    approval: { requestedBy: 'staff:a', approvedBy: 'staff:b', approvedAt: '2026-12-01T01:00:00.000Z' },
    deleted: { tables: { contacts: 2, contracts: 1, orders: 7 }, totalRows: 10 },
    deletionMethods: [{ place: 'contacts', method: 'DELETE in batches' }],
    subprocessors: [
      {
        subprocessorId: 'mailer',
        deletionId: randomUUID(),
        categories: ['business_contact'],
        status: 'confirmed',
        confirmedAt: '2026-12-01T02:00:00.000Z',
      },
    ],
    retained: [{ table: 'orders', rows: 3, reason: 'tax law', until: '2037-01-01T00:00:00.000Z' }],
    verification: {
      verified: true,
      checkedAt: '2026-12-01T03:00:00.000Z',
      tablesChecked: ['contacts', 'orders'],
      remaining: {},
      exportArchivesOnDisk: 0,
    },
    copiesOutsideLiveTables: {
      databaseBackups: { retention: 'P35D', goneBy: '2027-01-05T03:00:00.000Z', statement: 'backups expire' },
      temporalHistories: {
        namespace: 'default',
        retention: 'P30D',
        goneBy: '2026-12-31T03:00:00.000Z',
        statement: 'ids and encrypted payloads only',
      },
      logs: { statement: 'no personal data by design' },
    },
    policyVersions: { retentionPolicies: { business_contact: 1, orders: 2 }, statutoryRules: ['invoiced-orders'] },
    ...overrides,
  };
}

describe('certificate signatures', () => {
  const key = deriveDevelopmentSigningKey(Buffer.alloc(32, 7));
  const signed = signCertificate(
    {
      schema: 'data-lifecycle/deletion-certificate/v1',
      id: randomUUID(),
      issuedAt: '2026-12-01T04:00:00.000Z',
      issuer: { service: 'test', codeVersion: '1', keyId: key.keyId, publicKeyUrl: 'http://localhost/key' },
      ...draft(),
    },
    key,
  );

  it('verifies an untouched certificate, whatever the key order or whitespace of the copy', () => {
    expect(verifyCertificate(signed, key.publicKey)).toMatchObject({ valid: true, problems: [] });
    const reverseKeys = (v: unknown): unknown =>
      Array.isArray(v)
        ? v.map(reverseKeys)
        : v !== null && typeof v === 'object'
          ? Object.fromEntries(
              Object.entries(v)
                .reverse()
                .map(([k, x]) => [k, reverseKeys(x)]),
            )
          : v;
    const reordered = JSON.parse(JSON.stringify(reverseKeys(signed), null, 4)) as unknown;
    expect(Object.keys(reordered as object)[0]).toBe('signature');
    expect(verifyCertificate(reordered, key.publicKey).valid).toBe(true);
  });

  it('when any value of the content changes, the digest and the signature fail', () => {
    const tampered = structuredClone(signed);
    tampered.certificate.deleted.tables.orders = 6;
    const report = verifyCertificate(tampered, key.publicKey);
    expect(report).toMatchObject({ valid: false, checks: { format: true, digest: false, signature: false } });
    expect(report.problems.join(' ')).toContain('content was changed');
  });

  it('when the digest is recomputed over changed content, the signature still fails', () => {
    const tampered = structuredClone(signed);
    tampered.certificate.retained = [];
    const resigned = signCertificate(tampered.certificate, deriveDevelopmentSigningKey(Buffer.alloc(32, 8)));
    const forged: SignedCertificate = { ...tampered, digest: resigned.digest };
    expect(verifyCertificate(forged, key.publicKey)).toMatchObject({
      valid: false,
      checks: { digest: true, signature: false },
    });
    // Signed by another key altogether: refused under this key, and the key id says so.
    expect(verifyCertificate(resigned, key.publicKey)).toMatchObject({ valid: false, checks: { keyId: false } });
  });

  it('refuses what is not a certificate, without throwing', () => {
    for (const doc of [null, 'x', 42, {}, { certificate: {} }, { ...signed, signature: { value: 1 } }]) {
      expect(verifyCertificate(doc, key.publicKey)).toMatchObject({ valid: false, checks: { format: false } });
    }
  });

  it('the development key is derived deterministically; production requires a configured Ed25519 key', () => {
    const a = loadConfig({}).certificates.signingKey;
    const b = loadConfig({}).certificates.signingKey;
    expect(a.keyId).toBe(b.keyId);
    expect(a.derivedForDevelopment).toBe(true);
    expect(() =>
      loadConfig({ NODE_ENV: 'production', PAYLOAD_KEYS: `k1:${Buffer.alloc(32, 1).toString('base64')}` }),
    ).toThrow(/CERTIFICATE_SIGNING_KEY: is required when NODE_ENV=production/);
    expect(() => loadConfig({ CERTIFICATE_SIGNING_KEY: 'not a key' })).toThrow(ConfigError);
    const pkcs8 = key.privateKey.export({ format: 'der', type: 'pkcs8' }).toString('base64');
    expect(parseCertificateSigningKey(pkcs8).keyId).toBe(key.keyId);
    const pem = key.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    expect(loadConfig({ CERTIFICATE_SIGNING_KEY: pem }).certificates.signingKey.keyId).toBe(key.keyId);
  });
});

describe('certificates through the store, the API and the CLI', () => {
  let stack: TestStack;
  let dir: string;

  beforeAll(async () => {
    stack = await startTestStack({ name: 'certificates' });
    dir = await mkdtemp(path.join(tmpdir(), 'certificates-'));
  });
  afterAll(() => stack?.stop());

  const issue = (d: CertificateDraft) =>
    certificates.issue(stack.db, stack.config.certificates, d, 'workflow:termination-test');

  it('issues one certificate per request, audited, and a retried issue returns the first unchanged', async () => {
    const d = draft();
    const first = await issue(d);
    const again = await issue({ ...d, deleted: { tables: {}, totalRows: 0 } });
    expect(again.signed).toEqual(first.signed);
    expect(first.signed.certificate.issuer.keyId).toBe(stack.config.certificates.signingKey.keyId);
    const events = await auditEvents.list(stack.db, { requestId: d.requestId, action: 'certificate.issued' });
    expect(events).toHaveLength(1);
    expect(events[0]!.details).toMatchObject({ kind: 'termination', digestSha256: first.signed.digest.value });
    // Signed columns cannot be rewritten.
    await expect(stack.db('certificates').where({ id: first.id }).update({ signature: 'AAAA' })).rejects.toThrow(
      /immutable/,
    );
  });

  it('an auditor and a privacy officer read it as JSON or HTML; support may not', async () => {
    const stored = await issue(draft());
    const json = await stack.http('GET', `/v1/certificates/${stored.id}`, undefined, {}, 'auditor');
    expect(json.status).toBe(200);
    expect(json.body).toEqual(stored.signed);
    const html = await stack.http(
      'GET',
      `/v1/certificates/${stored.id}`,
      undefined,
      { Accept: 'text/html' },
      'privacy_officer',
    );
    expect(html.status).toBe(200);
    expect(html.headers.get('content-type')).toMatch(/text\/html/);
    expect(html.body).toContain('Certificate of deletion on contract termination');
    expect(html.body).toContain(stored.signed.digest.value);
    expect(html.body).toContain('tax law');
    expect((await stack.http('GET', `/v1/certificates/${stored.id}`, undefined, {}, 'support')).status).toBe(403);
    const missing = await stack.http('GET', `/v1/certificates/${randomUUID()}`, undefined, {}, 'auditor');
    expect(missing.status).toBe(404);
    const bad = await stack.http('GET', '/v1/certificates/not-a-uuid', undefined, {}, 'auditor');
    expect(bad.status).toBe(400);
    expect(bad.body.errors[0]).toMatchObject({ field: 'path.id' });
  });

  it('a tampered certificate fails verification through the API, in a held copy and in the database', async () => {
    const stored = await issue(draft());
    const ok = await stack.http('GET', `/v1/certificates/${stored.id}/verify`, undefined, {}, 'auditor');
    expect(ok.body).toMatchObject({ valid: true, certificateId: stored.id });
    expect((await stack.http('POST', '/v1/certificates/verify', stored.signed, {}, 'auditor')).body.valid).toBe(true);

    const copy = structuredClone(stored.signed);
    copy.certificate.subprocessors[0]!.status = 'escalated';
    const held = await stack.http('POST', '/v1/certificates/verify', copy, {}, 'auditor');
    expect(held.status).toBe(200);
    expect(held.body).toMatchObject({ valid: false, checks: { digest: false, signature: false } });

    // Someone with database access rewrites the stored content behind the immutability trigger's back.
    const changed = JSON.stringify({ ...stored.signed.certificate, retained: [] });
    // (The table's owner: the service's own role may not disable triggers.)
    const owner = createDb(process.env.TEST_DATABASE_OWNER_URL!, 1);
    try {
      await owner.transaction(async (trx) => {
        await trx.raw('alter table certificates disable trigger certificates_immutable_trg');
        await trx('certificates').where({ id: stored.id }).update({ canonical_content: changed });
        await trx.raw('alter table certificates enable trigger certificates_immutable_trg');
      });
    } finally {
      await owner.destroy();
    }
    const found = await stack.http('GET', `/v1/certificates/${stored.id}/verify`, undefined, {}, 'auditor');
    expect(found.body).toMatchObject({ valid: false, checks: { digest: false } });
  });

  it('publishes the public key without a token, as PEM and as JWK', async () => {
    const pem = await stack.http('GET', '/.well-known/certificate-signing-key', undefined, {}, null);
    expect(pem.status).toBe(200);
    expect(pem.body).toBe(publicKeyPem(stack.config.certificates.signingKey.publicKey));
    const jwk = await stack.http(
      'GET',
      '/.well-known/certificate-signing-key',
      undefined,
      { Accept: 'application/jwk+json' },
      null,
    );
    expect(jwk.body).toMatchObject({ kty: 'OKP', crv: 'Ed25519', kid: stack.config.certificates.signingKey.keyId });
  });

  it('the CLI verifies offline with the published key and exits 1 for a tampered certificate', async () => {
    const stored = await issue(draft());
    const keyFile = path.join(dir, 'key.pem');
    const jwkFile = path.join(dir, 'key.jwk');
    const good = path.join(dir, 'good.json');
    const bad = path.join(dir, 'bad.json');
    await writeFile(
      keyFile,
      (await stack.http('GET', '/.well-known/certificate-signing-key', undefined, {}, null)).body,
    );
    await writeFile(
      jwkFile,
      JSON.stringify(
        (
          await stack.http(
            'GET',
            '/.well-known/certificate-signing-key',
            undefined,
            { Accept: 'application/jwk+json' },
            null,
          )
        ).body,
      ),
    );
    await writeFile(good, JSON.stringify(stored.signed, null, 2));
    const tampered = structuredClone(stored.signed);
    tampered.certificate.deleted.totalRows += 1;
    await writeFile(bad, JSON.stringify(tampered));

    // Offline: no database or server is reachable at the configured addresses.
    const env = { ...process.env, DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none', TEMPORAL_ADDRESS: '127.0.0.1:1' };
    const cli = (args: string[]) =>
      run(process.execPath, ['--import', 'tsx', 'scripts/cli.ts', 'certificate', 'verify', ...args], {
        cwd: path.join(__dirname, '..'),
        env,
      });
    const ok = await cli([good, '--public-key', keyFile]);
    expect(JSON.parse(ok.stdout)).toMatchObject({ valid: true, certificateId: stored.id });
    expect(JSON.parse((await cli([good, '--public-key', jwkFile])).stdout).valid).toBe(true);

    const failed = await cli([bad, '--public-key', keyFile]).then(
      () => undefined,
      (err: { code: number; stdout: string }) => err,
    );
    expect(failed?.code).toBe(1);
    expect(JSON.parse(failed!.stdout)).toMatchObject({ valid: false, checks: { digest: false, signature: false } });
  });
});
