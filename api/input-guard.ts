/**
 * Checks every request's text before any route sees it, so that input the database or a decoder would choke on is the
 * client's 400 naming the field, never a 500:
 *
 * - a path parameter with a malformed percent-escape (`/verify/%ff`, `/exports/%E0%A4%A`), found by matching the path
 *   against the route table (api/route-permissions.ts) without decoding it;
 * - a NUL character (U+0000) or an unpaired UTF-16 surrogate (`"\ud800"`) in a path parameter, a query parameter or any
 *   string (or key) of a JSON body: PostgreSQL refuses both (text cannot hold NUL; jsonb refuses `\u0000` and a lone
 *   surrogate escape), and neither is part of any legitimate value.
 *
 * Refusals name where the value was (`path.token`, `query.from`, `body.contacts[0].name`) and the rule, never the
 * value itself (a path parameter may be a link token). Headers need no check here: Node's HTTP parser refuses control
 * characters in them, and a header value is Latin-1 bytes, which cannot hold a surrogate.
 */
import type { RequestHandler } from 'express';
import { ValidationProblem, type FieldError } from './problem';
import { routeParams } from './route-permissions';

/** What a NUL or unpaired surrogate is reported as: the `rule` of the field error. */
export const FORBIDDEN_CHARACTER = 'forbidden_character';
/** The `rule` of a path parameter whose percent-encoding does not decode to UTF-8. */
export const INVALID_PERCENT_ENCODING = 'invalid_percent_encoding';

// A high surrogate not followed by a low one, or a low one not preceded by a high one.
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Why `text` cannot be accepted, or undefined when it can. */
export function unsafeTextReason(text: string): string | undefined {
  if (text.includes('\u0000')) return 'contains a NUL character (U+0000), which no field may hold';
  if (LONE_SURROGATE.test(text)) return 'contains an unpaired UTF-16 surrogate (not valid Unicode)';
  return undefined;
}

function fieldName(base: string, key: string | number): string {
  if (typeof key === 'number') return `${base}[${key}]`;
  // A key that is itself unsafe is named in escaped form, so the answer stays valid text.
  return `${base}.${unsafeTextReason(key) ? JSON.stringify(key).slice(1, -1) : key}`;
}

/**
 * Every string (and object key) in `value` that {@link unsafeTextReason} refuses, as field errors under `location`.
 * Iterative (a deeply nested body cannot exhaust the stack) and stops after `max` errors.
 */
export function unsafeTextErrors(value: unknown, location: string, max = 20): FieldError[] {
  const errors: FieldError[] = [];
  const stack: [string, unknown][] = [[location, value]];
  while (stack.length > 0 && errors.length < max) {
    const [where, node] = stack.pop()!;
    if (typeof node === 'string') {
      const reason = unsafeTextReason(node);
      if (reason) errors.push({ field: where, rule: FORBIDDEN_CHARACTER, message: reason });
    } else if (ArrayBuffer.isView(node)) {
      // A raw body kept for its signature (subprocessor callbacks): its route parses and checks it.
      continue;
    } else if (Array.isArray(node)) {
      for (let i = node.length - 1; i >= 0; i--) stack.push([fieldName(where, i), node[i]]);
    } else if (typeof node === 'object' && node !== null) {
      for (const [key, child] of Object.entries(node).reverse()) {
        const reason = unsafeTextReason(key);
        if (reason) errors.push({ field: fieldName(where, key), rule: FORBIDDEN_CHARACTER, message: `key ${reason}` });
        stack.push([fieldName(where, key), child]);
      }
    }
  }
  return errors;
}

/** Path parameter errors of a request, from the route table; empty when no route matches (the 404 comes later). */
export function pathParameterErrors(method: string, path: string): FieldError[] {
  const matched = routeParams(method, path);
  if (!matched) return [];
  const errors: FieldError[] = [];
  for (const [name, raw] of Object.entries(matched.params)) {
    for (const segment of [raw].flat()) {
      let decoded: string;
      try {
        decoded = decodeURIComponent(segment);
      } catch {
        errors.push({
          field: `path.${name}`,
          rule: INVALID_PERCENT_ENCODING,
          message: 'has a malformed percent-escape (each % must start an escape of UTF-8 bytes, e.g. %C3%A9)',
        });
        break;
      }
      const reason = unsafeTextReason(decoded);
      if (reason) {
        errors.push({ field: `path.${name}`, rule: FORBIDDEN_CHARACTER, message: reason });
        break;
      }
    }
  }
  return errors;
}

/**
 * Refuses a request whose path parameters, query or JSON body hold what {@link pathParameterErrors} and
 * {@link unsafeTextErrors} refuse: 400 problem+json listing each field. Mount after the JSON body parser.
 */
export function inputGuard(): RequestHandler {
  return (req, _res, next) => {
    const errors = [
      ...pathParameterErrors(req.method, req.path),
      ...unsafeTextErrors(req.query, 'query'),
      ...unsafeTextErrors(req.body, 'body'),
    ];
    if (errors.length > 0) throw new ValidationProblem(errors);
    next();
  };
}
