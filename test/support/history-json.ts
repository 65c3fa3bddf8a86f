/**
 * Workflow histories to and from the JSON of `temporal workflow show -o json` (proto3 JSON), as
 * `historyToJSON`/`historyFromJSON` of @temporalio/common/lib/proto-utils do.
 *
 * Why not those two: they take protobufjs's JSON codec from @temporalio/common's own copy of protobufjs and apply it to
 * message types built by @temporalio/proto's copy. npm installs the SDK's protobufjs 8 once per @temporalio package
 * here (the top-level slot holds the protobufjs 7 that @grpc/proto-loader needs), so the two copies differ and every
 * call throws "type must be a Type". This module takes the codec from the copy @temporalio/proto itself resolves,
 * which is the right one however npm lays the packages out.
 */
import { createRequire } from 'node:module';
import * as proto from '@temporalio/proto';
import { patchProtobufRoot } from '@temporalio/proto/lib/patch-protobuf-root';

type History = proto.temporal.api.history.v1.IHistory;

interface ProtoJson {
  toJson(type: unknown, message: unknown): unknown;
  fromJson(type: unknown, json: unknown, options?: { ignoreUnknownFields?: boolean }): unknown;
}
interface LookupRoot {
  lookupType(name: string): unknown;
}

const requireFromProto = createRequire(require.resolve('@temporalio/proto'));
const protojson = requireFromProto('protobufjs/ext/protojson') as ProtoJson;
const historyType = (patchProtobufRoot(proto) as unknown as LookupRoot).lookupType('temporal.api.history.v1.History');

/** The history as proto3 JSON (an object ready for JSON.stringify). */
export function historyToJson(history: History): unknown {
  return protojson.toJson(historyType, proto.temporal.api.history.v1.History.fromObject(history));
}

/** A history read from proto3 JSON; fields unknown to this SDK (a newer server) are ignored. */
export function historyFromJson(json: unknown): History {
  if (typeof json !== 'object' || json === null || !Array.isArray((json as { events?: unknown }).events))
    throw new TypeError('not a workflow history: expected an object with an array of events');
  return protojson.fromJson(historyType, json, { ignoreUnknownFields: true }) as History;
}
