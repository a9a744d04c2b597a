import { parseEventMetadata } from "@betblocker/common/config/event-metadata.schema";
import { EVENT_TYPE_VALUES } from "@betblocker/common/enums";
import { fieldErrorsOf } from "@betblocker/common/errors/app-error";
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { describe, expect, test } from "vitest";
import { MAX_EVENTS_PER_BATCH } from "./codec";
import {
  assertEventBatch,
  checkEventBatch,
  eventMetadataOf,
  eventRowOf,
  eventTypeToSql,
  PAYLOAD_CASE_BY_EVENT_TYPE,
} from "./events";
import { BlockingLayer, BypassAction } from "./gen/betblocker/agent/v1/config_pb";
import {
  BlockReason,
  BypassMethod,
  type Event,
  EventBatchSchema,
  EventSchema,
  EventType,
  TamperType,
  UnenrollStage,
} from "./gen/betblocker/agent/v1/events_pb";

const OCCURRED_MS = Date.UTC(2025, 5, 1, 12, 0, 0);
let counter = 0;
function uuid(): string {
  counter++;
  return `00000000-0000-4000-8000-${counter.toString(16).padStart(12, "0")}`;
}

function event(init: MessageInitShape<typeof EventSchema>): Event {
  return create(EventSchema, { eventId: uuid(), occurredAt: timestampFromMs(OCCURRED_MS), ...init });
}

/** One realistic event of every SQL event type. */
const EXAMPLES: Event[] = [
  event({
    eventType: EventType.BLOCK,
    payload: {
      case: "block",
      value: {
        domain: "example-casino.com",
        category: "casino",
        layer: BlockingLayer.DNS,
        queryType: "A",
        reason: BlockReason.PARENT,
      },
    },
  }),
  event({
    eventType: EventType.BYPASS_ATTEMPT,
    payload: {
      case: "bypassAttempt",
      value: { method: BypassMethod.VPN_DETECTED, details: "WireGuard tunnel detected on utun3" },
    },
  }),
  event({
    eventType: EventType.TAMPER,
    payload: {
      case: "tamper",
      value: {
        type: TamperType.BINARY_MODIFIED,
        integrityHashExpected: "abc12345",
        integrityHashActual: "def45678",
      },
    },
  }),
  event({
    eventType: EventType.HEARTBEAT,
    payload: {
      case: "heartbeat",
      value: {
        agentVersion: "1.2.3",
        blocklistVersion: 147,
        uptimeSeconds: 86_400,
        blockedCountSinceLast: 12,
      },
    },
  }),
  event({
    eventType: EventType.CONFIG_CHANGE,
    payload: {
      case: "configChange",
      value: {
        field: "protection_config.bypass_detection.vpn_action",
        oldValueJson: '"log"',
        newValueJson: '"alert"',
      },
    },
  }),
  event({
    eventType: EventType.UNENROLL,
    payload: { case: "unenroll", value: { stage: UnenrollStage.COMPLETED } },
  }),
  event({
    eventType: EventType.APP_BLOCK,
    payload: { case: "appBlock", value: { applicationId: "com.example.casino", applicationName: "Casino" } },
  }),
  event({
    eventType: EventType.INSTALL_BLOCK,
    payload: {
      case: "installBlock",
      value: { applicationId: "com.example.casino", installSource: "play_store" },
    },
  }),
  event({
    eventType: EventType.VPN_DETECTED,
    payload: {
      case: "vpnDetected",
      value: { interfaceName: "wg0", vpnProtocol: "wireguard", actionTaken: BypassAction.ALERT },
    },
  }),
  event({
    eventType: EventType.EXTENSION_REMOVED,
    payload: {
      case: "extensionRemoved",
      value: { browser: "firefox", extensionId: "betblocker@example.org" },
    },
  }),
];

