import { isAppError } from "@betblocker/common/errors/app-error";
import { type DescMessage, equals, toBinary } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import {
  type CodecErrorDetails,
  DEFAULT_MAX_MESSAGE_BYTES,
  decodeMessage,
  encodeMessage,
  MAX_EVENTS_PER_BATCH,
  MAX_FEDERATED_REPORTS_PER_BATCH,
  MAX_SYNC_RESPONSE_BYTES,
  maxBytesFor,
  safeDecodeMessage,
} from "./codec";
import {
  HeartbeatRequestSchema,
  RegisterRequestSchema,
  SyncRequestSchema,
  SyncResponseSchema,
} from "./gen/betblocker/agent/v1/agent_pb";
import { EventBatchSchema, EventType, FederatedReportBatchSchema } from "./gen/betblocker/agent/v1/events_pb";
import { allMessageSchemas, fullSamples } from "./testing";

const schemas = allMessageSchemas();

/** Decoding must give a message or a clean AppError; anything else is a crash. */
function decodesCleanly(schema: DescMessage, bytes: Uint8Array): "ok" | "malformed" {
  const result = safeDecodeMessage(schema, bytes);
  if (result.ok) return "ok";
  expect(result.error.code).toBe("VALIDATION_FAILED");
  expect((result.error.details as CodecErrorDetails).reason).toBe("malformed_protobuf");
  return "malformed";
}

describe("round trip", () => {
  test("the contract has the messages the architecture names", () => {
    const names = schemas.map((schema) => schema.name);
    for (const name of [
      "RegisterRequest",
      "RegisterResponse",
      "RenewCertificateRequest",
      "RenewCertificateResponse",
      "HeartbeatRequest",
      "HeartbeatResponse",
      "SyncRequest",
      "SyncResponse",
      "BlocklistManifest",
      "EventBatch",
      "Event",
      "BlockEvent",
      "TamperEvent",
      "DropNotice",
      "EventBatchResponse",
      "FederatedReportBatch",
      "AgentConfig",
      "EnrollmentConfig",
    ]) {
      expect(names).toContain(name);
    }
  });

  test.each(schemas.map((schema) => [schema.typeName, schema] as const))(
    "%s: every field and every oneof case survives encode -> decode",
    (_name, schema) => {
      for (const sample of fullSamples(schema)) {
        const bytes = encodeMessage(schema, sample);
        const decoded = decodeMessage(schema, bytes);
        expect(equals(schema, decoded, sample)).toBe(true);
        // Nothing was left at its default, so the encoding is not empty and re-encodes identically.
        expect(bytes.byteLength).toBeGreaterThan(0);
        expect(encodeMessage(schema, decoded)).toEqual(bytes);
      }
    },
  );

  test("encodeMessage accepts an init shape and fills the defaults", () => {
    const bytes = encodeMessage(SyncRequestSchema, { protocolVersion: 1, currentVersion: 0 });
    const decoded = decodeMessage(SyncRequestSchema, bytes);
    expect(decoded.protocolVersion).toBe(1);
    expect(decoded.currentVersion).toBe(0);
    expect(decoded.currentSha256).toEqual(new Uint8Array());
  });

  test("a realistic event batch round-trips", () => {
    const batch = {
      batchId: "5b3f3c9e-8f0e-4a56-9d7e-2f1b0c7a9e11",
      sentAt: timestampFromMs(Date.UTC(2025, 0, 2, 3, 4, 5)),
      events: [
        {
          eventId: "0f8fad5b-d9cb-469f-a165-70867728950e",
          eventType: EventType.BLOCK,
          occurredAt: timestampFromMs(Date.UTC(2025, 0, 2, 3, 0, 0)),
          payload: { case: "block" as const, value: { domain: "", category: "casino", queryType: "A" } },
        },
      ],
    };
    const decoded = decodeMessage(EventBatchSchema, encodeMessage(EventBatchSchema, batch));
    expect(decoded.batchId).toBe(batch.batchId);
    const event = decoded.events[0];
    expect(event?.payload.case).toBe("block");
    expect(event?.payload.case === "block" && event.payload.value.domain).toBe("");
    expect(event?.occurredAt?.seconds).toBe(BigInt(Date.UTC(2025, 0, 2, 3, 0, 0) / 1000));
  });

  test("unknown fields from a newer peer are kept and re-encoded (proto3 forward compatibility)", () => {
    const known = encodeMessage(SyncRequestSchema, { protocolVersion: 1 });
    // Field 99, wire type 2 (length-delimited), 3 bytes: a field this version does not know.
    const withUnknown = new Uint8Array([...known, 0x9a, 0x06, 3, 0x61, 0x62, 0x63]);
    const decoded = decodeMessage(SyncRequestSchema, withUnknown);
    expect(decoded.protocolVersion).toBe(1);
    expect(toBinary(SyncRequestSchema, decoded)).toEqual(withUnknown);
    const dropped = decodeMessage(SyncRequestSchema, withUnknown, { readUnknownFields: false });
    expect(toBinary(SyncRequestSchema, dropped)).toEqual(known);
  });
});

