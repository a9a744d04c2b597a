/**
 * Device registration (one-time code + CSR) and mutual-TLS authentication of the device listener, over real
 * HTTPS with real certificates against PostgreSQL as the application role.
 */
import "reflect-metadata";
import { X509Certificate } from "node:crypto";
import { join } from "node:path";
import { createCsr, issueDeviceCertificate, loadOrCreateDeviceCa } from "@betblocker/core/devices/device-ca";
import {
  decodeMessage,
  HeartbeatRequestSchema,
  Platform,
  RegisterRequestSchema,
  RenewCertificateRequestSchema,
  RenewCertificateResponseSchema,
} from "@betblocker/proto";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { type DeviceTestServer, startDeviceTestServer } from "../../device-server/testing";
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

const ping = (identity?: { certificatePem: string; privateKeyPem: string }) =>
  server.deviceRequest("/api/v1/device/ping", { method: "GET", ...(identity ? { identity } : {}) });

async function registerWith(code: string, csrPem?: string) {
  const csr = csrPem ?? (await createCsr({ commonName: "laptop" })).csrPem;
  return server.send("/api/v1/device/register", RegisterRequestSchema, {
    enrollmentCode: code,
    csrPem: csr,
    platform: Platform.LINUX,
    agentVersion: "1.2.3",
    hostname: "laptop",
  });
}

describe("POST /api/v1/device/register", () => {
  test("redeems a one-time code: device (pending) of the code's account, certificate chaining to the device CA", async () => {
    const device = await server.registerDevice(owner.accessToken, {
      hostname: "kitchen-pc",
      osVersion: "Debian 12",
    });
    const registered = device.response;
    expect(registered.deviceId).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
    const certificate = new X509Certificate(registered.certificatePem);
    const ca = new X509Certificate(server.ca.certificatePem);
    expect(certificate.checkIssued(ca)).toBe(true);
    expect(certificate.verify(ca.publicKey)).toBe(true);
    expect(certificate.subject).toBe(`CN=${registered.deviceId}`);
    expect(registered.caCertificatePem).toBe(server.ca.certificatePem);
    expect(registered.blocklistSigningKeys).toHaveLength(1);
    expect(Buffer.from(registered.blocklistSigningKeys[0]?.publicKey ?? []).length).toBe(32);
    expect(registered.config?.heartbeatIntervalSeconds).toBe(300);
    expect(registered.enrollment).toBeUndefined();

    const [row] = await server.api.db.owner`
      select d.status::text as status, d.hostname, d.os_version, d.platform::text as platform, a.public_id as owner,
             c.certificate_fingerprint, c.expires_at, c.revoked_at
      from devices d join accounts a on a.id = d.account_id join device_certificates c on c.device_id = d.id
      where d.public_id = ${registered.deviceId}`;
    expect(row).toMatchObject({
      status: "pending",
      hostname: "kitchen-pc",
      os_version: "Debian 12",
      platform: "linux",
      owner: owner.accountId,
      certificate_fingerprint: device.fingerprint,
      revoked_at: null,
    });
    expect((row?.expires_at as Date | undefined)?.getTime()).toBe(new Date(certificate.validTo).getTime());
    const [code] = await server.api.db.owner`
      select used_at, used_by_device_id from device_enrollment_codes where used_by_device_id = ${device.rowId}`;
    expect(code?.used_at).toBeInstanceOf(Date);
    // The device is usable at once.
    expect((await ping(device)).status).toBe(204);
  });

  test("a code works once: the second registration is 400 ENROLLMENT_CODE_INVALID and creates nothing", async () => {
    const code = await server.enrollmentCode(owner.accessToken);
    expect((await registerWith(code)).status).toBe(201);
    const again = await registerWith(code.toLowerCase().replace(/(.{5})/, "$1-"));
    expect(again.status).toBe(400);
    expect(again.json.error.code).toBe("ENROLLMENT_CODE_INVALID");
  });

  test("two agents racing with one code: exactly one device", async () => {
    const code = await server.enrollmentCode(owner.accessToken);
    const [before] = await server.api.db.owner`select count(*)::int as n from devices`;
    const results = await Promise.all([registerWith(code), registerWith(code), registerWith(code)]);
    expect(results.map((r) => r.status).sort()).toEqual([201, 400, 400]);
    const [after] = await server.api.db.owner`select count(*)::int as n from devices`;
    expect((after?.n as number) - (before?.n as number)).toBe(1);
  });

  test("an expired code (15 minutes) is refused the same way as an unknown one", async () => {
    const code = await server.enrollmentCode(owner.accessToken);
    server.clock.advance(16 * 60_000);
    try {
      const expired = await registerWith(code);
      expect(expired.status).toBe(400);
      expect(expired.json.error).toMatchObject({ code: "ENROLLMENT_CODE_INVALID" });
      const unknown = await registerWith("23456-789AB");
      expect(unknown.json.error.message).toBe(expired.json.error.message);
    } finally {
      server.clock.advance(-16 * 60_000);
    }
  });

  test("a bad CSR is 400 and does not use up the code; an unknown platform is 400", async () => {
    const code = await server.enrollmentCode(owner.accessToken);
    const bad = await registerWith(
      code,
      "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----",
    );
    expect(bad.status).toBe(400);
    expect(bad.json.error.details.fieldErrors[0].path).toBe("csr_pem");
    const noPlatform = await server.send("/api/v1/device/register", RegisterRequestSchema, {
      enrollmentCode: code,
      csrPem: (await createCsr({ commonName: "x" })).csrPem,
    });
    expect(noPlatform.status).toBe(400);
    expect(noPlatform.json.error.details.fieldErrors.map((e: { path: string }) => e.path)).toEqual([
      "platform",
    ]);
    expect((await registerWith(code)).status).toBe(201);
  });

  test("register is limited per client IP (429)", async () => {
    const limited = await startDeviceTestServer({
      config: {
        devices: {
          ...server.api.config.devices,
          registerPerIp: { max: 2, windowSeconds: 3600 },
        },
      },
    });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 3; i++)
        statuses.push((await limited.send("/api/v1/device/register", RegisterRequestSchema, {})).status);
      expect(statuses).toEqual([400, 400, 429]);
    } finally {
      await limited.close();
    }
  });
});

