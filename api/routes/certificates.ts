/**
 * Deletion certificates: `GET /v1/certificates/{id}` (signed JSON, or the HTML rendering with `Accept: text/html`),
 * `GET /v1/certificates/{id}/verify` (re-verifies the stored copy), `POST /v1/certificates/verify` (verifies a copy
 * someone holds), and the public signing key at `/.well-known/certificate-signing-key` (PEM, or JWK with
 * `Accept: application/jwk+json`), which needs no token: whoever received a certificate can check it. The HTML
 * rendering has the customer pages' layout and shows the result of verifying the stored copy at the top.
 *
 * Public, for whoever received a certificate: `GET /certificates/verify`, a page where they paste the JSON they hold,
 * and `POST /certificates/verify`, which shows it rendered with the result of checking it (api/pages/).
 */
import type { OpenAPIRegistry, ResponseConfig } from '@asteasolutions/zod-to-openapi';
import express, { Router } from 'express';
import { z } from 'zod';
import { certificates } from '../../db/repositories/certificates';
import { verifyCertificate, type SignedCertificate } from '../../lib/certificate';
import { renderCertificateHtml } from '../../lib/certificate-html';
import { publicKeyJwk, publicKeyPem } from '../../lib/certificate-keys';
import { CERTIFICATE_KEY_PATH } from '../../lib/config';
import { CustomerIdParam } from '../../lib/schemas/params';
import { HttpProblem, parseOr400 } from '../problem';
import type { AppDeps } from '../deps';
import { certificateCheckForm } from '../pages/certificate-check';
import { pageErrorHandler, sendPage } from '../pages/render';

export const CertificateIdParam = z.strictObject({ id: z.uuid() });

const CertificateVerification = z
  .object({
    valid: z.boolean(),
    certificateId: z.string().nullable(),
    checks: z.object({ format: z.boolean(), digest: z.boolean(), signature: z.boolean(), keyId: z.boolean() }),
    problems: z.array(z.string()),
  })
  .meta({ id: 'CertificateVerification' });

/** The public check's form body: one field holding a certificate (tens of KB at most). */
const CertificateCheckBody = z.strictObject({ certificate: z.string().min(1).max(1_000_000) });

export function certificatesRouter(deps: Pick<AppDeps, 'db' | 'config' | 'log'>): Router {
  const router = Router();
  const key = deps.config.certificates.signingKey;

  async function load(params: unknown) {
    const { id } = parseOr400(CertificateIdParam, params, 'path');
    const stored = await certificates.find(deps.db, id);
    if (!stored) throw new HttpProblem(404, 'Certificate not found', `no certificate ${id}`);
    return stored;
  }

  router.get('/v1/certificates/:id', async (req, res) => {
    const stored = await load(req.params);
    res.vary('Accept');
    if (req.accepts(['application/json', 'text/html']) === 'text/html') {
      const verification = verifyCertificate(stored.signed, key.publicKey);
      const html = renderCertificateHtml(stored.signed, { brand: deps.config.brand, verification });
      sendPage(res, deps.config.brand, 200, html);
      return;
    }
    res.json(stored.signed);
  });

  // The customer page lists them: ids and dates only; the document itself is one call away.
  router.get('/v1/customers/:id/certificates', async (req, res) => {
    const { id } = parseOr400(CustomerIdParam, req.params, 'path');
    const list = await certificates.listForCustomer(deps.db, id);
    res.json({
      items: list.map((c) => ({
        id: c.id,
        kind: c.kind,
        requestId: c.requestId,
        issuedAt: c.issuedAt.toISOString(),
        emailedAt: c.emailedAt?.toISOString() ?? null,
        keyId: c.signed.signature.keyId,
      })),
    });
  });

  router.get('/v1/certificates/:id/verify', async (req, res) => {
    const stored = await load(req.params);
    res.json(verifyCertificate(stored.signed, key.publicKey));
  });

  // A tampered or foreign document is a finding, answered 200 with valid=false; only a body that is not JSON is 400.
  router.post('/v1/certificates/verify', (req, res) => {
    res.json(verifyCertificate(req.body as unknown, key.publicKey));
  });

  router.get('/certificates/verify', (_req, res) => {
    sendPage(res, deps.config.brand, 200, certificateCheckForm(deps.config.brand));
  });

  router.post(
    '/certificates/verify',
    express.urlencoded({ extended: false, limit: '1mb', parameterLimit: 5 }),
    (req, res) => {
      const brand = deps.config.brand;
      const { certificate } = parseOr400(CertificateCheckBody, req.body, 'body');
      let document: unknown;
      try {
        document = JSON.parse(certificate);
      } catch {
        const error = { message: 'This is not JSON: paste the whole content of the .json file.', pasted: certificate };
        sendPage(res, brand, 400, certificateCheckForm(brand, error));
        return;
      }
      const verification = verifyCertificate(document, key.publicKey);
      if (!verification.checks.format) {
        const message = `This is not a deletion certificate: ${verification.problems.join('; ')}`;
        sendPage(res, brand, 422, certificateCheckForm(brand, { message, pasted: certificate }));
        return;
      }
      // A tampered copy is shown too, under the notice that it failed: what was changed is then there to see.
      const html = renderCertificateHtml(document as SignedCertificate, { brand, verification });
      sendPage(res, brand, 200, html);
    },
  );
  router.use('/certificates/verify', pageErrorHandler({ brand: deps.config.brand, log: deps.log }));

  router.get(CERTIFICATE_KEY_PATH, (req, res) => {
    res.vary('Accept');
    if (req.accepts(['application/x-pem-file', 'application/jwk+json']) === 'application/jwk+json') {
      res.type('application/jwk+json').send(JSON.stringify(publicKeyJwk(key.publicKey)));
      return;
    }
    res.type('application/x-pem-file').send(publicKeyPem(key.publicKey));
  });

  return router;
}

