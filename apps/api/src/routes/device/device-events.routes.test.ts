/**
 * Event batches and federated reports over the mutual-TLS device listener: idempotency (batch and event),
 * the server-side privacy filter, rejection of malformed batches with nothing written, alerts that are never
 * dropped, and federated reporting switched off.
 */
import "reflect-metadata";
import { randomUUID } from "node:crypto";
import {
  BlockingLayer,
  create,
  decodeMessage,
  EventBatchResponseSchema,
  EventBatchSchema,
  EventType,
  encodeMessage,
  FederatedReportBatchResponseSchema,
  FederatedReportBatchSchema,
  HeuristicMatchType,
  type MessageInitShape,
  TamperType,
  timestampFromDate,
} from "@betblocker/proto";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import {
  type DeviceTestServer,
  type RegisteredTestDevice,
  startDeviceTestServer,
} from "../../device-server/testing";
import { signUp } from "../../testing/test-server";

let server: DeviceTestServer;
let owner: Awaited<ReturnType<typeof signUp>>;
let ownerRowId: number;

beforeAll(async () => {
  server = await startDeviceTestServer();
  owner = await signUp(server.api);
  const [row] = await server.api.db.owner`select id from accounts where public_id = ${owner.accountId}`;
  ownerRowId = row?.id as number;
});

afterAll(async () => {
  await server?.close();
});

type EventInit = MessageInitShape<typeof EventBatchSchema>["events"] extends (infer E)[] | undefined
  ? E
  : never;

function blockEvent(domain: string, at = server.clock.now(), eventId = randomUUID()): EventInit {
  return {
    eventId,
    eventType: EventType.BLOCK,
    occurredAt: timestampFromDate(at),
    payload: {
      case: "block",
      value: { domain, category: "casino", layer: BlockingLayer.DNS, queryType: "A" },
    },
  };
}

function tamperEvent(
  details = "agent service stopped",
  at = server.clock.now(),
  eventId = randomUUID(),
): EventInit {
  return {
    eventId,
    eventType: EventType.TAMPER,
    occurredAt: timestampFromDate(at),
    payload: { case: "tamper", value: { type: TamperType.SERVICE_STOPPED, details } },
  };
}

async function sendBatch(device: RegisteredTestDevice, events: EventInit[], batchId = randomUUID()) {
  const response = await server.send("/api/v1/device/events", EventBatchSchema, { batchId, events }, device);
  return {
    response,
    result:
      response.status === 200
        ? decodeMessage(EventBatchResponseSchema, new Uint8Array(response.bytes))
        : null,
  };
}

async function eventsOf(device: RegisteredTestDevice) {
  return server.api.db.owner<
    {
      event_uid: string;
      event_type: string;
      metadata: Record<string, unknown>;
      enrollment_id: number | null;
      visible_to_authority: boolean;
      created_at: Date;
    }[]
  >`select event_uid, event_type::text as event_type, metadata, enrollment_id, visible_to_authority, created_at
    from events where device_id = ${device.rowId} order by created_at, event_uid`;
}

async function enroll(
  device: RegisteredTestDevice,
  reportingConfig: Record<string, unknown>,
): Promise<number> {
  const [row] = await server.api.db.owner<{ id: number }[]>`
    insert into enrollments (device_id, enrolled_by_account_id, tier, reporting_config)
    values (${device.rowId}, ${ownerRowId}, 'self', ${server.api.db.owner.json(reportingConfig as never)})
    returning id`;
  server.runtime.authenticator.invalidateDevice(device.rowId);
  return row?.id as number;
}

