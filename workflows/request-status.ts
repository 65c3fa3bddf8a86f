/**
 * The status query as the API asks it of any request workflow, without knowing its type. Each workflow defines its
 * own typed query under the same name (lib/pure/request-messages.ts).
 */
import { defineQuery } from '@temporalio/workflow';
import { REQUEST_STATUS_QUERY, type RequestStatusView } from '../lib/pure/request-messages';

/** Where any request stands: `{ stage, ...fields of its type }`. */
export const requestStatusQuery = defineQuery<RequestStatusView>(REQUEST_STATUS_QUERY);
