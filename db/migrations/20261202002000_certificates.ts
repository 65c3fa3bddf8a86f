/**
 * Deletion certificates (lib/certificate.ts): one row per certificate issued for a contract termination or a deletion
 * request.
 *
 * - `canonical_content` keeps the exact bytes that were hashed and signed (canonical JSON), so a stored certificate
 *   re-verifies without depending on how jsonb orders keys or prints numbers.
 * - No foreign key to customers or requests on purpose: the certificate is the evidence that outlives the customer's
 *   data. It holds ids, counts, dates and hashes only (no personal data), so keeping it erases nothing it certifies.
 * - Append-only in spirit: issuing twice with the same id keeps the first (the repository inserts with ON CONFLICT DO
 *   NOTHING), and a trigger refuses updates, so a stored certificate can only be verified, never rewritten.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('certificates', (t) => {
    t.comment('Signed deletion certificates (termination, deletion request); evidence kept after the data is gone');
    t.uuid('id').primary();
    t.text('kind').notNullable().comment('termination | deletion_request');
    t.uuid('customer_id').notNullable().comment('No foreign key: the certificate outlives the customer');
    t.uuid('request_id').notNullable().comment('The lifecycle request it certifies (one certificate per request)');
    t.text('canonical_content').notNullable().comment('Canonical JSON (RFC 8785) of the content: the signed bytes');
    t.text('digest_sha256').notNullable().comment('Hex SHA-256 of canonical_content');
    t.text('signature').notNullable().comment('Base64 Ed25519 signature over canonical_content');
    t.text('key_id').notNullable().comment('Fingerprint of the signing public key (lib/certificate-keys.ts)');
    t.timestamp('issued_at', { useTz: true }).notNullable();
    t.timestamp('emailed_at', { useTz: true }).comment('When the certificate was mailed to the customer, if it was');
    t.unique(['request_id'], { indexName: 'certificates_request_uniq' });
    t.index(['customer_id', 'issued_at'], 'certificates_customer_idx');
  });
  await knex.raw(`alter table certificates add constraint certificates_kind_check
    check (kind in ('termination', 'deletion_request'))`);
  // Only emailed_at may change (once); the signed columns never do.
  await knex.raw(`
    create function certificates_immutable() returns trigger language plpgsql as $$
    begin
      if new.id <> old.id or new.kind <> old.kind or new.customer_id <> old.customer_id
         or new.request_id <> old.request_id or new.canonical_content <> old.canonical_content
         or new.digest_sha256 <> old.digest_sha256 or new.signature <> old.signature or new.key_id <> old.key_id
         or new.issued_at <> old.issued_at then
        raise exception 'certificates are immutable once issued';
      end if;
      return new;
    end $$`);
  await knex.raw(`create trigger certificates_immutable_trg before update on certificates
    for each row execute function certificates_immutable()`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('certificates');
  await knex.raw('drop function certificates_immutable()');
}
