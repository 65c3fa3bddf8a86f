/**
 * Payload keys of every test stack (test-only values, derived from fixed labels so they are the same in every run): a
 * retired key and the active one, as after a rotation. The recorded histories in test/histories are encrypted with
 * them, which is why they must never change (test/replay.test.ts decrypts with them).
 */
import { createHash } from 'node:crypto';

const testKey = (label: string) => createHash('sha256').update(label).digest('base64');

export const TEST_PAYLOAD_KEYS = `test-2025:${testKey('test payload key 2025')},test-2026:${testKey('test payload key 2026')}`;
export const TEST_ACTIVE_PAYLOAD_KEY_ID = 'test-2026';
