/**
 * From wire events to events rows: the structural checks of an EventBatch and the mapping of each
 * Event's payload to the events.metadata JSON that @betblocker/common's `parseEventMetadata`
 * validates (spec 003 section 9.4).
 *
 * Division of work: `checkEventBatch` refuses what no schema downstream could make sense of
 * (unknown enum values, a payload that does not match event_type, missing ids or times);
 * `eventMetadataOf` only renames and drops empty strings, and the content rules (domain
 * normalization, lengths, hex digests) stay in the zod schemas, so they are written once.
 */

import type { FieldError } from "@betblocker/common/config/field-errors";
import type { EventType as SqlEventType } from "@betblocker/common/enums";
import { AppError, type ValidationErrorDetails } from "@betblocker/common/errors/app-error";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { MAX_EVENTS_PER_BATCH } from "./codec";
import { enumToString, findUnknownEnumValues } from "./enums";
import { BlockingLayerSchema, BypassActionSchema } from "./gen/betblocker/agent/v1/config_pb";
import {
  BypassMethodSchema,
  type DropNotice,
  type Event,
  type EventBatch,
  EventBatchSchema,
  EventType,
  EventTypeSchema,
  TamperTypeSchema,
  UnenrollStageSchema,
} from "./gen/betblocker/agent/v1/events_pb";

/** The name of an Event payload case ("block", "drop_notice" is "dropNotice"). */
export type EventPayloadCase = NonNullable<Event["payload"]["case"]>;

/** Which payload case each event type carries; the zero value carries a drop notice. */
export const PAYLOAD_CASE_BY_EVENT_TYPE: Readonly<Record<EventType, EventPayloadCase>> = {
  [EventType.UNSPECIFIED]: "dropNotice",
  [EventType.BLOCK]: "block",
  [EventType.BYPASS_ATTEMPT]: "bypassAttempt",
  [EventType.TAMPER]: "tamper",
  [EventType.HEARTBEAT]: "heartbeat",
  [EventType.CONFIG_CHANGE]: "configChange",
  [EventType.UNENROLL]: "unenroll",
  [EventType.APP_BLOCK]: "appBlock",
  [EventType.INSTALL_BLOCK]: "installBlock",
  [EventType.VPN_DETECTED]: "vpnDetected",
  [EventType.EXTENSION_REMOVED]: "extensionRemoved",
};

