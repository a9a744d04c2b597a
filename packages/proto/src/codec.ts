/**
 * Binary encoding and decoding of the wire messages with size limits.
 *
 * Contract: `decodeMessage` never lets a malformed body escape as a stray exception. Bytes over the
 * size limit, and an EventBatch / FederatedReportBatch with more items than its limit, throw AppError
 * PAYLOAD_TOO_LARGE (checked before any message is built); bytes that are not a
 * valid encoding of the message (truncated, bad wire type, over-long varint, invalid UTF-8 in a
 * string field, nesting deeper than RECURSION_LIMIT) throw AppError VALIDATION_FAILED with
 * `details.reason = "malformed_protobuf"`.
 * The API maps both to 413 / 400 through its error table; the agent treats them as a broken answer.
 *
 * What decoding does NOT check (proto3 semantics, so newer peers stay compatible): unknown fields
 * are kept, unknown enum values are kept as numbers (see enums.ts `findUnknownEnumValues`), absent
 * fields read as their zero value. Content rules (UUID shape, domain normalization, ...) belong to
 * the receiver.
 */

import { AppError } from "@betblocker/common/errors/app-error";
import {
  create,
  type DescMessage,
  fromBinary,
  type MessageInitShape,
  type MessageShape,
  toBinary,
} from "@bufbuild/protobuf";
import { BinaryReader } from "@bufbuild/protobuf/wire";
import { SyncResponseSchema } from "./gen/betblocker/agent/v1/agent_pb";
import { EventBatchSchema, FederatedReportBatchSchema } from "./gen/betblocker/agent/v1/events_pb";

/** Content-Type of every protobuf request and response body of /api/v1/device/*. */
export const PROTOBUF_CONTENT_TYPE = "application/x-protobuf";

/** Limit for a message that has no limit of its own: 1 MiB. */
export const DEFAULT_MAX_MESSAGE_BYTES = 1024 * 1024;

/**
 * A SyncResponse carries a whole signed list (about 6 MB per million entries, blocklist/format.ts)
 * or a delta chain that is smaller than one: 64 MiB leaves room for ten million entries.
 */
export const MAX_SYNC_RESPONSE_BYTES = 64 * 1024 * 1024;

/** Most events one EventBatch may carry (events.proto). */
export const MAX_EVENTS_PER_BATCH = 1000;
/** Most reports one FederatedReportBatch may carry (events.proto). */
export const MAX_FEDERATED_REPORTS_PER_BATCH = 500;

/**
 * Deepest nesting of messages (known or unknown groups) the decoder follows. Our messages nest at
 * most 4 deep; a peer sending more is malformed, and the limit keeps the parser off the call stack.
 */
export const RECURSION_LIMIT = 32;

/**
 * Most items the batch messages' repeated field may hold. Counted by a scan of the top-level tags
 * before decoding: 1 MiB of empty events (2 bytes each) would otherwise become half a million
 * objects (~80 MB of heap) before anyone could count them.
 */
const ITEM_LIMITS: ReadonlyMap<string, { fieldName: string; max: number }> = new Map([
  [EventBatchSchema.typeName, { fieldName: "events", max: MAX_EVENTS_PER_BATCH }],
  [FederatedReportBatchSchema.typeName, { fieldName: "reports", max: MAX_FEDERATED_REPORTS_PER_BATCH }],
]);

/** Per-message limits, by fully-qualified type name. */
const MESSAGE_SIZE_LIMITS: ReadonlyMap<string, number> = new Map([
  [SyncResponseSchema.typeName, MAX_SYNC_RESPONSE_BYTES],
]);

/** The size limit that applies to `schema` unless a caller passes its own. */
export function maxBytesFor(schema: DescMessage): number {
  return MESSAGE_SIZE_LIMITS.get(schema.typeName) ?? DEFAULT_MAX_MESSAGE_BYTES;
}

export interface DecodeOptions {
  /** Refuse more bytes than this. Default: `maxBytesFor(schema)`. */
  maxBytes?: number;
  /** Keep unknown fields (true, the proto3 default) or drop them. */
  readUnknownFields?: boolean;
}

export interface EncodeOptions {
  /** Refuse to produce more bytes than this. Default: `maxBytesFor(schema)`. */
  maxBytes?: number;
}

/** `details` of the AppErrors thrown here; safe to show the peer. */
export interface CodecErrorDetails {
  reason: "malformed_protobuf" | "message_too_large" | "too_many_items";
  /** Fully-qualified message name, e.g. "betblocker.agent.v1.EventBatch". */
  messageType: string;
  /** Also present on VALIDATION_FAILED, so it has the usual ValidationErrorDetails shape. */
  fieldErrors?: { path: string; message: string }[];
  /** For message_too_large. */
  limitBytes?: number;
  actualBytes?: number;
  /** For too_many_items: the repeated field (.proto name), its limit and the count found. */
  field?: string;
  limitItems?: number;
  actualItems?: number;
}

/**
 * Decode `bytes` as a `schema` message. Throws AppError PAYLOAD_TOO_LARGE or VALIDATION_FAILED
 * (see the file comment); never anything else.
 */
