/**
 * A setting of a stack's live configuration changed for one call: for the durations a workflow fixes in its input when
 * it starts (a termination's grace period, a request's verification timeout). A file keeps them short so that its
 * expiry tests finish quickly; a test that must act within one (use a link, confirm an identity) lengthens it for its
 * own start, so a busy machine cannot make it expire first.
 */

/** Sets `owner[key]` to `value` while `during` runs, then restores it. */
export async function withSettingDuring<O extends object, K extends keyof O, T>(
  owner: O,
  key: K,
  value: O[K],
  during: () => Promise<T>,
): Promise<T> {
  const previous = owner[key];
  owner[key] = value;
  try {
    return await during();
  } finally {
    owner[key] = previous;
  }
}
