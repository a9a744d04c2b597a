/**
 * @betblocker/proto: the agent <-> API wire contract (proto/betblocker/agent/v1/*.proto) as
 * generated TypeScript (src/gen, protoc-gen-es 2.13.0: `npm run generate -w @betblocker/proto`),
 * plus the helpers both sides use: size-limited encode/decode, enum <-> SQL string mapping,
 * event batch checks and the AgentConfig <-> JSONB config mapping.
 *
 * Build a message with `create(EventBatchSchema, {...})`, send `encodeMessage(EventBatchSchema, m)`,
 * read `decodeMessage(EventBatchSchema, bytes)`.
 */

// The runtime pieces callers need, so they need not depend on @bufbuild/protobuf themselves.
export {
  clone,
  create,
  type DescEnum,
  type DescMessage,
  equals,
  isMessage,
  type MessageInitShape,
  type MessageShape,
} from "@bufbuild/protobuf";
export {
  type Timestamp,
  timestampDate,
  timestampFromDate,
  timestampFromMs,
  timestampMs,
} from "@bufbuild/protobuf/wkt";
export * from "./codec";
export * from "./config-mapping";
export * from "./enums";
export * from "./events";
export * from "./gen/betblocker/agent/v1/agent_pb";
export * from "./gen/betblocker/agent/v1/blocklist_pb";
export * from "./gen/betblocker/agent/v1/config_pb";
export * from "./gen/betblocker/agent/v1/events_pb";