describe("POST /api/v1/device/events", () => {
  test("a batch sent twice is stored once and answered with the same outcome", async () => {
    const device = await server.registerDevice(owner.accessToken);
    const batchId = randomUUID();
    const events = [blockEvent("a.example"), blockEvent("b.example"), tamperEvent()];
    const first = await sendBatch(device, events, batchId);
    expect(first.response.status).toBe(200);
    expect(first.result).toMatchObject({ accepted: 3, duplicates: 0, rejected: [] });
    const again = await sendBatch(device, events, batchId);
    expect(again.response.status).toBe(200);
    expect(again.result).toMatchObject({ accepted: 3, duplicates: 0, rejected: [] });
    expect(await eventsOf(device)).toHaveLength(3);
    const [batches] = await server.api.db.owner`
      select count(*)::int as n from device_event_batches where device_id = ${device.rowId}`;
    expect(batches?.n).toBe(1);
  });

  test("an event already stored from another batch (same event_id) is a duplicate, stored once", async () => {
    const device = await server.registerDevice(owner.accessToken);
    const shared = blockEvent("c.example");
    const other = tamperEvent();
    expect((await sendBatch(device, [shared, other])).result).toMatchObject({ accepted: 2, duplicates: 0 });
    const fresh = blockEvent("d.example");
    const second = await sendBatch(device, [shared, fresh, other, fresh]);
    expect(second.result).toMatchObject({ accepted: 1, duplicates: 3, rejected: [] });
    const rows = await eventsOf(device);
    expect(rows.map((r) => r.event_uid).sort()).toEqual(
      [shared.eventId, other.eventId, fresh.eventId].sort(),
    );
  });

  test("a device without an enrollment: events stored with enrollment_id NULL and domains stripped (default: aggregated)", async () => {
    const device = await server.registerDevice(owner.accessToken);
    await sendBatch(device, [blockEvent("secret-casino.example"), tamperEvent()]);
    const rows = await eventsOf(device);
    expect(rows.map((r) => r.enrollment_id)).toEqual([null, null]);
    const block = rows.find((r) => r.event_type === "block");
    expect(block?.metadata).toEqual({ category: "casino", layer: "dns", query_type: "A" });
    expect(JSON.stringify(rows)).not.toContain("secret-casino");
  });

  test("the enrollment's reporting_config is applied again server-side: domains kept when detailed, stripped when aggregated; kinds off for the authority are stored but not visible to it", async () => {
    const detailed = await server.registerDevice(owner.accessToken);
    const detailedEnrollment = await enroll(detailed, {
      aggregation_level: "detailed",
      report_to_authority: { blocks: false },
    });
    await sendBatch(detailed, [blockEvent("shown-casino.example"), tamperEvent()]);
    const rows = await eventsOf(detailed);
    expect(rows.map((r) => r.enrollment_id)).toEqual([detailedEnrollment, detailedEnrollment]);
    const block = rows.find((r) => r.event_type === "block");
    expect(block?.metadata.domain).toBe("shown-casino.example");
    expect(block?.visible_to_authority).toBe(false);
    expect(rows.find((r) => r.event_type === "tamper")?.visible_to_authority).toBe(true);

    const aggregated = await server.registerDevice(owner.accessToken);
    await enroll(aggregated, { aggregation_level: "aggregated" });
    // A tampered agent sends the domain anyway: the server strips it.
    await sendBatch(aggregated, [blockEvent("hidden-casino.example")]);
    const [hidden] = await eventsOf(aggregated);
    expect(hidden?.metadata).toEqual({ category: "casino", layer: "dns", query_type: "A" });
    expect(hidden?.visible_to_authority).toBe(true);
  });

  test("malformed protobuf: 400 envelope, nothing written", async () => {
    const device = await server.registerDevice(owner.accessToken);
    const valid = encodeMessage(EventBatchSchema, {
      batchId: randomUUID(),
      events: [blockEvent("x.example")],
    });
    const truncated = valid.subarray(0, valid.length - 3);
    const response = await server.deviceRequest("/api/v1/device/events", {
      identity: device,
      body: truncated,
    });
    expect(response.status).toBe(400);
    expect(response.json.error).toMatchObject({
      code: "VALIDATION_FAILED",
      details: { reason: "malformed_protobuf" },
    });
    expect(await eventsOf(device)).toHaveLength(0);
  });

  test("oversize: a body over 1 MiB, or more than 1000 events: 413 PAYLOAD_TOO_LARGE, nothing written", async () => {
    const device = await server.registerDevice(owner.accessToken);
    const big = await server.deviceRequest("/api/v1/device/events", {
      identity: device,
      body: new Uint8Array(1024 * 1024 + 1),
    });
    expect(big.status).toBe(413);
    expect(big.json.error.code).toBe("PAYLOAD_TOO_LARGE");
    const events = Array.from({ length: 1001 }, (_, i) => blockEvent(`n${i}.example`));
    const many = create(EventBatchSchema, { batchId: randomUUID(), events });
    const { toBinary } = await import("@bufbuild/protobuf");
    const tooMany = await server.deviceRequest("/api/v1/device/events", {
      identity: device,
      body: toBinary(EventBatchSchema, many),
    });
    expect(tooMany.status).toBe(413);
    expect(tooMany.json.error.details.reason).toBe("too_many_items");
    expect(await eventsOf(device)).toHaveLength(0);
  });

  test("an unknown event type: 400 naming events[i].event_type, and none of the batch is written", async () => {
    const device = await server.registerDevice(owner.accessToken);
    const unknown: EventInit = { ...tamperEvent(), eventType: 99 as EventType };
    const { response } = await sendBatch(device, [blockEvent("ok.example"), unknown]);
    expect(response.status).toBe(400);
    expect(response.json.error.details.fieldErrors.map((e: { path: string }) => e.path)).toContain(
      "events[1].event_type",
    );
    expect(await eventsOf(device)).toHaveLength(0);
    const [batches] = await server.api.db
      .owner`select count(*)::int as n from device_event_batches where device_id = ${device.rowId}`;
    expect(batches?.n).toBe(0);
  });

  test("metadata that fails its schema: 400 naming the field, nothing written", async () => {
    const device = await server.registerDevice(owner.accessToken);
    const noLayer = blockEvent("ok.example");
    (noLayer.payload as { value: { layer: BlockingLayer } }).value.layer = BlockingLayer.UNSPECIFIED;
    const { response } = await sendBatch(device, [tamperEvent(), noLayer]);
    expect(response.status).toBe(400);
    expect(response.json.error.details.fieldErrors[0].path).toBe("events[1].metadata.layer");
    expect(await eventsOf(device)).toHaveLength(0);
  });

  test("a drop notice is acknowledged (counted as accepted) and recorded as lost events, not as a row", async () => {
    const device = await server.registerDevice(owner.accessToken);
    const notice: EventInit = {
      eventId: randomUUID(),
      eventType: EventType.UNSPECIFIED,
      occurredAt: timestampFromDate(server.clock.now()),
      payload: { case: "dropNotice", value: { droppedCount: 42 } },
    };
    const { result } = await sendBatch(device, [notice, blockEvent("y.example")]);
    expect(result).toMatchObject({ accepted: 2, duplicates: 0 });
    expect(await eventsOf(device)).toHaveLength(1);
    const [batch] = await server.api.db
      .owner`select dropped_events, event_count from device_event_batches where device_id = ${device.rowId}`;
    expect(batch).toEqual({ dropped_events: 42, event_count: 2 });
  });

  test("alerts are never dropped: a tamper event with an over-long detail is stored without it; one with a 1999 clock is stored at the receive time, while a block event from 1999 is rejected one by one", async () => {
    const device = await server.registerDevice(owner.accessToken);
    const longDetails = tamperEvent("x".repeat(5000));
    const oldTamper = tamperEvent("clock set back", new Date("1999-01-01T00:00:00Z"));
    const oldBlock = blockEvent("old.example", new Date("1999-01-01T00:00:00Z"));
    const { response, result } = await sendBatch(device, [longDetails, oldTamper, oldBlock]);
    expect(response.status).toBe(200);
    expect(result?.accepted).toBe(2);
    expect(result?.rejected).toEqual([
      expect.objectContaining({ id: oldBlock.eventId, code: "VALIDATION_FAILED" }),
    ]);
    const rows = await eventsOf(device);
    expect(rows.map((r) => r.event_type)).toEqual(["tamper", "tamper"]);
    expect(rows.find((r) => r.event_uid === longDetails.eventId)?.metadata).toEqual({
      type: "service_stopped",
    });
    expect(rows.find((r) => r.event_uid === oldTamper.eventId)?.created_at.getTime()).toBe(
      server.clock.now().getTime(),
    );
  });

  test("an event in a month without a partition yet: the partition is created and the event stored", async () => {
    const device = await server.registerDevice(owner.accessToken);
    const when = new Date(server.clock.now().getTime() - 200 * 86_400_000);
    const partition = `events_y${when.toISOString().slice(0, 4)}m${when.toISOString().slice(5, 7)}`;
    await server.api.db.owner.unsafe(`drop table if exists ${partition}`);
    const { result } = await sendBatch(device, [blockEvent("late.example", when)]);
    expect(result?.accepted).toBe(1);
    const [exists] = await server.api.db.owner`select to_regclass(${partition}) is not null as ok`;
    expect(exists?.ok).toBe(true);
  });
});