describe("malformed input", () => {
  test.each(schemas.map((schema) => [schema.typeName, schema] as const))(
    "%s: random bytes decode to a message or a clean VALIDATION_FAILED, never a crash",
    (_name, schema) => {
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 256 }), (bytes) => {
          decodesCleanly(schema, bytes);
        }),
        { numRuns: 300 },
      );
    },
  );

  test.each(schemas.map((schema) => [schema.typeName, schema] as const))(
    "%s: every truncation of a valid encoding decodes cleanly, and some are refused",
    (_name, schema) => {
      let refused = 0;
      for (const sample of fullSamples(schema)) {
        const bytes = encodeMessage(schema, sample);
        for (let length = 0; length < bytes.byteLength; length++) {
          if (decodesCleanly(schema, bytes.subarray(0, length)) === "malformed") refused++;
        }
      }
      expect(refused).toBeGreaterThan(0);
    },
  );

  test("bit flips and byte splices of valid encodings decode cleanly", () => {
    const valid = schemas.flatMap((schema) => fullSamples(schema).map((sample) => ({ schema, sample })));
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: valid.length - 1 }),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }),
        (which, edits) => {
          const { schema, sample } = valid[which]!;
          const bytes = new Uint8Array(encodeMessage(schema, sample));
          for (const [position, value] of edits) bytes[position % bytes.length] = value;
          decodesCleanly(schema, bytes);
        },
      ),
      { numRuns: 2000 },
    );
  });

  test("the error names the message type and says why", () => {
    // Tag of field 1 with wire type 7, which does not exist.
    const result = safeDecodeMessage(EventBatchSchema, new Uint8Array([0x0f, 0x01]));
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(isAppError(result.error, "VALIDATION_FAILED")).toBe(true);
    expect(result.error.message).toMatch(
      /^malformed protobuf: not a valid betblocker\.agent\.v1\.EventBatch/,
    );
    expect(result.error.details).toMatchObject({
      reason: "malformed_protobuf",
      messageType: "betblocker.agent.v1.EventBatch",
      fieldErrors: [{ path: "" }],
    });
  });

  test("a truncated length-delimited field is refused", () => {
    // Field 1 (batch_id) claims 10 bytes, 2 follow.
    expect(() => decodeMessage(EventBatchSchema, new Uint8Array([0x0a, 10, 0x61, 0x62]))).toThrow(
      /malformed protobuf/,
    );
  });

  test("deeply nested groups are refused instead of overflowing the stack", () => {
    // 0x0b = field 1, wire type 3 (start group), 100 000 times: an unknown-group bomb.
    const bomb = new Uint8Array(100_000).fill(0x0b);
    const result = safeDecodeMessage(HeartbeatRequestSchema, bomb);
    expect(result.ok).toBe(false);
    expect(result.ok ? undefined : result.error.code).toBe("VALIDATION_FAILED");
  });

  test("invalid UTF-8 in a string field is refused (proto3 strings are UTF-8)", () => {
    // Field 1 (enrollment_code), 2 bytes that are not UTF-8.
    expect(() => decodeMessage(RegisterRequestSchema, new Uint8Array([0x0a, 2, 0xff, 0xfe]))).toThrow(
      /malformed protobuf.*utf-8/,
    );
  });

  test("an over-long varint is refused", () => {
    const result = safeDecodeMessage(
      SyncRequestSchema,
      new Uint8Array([0x08, ...Array(11).fill(0xff), 0x01]),
    );
    expect(result.ok).toBe(false);
  });
});

