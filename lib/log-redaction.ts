/**
 * PII redaction for every log line (DESIGN.md principle 5): a winston format that createLogger puts in front of the
 * output, so emails, phone numbers and names never reach a log file, whoever wrote the log call (our code, the
 * Temporal SDK reporting an activity failure, a library's error message).
 *
 * What it masks:
 * - anywhere in a string: staff bearer tokens, signed link tokens and the token segment of `/verify/...`,
 *   `/exports/...` and `/acknowledge/...` paths ({@link redactTokens});
 * - anywhere in a string (messages, meta values, error messages and stacks): email addresses, E.164 numbers
 *   (`+4930123456`, `+49 30 123456`) and phone-like national numbers (`030 1234567`, `(555) 123-4567`);
 * - the value of any key that holds names or contact data ({@link SENSITIVE_KEYS}; case-insensitive, `_`/`-`
 *   ignored, at any depth), including such keys inside JSON text (`"contactName":"..."`) or `key=value` text, which is
 *   how a subprocessor's answer appears inside an error message.
 *
 * What it cannot mask: a name in free prose ("contact Greta refused"), since nothing marks it as a name. Code must not
 * put personal data in log messages; this format is the safety net, not the policy.
 */
import winston from 'winston';

/** What a masked keyed value becomes. */
export const REDACTED = '[redacted]';
export const REDACTED_EMAIL = '[redacted-email]';
export const REDACTED_PHONE = '[redacted-phone]';
export const REDACTED_TOKEN = '[redacted-token]';

/**
 * Keys whose values are names or contact data, normalised (lower case, without `_` and `-`): `contact_name`,
 * `ContactName` and `contact-name` all match `contactname`.
 */
export const SENSITIVE_KEYS: ReadonlySet<string> = new Set([
  'name',
  'fullname',
  'firstname',
  'lastname',
  'givenname',
  'familyname',
  'contactname',
  'companyname',
  'legalname',
  'email',
  'emailaddress',
  'contactemail',
  'phone',
  'phonenumber',
  'contactphone',
  'mobile',
  'to',
  'from',
  'cc',
  'bcc',
  'replyto',
  'recipient',
  'recipients',
  // Credentials: staff bearer tokens, signed link tokens.
  'token',
  'linktoken',
  'authorization',
]);

const normaliseKey = (key: string): string => key.toLowerCase().replace(/[_-]/g, '');

/** True when values under `key` are masked. */
export function isSensitiveKey(key: string): boolean {
  return SENSITIVE_KEYS.has(normaliseKey(key));
}