describe("POST /api/v1/device/federated-reports", () => {
  async function report(
    device: RegisteredTestDevice,
    reports: MessageInitShape<typeof FederatedReportBatchSchema>["reports"],
  ) {
    const response = await server.send(
      "/api/v1/device/federated-reports",
      FederatedReportBatchSchema,
      { batchId: randomUUID(), reports },
      device,
    );
    return {
      response,
      result:
        response.status === 200
          ? decodeMessage(FederatedReportBatchResponseSchema, new Uint8Array(response.bytes))
          : null,
    };
  }

  async function reportsOf(device: RegisteredTestDevice) {
    return server.api.db.owner<{ domain: string; heuristic_match_type: string | null }[]>`
      select domain, heuristic_match_type from federated_reports where device_id = ${device.rowId} order by domain`;
  }

  test("stored normalized, once per device and domain per day; invalid ones rejected; listed ones are duplicates", async () => {
    const device = await server.registerDevice(owner.accessToken);
    await server.publish(["listed-casino.example"]);
    const { result } = await report(device, [
      { domain: "New-Casino.EXAMPLE.", heuristicMatchType: HeuristicMatchType.KEYWORD, score: 0.9 },
      { domain: "new-casino.example", heuristicMatchType: HeuristicMatchType.KEYWORD, score: 0.8 },
      { domain: "not a domain", score: 0.5 },
      { domain: "scored.example", score: 2 },
      { domain: "listed-casino.example", score: 0.7 },
    ]);
    expect(result?.accepted).toBe(1);
    expect(result?.duplicates).toBe(2);
    expect(result?.rejected.map((r) => [r.id, r.code])).toEqual([
      ["not a domain", "INVALID_DOMAIN"],
      ["scored.example", "VALIDATION_FAILED"],
    ]);
    expect(await reportsOf(device)).toEqual([
      { domain: "new-casino.example", heuristic_match_type: "keyword" },
    ]);
    const again = await report(device, [{ domain: "new-casino.example", score: 0.9 }]);
    expect(again.result).toMatchObject({ accepted: 0, duplicates: 1 });
    expect(await reportsOf(device)).toHaveLength(1);
  });

  test("reporting_config.federated_reporting = false: every report rejected with FEATURE_DISABLED, nothing stored", async () => {
    const device = await server.registerDevice(owner.accessToken);
    await enroll(device, { federated_reporting: false });
    const { response, result } = await report(device, [{ domain: "private-casino.example", score: 0.9 }]);
    expect(response.status).toBe(200);
    expect(result?.accepted).toBe(0);
    expect(result?.rejected).toEqual([
      expect.objectContaining({ id: "private-casino.example", code: "FEATURE_DISABLED" }),
    ]);
    expect(await reportsOf(device)).toEqual([]);
  });

  test("an unknown heuristic value or a malformed batch id: 400", async () => {
    const device = await server.registerDevice(owner.accessToken);
    const { response } = await report(device, [
      { domain: "x.example", heuristicMatchType: 77 as HeuristicMatchType },
    ]);
    expect(response.status).toBe(400);
    expect(response.json.error.details.fieldErrors[0].path).toBe("reports[0].heuristic_match_type");
    const badId = await server.send(
      "/api/v1/device/federated-reports",
      FederatedReportBatchSchema,
      { batchId: "nope", reports: [] },
      device,
    );
    expect(badId.status).toBe(400);
  });
});
