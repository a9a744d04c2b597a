/**
 * /api/v1/devices (owner side) over real HTTP, as the application role: one-time codes, list and detail,
 * revocation and its rules, and tenant isolation (another tenant's device is 404, never its data).
 */
import "reflect-metadata";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { type DeviceTestServer, startDeviceTestServer } from "../../device-server/testing";
import { signUp } from "../../testing/test-server";

let server: DeviceTestServer;
let alice: Awaited<ReturnType<typeof signUp>>;
let bob: Awaited<ReturnType<typeof signUp>>;

beforeAll(async () => {
  server = await startDeviceTestServer();
  alice = await signUp(server.api);
  bob = await signUp(server.api);
});

afterAll(async () => {
  await server?.close();
});

const get = (path: string, token?: string) => server.api.request("GET", path, token ? { token } : {});
const post = (path: string, token?: string, body: unknown = {}) =>
  server.api.request("POST", path, { body, ...(token ? { token } : {}) });

async function accountRow(publicId: string): Promise<number> {
  const [row] = await server.api.db.owner`select id from accounts where public_id = ${publicId}`;
  return row?.id as number;
}

describe("POST /api/v1/devices/enrollment-codes", () => {
  test("201 with a 10-character code from the unambiguous alphabet, expiring in 15 minutes; only its SHA-256 is stored", async () => {
    const response = await post("/api/v1/devices/enrollment-codes", alice.accessToken);
    expect(response.status).toBe(201);
    expect(response.headers.get("cache-control")).toBe("no-store");
    const { code, display_code, expires_at } = response.body;
    expect(code).toMatch(/^[2-9A-HJ-NP-Z]{10}$/);
    expect(display_code).toBe(`${code.slice(0, 5)}-${code.slice(5)}`);
    expect(new Date(expires_at).getTime() - server.clock.now().getTime()).toBe(15 * 60_000);
    const rows = await server.api.db.owner`
      select encode(code_hash, 'hex') as hash, account_id from device_enrollment_codes where account_id = ${await accountRow(alice.accountId)}`;
    expect(rows.length).toBeGreaterThanOrEqual(1);
    const { createHash } = await import("node:crypto");
    expect(rows.map((r) => r.hash)).toContain(createHash("sha256").update(code).digest("hex"));
    const all = await server.api.db.owner`select * from device_enrollment_codes`;
    expect(JSON.stringify(all)).not.toContain(code);
  });

  test("401 without a token; an unknown body field is 400", async () => {
    expect((await post("/api/v1/devices/enrollment-codes")).status).toBe(401);
    expect((await post("/api/v1/devices/enrollment-codes", alice.accessToken, { ttl: 5 })).status).toBe(400);
  });

  test("limited per account (429 with Retry-After)", async () => {
    const carol = await signUp(server.api);
    const statuses: number[] = [];
    for (let i = 0; i < 21; i++)
      statuses.push((await post("/api/v1/devices/enrollment-codes", carol.accessToken)).status);
    expect(statuses.slice(0, 20).every((s) => s === 201)).toBe(true);
    expect(statuses[20]).toBe(429);
  });

  test("codes are tenant-scoped under RLS: the application role sees only its own", async () => {
    await post("/api/v1/devices/enrollment-codes", bob.accessToken);
    const aliceId = await accountRow(alice.accountId);
    const visible = await server.api.db.asApp(
      { accountId: aliceId },
      (sql) => sql`select distinct account_id from device_enrollment_codes`,
    );
    expect(visible.map((r) => r.account_id)).toEqual([aliceId]);
  });
});

