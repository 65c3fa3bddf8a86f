/**
 * The customer pages' layout (lib/page-layout.ts) and its configuration: everything interpolated is escaped, the
 * Content-Security-Policy allows exactly the page's stylesheet and the configured logo, addresses are masked, and the
 * BRAND_* variables are validated. The pages themselves are driven in a browser in test/browser/customer-pages.test.ts.
 */
import { createHash } from 'node:crypto';
import { verificationPage } from '../api/pages/verification';
import { ConfigError, loadConfig } from '../lib/config';
import { maskEmail, pageContentSecurityPolicy, pageDocument, type Brand } from '../lib/page-layout';

const HOSTILE = `<script>alert(1)</script><img src=x onerror="alert(2)">"'&`;

describe('page layout', () => {
  it('escapes every interpolated value: brand, title, facts and the token in the form', () => {
    const brand: Brand = { name: HOSTILE, supportEmail: `a"b@example.com`, logoUrl: '/logo.svg?a="b"' };
    const html = verificationPage(
      brand,
      {
        requestId: HOSTILE,
        type: 'access',
        companyName: HOSTILE,
        contactEmail: `${HOSTILE}@example.com`,
        receivedAt: new Date('2026-12-01T10:00:00Z'),
        dueOn: null,
        linkExpiresAt: new Date('2026-12-15T10:00:00Z'),
      },
      `tok"><script>alert(3)</script>`,
    );
    expect(html).not.toMatch(/<script|<img src=x|onerror="/);
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).toContain('value="tok&quot;&gt;&lt;script&gt;alert(3)&lt;/script&gt;"');
    expect(html).toContain('href="mailto:a&quot;b@example.com"');
    expect(html).toContain('src="/logo.svg?a=&quot;b&quot;"');
    // The only elements are the layout's own: one form posting to a fixed path, no scripts.
    expect(html.match(/<form /g)).toHaveLength(1);
    expect(html).toContain('<form class="actions" method="post" action="/verify">');
  });

  it("has a CSP that allows the page's own stylesheet by its hash, the logo's origin, and no script", () => {
    const html = pageDocument({ brand: { name: 'Acme' }, title: 'T', body: '<p>x</p>' });
    const style = /<style>([\s\S]*?)<\/style>/.exec(html)![1]!;
    const hash = createHash('sha256').update(style).digest('base64');
    const csp = pageContentSecurityPolicy({ name: 'Acme' });
    expect(csp).toContain(`style-src 'sha256-${hash}'`);
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("form-action 'self'");
    expect(csp).not.toContain('script-src');
    expect(csp).toContain("img-src 'self' data:;");
    expect(pageContentSecurityPolicy({ name: 'Acme', logoUrl: 'https://cdn.acme.example/brand/logo.svg' })).toContain(
      "img-src 'self' data: https://cdn.acme.example;",
    );
    expect(pageContentSecurityPolicy({ name: 'Acme', logoUrl: '/static/logo.png' })).toContain("img-src 'self' data:;");
    // No request for /favicon.ico (the API would refuse it as unauthenticated and log it as a failed sign-in).
    expect(html).toContain('<link rel="icon" href="data:,">');
    // A page opened from a mail attachment loads nothing, not even the logo.
    const offline = pageDocument({ brand: { name: 'A', logoUrl: '/l.png' }, title: 'T', body: '', offline: true });
    expect(offline).not.toContain('<img');
  });

  it('masks an address to its first characters and its domain', () => {
    expect(maskEmail('anna.schneider@nordwind.example')).toBe('an***@nordwind.example');
    expect(maskEmail('bob@x.example')).toBe('b***@x.example');
    expect(maskEmail('a@x.example')).toBe('a***@x.example');
    expect(maskEmail('not-an-address')).toBe('***');
  });
});

describe('brand configuration', () => {
  it('defaults the support address to the sender of the emails', () => {
    expect(loadConfig({}).brand).toEqual({
      name: 'Privacy Team',
      logoUrl: undefined,
      supportEmail: 'privacy@example.com',
    });
    expect(loadConfig({ MAIL_FROM: 'Acme <dpo@acme.example>' }).brand.supportEmail).toBe('dpo@acme.example');
    expect(
      loadConfig({
        BRAND_NAME: 'Acme Privacy',
        BRAND_LOGO_URL: 'https://cdn.acme.example/logo.svg',
        BRAND_SUPPORT_EMAIL: 'help@acme.example',
      }).brand,
    ).toEqual({
      name: 'Acme Privacy',
      logoUrl: 'https://cdn.acme.example/logo.svg',
      supportEmail: 'help@acme.example',
    });
  });

  it.each(['http://cdn.acme.example/logo.svg', '//cdn.acme.example/logo.svg', 'javascript:alert(1)', 'logo.svg'])(
    'refuses BRAND_LOGO_URL=%s, naming the variable and the rule',
    (logo) => {
      expect(() => loadConfig({ BRAND_LOGO_URL: logo })).toThrow(ConfigError);
      expect(() => loadConfig({ BRAND_LOGO_URL: logo })).toThrow(
        /BRAND_LOGO_URL: must be an https:\/\/ URL or a path on this host starting with \//,
      );
    },
  );

  it('refuses an empty brand name and a support address that is not one', () => {
    expect(() => loadConfig({ BRAND_NAME: '  ' })).toThrow(/BRAND_NAME/);
    expect(() => loadConfig({ BRAND_SUPPORT_EMAIL: 'help desk' })).toThrow(/BRAND_SUPPORT_EMAIL/);
  });
});
