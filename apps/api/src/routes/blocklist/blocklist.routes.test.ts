/**
 * /api/v1/blocklist (public versions and deltas) and POST /api/v1/admin/blocklist/publish (admins only), over
 * real HTTP with the signing key of the test harness.
 */
import "reflect-metadata";
import { applyDelta } from "@betblocker/common";
import {
  DeltaChainSchema,
  decodeMessage,
  HeartbeatRequestSchema,
  HeartbeatResponseSchema,
} from "@betblocker/proto";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { type DeviceTestServer, startDeviceTestServer } from "../../device-server/testing";
import { GOOD_PASSWORD, signUp } from "../../testing/test-server";

let server: DeviceTestServer;
let admin: { accessToken: string };
let user: Awaited<ReturnType<typeof signUp>>;

beforeAll(async () => {
  server = await startDeviceTestServer();
  user = await signUp(server.api);
  const account = await signUp(server.api);
  await server.api.db.owner`update accounts set role = 'admin' where public_id = ${account.accountId}`;
  const login = await server.api.request("POST", "/api/v1/auth/login", {
    body: { email: account.email, password: GOOD_PASSWORD },
  });
  admin = { accessToken: login.body.access_token };
});

afterAll(async () => {
  await server?.close();
});

const publish = (token?: string, body: unknown = {}) =>
  server.api.request("POST", "/api/v1/admin/blocklist/publish", { body, ...(token ? { token } : {}) });

async function binary(
  path: string,
): Promise<{ status: number; type: string | null; bytes: Uint8Array; json: unknown }> {
  const response = await fetch(server.api.url + path);
  const bytes = new Uint8Array(await response.arrayBuffer());
  const type = response.headers.get("content-type");
  return {
    status: response.status,
    type,
    bytes,
    json: type?.startsWith("application/json") ? JSON.parse(Buffer.from(bytes).toString()) : null,
  };
}

async function snapshotOf(version: number): Promise<Uint8Array> {
  const [row] = await server.api.db.owner<{ snapshot_binary: Buffer }[]>`
    select snapshot_binary from blocklist_versions where version_number = ${version}`;
  return new Uint8Array(row?.snapshot_binary as Buffer);
}

describe("POST /api/v1/admin/blocklist/publish", () => {
  test("401 without a token, 403 for a non-admin (nothing published)", async () => {
    expect((await publish()).status).toBe(401);
    const forbidden = await publish(user.accessToken);
    expect(forbidden.status).toBe(403);
    expect(forbidden.body.error.code).toBe("FORBIDDEN");
    const [count] = await server.api.db.owner`select count(*)::int as n from blocklist_versions`;
    expect(count?.n).toBe(0);
  });

  test("an admin publishes signed versions; only_if_changed skips an unchanged rule set; devices see it at once", async () => {
    const device = await server.registerDevice(user.accessToken);
    await server.api.db.owner`
      insert into blocklist_entries (domain, category) select 'bulk-' || g || '.example', 'casino' from generate_series(1, 1500) g`;
    const first = await publish(admin.accessToken);
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ published: true, version: 1, entry_count: 1500, delta_bytes: null });
    const same = await publish(admin.accessToken, { only_if_changed: true });
    expect(same.body).toMatchObject({ published: false, version: 1 });
    await server.api.db
      .owner`insert into blocklist_entries (domain, category) values ('second.example', 'casino')`;
    const second = await publish(admin.accessToken);
    expect(second.body).toMatchObject({ published: true, version: 2 });
    expect(second.body.delta_bytes).toBeGreaterThan(0);
    await server.api.db
      .owner`insert into blocklist_entries (domain, category) values ('third.example', 'casino')`;
    expect((await publish(admin.accessToken)).body.version).toBe(3);
    const heartbeat = await server.send("/api/v1/device/heartbeat", HeartbeatRequestSchema, {}, device);
    expect(
      decodeMessage(HeartbeatResponseSchema, new Uint8Array(heartbeat.bytes)).latestBlocklistVersion,
    ).toBe(3);
  });
});

describe("GET /api/v1/blocklist/versions", () => {
  test("public metadata, newest first, with cursor pagination", async () => {
    const page1 = await server.api.request("GET", "/api/v1/blocklist/versions?limit=2");
    expect(page1.status).toBe(200);
    expect(page1.body.items.map((v: { version: number }) => v.version)).toEqual([3, 2]);
    expect(page1.body.items[0]).toEqual({
      version: 3,
      published_at: expect.any(String),
      entry_count: 1502,
      snapshot_sha256: expect.stringMatching(/^[0-9a-f]{64}$/),
      snapshot_bytes: expect.any(Number),
      delta_bytes: expect.any(Number),
      format_version: 1,
      signing_key_id: server.signingKey.keyId,
    });
    const page2 = await server.api.request(
      "GET",
      `/api/v1/blocklist/versions?limit=2&cursor=${page1.body.next_cursor}`,
    );
    expect(page2.body).toEqual({ items: [expect.objectContaining({ version: 1 })], next_cursor: null });
    expect((await server.api.request("GET", "/api/v1/blocklist/versions?cursor=abc")).status).toBe(400);
  });
});

describe("GET /api/v1/blocklist/versions/{n}/delta", () => {
  test("default from = n-1: the signed BBDELT file, which turns version n-1 into n", async () => {
    const response = await binary("/api/v1/blocklist/versions/2/delta");
    expect(response.status).toBe(200);
    expect(response.type).toBe("application/octet-stream");
    const rebuilt = applyDelta(await snapshotOf(1), response.bytes, server.signingKey.publicKey);
    expect(Buffer.from(rebuilt).equals(Buffer.from(await snapshotOf(2)))).toBe(true);
  });

  test("from < n-1: a protobuf DeltaChain that rebuilds version n", async () => {
    const response = await binary("/api/v1/blocklist/versions/3/delta?from=1");
    expect(response.status).toBe(200);
    expect(response.type).toBe("application/x-protobuf");
    const chain = decodeMessage(DeltaChainSchema, response.bytes);
    expect(chain.toVersion).toBe(3);
    let held = await snapshotOf(1);
    for (const delta of chain.deltas) held = applyDelta(held, delta, server.signingKey.publicKey);
    expect(Buffer.from(held).equals(Buffer.from(await snapshotOf(3)))).toBe(true);
  });

  test("404 for a version without a delta or an unknown one; 400 for from >= n", async () => {
    expect((await binary("/api/v1/blocklist/versions/9/delta")).status).toBe(404);
    const bad = await binary("/api/v1/blocklist/versions/3/delta?from=3");
    expect(bad.status).toBe(400);
    expect((bad.json as { error: { code: string } }).error.code).toBe("VALIDATION_FAILED");
  });
});