describe("GET /api/v1/devices and /api/v1/devices/{id}", () => {
  test("lists the caller's own devices, newest first, with cursor pagination", async () => {
    const dave = await signUp(server.api);
    const registered = [];
    for (let i = 0; i < 5; i++)
      registered.push(await server.registerDevice(dave.accessToken, { hostname: `pc-${i}` }));
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const response = await get(
        `/api/v1/devices?limit=2${cursor ? `&cursor=${cursor}` : ""}`,
        dave.accessToken,
      );
      expect(response.status).toBe(200);
      expect(response.body.items.length).toBeLessThanOrEqual(2);
      seen.push(...response.body.items.map((d: { id: string }) => d.id));
      cursor = response.body.next_cursor;
      pages++;
    } while (cursor && pages < 10);
    expect(pages).toBe(3);
    expect(seen).toEqual(registered.map((d) => d.deviceId).reverse());
    const first = (await get("/api/v1/devices?limit=1", dave.accessToken)).body.items[0];
    expect(first).toEqual({
      id: registered[4]?.deviceId,
      owned: true,
      platform: "linux",
      os_version: "Debian 12",
      agent_version: "1.0.0",
      hostname: "pc-4",
      status: "pending",
      last_heartbeat: null,
      certificate_expires_at: expect.stringMatching(/^\d{4}-/),
      created_at: expect.any(String),
      updated_at: expect.any(String),
    });
    expect(JSON.stringify(first)).not.toMatch(/hardware|fingerprint|"account/);
    expect((await get("/api/v1/devices?cursor=garbage", dave.accessToken)).status).toBe(400);
  });

  test("another tenant's device: 404 NOT_FOUND on read and revoke, with nothing of it in the answer", async () => {
    const bobsDevice = await server.registerDevice(bob.accessToken, { hostname: "bobs-secret-laptop" });
    const read = await get(`/api/v1/devices/${bobsDevice.deviceId}`, alice.accessToken);
    expect(read.status).toBe(404);
    expect(read.body).toEqual({ error: { code: "NOT_FOUND", message: "no such device" } });
    const revoke = await post(`/api/v1/devices/${bobsDevice.deviceId}/revoke`, alice.accessToken);
    expect(revoke.status).toBe(404);
    expect(revoke.text).not.toContain("bobs-secret-laptop");
    const list = await get("/api/v1/devices", alice.accessToken);
    expect(list.text).not.toContain(bobsDevice.deviceId);
    // Untouched.
    const [row] = await server.api.db
      .owner`select status::text as status from devices where id = ${bobsDevice.rowId}`;
    expect(row?.status).toBe("pending");
    expect((await get(`/api/v1/devices/${bobsDevice.deviceId}`, bob.accessToken)).status).toBe(200);
    // A malformed id is a 404 as well.
    expect((await get("/api/v1/devices/not-a-uuid", alice.accessToken)).status).toBe(404);
  });
});

describe("POST /api/v1/devices/{id}/revoke", () => {
  test("revokes every certificate, disables the device, is audited with the owner as actor", async () => {
    const device = await server.registerDevice(alice.accessToken);
    const response = await post(`/api/v1/devices/${device.deviceId}/revoke`, alice.accessToken);
    expect(response.status).toBe(200);
    expect(response.body.revoked_certificates).toBe(1);
    expect(response.body.device).toMatchObject({
      id: device.deviceId,
      status: "disabled",
      certificate_expires_at: null,
    });
    const [certificate] = await server.api.db
      .owner`select revoked_at from device_certificates where device_id = ${device.rowId}`;
    expect(certificate?.revoked_at).toBeInstanceOf(Date);
    const audit = await server.api.db.owner`
      select table_name, action::text as action, actor_account_id from audit_log
      where (table_name = 'devices' and row_id = ${device.rowId} and action = 'UPDATE')
         or (table_name = 'device_certificates' and action = 'UPDATE' and new_values->>'device_id' = ${String(device.rowId)})`;
    const aliceId = await accountRow(alice.accountId);
    expect(audit.map((r) => `${r.table_name}:${r.actor_account_id === aliceId}`).sort()).toEqual([
      "device_certificates:true",
      "devices:true",
    ]);
    // Idempotent: nothing left to revoke.
    const again = await post(`/api/v1/devices/${device.deviceId}/revoke`, alice.accessToken);
    expect(again.body.revoked_certificates).toBe(0);
  });

  test("an enrolled device cannot be revoked by its owner (unenroll first); the enrolling partner may not revoke it either", async () => {
    const device = await server.registerDevice(alice.accessToken);
    const partner = await signUp(server.api);
    await server.api.db.owner`
      insert into enrollments (device_id, enrolled_by_account_id, tier)
      values (${device.rowId}, ${await accountRow(partner.accountId)}, 'partner')`;
    const byOwner = await post(`/api/v1/devices/${device.deviceId}/revoke`, alice.accessToken);
    expect(byOwner.status).toBe(403);
    expect(byOwner.body.error.code).toBe("UNENROLL_NOT_ALLOWED");
    const seenByPartner = await get(`/api/v1/devices/${device.deviceId}`, partner.accessToken);
    expect(seenByPartner.status).toBe(200);
    expect(seenByPartner.body.owned).toBe(false);
    const byPartner = await post(`/api/v1/devices/${device.deviceId}/revoke`, partner.accessToken);
    expect(byPartner.status).toBe(403);
    expect(byPartner.body.error.code).toBe("FORBIDDEN");
    const [row] = await server.api.db
      .owner`select status::text as status from devices where id = ${device.rowId}`;
    expect(row?.status).toBe("pending");
  });
});
