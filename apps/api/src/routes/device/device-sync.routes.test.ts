/**
 * Heartbeat and blocklist sync over the mutual-TLS device listener: status transitions, configs, coalesced
 * heartbeat writes, up-to-date / delta chain / full snapshot answers, ETag and 304.
 */
import "reflect-metadata";
import { applyDelta, loadBlocklist, sha256 } from "@betblocker/common";
import {
  AggregationLevel,
  BlockResponse,
  decodeMessage,
  EnrollmentStatus,
  EnrollmentTier,
  HeartbeatRequestSchema,
  HeartbeatResponseSchema,
  SyncRequestSchema,
  SyncResponseSchema,
  timestampMs,
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

beforeAll(async () => {
  server = await startDeviceTestServer();
  owner = await signUp(server.api);
});

afterAll(async () => {
  await server?.close();
});

async function heartbeat(
  device: RegisteredTestDevice,
  fields: { agentVersion?: string; osVersion?: string } = {},
) {
  const response = await server.send("/api/v1/device/heartbeat", HeartbeatRequestSchema, fields, device);
  return {
    response,
    message:
      response.status === 200 ? decodeMessage(HeartbeatResponseSchema, new Uint8Array(response.bytes)) : null,
  };
}

async function sync(
  device: RegisteredTestDevice,
  currentVersion: number,
  currentSha256: Uint8Array,
  headers?: Record<string, string>,
) {
  const response = await server.send(
    "/api/v1/device/sync",
    SyncRequestSchema,
    { protocolVersion: 1, currentVersion, currentSha256 },
    device,
    headers,
  );
  return {
    response,
    message:
      response.status === 200 ? decodeMessage(SyncResponseSchema, new Uint8Array(response.bytes)) : null,
  };
}

async function snapshotOf(version: number): Promise<Uint8Array> {
  const [row] = await server.api.db.owner<{ snapshot_binary: Buffer }[]>`
    select snapshot_binary from blocklist_versions where version_number = ${version}`;
  return new Uint8Array(row?.snapshot_binary as Buffer);
}

async function deviceRow(device: RegisteredTestDevice) {
  const [row] = await server.api.db.owner<
    { status: string; last_heartbeat: Date | null; agent_version: string | null; os_version: string | null }[]
  >`select status::text as status, last_heartbeat, agent_version, os_version from devices where id = ${device.rowId}`;
  return row;
}

describe("POST /api/v1/device/heartbeat", () => {
  test("the first heartbeat turns a pending device active at once (not at the next flush), with the default config", async () => {
    const device = await server.registerDevice(owner.accessToken);
    expect((await deviceRow(device))?.status).toBe("pending");
    const { response, message } = await heartbeat(device, { agentVersion: "1.0.1" });
    expect(response.status).toBe(200);
    expect(response.headers["content-type"]).toBe("application/x-protobuf");
    const row = await deviceRow(device);
    expect(row?.status).toBe("active");
    expect(row?.last_heartbeat).toBeInstanceOf(Date);
    expect(message?.enrollment).toBeUndefined();
    expect(message?.unenrollAllowed).toBe(false);
    expect(message?.config?.heartbeatIntervalSeconds).toBe(300);
    expect(message?.config?.reporting?.aggregationLevel).toBe(AggregationLevel.AGGREGATED);
    expect(
      Math.abs(
        timestampMs(message?.serverTime ?? ({ seconds: 0n, nanos: 0 } as never)) -
          server.clock.now().getTime(),
      ),
    ).toBeLessThan(1000);
  });

  test("heartbeats are coalesced: the row changes at the flush, once, with the newest values", async () => {
    const device = await server.registerDevice(owner.accessToken);
    await heartbeat(device, { agentVersion: "1.0.0", osVersion: "Debian 12" });
    await server.runtime.heartbeats.flush();
    const before = await deviceRow(device);
    server.clock.advance(5_000);
    await heartbeat(device, { agentVersion: "1.0.1" });
    server.clock.advance(5_000);
    await heartbeat(device, { agentVersion: "1.0.2" });
    // Not yet written: the buffer holds one entry for the device.
    expect(await deviceRow(device)).toEqual(before);
    expect(server.runtime.heartbeats.pendingCount).toBeGreaterThanOrEqual(1);
    const [auditBefore] = await server.api.db.owner`
      select count(*)::int as n from audit_log where table_name = 'devices' and row_id = ${device.rowId}`;
    expect(await server.runtime.heartbeats.flush()).toBeGreaterThanOrEqual(1);
    const after = await deviceRow(device);
    expect(after?.agent_version).toBe("1.0.2");
    expect(after?.os_version).toBe("Debian 12");
    expect(after?.last_heartbeat?.getTime()).toBe(server.clock.now().getTime());
    // One audit row for the version change; last_heartbeat alone is not audited.
    const [auditAfter] = await server.api.db.owner`
      select count(*)::int as n from audit_log where table_name = 'devices' and row_id = ${device.rowId}`;
    expect((auditAfter?.n as number) - (auditBefore?.n as number)).toBe(1);
    await heartbeat(device, {});
    await server.runtime.heartbeats.flush();
    const [auditLater] = await server.api.db.owner`
      select count(*)::int as n from audit_log where table_name = 'devices' and row_id = ${device.rowId}`;
    expect(auditLater?.n).toBe(auditAfter?.n);
    server.clock.advance(-10_000);
  });

  test("a stale device becomes active on its next heartbeat", async () => {
    const device = await server.registerDevice(owner.accessToken);
    await heartbeat(device);
    await server.api.db.owner`update devices set status = 'stale' where id = ${device.rowId}`;
    server.runtime.authenticator.invalidateDevice(device.rowId);
    await heartbeat(device);
    expect((await deviceRow(device))?.status).toBe("active");
  });

  test("returns the enrollment's config and state; unenroll_allowed only once unenrolled", async () => {
    const device = await server.registerDevice(owner.accessToken);
    const [account] = await server.api.db.owner`select id from accounts where public_id = ${owner.accountId}`;
    const [enrollment] = await server.api.db.owner<{ id: number; public_id: string }[]>`
      insert into enrollments (device_id, enrolled_by_account_id, tier, protection_config, reporting_config)
      values (${device.rowId}, ${account?.id as number}, 'self',
              ${server.api.db.owner.json({ heartbeat_interval_seconds: 120, dns: { block_response: "redirect", redirect_url: "https://help.example/" } })},
              ${server.api.db.owner.json({ aggregation_level: "detailed", federated_reporting: false })})
      returning id, public_id`;
    server.runtime.authenticator.invalidateDevice(device.rowId);
    const { message } = await heartbeat(device);
    expect(message?.enrollment).toMatchObject({
      enrollmentId: enrollment?.public_id,
      tier: EnrollmentTier.SELF,
      status: EnrollmentStatus.ACTIVE,
    });
    expect(message?.config?.heartbeatIntervalSeconds).toBe(120);
    expect(message?.config?.dns?.blockResponse).toBe(BlockResponse.REDIRECT);
    expect(message?.config?.dns?.redirectUrl).toBe("https://help.example/");
    expect(message?.config?.reporting?.aggregationLevel).toBe(AggregationLevel.DETAILED);
    expect(message?.config?.reporting?.federatedReporting).toBe(false);
    expect(message?.unenrollAllowed).toBe(false);

    await server.api.db
      .owner`update enrollments set status = 'unenrolled' where id = ${enrollment?.id as number}`;
    server.runtime.authenticator.invalidateDevice(device.rowId);
    const later = await heartbeat(device);
    expect(later.message?.enrollment?.status).toBe(EnrollmentStatus.UNENROLLED);
    expect(later.message?.unenrollAllowed).toBe(true);
  });

  test("an over-long agent_version is 400 and is not recorded", async () => {
    const device = await server.registerDevice(owner.accessToken);
    const { response } = await heartbeat(device, { agentVersion: "9".repeat(51) });
    expect(response.status).toBe(400);
    expect(response.json.error.details.fieldErrors[0].path).toBe("agent_version");
    await server.runtime.heartbeats.flush();
    expect((await deviceRow(device))?.status).toBe("pending");
  });

  test("a body that is not protobuf is 400 VALIDATION_FAILED (malformed_protobuf) in the JSON envelope", async () => {
    const device = await server.registerDevice(owner.accessToken);
    const response = await server.deviceRequest("/api/v1/device/heartbeat", {
      identity: device,
      body: new Uint8Array([0x0a, 0xff, 0xff, 0xff]),
    });
    expect(response.status).toBe(400);
    expect(response.json.error.code).toBe("VALIDATION_FAILED");
    expect(response.json.error.details.reason).toBe("malformed_protobuf");
  });
});

describe("POST /api/v1/device/sync", () => {
  let device: RegisteredTestDevice;

  beforeAll(async () => {
    device = await server.registerDevice(owner.accessToken);
  });

  test("before any publication: 503 SERVICE_UNAVAILABLE", async () => {
    const { response } = await sync(device, 0, new Uint8Array());
    expect(response.status).toBe(503);
    expect(response.json.error.code).toBe("SERVICE_UNAVAILABLE");
  });

  describe("with versions 1..3 published", () => {
    beforeAll(async () => {
      // Big enough that a delta is much smaller than the list (tiny lists are served whole).
      const bulk = Array.from({ length: 2000 }, (_, i) => `bulk-casino-${i}.example`);
      await server.publish(["casino-one.example", "casino-two.example", ...bulk]);
      await server.publish(["casino-three.example"]);
      await server.api.db
        .owner`update blocklist_entries set status = 'rejected' where domain = 'casino-one.example'`;
      await server.publish(["casino-four.example"]);
    });

    test("no list yet (version 0): the full signed snapshot of the latest version, verifiable with the pinned key", async () => {
      const { response, message } = await sync(device, 0, new Uint8Array());
      expect(response.status).toBe(200);
      expect(message?.result.case).toBe("fullSnapshot");
      const snapshot =
        message?.result.case === "fullSnapshot" ? message.result.value.snapshot : new Uint8Array();
      expect(Buffer.from(snapshot).equals(Buffer.from(await snapshotOf(3)))).toBe(true);
      const list = loadBlocklist(snapshot, server.signingKey.publicKey);
      expect(list.header.version).toBe(3);
      expect(message?.latest?.version).toBe(3);
      expect(Buffer.from(message?.latest?.sha256 ?? []).equals(Buffer.from(sha256(snapshot)))).toBe(true);
      expect(message?.protocolVersion).toBe(1);
      expect(response.headers.etag).toBe(`"${Buffer.from(sha256(snapshot)).toString("hex")}"`);
    });

    test("the latest version with its SHA-256: up to date; If-None-Match with the ETag: 304 without a body", async () => {
      const latest = await snapshotOf(3);
      const { response, message } = await sync(device, 3, sha256(latest));
      expect(response.status).toBe(200);
      expect(message?.result).toEqual({ case: "upToDate", value: expect.objectContaining({ version: 3 }) });
      const etag = response.headers.etag as string;
      const notModified = await sync(device, 3, sha256(latest), { "if-none-match": etag });
      expect(notModified.response.status).toBe(304);
      expect(notModified.response.bytes.length).toBe(0);
      // An old ETag does not match.
      const old = await sync(device, 3, sha256(latest), { "if-none-match": `"${"0".repeat(64)}"` });
      expect(old.response.status).toBe(200);
    });

    test("version 1 with its SHA-256: the signed delta chain 1 -> 2 -> 3, which rebuilds version 3 byte for byte", async () => {
      const v1 = await snapshotOf(1);
      const { message } = await sync(device, 1, sha256(v1));
      expect(message?.result.case).toBe("deltaChain");
      if (message?.result.case !== "deltaChain") return;
      expect(message.result.value.toVersion).toBe(3);
      expect(message.result.value.deltas).toHaveLength(2);
      let held = v1;
      for (const delta of message.result.value.deltas)
        held = applyDelta(held, delta, server.signingKey.publicKey);
      expect(Buffer.from(held).equals(Buffer.from(await snapshotOf(3)))).toBe(true);
    });

    test("a SHA-256 that does not match the stored version, an unknown or future version: the full snapshot", async () => {
      expect((await sync(device, 1, new Uint8Array(32))).message?.result.case).toBe("fullSnapshot");
      expect((await sync(device, 3, new Uint8Array(32))).message?.result.case).toBe("fullSnapshot");
      expect((await sync(device, 99, sha256(await snapshotOf(3)))).message?.result.case).toBe("fullSnapshot");
    });

    test("a missing delta in the chain: the full snapshot", async () => {
      const v3 = await snapshotOf(3);
      await server.publish(["casino-five.example"]);
      await server.api.db.owner`update blocklist_versions set delta_binary = null where version_number = 4`;
      const { message } = await sync(device, 3, sha256(v3));
      expect(message?.result.case).toBe("fullSnapshot");
      expect(message?.latest?.version).toBe(4);
    });

    test("the heartbeat names the latest version", async () => {
      const { message } = await heartbeat(device);
      expect(message?.latestBlocklistVersion).toBe(4);
    });

    test("an unsupported protocol_version is 400 naming the field", async () => {
      const response = await server.send(
        "/api/v1/device/sync",
        SyncRequestSchema,
        { protocolVersion: 2, currentVersion: 0 },
        device,
      );
      expect(response.status).toBe(400);
      expect(response.json.error.details.fieldErrors[0].path).toBe("protocol_version");
    });
  });
});
