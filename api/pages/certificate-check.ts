/**
 * The public certificate check (`/certificates/verify`): whoever received a deletion certificate (the JSON attachment
 * of its email) pastes it here and sees it rendered, with the result of checking its digest and signature against the
 * service's published key. Nothing is stored; the page needs no token because it discloses nothing the visitor did
 * not bring.
 */
import { CERTIFICATE_KEY_PATH } from '../../lib/config';
import { e, pageDocument, type Brand, type Html } from '../../lib/page-layout';

/** The form; `error` (with what was pasted) when the last attempt could not be read. */
export function certificateCheckForm(brand: Brand, error?: { message: string; pasted: string }): Html {
  const described = error ? ' aria-describedby="certificate-error" aria-invalid="true"' : '';
  return pageDocument({
    brand,
    title: 'Check a deletion certificate',
    ...(error
      ? {
          notice: {
            tone: 'bad' as const,
            html: `<strong>This could not be checked</strong><p id="certificate-error">${e(error.message)}</p>`,
          },
        }
      : {}),
    body:
      `<p>A deletion certificate from ${e(brand.name)} comes as a JSON file attached to its email, signed with ` +
      `Ed25519. Paste the file’s content below to see it and check that it is the certificate as issued: its ` +
      `digest must match its content, and its signature the key published at <code>${e(CERTIFICATE_KEY_PATH)}</code>.` +
      '</p>' +
      '<form method="post" action="/certificates/verify">' +
      '<label for="certificate">Certificate (the content of the .json attachment)</label>' +
      `<textarea id="certificate" name="certificate" required spellcheck="false"${described}>` +
      `${e(error?.pasted ?? '')}</textarea>` +
      '<p class="actions"><button class="button" type="submit">Check the certificate</button></p></form>' +
      '<p class="muted">Nothing you paste is stored. To check offline instead: ' +
      '<code>npm run cli -- certificate verify certificate.json --public-key key.pem</code>.</p>',
  });
}
