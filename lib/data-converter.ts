/**
 * The one data converter of the service: the payload codec (AES-256-GCM, key ids, rotation) and the failure converter
 * that encodes failure messages and stack traces. Every Temporal client and worker uses it, and the workflow bundle
 * includes the same failure converter (scripts/bundle-workflows.ts), so nothing reaches the Temporal server in the clear
 * except ids, types and search attributes.
 */
import path from 'node:path';
import type { DataConverter } from '@temporalio/common';
import { AesGcmPayloadCodec, type PayloadKeyring } from './payload-codec';

/**
 * Path of the module whose `failureConverter` export encrypts failure messages (lib/failure-converter.ts, or .js when
 * running from dist/). Give it to `bundleWorkflowCode({ failureConverterPath })` when pre-bundling workflows.
 */
export const FAILURE_CONVERTER_PATH = require.resolve(path.join(__dirname, 'failure-converter'));

/** Builds the data converter for `new Client({ dataConverter })` and `Worker.create({ dataConverter })`. */
export function createDataConverter(keys: PayloadKeyring): DataConverter {
  return {
    payloadCodecs: [new AesGcmPayloadCodec(keys)],
    failureConverterPath: FAILURE_CONVERTER_PATH,
  };
}
