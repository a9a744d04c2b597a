import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isPublicAddress, OutboundRefusedError, postOutbound } from "./outbound";

describe("isPublicAddress", () => {
  it.each([
    ["127.0.0.1", false],
    ["10.1.2.3", false],
    ["172.20.0.1", false],
    ["192.168.1.1", false],
    ["169.254.169.254", false], // cloud metadata
    ["100.64.0.1", false],
    ["0.0.0.0", false],
    ["::1", false],
    ["fd00::1", false],
    ["fe80::1", false],
    ["::ffff:127.0.0.1", false],
    ["::ffff:10.0.0.1", false],
    ["not an ip", false],
    ["9.9.9.9", true],
    ["151.101.1.1", true],
    ["2620:fe::fe", true],
    ["::ffff:9.9.9.9", true],
  ])("%s -> %s", (address, expected) => {
    expect(isPublicAddress(address)).toBe(expected);
  });
});

describe("postOutbound", () => {
  let server: Server;
  let port = 0;
  let hits = 0;

  beforeAll(async () => {
    server = createServer((request, response) => {
      hits++;
      request.resume();
      request.on("end", () => response.writeHead(204).end());
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    port = (server.address() as AddressInfo).port;
  });

  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const post = (url: string, publicOnly: boolean) =>
    postOutbound(url, {
      headers: { "content-type": "application/json" },
      body: "{}",
      timeoutMs: 3000,
      publicOnly,
    });

  it("reaches a private receiver only when allowed", async () => {
    expect(await post(`http://127.0.0.1:${port}/hook`, false)).toEqual({ status: 204 });
    expect(hits).toBe(1);
  });

  it("refuses a loopback literal and a name resolving to loopback before connecting", async () => {
    await expect(post(`http://127.0.0.1:${port}/hook`, true)).rejects.toThrow(OutboundRefusedError);
    await expect(post(`http://[::1]:${port}/hook`, true)).rejects.toThrow(/not a public address/);
    await expect(post(`http://localhost:${port}/hook`, true)).rejects.toThrow(
      /resolves to a non-public address/,
    );
    expect(hits).toBe(1);
  });

  it("refuses other schemes", async () => {
    await expect(post("file:///etc/passwd", false)).rejects.toThrow(/unsupported scheme/);
  });
});

describe("account webhook deliveries", () => {
  it("are refused for a loopback receiver unless [alerts] account_webhooks_private_targets is set", async () => {
    const { createAlertTransports } = await import("./transports");
    const smtp = { host: null, port: 25, secure: false, user: null, password: null, from: "x <a@b.example>" };
    const delivery = {
      channel: "webhook",
      accountWebhookId: 1,
      recipient: "http://127.0.0.1:9/hook",
      publicId: "00000000-0000-4000-8000-000000000001",
      incidentKey: "test",
      subject: "s",
      createdAt: new Date(0),
      payload: {},
    } as unknown as Parameters<ReturnType<typeof createAlertTransports>["send"]>[0];
    const target = { url: "http://127.0.0.1:9/hook", secret: "s".repeat(32) };
    const strict = createAlertTransports({ smtp, webhooks: [], timeoutMs: 2000 });
    await expect(strict.send(delivery, target)).rejects.toThrow(/127\.0\.0\.1 is not a public address/);
    // Allowed: it gets as far as connecting (port 9, nothing listens: refused by the OS, not by the guard).
    const open = createAlertTransports({
      smtp,
      webhooks: [],
      timeoutMs: 2000,
      accountWebhooksPrivateTargets: true,
    });
    await expect(open.send(delivery, target)).rejects.toThrow(/ECONNREFUSED/);
  });
});