describe("mutual TLS on /api/v1/device/*", () => {
  test("no client certificate: 401 UNAUTHENTICATED (JSON envelope, no bearer challenge)", async () => {
    const response = await ping();
    expect(response.status).toBe(401);
    expect(response.json).toEqual({
      error: { code: "UNAUTHENTICATED", message: "a client certificate issued by the device CA is required" },
    });
    expect(response.headers["www-authenticate"]).toBeUndefined();
    const heartbeat = await server.send("/api/v1/device/heartbeat", HeartbeatRequestSchema, {});
    expect(heartbeat.status).toBe(401);
  });

  test("a certificate from another CA (same device id, even with its fingerprint on file) is refused", async () => {
    const device = await server.registerDevice(owner.accessToken);
    const rogueCa = await loadOrCreateDeviceCa({
      keyPath: join(server.dir, "rogue", "ca.key"),
      certPath: join(server.dir, "rogue", "ca.pem"),
      commonName: "BetBlocker Device CA",
    });
    const csr = await createCsr({ commonName: "rogue" });
    const rogue = await issueDeviceCertificate(rogueCa, { csrPem: csr.csrPem, deviceId: device.deviceId });
    // Even a database row for its fingerprint does not help: the TLS chain check comes first.
    await server.api.db.owner`
      insert into device_certificates (device_id, certificate_fingerprint, expires_at)
      values (${device.rowId}, ${rogue.fingerprintSha256Hex}, ${rogue.notAfter})`;
    const response = await ping({ certificatePem: rogue.certificatePem, privateKeyPem: csr.privateKeyPem });
    expect(response.status).toBe(401);
    expect((await ping(device)).status).toBe(204);
  });

  test("a certificate of the device CA that is not on file (never registered) is refused", async () => {
    const csr = await createCsr({ commonName: "orphan" });
    const orphan = await issueDeviceCertificate(server.ca, {
      csrPem: csr.csrPem,
      deviceId: "0f8fad5b-d9cb-469f-a165-70867728950e",
    });
    const response = await ping({ certificatePem: orphan.certificatePem, privateKeyPem: csr.privateKeyPem });
    expect(response.status).toBe(401);
    expect(response.json.error).toEqual({
      code: "UNAUTHENTICATED",
      message: "device certificate not accepted",
    });
  });

  test("a revoked certificate is refused at once, even though the session was cached", async () => {
    const device = await server.registerDevice(owner.accessToken);
    expect((await ping(device)).status).toBe(204);
    const revoked = await server.api.request("POST", `/api/v1/devices/${device.deviceId}/revoke`, {
      token: owner.accessToken,
      body: {},
    });
    expect(revoked.status).toBe(200);
    const response = await ping(device);
    expect(response.status).toBe(401);
    expect(response.json.error.code).toBe("UNAUTHENTICATED");
  });

  test("an expired certificate is refused by TLS verification (even with its row on file)", async () => {
    const device = await server.registerDevice(owner.accessToken);
    const csr = await createCsr({ commonName: "old" });
    const old = await issueDeviceCertificate(server.ca, {
      csrPem: csr.csrPem,
      deviceId: device.deviceId,
      validityDays: 1,
      now: new Date(Date.now() - 3 * 86_400_000),
    });
    expect(old.notAfter.getTime()).toBeLessThan(Date.now());
    // The row claims it is still valid: only the TLS verification of notAfter can refuse it.
    await server.api.db.owner`
      insert into device_certificates (device_id, certificate_fingerprint, expires_at)
      values (${device.rowId}, ${old.fingerprintSha256Hex}, ${new Date(Date.now() + 30 * 86_400_000)})`;
    expect(
      (await ping({ certificatePem: old.certificatePem, privateKeyPem: csr.privateKeyPem })).status,
    ).toBe(401);
  });

  test("a certificate past its expires_at by the API clock is refused even while cached", async () => {
    const device = await server.registerDevice(owner.accessToken);
    expect((await ping(device)).status).toBe(204);
    server.clock.advance(91 * 86_400_000);
    try {
      expect((await ping(device)).status).toBe(401);
    } finally {
      server.clock.advance(-91 * 86_400_000);
    }
    expect((await ping(device)).status).toBe(204);
  });

  test("a disabled device is refused (after its cached session expires or is dropped)", async () => {
    const device = await server.registerDevice(owner.accessToken);
    await server.api.db.owner`update devices set status = 'disabled' where id = ${device.rowId}`;
    server.runtime.authenticator.invalidateDevice(device.rowId);
    expect((await ping(device)).status).toBe(401);
  });

  test("renew-certificate: a new certificate for the same device; the old one keeps working until it expires", async () => {
    const device = await server.registerDevice(owner.accessToken);
    const csr = await createCsr({ commonName: "renewed" });
    const response = await server.send(
      "/api/v1/device/renew-certificate",
      RenewCertificateRequestSchema,
      { csrPem: csr.csrPem },
      device,
    );
    expect(response.status).toBe(200);
    const renewed = decodeMessage(RenewCertificateResponseSchema, new Uint8Array(response.bytes));
    expect(new X509Certificate(renewed.certificatePem).subject).toBe(`CN=${device.deviceId}`);
    const identity = { certificatePem: renewed.certificatePem, privateKeyPem: csr.privateKeyPem };
    expect((await ping(identity)).status).toBe(204);
    expect((await ping(device)).status).toBe(204);
    const [count] = await server.api.db.owner`
      select count(*)::int as n from device_certificates where device_id = ${device.rowId} and revoked_at is null`;
    expect(count?.n).toBe(2);
    // Without a certificate there is nothing to renew.
    expect(
      (
        await server.send("/api/v1/device/renew-certificate", RenewCertificateRequestSchema, {
          csrPem: csr.csrPem,
        })
      ).status,
    ).toBe(401);
  });

  test("wrong Content-Type: 415 naming application/x-protobuf; unknown route: 404 envelope", async () => {
    const device = await server.registerDevice(owner.accessToken);
    const response = await server.deviceRequest("/api/v1/device/heartbeat", {
      identity: device,
      body: "{}",
      headers: { "content-type": "application/json" },
    });
    expect(response.status).toBe(415);
    expect(response.json.error.message).toContain("application/x-protobuf");
    const missing = await server.deviceRequest("/api/v1/device/nothing", { identity: device });
    expect(missing.status).toBe(404);
    expect(missing.json.error.code).toBe("NOT_FOUND");
  });

  test("the web API does not serve device routes, and the device listener does not serve the web API", async () => {
    expect((await server.api.request("POST", "/api/v1/device/heartbeat")).status).toBe(404);
    expect((await server.deviceRequest("/api/v1/accounts/me", { method: "GET" })).status).toBe(404);
  });
});
