/**
 * The failure converter of every client, worker and workflow bundle: the SDK's default one with
 * `encodeCommonAttributes`, which moves each failure's message and stack trace into a payload so that the payload
 * codec (lib/payload-codec.ts) encrypts them too. Without it, error messages (which can quote a subprocessor's answer)
 * would be stored in Temporal's history as plain text.
 *
 * Loaded by path (see FAILURE_CONVERTER_PATH in lib/data-converter.ts) because the workflow sandbox needs its own copy:
 * it is bundled into the workflow code, so it must stay free of Node built-ins and I/O.
 */
import { DefaultFailureConverter } from '@temporalio/common';

export const failureConverter = new DefaultFailureConverter({ encodeCommonAttributes: true });