/** The SQL event_type of a wire event type; undefined for UNSPECIFIED and unknown numbers. */
export function eventTypeToSql(eventType: EventType): SqlEventType | undefined {
  return enumToString(EventTypeSchema, eventType) as SqlEventType | undefined;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * Structural problems of a batch, as field errors with .proto paths ("events[3].event_type").
 * Empty means every event can be mapped with `eventMetadataOf` / `dropNoticeOf`; the API answers
 * anything else with 400 VALIDATION_FAILED (events.proto file comment).
 */
export function checkEventBatch(batch: EventBatch): FieldError[] {
  const errors: FieldError[] = [];
  if (!UUID.test(batch.batchId)) {
    errors.push({ path: "batch_id", message: "must be a UUID in lower-case canonical form" });
  }
  if (batch.events.length > MAX_EVENTS_PER_BATCH) {
    errors.push({ path: "events", message: `must hold at most ${MAX_EVENTS_PER_BATCH} events` });
  }
  for (const unknown of findUnknownEnumValues(EventBatchSchema, batch)) {
    errors.push({ path: unknown.path, message: `unknown ${unknown.enumType} value ${unknown.value}` });
  }
  const unknownPaths = new Set(errors.map((error) => error.path));
  batch.events.forEach((event, index) => {
    const path = `events[${index}]`;
    if (!UUID.test(event.eventId)) {
      errors.push({ path: `${path}.event_id`, message: "must be a UUID in lower-case canonical form" });
    }
    if (event.occurredAt === undefined) {
      errors.push({ path: `${path}.occurred_at`, message: "is required" });
    }
    if (event.payload.case === undefined) {
      errors.push({ path: `${path}.payload`, message: "exactly one payload must be set" });
    } else if (!unknownPaths.has(`${path}.event_type`)) {
      const expected = PAYLOAD_CASE_BY_EVENT_TYPE[event.eventType];
      if (event.payload.case !== expected) {
        errors.push({
          path: `${path}.payload`,
          message:
            event.eventType === EventType.UNSPECIFIED
              ? "event_type must be set (only a drop_notice is sent without one)"
              : `payload ${event.payload.case} does not match event_type ${eventTypeToSql(event.eventType)}`,
        });
      }
    }
  });
  return errors;
}

/** `checkEventBatch` as a throw: AppError VALIDATION_FAILED with the field errors as details. */
export function assertEventBatch(batch: EventBatch): void {
  const fieldErrors = checkEventBatch(batch);
  const first = fieldErrors[0];
  if (first === undefined) return;
  const details: ValidationErrorDetails = { fieldErrors };
  const more = fieldErrors.length > 1 ? ` (and ${fieldErrors.length - 1} more)` : "";
  throw new AppError(
    "VALIDATION_FAILED",
    `invalid event batch: ${first.path}: ${first.message}${more}`,
    details,
  );
}

/** What one wire event becomes: an events row, or a drop notice (not a row). */
export type EventRow =
  | { kind: "event"; eventType: SqlEventType; occurredAt: Date; metadata: Record<string, unknown> }
  | {
      kind: "drop_notice";
      occurredAt: Date;
      droppedCount: number;
      oldestDroppedAt?: Date;
      newestDroppedAt?: Date;
    };

/**
 * Map an event of a batch that passed `checkEventBatch` to its row. The metadata still has to go
 * through `parseEventMetadata(eventType, metadata)` of @betblocker/common. BlockEvent.reason is not
 * part of the block metadata schema and is dropped here.
 *
 * Throws AppError VALIDATION_FAILED for an event `checkEventBatch` would have refused, and for a
 * config_change whose old/new value is not JSON text.
 */
export function eventRowOf(event: Event): EventRow {
  if (event.occurredAt === undefined) throw invalidEvent("occurred_at", "is required");
  const occurredAt = timestampDate(event.occurredAt);
  if (event.payload.case === "dropNotice") return dropNoticeRow(event.payload.value, occurredAt);
  const eventType = eventTypeToSql(event.eventType);
  if (eventType === undefined) throw invalidEvent("event_type", `unknown event type ${event.eventType}`);
  if (event.payload.case !== PAYLOAD_CASE_BY_EVENT_TYPE[event.eventType]) {
    throw invalidEvent(
      "payload",
      `payload ${String(event.payload.case)} does not match event_type ${eventType}`,
    );
  }
  return { kind: "event", eventType, occurredAt, metadata: eventMetadataOf(event) };
}

function dropNoticeRow(notice: DropNotice, occurredAt: Date): EventRow {
  return {
    kind: "drop_notice",
    occurredAt,
    droppedCount: notice.droppedCount,
    ...(notice.oldestDroppedAt === undefined
      ? {}
      : { oldestDroppedAt: timestampDate(notice.oldestDroppedAt) }),
    ...(notice.newestDroppedAt === undefined
      ? {}
      : { newestDroppedAt: timestampDate(notice.newestDroppedAt) }),
  };
}

/**
 * The events.metadata JSON of an event's payload: snake_case keys as in spec 003 section 9.4, empty
 * strings (proto3's "not set") left out, enums as their strings (an unknown or UNSPECIFIED enum
 * becomes absent, which the zod schema then reports as missing).
 */
export function eventMetadataOf(event: Event): Record<string, unknown> {
  const payload = event.payload;
  switch (payload.case) {
    case "block": {
      const block = payload.value;
      return compact({
        domain: block.domain,
        category: block.category,
        layer: enumToString(BlockingLayerSchema, block.layer),
        query_type: block.queryType,
      });
    }
    case "bypassAttempt":
      return compact({
        method: enumToString(BypassMethodSchema, payload.value.method),
        details: payload.value.details,
      });
    case "tamper":
      return compact({
        type: enumToString(TamperTypeSchema, payload.value.type),
        integrity_hash_expected: payload.value.integrityHashExpected,
        integrity_hash_actual: payload.value.integrityHashActual,
        details: payload.value.details,
      });
    case "heartbeat":
      return {
        agent_version: payload.value.agentVersion,
        blocklist_version: payload.value.blocklistVersion,
        uptime_seconds: payload.value.uptimeSeconds,
        blocked_count_since_last: payload.value.blockedCountSinceLast,
      };
    case "configChange":
      return {
        field: payload.value.field,
        old_value: parseJsonValue(payload.value.oldValueJson, "payload.config_change.old_value_json"),
        new_value: parseJsonValue(payload.value.newValueJson, "payload.config_change.new_value_json"),
        // A device cannot know who changed its config; the API may fill this from its audit log.
        changed_by_account_id: null,
      };
    case "unenroll":
      return compact({
        stage: enumToString(UnenrollStageSchema, payload.value.stage),
        actor_account_id: null,
      });
    case "appBlock":
      return compact({
        application_id: payload.value.applicationId,
        application_name: payload.value.applicationName,
        category: payload.value.category,
      });
    case "installBlock":
      return compact({
        application_id: payload.value.applicationId,
        application_name: payload.value.applicationName,
        install_source: payload.value.installSource,
        category: payload.value.category,
      });
    case "vpnDetected":
      return compact({
        interface_name: payload.value.interfaceName,
        vpn_protocol: payload.value.vpnProtocol,
        action_taken: enumToString(BypassActionSchema, payload.value.actionTaken),
        details: payload.value.details,
      });
    case "extensionRemoved":
      return compact({
        browser: payload.value.browser,
        extension_id: payload.value.extensionId,
        details: payload.value.details,
      });
    case "dropNotice":
    case undefined:
      throw invalidEvent("payload", "has no events.metadata (a drop notice or no payload)");
  }
}

/** Leave out undefined values and empty strings (proto3 strings cannot be absent). */
function compact(fields: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(fields).filter(([, value]) => value !== undefined && value !== ""),
  );
}

function parseJsonValue(text: string, path: string): unknown {
  if (text === "") return null;
  try {
    return JSON.parse(text);
  } catch {
    throw invalidEvent(path, "must be JSON text (empty for null)");
  }
}

function invalidEvent(path: string, message: string): AppError {
  const details: ValidationErrorDetails = { fieldErrors: [{ path, message }] };
  return new AppError("VALIDATION_FAILED", `invalid event: ${path}: ${message}`, details);
}
