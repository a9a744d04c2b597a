import {
  AGGREGATION_LEVEL_VALUES,
  BLOCK_RESPONSE_VALUES,
  BLOCKING_LAYER_VALUES,
  BYPASS_ACTION_VALUES,
  BYPASS_METHOD_VALUES,
  TAMPER_SENSITIVITY_VALUES,
  TAMPER_TYPE_VALUES,
  UNENROLL_STAGE_VALUES,
} from "@betblocker/common/config/index";
import {
  DEVICE_PLATFORM_VALUES,
  ENROLLMENT_STATUS_VALUES,
  ENROLLMENT_TIER_VALUES,
  EVENT_TYPE_VALUES,
} from "@betblocker/common/enums";
import { create, type DescEnum } from "@bufbuild/protobuf";
import { describe, expect, test } from "vitest";
import { decodeMessage, encodeMessage } from "./codec";
import { enumFromString, enumStrings, enumToString, findUnknownEnumValues, isKnownEnumValue } from "./enums";
import { HeartbeatRequestSchema, PlatformSchema } from "./gen/betblocker/agent/v1/agent_pb";
import {
  AggregationLevelSchema,
  BlockingLayerSchema,
  BlockResponseSchema,
  BypassActionSchema,
  EnrollmentStatusSchema,
  EnrollmentTierSchema,
  TamperSensitivitySchema,
} from "./gen/betblocker/agent/v1/config_pb";
import {
  BypassMethodSchema,
  EventBatchSchema,
  EventType,
  EventTypeSchema,
  TamperType,
  TamperTypeSchema,
  UnenrollStageSchema,
} from "./gen/betblocker/agent/v1/events_pb";
import { CONTRACT_FILES } from "./testing";

/** Each wire enum and the @betblocker/common values it mirrors, in the same order. */
const MIRRORS: [DescEnum, readonly string[]][] = [
  [EventTypeSchema, EVENT_TYPE_VALUES],
  [PlatformSchema, DEVICE_PLATFORM_VALUES],
  [EnrollmentTierSchema, ENROLLMENT_TIER_VALUES],
  [EnrollmentStatusSchema, ENROLLMENT_STATUS_VALUES],
  [BlockResponseSchema, BLOCK_RESPONSE_VALUES],
  [BypassActionSchema, BYPASS_ACTION_VALUES],
  [TamperSensitivitySchema, TAMPER_SENSITIVITY_VALUES],
  [AggregationLevelSchema, AGGREGATION_LEVEL_VALUES],
  [BlockingLayerSchema, BLOCKING_LAYER_VALUES],
  [BypassMethodSchema, BYPASS_METHOD_VALUES],
  [TamperTypeSchema, TAMPER_TYPE_VALUES],
  [UnenrollStageSchema, UNENROLL_STAGE_VALUES],
];

describe("wire enums mirror the SQL / JSONB values", () => {
  test.each(MIRRORS.map(([desc, values]) => [desc.typeName, desc, values] as const))(
    "%s lists exactly the common values, in order (number = position + 1)",
    (_name, desc, values) => {
      expect(enumStrings(desc)).toEqual([...values]);
      values.forEach((value, index) => {
        expect(enumFromString(desc, value)).toBe(index + 1);
        expect(enumToString(desc, index + 1)).toBe(value);
      });
    },
  );

  test("every enum of the contract keeps UNSPECIFIED as its zero value", () => {
    const enums = CONTRACT_FILES.flatMap((file) => file.enums);
    expect(enums.length).toBeGreaterThanOrEqual(MIRRORS.length);
    for (const desc of enums) {
      expect(desc.value[0]?.name, desc.typeName).toMatch(/_UNSPECIFIED$/);
      expect(enumToString(desc, 0)).toBeUndefined();
    }
  });

  test("the zero value and unknown strings/numbers map to nothing", () => {
    expect(enumToString(EventTypeSchema, EventType.UNSPECIFIED)).toBeUndefined();
    expect(enumToString(EventTypeSchema, 99)).toBeUndefined();
    expect(enumFromString(EventTypeSchema, "unspecified")).toBeUndefined();
    expect(enumFromString(EventTypeSchema, "BLOCK")).toBeUndefined();
    expect(enumFromString(EventTypeSchema, "teleport")).toBeUndefined();
  });
});

describe("unknown enum values (proto3 open enums)", () => {
  test("an unknown event type survives decoding as its number and is flagged, with its path", () => {
    const bytes = encodeMessage(EventBatchSchema, {
      batchId: "b",
      events: [
        { eventType: EventType.BLOCK, payload: { case: "block", value: {} } },
        { eventType: 99 as EventType, payload: { case: "block", value: {} } },
      ],
    });
    const batch = decodeMessage(EventBatchSchema, bytes);
    expect(batch.events[1]?.eventType).toBe(99);
    expect(isKnownEnumValue(EventTypeSchema, 99)).toBe(false);
    expect(isKnownEnumValue(EventTypeSchema, EventType.BLOCK)).toBe(true);
    expect(findUnknownEnumValues(EventBatchSchema, batch)).toEqual([
      { path: "events[1].event_type", enumType: "betblocker.agent.v1.EventType", value: 99 },
    ]);
  });

  test("unknown values are found inside oneof payloads and repeated enums too", () => {
    const batch = create(EventBatchSchema, {
      events: [
        { eventType: EventType.TAMPER, payload: { case: "tamper", value: { type: 42 as TamperType } } },
      ],
    });
    expect(findUnknownEnumValues(EventBatchSchema, batch)).toEqual([
      { path: "events[0].tamper.type", enumType: "betblocker.agent.v1.TamperType", value: 42 },
    ]);
    const heartbeat = create(HeartbeatRequestSchema, {
      tamper: { types: [TamperType.BINARY_MODIFIED, 77 as TamperType] },
    });
    expect(findUnknownEnumValues(HeartbeatRequestSchema, heartbeat)).toEqual([
      { path: "tamper.types[1]", enumType: "betblocker.agent.v1.TamperType", value: 77 },
    ]);
  });

  test("a message with only known values has none", () => {
    const batch = create(EventBatchSchema, {
      events: [
        {
          eventType: EventType.TAMPER,
          payload: { case: "tamper", value: { type: TamperType.PROCESS_KILLED } },
        },
      ],
    });
    expect(findUnknownEnumValues(EventBatchSchema, batch)).toEqual([]);
  });
});