describe("size limits", () => {
  test("defaults: 1 MiB, and 64 MiB for a SyncResponse (it carries whole lists)", () => {
    expect(maxBytesFor(EventBatchSchema)).toBe(DEFAULT_MAX_MESSAGE_BYTES);
    expect(maxBytesFor(SyncResponseSchema)).toBe(MAX_SYNC_RESPONSE_BYTES);
    expect(DEFAULT_MAX_MESSAGE_BYTES).toBe(1024 * 1024);
  });

  test("bytes over the limit are refused with PAYLOAD_TOO_LARGE before parsing", () => {
    // Not even valid protobuf: the size check comes first.
    const tooBig = new Uint8Array(DEFAULT_MAX_MESSAGE_BYTES + 1).fill(0xff);
    const result = safeDecodeMessage(RegisterRequestSchema, tooBig);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error.code).toBe("PAYLOAD_TOO_LARGE");
    expect(result.error.details).toMatchObject({
      reason: "message_too_large",
      limitBytes: DEFAULT_MAX_MESSAGE_BYTES,
      actualBytes: DEFAULT_MAX_MESSAGE_BYTES + 1,
    });
  });

  test("a caller's own limit wins", () => {
    const bytes = encodeMessage(RegisterRequestSchema, { csrPem: "x".repeat(100) });
    expect(() => decodeMessage(RegisterRequestSchema, bytes, { maxBytes: 50 })).toThrow(
      /exceeds the limit of 50/,
    );
    expect(decodeMessage(RegisterRequestSchema, bytes, { maxBytes: 200 }).csrPem).toHaveLength(100);
  });

  test("a SyncResponse of several MiB decodes under its own limit", () => {
    const snapshot = new Uint8Array(5 * 1024 * 1024).fill(7);
    const bytes = encodeMessage(SyncResponseSchema, {
      result: { case: "fullSnapshot", value: { snapshot, version: 3 } },
    });
    const decoded = decodeMessage(SyncResponseSchema, bytes);
    expect(decoded.result.case === "fullSnapshot" && decoded.result.value.snapshot.byteLength).toBe(
      snapshot.byteLength,
    );
  });

  test("encoding over the byte limit throws PAYLOAD_TOO_LARGE so the sender splits the batch", () => {
    const event = {
      eventType: EventType.TAMPER,
      payload: { case: "tamper" as const, value: { details: "x".repeat(1100) } },
    };
    const events = Array.from({ length: MAX_EVENTS_PER_BATCH }, () => event);
    expect(() => encodeMessage(EventBatchSchema, { batchId: "b", events })).toThrow(
      expect.objectContaining({
        code: "PAYLOAD_TOO_LARGE",
        details: expect.objectContaining({ reason: "message_too_large" }),
      }),
    );
  });
});

describe("item limits of batches", () => {
  /** `count` empty events: 2 bytes each on the wire (tag of field 2, length 0). */
  function emptyEvents(count: number): Uint8Array {
    const bytes = new Uint8Array(count * 2);
    for (let index = 0; index < bytes.length; index += 2) bytes[index] = 0x12;
    return bytes;
  }

  test(`an EventBatch may hold ${MAX_EVENTS_PER_BATCH} events`, () => {
    expect(decodeMessage(EventBatchSchema, emptyEvents(MAX_EVENTS_PER_BATCH)).events).toHaveLength(
      MAX_EVENTS_PER_BATCH,
    );
  });

  test("more events are refused before they are built (half a million empty events in 1 MiB)", () => {
    for (const count of [MAX_EVENTS_PER_BATCH + 1, 500_000]) {
      const result = safeDecodeMessage(EventBatchSchema, emptyEvents(count));
      expect(result.ok).toBe(false);
      if (result.ok) return;
      expect(result.error.code).toBe("PAYLOAD_TOO_LARGE");
      expect(result.error.details).toEqual({
        reason: "too_many_items",
        messageType: "betblocker.agent.v1.EventBatch",
        field: "events",
        limitItems: MAX_EVENTS_PER_BATCH,
        actualItems: count,
      });
    }
  });

  test(`a FederatedReportBatch over ${MAX_FEDERATED_REPORTS_PER_BATCH} reports is refused`, () => {
    const result = safeDecodeMessage(
      FederatedReportBatchSchema,
      emptyEvents(MAX_FEDERATED_REPORTS_PER_BATCH + 1),
    );
    expect(result.ok ? "ok" : result.error.code).toBe("PAYLOAD_TOO_LARGE");
  });

  test("the sender learns it too: encoding more items than the limit throws", () => {
    const events = Array.from({ length: MAX_EVENTS_PER_BATCH + 1 }, () => ({}));
    expect(() => encodeMessage(EventBatchSchema, { batchId: "b", events })).toThrow(/split it/);
  });
});