describe("events -> events rows", () => {
  test("the examples cover every SQL event type", () => {
    expect(EXAMPLES.map((example) => eventTypeToSql(example.eventType))).toEqual([...EVENT_TYPE_VALUES]);
    expect(Object.keys(PAYLOAD_CASE_BY_EVENT_TYPE)).toHaveLength(EVENT_TYPE_VALUES.length + 1);
  });

  test.each(EXAMPLES.map((example) => [eventTypeToSql(example.eventType), example] as const))(
    "%s: the payload maps to metadata that the common zod schema accepts",
    (eventType, example) => {
      const row = eventRowOf(example);
      expect(row).toMatchObject({ kind: "event", eventType, occurredAt: new Date(OCCURRED_MS) });
      if (row.kind !== "event") return;
      expect(() => parseEventMetadata(row.eventType, row.metadata)).not.toThrow();
    },
  );

  test("block metadata: the spec's shape; the reason is not part of it", () => {
    expect(eventMetadataOf(EXAMPLES[0]!)).toEqual({
      domain: "example-casino.com",
      category: "casino",
      layer: "dns",
      query_type: "A",
    });
  });

  test("an aggregated block event (empty domain) has no domain key at all", () => {
    const aggregated = event({
      eventType: EventType.BLOCK,
      payload: { case: "block", value: { domain: "", category: "casino", layer: BlockingLayer.DNS } },
    });
    const metadata = eventMetadataOf(aggregated);
    expect(metadata).not.toHaveProperty("domain");
    expect(parseEventMetadata("block", metadata)).toEqual({ category: "casino", layer: "dns" });
  });

  test("config_change values are JSON text; empty means null; other text is refused", () => {
    const change = (oldValueJson: string) =>
      event({
        eventType: EventType.CONFIG_CHANGE,
        payload: { case: "configChange", value: { field: "protection_config.dns.block_doh", oldValueJson } },
      });
    expect(eventMetadataOf(change(""))).toMatchObject({ old_value: null, new_value: null });
    expect(eventMetadataOf(change("true"))).toMatchObject({ old_value: true });
    expect(() => eventMetadataOf(change("{not json"))).toThrow(/old_value_json: must be JSON text/);
  });

  test("an UNSPECIFIED enum inside a payload becomes a missing field that the zod schema reports", () => {
    const noLayer = event({
      eventType: EventType.BLOCK,
      payload: { case: "block", value: { domain: "a.com" } },
    });
    const row = eventRowOf(noLayer);
    expect(row.kind === "event" && row.metadata).toEqual({ domain: "a.com" });
    if (row.kind !== "event") return;
    expect(() => parseEventMetadata("block", row.metadata)).toThrow(/layer/);
  });

  test("a drop notice is not an events row", () => {
    const notice = event({
      eventType: EventType.UNSPECIFIED,
      payload: {
        case: "dropNotice",
        value: { droppedCount: 5000, oldestDroppedAt: timestampFromMs(OCCURRED_MS - 3_600_000) },
      },
    });
    expect(eventRowOf(notice)).toEqual({
      kind: "drop_notice",
      occurredAt: new Date(OCCURRED_MS),
      droppedCount: 5000,
      oldestDroppedAt: new Date(OCCURRED_MS - 3_600_000),
    });
  });

  test("an unknown event type or a mismatched payload is refused by eventRowOf too", () => {
    const unknown = event({ eventType: 99 as EventType, payload: { case: "block", value: {} } });
    expect(() => eventRowOf(unknown)).toThrow(/unknown event type 99/);
    const mismatch = event({ eventType: EventType.TAMPER, payload: { case: "block", value: {} } });
    expect(() => eventRowOf(mismatch)).toThrow(/does not match event_type tamper/);
  });
});

describe("checkEventBatch", () => {
  const batchId = "5b3f3c9e-8f0e-4a56-9d7e-2f1b0c7a9e11";

  test("a well-formed batch has no problems", () => {
    const batch = create(EventBatchSchema, { batchId, events: EXAMPLES });
    expect(checkEventBatch(batch)).toEqual([]);
    expect(() => assertEventBatch(batch)).not.toThrow();
  });

  test("unknown event types are VALIDATION_FAILED naming each event (the API answers 400)", () => {
    const batch = create(EventBatchSchema, {
      batchId,
      events: [EXAMPLES[0]!, event({ eventType: 99 as EventType, payload: { case: "block", value: {} } })],
    });
    expect(checkEventBatch(batch)).toEqual([
      { path: "events[1].event_type", message: "unknown betblocker.agent.v1.EventType value 99" },
    ]);
    let thrown: unknown;
    try {
      assertEventBatch(batch);
    } catch (error) {
      thrown = error;
    }
    expect(fieldErrorsOf(thrown)).toEqual([
      { path: "events[1].event_type", message: "unknown betblocker.agent.v1.EventType value 99" },
    ]);
  });

  test("ids, times, payload presence and payload/type agreement are checked", () => {
    const batch = create(EventBatchSchema, {
      batchId: "not-a-uuid",
      events: [
        create(EventSchema, {
          eventId: "E",
          eventType: EventType.BLOCK,
          payload: { case: "block", value: {} },
        }),
        event({ eventType: EventType.HEARTBEAT }),
        event({ eventType: EventType.TAMPER, payload: { case: "block", value: {} } }),
        event({ eventType: EventType.UNSPECIFIED, payload: { case: "block", value: {} } }),
      ],
    });
    expect(checkEventBatch(batch).map((error) => error.path)).toEqual([
      "batch_id",
      "events[0].event_id",
      "events[0].occurred_at",
      "events[1].payload",
      "events[2].payload",
      "events[3].payload",
    ]);
  });

  test(`more than ${MAX_EVENTS_PER_BATCH} events are refused`, () => {
    const events = Array.from({ length: MAX_EVENTS_PER_BATCH + 1 }, () => EXAMPLES[3]!);
    const errors = checkEventBatch(create(EventBatchSchema, { batchId, events }));
    expect(errors.map((error) => error.path)).toContain("events");
  });
});