/** Adds the certificate paths to the OpenAPI document. */
export function registerCertificatesOpenApi(
  registry: OpenAPIRegistry,
  problem: (description: string) => ResponseConfig,
): void {
  registry.registerPath({
    method: 'get',
    path: '/v1/certificates/{id}',
    summary: 'A deletion certificate: signed canonical JSON, or its HTML rendering with Accept: text/html',
    description:
      'Content holds ids, counts, dates and hashes only. `digest` is the SHA-256 of the canonical JSON (RFC 8785) of ' +
      '`certificate`; `signature` is Ed25519 over the same bytes, by the key published at ' +
      `${CERTIFICATE_KEY_PATH}.`,
    request: { params: CertificateIdParam },
    responses: {
      200: {
        description: 'The certificate',
        content: { 'application/json': { schema: z.object({}).passthrough() }, 'text/html': { schema: z.string() } },
      },
      404: problem('No such certificate'),
    },
  });
  registry.registerPath({
    method: 'get',
    path: '/v1/customers/{id}/certificates',
    summary: "A customer's deletion certificates (ids, kinds, dates), newest first; kept after the data is gone",
    request: { params: CustomerIdParam },
    responses: {
      200: {
        description: 'The list',
        content: {
          'application/json': {
            schema: z.object({
              items: z.array(
                z.object({
                  id: z.uuid(),
                  kind: z.enum(['termination', 'deletion_request']),
                  requestId: z.uuid(),
                  issuedAt: z.string(),
                  emailedAt: z.string().nullable(),
                  keyId: z.string(),
                }),
              ),
            }),
          },
        },
      },
    },
  });
  registry.registerPath({
    method: 'get',
    path: '/v1/certificates/{id}/verify',
    summary: 'Re-verify the stored certificate (digest, signature, key id)',
    request: { params: CertificateIdParam },
    responses: {
      200: {
        description: 'The verification; a changed certificate answers valid=false',
        content: { 'application/json': { schema: CertificateVerification } },
      },
      404: problem('No such certificate'),
    },
  });
  registry.registerPath({
    method: 'post',
    path: '/v1/certificates/verify',
    summary: 'Verify a certificate document you hold',
    request: { body: { content: { 'application/json': { schema: z.object({}).passthrough() } } } },
    responses: {
      200: {
        description: 'The verification; a changed or foreign document answers valid=false',
        content: { 'application/json': { schema: CertificateVerification } },
      },
    },
  });
}

/** The public key path and check page (no token), registered after the loop that marks /v1 routes as needing one. */
export function registerCertificateKeyOpenApi(registry: OpenAPIRegistry): void {
  const html = { 'text/html': { schema: z.string() } };
  registry.registerPath({
    method: 'get',
    path: '/certificates/verify',
    summary: 'Page to check a deletion certificate you hold (paste its JSON)',
    responses: { 200: { description: 'The form', content: html } },
  });
  registry.registerPath({
    method: 'post',
    path: '/certificates/verify',
    summary: 'The pasted certificate rendered, with the result of checking its digest and signature (nothing stored)',
    request: { body: { content: { 'application/x-www-form-urlencoded': { schema: CertificateCheckBody } } } },
    responses: {
      200: { description: 'The certificate and the verification (valid or not)', content: html },
      400: { description: 'Not JSON (the form again, with the error)', content: html },
      422: { description: 'JSON, but not a certificate (the form again, with the error)', content: html },
    },
  });
  registry.registerPath({
    method: 'get',
    path: CERTIFICATE_KEY_PATH,
    summary: 'Public key that verifies deletion certificates (PEM SPKI, or JWK with Accept: application/jwk+json)',
    responses: {
      200: {
        description: 'The Ed25519 public key',
        content: { 'application/x-pem-file': { schema: z.string() }, 'application/jwk+json': { schema: z.string() } },
      },
    },
  });
}