const EMAIL =
  /[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.[A-Za-z]{2,63}(?![A-Za-z0-9-])/g;

/**
 * Phone numbers: E.164 with optional separators, national numbers with a trunk `0` and a separator, and the
 * `(555) 123-4567` shape. Anchored so they never match inside ids, dates, versions, IP addresses or durations.
 */
const PHONE = new RegExp(
  [
    String.raw`(?<![\w+])\+\d(?:[ .\-()]{0,2}\d){6,14}(?![\w])`,
    String.raw`(?<![\w+.\-/:])\(?0\d{1,4}\)?[ .\-/]\d{3,}(?:[ .\-]\d{2,})*(?![\w\-]|\.\d)`,
    String.raw`(?<![\w+.\-/:])\(?\d{3}\)?[ .\-]\d{3}[ .\-]\d{4}(?![\w\-]|\.\d)`,
  ].join('|'),
  'g',
);

function digitCount(text: string): number {
  let count = 0;
  for (const ch of text) if (ch >= '0' && ch <= '9') count++;
  return count;
}

const KEY_ALTERNATION = (() => {
  // Matches a sensitive key written in any case, with or without `_`/`-` between its letters.
  const parts = [...SENSITIVE_KEYS].sort((a, b) => b.length - a.length).map((key) => key.split('').join('[_-]?'));
  return parts.join('|');
})();

/**
 * `"key": "value"`, `key: 'value'`, `"key": 123` inside text (JSON bodies, inspected objects). An unterminated value
 * (a body cut off mid-string) is masked to the end of the text.
 */
const QUOTED_PAIR = new RegExp(
  String.raw`(?<![\w-])(["']?)(${KEY_ALTERNATION})\1(\s*:\s*)("(?:[^"\\]|\\[\s\S])*(?:"|$)|'(?:[^'\\]|\\[\s\S])*(?:'|$)|-?\d[\d.eE+-]*)`,
  'gi',
);
/** The same inside a JSON string that was itself serialized: `\"key\":\"value\"`. */
const ESCAPED_PAIR = new RegExp(
  String.raw`\\"(${KEY_ALTERNATION})\\"(\s*:\s*)(?:\\"(?:(?!\\")[\s\S])*(?:\\"|$)|-?\d[\d.eE+-]*)`,
  'gi',
);
/** `key=value` (query strings, logfmt) inside text. */
const KV_PAIR = new RegExp(String.raw`(?<![\w-])(${KEY_ALTERNATION})=([^&\s,;"']+)`, 'gi');

/** The token segment of a public link path: `/verify/<token>`, `/download/<token>`, `/exports/<token>`, `/acknowledge/<token>`. */
const LINK_PATH = /\/(verify|download|exports|acknowledge)\/[^/?#\s"'<>]+/g;
/** A signed link token anywhere (lib/signed-links.ts: base64url JSON starting `{"`, a dot, a 43-character HMAC). */
const LINK_TOKEN = /(?<![\w-])eyJ[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{43}(?![\w-])/g;
/** A staff bearer token (db/repositories/staff-tokens.ts: `dlo_` and 43 base64url characters). */
const STAFF_TOKEN = /(?<![\w-])dlo_[A-Za-z0-9_-]{20,}/g;

/**
 * Masks link tokens and staff tokens inside a string: the token segment of a public link's path (whatever it holds)
 * and anything shaped like a signed link token or a staff token. Error answers use it for `instance` and `detail`, so
 * a link token is never echoed back (api/problem.ts); every log line goes through it via {@link redactText}.
 */
export function redactTokens(text: string): string {
  return text
    .replace(LINK_PATH, (_match, route: string) => `/${route}/${REDACTED_TOKEN}`)
    .replace(LINK_TOKEN, REDACTED_TOKEN)
    .replace(STAFF_TOKEN, REDACTED_TOKEN);
}

/** Masks emails, phone numbers, tokens and sensitive `key: value` pairs inside a string. */
export function redactText(text: string): string {
  if (text.length === 0) return text;
  return redactTokens(text)
    .replace(ESCAPED_PAIR, (_match, key: string, colon: string) => `\\"${key}\\"${colon}\\"${REDACTED}\\"`)
    .replace(QUOTED_PAIR, (_match, quote: string, key: string, colon: string, value: string) => {
      const q = value.startsWith("'") ? "'" : '"';
      return `${quote}${key}${quote}${colon}${q}${REDACTED}${q}`;
    })
    .replace(KV_PAIR, (_match, key: string) => `${key}=${REDACTED}`)
    .replace(EMAIL, REDACTED_EMAIL)
    .replace(PHONE, (match) => {
      const digits = digitCount(match);
      return digits >= 7 && digits <= 15 ? REDACTED_PHONE : match;
    });
}

const MAX_DEPTH = 12;

/**
 * Returns a redacted copy of `value` (never mutates it): strings through {@link redactText}, values under sensitive
 * keys replaced by {@link REDACTED}, errors turned into `{ name, message, stack, ... }` with those redacted too,
 * binary data summarised.
 */
export function redactValue(value: unknown): unknown {
  return redact(value, 0, new WeakSet());
}

function redact(value: unknown, depth: number, seen: WeakSet<object>): unknown {
  if (typeof value === 'string') return redactText(value);
  if (value === null || typeof value !== 'object') return value;
  if (seen.has(value)) return '[circular]';
  if (depth >= MAX_DEPTH) return '[redacted: nested too deep]';
  if (value instanceof Date) return value;
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer) return `[binary ${value.byteLength} bytes]`;
  seen.add(value);
  try {
    if (Array.isArray(value)) return value.map((item) => redact(item, depth + 1, seen));
    if (value instanceof Map || value instanceof Set) return `[${value.constructor.name} of ${value.size}]`;
    if (value instanceof Error) return redactError(value, depth, seen);
    const out: Record<string, unknown> = {};
    // An error already turned into a plain object keeps its `name` (the error class, not a person).
    const looksLikeError = typeof (value as { stack?: unknown }).stack === 'string';
    for (const [key, item] of Object.entries(value)) {
      out[key] = maskKey(key, item, looksLikeError) ? REDACTED : redact(item, depth + 1, seen);
    }
    return out;
  } finally {
    seen.delete(value);
  }
}

function maskKey(key: string, item: unknown, inError: boolean): boolean {
  if (item === undefined || item === null) return false;
  if (inError && key === 'name') return false;
  return isSensitiveKey(key);
}

function redactError(err: Error, depth: number, seen: WeakSet<object>): Record<string, unknown> {
  const out: Record<string, unknown> = { name: err.name, message: redactText(err.message) };
  if (err.stack) out.stack = redactText(err.stack);
  for (const [key, item] of Object.entries(err)) {
    if (key === 'name' || key === 'message' || key === 'stack') continue;
    out[key] = maskKey(key, item, true) ? REDACTED : redact(item, depth + 1, seen);
  }
  if (err.cause !== undefined && !('cause' in out)) out.cause = redact(err.cause, depth + 1, seen);
  return out;
}

/**
 * winston format: redacts the message and every meta field of a log entry (see the module comment). The entry's
 * winston-internal symbol keys are kept; the caller's meta objects are not mutated.
 */
export const redactPii = winston.format((info) => {
  const out = Object.assign({}, info) as winston.Logform.TransformableInfo & Record<string, unknown>;
  for (const [key, value] of Object.entries(info)) {
    if (key === 'level' || key === 'timestamp') continue;
    if (key === 'message' && value instanceof Error) {
      out.message = redactText(String(value));
      continue;
    }
    out[key] = key !== 'message' && maskKey(key, value, false) ? REDACTED : redactValue(value);
  }
  return out;
});
