/**
 * `certificate verify <file> --public-key <file>`: checks a deletion certificate offline, with nothing but the
 * document and the published public key (PEM or JWK): no database, no network. Prints the verification as JSON and
 * exits 1 when the certificate does not verify, so scripts can rely on the exit code.
 *
 * `certificate public-key [--jwk]`: prints the public half of the configured signing key, as published at
 * `/.well-known/certificate-signing-key`.
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { verifyCertificate } from '../../lib/certificate';
import { parsePublicKey, publicKeyJwk, publicKeyPem } from '../../lib/certificate-keys';
import { loadConfig } from '../../lib/config';

export function registerCertificateCommands(program: Command): void {
  const certificate = program.command('certificate').description('Deletion certificates');

  certificate
    .command('verify')
    .description('Verify a certificate (JSON file) offline against a public key; exits 1 when it does not verify')
    .argument('<file>', 'the certificate as JSON (GET /v1/certificates/{id})')
    .requiredOption('--public-key <file>', 'the public key, PEM or JWK (GET /.well-known/certificate-signing-key)')
    .action((file: string, opts: { publicKey: string }) => {
      const publicKey = parsePublicKey(readFileSync(opts.publicKey, 'utf8'));
      let document: unknown;
      try {
        document = JSON.parse(readFileSync(file, 'utf8'));
      } catch (err) {
        throw new Error(`${file} is not a JSON document: ${(err as Error).message}`, { cause: err });
      }
      const report = verifyCertificate(document, publicKey);
      console.log(JSON.stringify(report, null, 2));
      if (!report.valid) process.exitCode = 1;
    });

  certificate
    .command('public-key')
    .description('Print the public key of the configured signing key (PEM, or JWK with --jwk)')
    .option('--jwk', 'print a JWK instead of PEM')
    .action((opts: { jwk?: boolean }) => {
      const key = loadConfig().certificates.signingKey.publicKey;
      console.log(opts.jwk ? JSON.stringify(publicKeyJwk(key)) : publicKeyPem(key).trimEnd());
    });
}