export function decodeMessage<Desc extends DescMessage>(
  schema: Desc,
  bytes: Uint8Array,
  options: DecodeOptions = {},
): MessageShape<Desc> {
  const limit = options.maxBytes ?? maxBytesFor(schema);
  if (bytes.byteLength > limit) throw tooLarge(schema, bytes.byteLength, limit);
  try {
    checkItemCount(schema, countTopLevelItems(schema, bytes));
    return fromBinary(schema, bytes, {
      readUnknownFields: options.readUnknownFields ?? true,
      recursionLimit: RECURSION_LIMIT,
    });
  } catch (error) {
    if (error instanceof AppError) throw error;
    const reason = error instanceof Error ? error.message : String(error);
    const details: CodecErrorDetails = {
      reason: "malformed_protobuf",
      messageType: schema.typeName,
      fieldErrors: [{ path: "", message: `not a valid ${schema.name} message: ${reason}` }],
    };
    throw new AppError(
      "VALIDATION_FAILED",
      `malformed protobuf: not a valid ${schema.typeName} (${reason})`,
      details,
      { cause: error },
    );
  }
}

export type DecodeResult<Desc extends DescMessage> =
  | { ok: true; message: MessageShape<Desc> }
  | { ok: false; error: AppError };

/** `decodeMessage` without throwing. */
export function safeDecodeMessage<Desc extends DescMessage>(
  schema: Desc,
  bytes: Uint8Array,
  options: DecodeOptions = {},
): DecodeResult<Desc> {
  try {
    return { ok: true, message: decodeMessage(schema, bytes, options) };
  } catch (error) {
    if (error instanceof AppError) return { ok: false, error };
    throw error;
  }
}

/**
 * Encode a message (or its init shape) to bytes. Throws AppError PAYLOAD_TOO_LARGE when the result
 * exceeds the limit, so a sender learns it before the peer refuses it (split the batch).
 */
export function encodeMessage<Desc extends DescMessage>(
  schema: Desc,
  message: MessageShape<Desc> | MessageInitShape<Desc>,
  options: EncodeOptions = {},
): Uint8Array {
  const shaped = asMessage(schema, message);
  const limit = ITEM_LIMITS.get(schema.typeName);
  if (limit !== undefined) {
    const items = (shaped as unknown as Record<string, unknown>)[
      repeatedField(schema, limit.fieldName).localName
    ];
    checkItemCount(schema, Array.isArray(items) ? items.length : 0);
  }
  const bytes = toBinary(schema, shaped);
  const byteLimit = options.maxBytes ?? maxBytesFor(schema);
  if (bytes.byteLength > byteLimit) throw tooLarge(schema, bytes.byteLength, byteLimit);
  return bytes;
}

function asMessage<Desc extends DescMessage>(
  schema: Desc,
  message: MessageShape<Desc> | MessageInitShape<Desc>,
): MessageShape<Desc> {
  const typeName = (message as { $typeName?: unknown }).$typeName;
  if (typeName === schema.typeName) return message as MessageShape<Desc>;
  // An init shape (plain object): let create() fill the defaults and nested messages.
  return create(schema, message as MessageInitShape<Desc>);
}

function tooLarge(schema: DescMessage, actualBytes: number, limitBytes: number): AppError {
  const details: CodecErrorDetails = {
    reason: "message_too_large",
    messageType: schema.typeName,
    limitBytes,
    actualBytes,
  };
  return new AppError(
    "PAYLOAD_TOO_LARGE",
    `${schema.typeName} of ${actualBytes} bytes exceeds the limit of ${limitBytes} bytes`,
    details,
  );
}

function repeatedField(schema: DescMessage, name: string) {
  const field = schema.fields.find((candidate) => candidate.name === name);
  if (field === undefined) throw new Error(`${schema.typeName} has no field ${name}`);
  return field;
}

/** How many top-level occurrences of the item-limited field `bytes` holds (0 for other messages). */
function countTopLevelItems(schema: DescMessage, bytes: Uint8Array): number {
  const limit = ITEM_LIMITS.get(schema.typeName);
  if (limit === undefined) return 0;
  const fieldNumber = repeatedField(schema, limit.fieldName).number;
  const reader = new BinaryReader(bytes);
  let count = 0;
  while (reader.pos < reader.len) {
    const [number, wireType] = reader.tag();
    if (number === fieldNumber) count++;
    reader.skip(wireType, number, RECURSION_LIMIT);
  }
  return count;
}

function checkItemCount(schema: DescMessage, count: number): void {
  const limit = ITEM_LIMITS.get(schema.typeName);
  if (limit === undefined || count <= limit.max) return;
  const details: CodecErrorDetails = {
    reason: "too_many_items",
    messageType: schema.typeName,
    field: limit.fieldName,
    limitItems: limit.max,
    actualItems: count,
  };
  throw new AppError(
    "PAYLOAD_TOO_LARGE",
    `${schema.typeName} holds ${count} ${limit.fieldName}, more than the limit of ${limit.max}: split it`,
    details,
  );
}
