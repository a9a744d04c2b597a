// The Reflect polyfill must load before @peculiar/x509 (device-ca.ts imports it first as well).
import "reflect-metadata";
import { X509Certificate } from "node:crypto";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isAppError } from "@betblocker/common/errors/app-error";
import { afterAll, describe, expect, test } from "vitest";
import { loadOrCreateDeviceCa, loadOrCreateServerCertificate } from "./device-ca";

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

async function setup() {
  const dir = mkdtempSync(join(tmpdir(), "bb-server-cert-"));
  dirs.push(dir);
  const ca = await loadOrCreateDeviceCa({
    keyPath: join(dir, "ca.key"),
    certPath: join(dir, "ca.pem"),
    commonName: "Test CA",
  });
  const paths = {
    keyPath: join(dir, "server.key"),
    certPath: join(dir, "server.pem"),
    names: ["localhost", "127.0.0.1"],
  };
  return { dir, ca, paths };
}

describe("loadOrCreateServerCertificate", () => {
  test("creates a serverAuth certificate for the names, issued by the device CA, key 0600; loads it back unchanged", async () => {
    const { ca, paths } = await setup();
    const created = await loadOrCreateServerCertificate(ca, paths);
    expect(created.created).toBe(true);
    expect(statSync(paths.keyPath).mode & 0o777).toBe(0o600);
    const certificate = new X509Certificate(created.certificatePem);
    expect(certificate.checkIssued(new X509Certificate(ca.certificatePem))).toBe(true);
    expect(certificate.subjectAltName).toBe("DNS:localhost, IP Address:127.0.0.1");
    expect(certificate.checkHost("localhost")).toBe("localhost");
    expect(certificate.checkIP("127.0.0.1")).toBe("127.0.0.1");
    expect(certificate.keyUsage).toEqual(["1.3.6.1.5.5.7.3.1"]);
    const loaded = await loadOrCreateServerCertificate(ca, paths);
    expect(loaded).toMatchObject({
      created: false,
      certificatePem: created.certificatePem,
      privateKeyPem: created.privateKeyPem,
    });
  });

  test("a certificate that another CA issued (the CA was re-created) is refused with CONFIG_INVALID", async () => {
    const { dir, ca, paths } = await setup();
    await loadOrCreateServerCertificate(ca, paths);
    const otherCa = await loadOrCreateDeviceCa({
      keyPath: join(dir, "other.key"),
      certPath: join(dir, "other.pem"),
      commonName: "Test CA",
    });
    const error = await loadOrCreateServerCertificate(otherCa, paths).then(
      () => null,
      (e: unknown) => e,
    );
    expect(isAppError(error, "CONFIG_INVALID")).toBe(true);
    expect((error as Error).message).toMatch(/not issued by the device CA/);
  });
});
