/**
 * AgentRuntime against the REAL device API (mutual TLS, PostgreSQL, real device CA and signing key):
 * registration, full snapshot then delta chain with a matcher swap, tampered updates refused and
 * reported, events delivered exactly once across an outage and a lost response, a corrupt queue
 * quarantined, and a restart that serves the list from disk with the API down.
 *
 * The agent talks to the API through a TCP relay on 127.0.0.1 that the test can take down (API
 * unreachable) or make swallow answers (request reaches the server, response is lost).
 */
import "reflect-metadata";
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { connect, createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type DeviceTestServer, startDeviceTestServer } from "@betblocker/api/device-server/testing";
import { signUp } from "@betblocker/api/testing/test-server";
import { type BlocklistMatcher, isBlockedCode } from "@betblocker/common";
import { createCsr } from "@betblocker/core/devices/device-ca";
import { clone, Platform, SyncResponseSchema, TamperType } from "@betblocker/proto";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { DeviceApiClient, registerDevice } from "../api-client/api-client";
import { startDnsForwarder } from "../dns/forwarder";
import type { BlockEvent as DnsBlockEvent } from "../dns/query";
import { addressAnswer, decode, FakeUpstream, queryBytes, udpExchange } from "../dns/testing";
import { EventCollector } from "../events/event-collector";
import { EventQueue } from "../events/event-queue";
import { statePaths } from "../state/agent-state";
import { AgentRuntime, type ForwarderControl } from "./agent-runtime";

type RelayMode = "up" | "down" | "swallow-responses" | "hang";

/** A TCP relay to the device listener whose availability the test controls. */
class Relay {
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  mode: RelayMode = "up";
  port = 0;

  constructor(private readonly targetPort: number) {}

  async start(): Promise<void> {
    const server = createServer((client) => {
      if (this.mode === "down") {
        // Refuse without giving the port up (re-binding later could race with other test files).
        client.resetAndDestroy();
        return;
      }
      this.sockets.add(client);
      client.on("close", () => this.sockets.delete(client));
      client.on("error", () => {});
      const upstream = connect(this.targetPort, "127.0.0.1");
      this.sockets.add(upstream);
      upstream.on("close", () => {
        this.sockets.delete(upstream);
        client.destroy();
      });
      upstream.on("error", () => client.destroy());
      client.on("close", () => upstream.destroy());
      client.pipe(upstream);
      upstream.on("data", (chunk: Buffer) => {
        if (this.mode === "hang") return;
        if (this.mode === "swallow-responses") {
          // The request reached the server; its answer never reaches the agent.
          client.destroy();
          upstream.destroy();
          return;
        }
        client.write(chunk);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
  }

  /** API reachable again. */
  up(): void {
    this.mode = "up";
  }

  /** API unreachable: new connections are reset, open ones dropped. */
  down(): void {
    this.mode = "down";
    this.resetConnections();
  }

  async close(): Promise<void> {
    this.down();
    const server = this.server;
    this.server = null;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Drop the connections the agent keeps alive, so the next request opens a new one. */
  resetConnections(): void {
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
  }
}

class FakeForwarder implements ForwarderControl {
  matchers: BlocklistMatcher[] = [];
  protections: unknown[] = [];
  counters = { blocked: 0 };
  setMatcher(matcher: BlocklistMatcher): void {
    this.matchers.push(matcher);
  }
  setProtection(config: unknown): void {
    this.protections.push(config);
  }
  get current(): BlocklistMatcher | undefined {
    return this.matchers.at(-1);
  }
}

function blocks(matcher: BlocklistMatcher | null | undefined, name: string): boolean {
  return matcher ? isBlockedCode(matcher.matchName(name)) : false;
}

function dnsBlock(name: string): DnsBlockEvent {
  return { name, qtype: 1, reason: "exact", category: "casino", via: null, transport: "udp", at: Date.now() };
}

let server: DeviceTestServer;
let relay: Relay;
let stateDir: string;
let apiUrl: string;
let deviceRowId: number;
let runtime: AgentRuntime;
let forwarder: FakeForwarder;
const logs: string[] = [];

async function eventRows(): Promise<
  { event_uid: string; event_type: string; metadata: Record<string, unknown> }[]
> {
  return server.api.db.owner`select event_uid::text as event_uid, event_type::text as event_type, metadata
    from events where device_id = ${deviceRowId} order by created_at, event_uid`;
}

function openRuntime(syncIntervalSeconds?: number): AgentRuntime {
  const opened = AgentRuntime.open({
    ...(syncIntervalSeconds !== undefined ? { syncIntervalSeconds } : {}),
    stateDir,
    apiUrl,
    agentVersion: "1.0.0-test",
    osVersion: "Debian 12",
    requestTimeoutMs: 5000,
    log: (message) => logs.push(message),
  });
  forwarder = new FakeForwarder();
  opened.attachForwarder(forwarder);
  return opened;
}

beforeAll(async () => {
  server = await startDeviceTestServer();
  relay = new Relay(Number(new URL(server.deviceUrl).port));
  await relay.start();
  apiUrl = `https://127.0.0.1:${relay.port}`;
  stateDir = mkdtempSync(join(tmpdir(), "bb-agent-state-"));
});

afterAll(async () => {
  await runtime?.stop();
  await relay?.close();
  await server?.close();
  if (stateDir) rmSync(stateDir, { recursive: true, force: true });
});

describe("AgentRuntime against the real device API", () => {
  test("registers with an enrollment code and stores key (0600), certificate, CA and signing key", async () => {
    const owner = await signUp(server.api);
    const code = await server.enrollmentCode(owner.accessToken);
    const csr = await createCsr({ commonName: "agent-test" });
    const response = await registerDevice(stateDir, {
      baseUrl: apiUrl,
      caCertificatePem: server.ca.certificatePem,
      enrollmentCode: code,
      csrPem: csr.csrPem,
      privateKeyPem: csr.privateKeyPem,
      request: {
        platform: Platform.LINUX,
        osVersion: "Debian 12",
        agentVersion: "1.0.0-test",
        hostname: "agent-host",
      },
    });
    expect(response.deviceId).not.toBe("");
    const [row] = await server.api.db.owner<
      { id: number }[]
    >`select id from devices where public_id = ${response.deviceId}`;
    deviceRowId = row?.id as number;
    const paths = statePaths(stateDir);
    for (const file of [paths.key, paths.cert, paths.ca, paths.signingKey])
      expect(existsSync(file)).toBe(true);
    const { statSync } = await import("node:fs");
    expect(statSync(paths.key).mode & 0o777).toBe(0o600);
    runtime = openRuntime();
    expect(runtime.blocklist.version).toBe(0);
  });

  test("API errors are classified: 4xx (no client certificate), network (API down), timeout", async () => {
    const anonymous = new DeviceApiClient({
      baseUrl: apiUrl,
      caCertificatePem: server.ca.certificatePem,
      timeoutMs: 2000,
    });
    const identified = DeviceApiClient.fromStateDir(stateDir, apiUrl, 300) as DeviceApiClient;
    try {
      const request = { protocolVersion: 1, currentVersion: 0, currentSha256: new Uint8Array() };
      await expect(anonymous.sync(request)).rejects.toMatchObject({ kind: "client", retryable: false });
      relay.mode = "hang";
      await expect(identified.sync(request)).rejects.toMatchObject({ kind: "timeout", retryable: true });
      relay.down();
      await expect(identified.sync(request)).rejects.toMatchObject({ kind: "network", retryable: true });
    } finally {
      anonymous.close();
      identified.close();
      relay.up();
    }
  });

  test("first sync installs the full snapshot and swaps the matcher", async () => {
    const bulk = Array.from({ length: 2000 }, (_, i) => `bulk-casino-${i}.example`);
    const v1 = await server.publish(["casino-one.example", ...bulk]);
    const result = await runtime.sync();
    expect(result).toMatchObject({ kind: "updated", to: v1, via: "snapshot" });
    expect(blocks(forwarder.current, "casino-one.example")).toBe(true);
    expect(blocks(forwarder.current, "casino-two.example")).toBe(false);
    expect(runtime.state.state.blocklist_version).toBe(v1);
  });

  test("later syncs apply a delta chain; a newly published domain is blocked", async () => {
    await server.publish(["casino-two.example"]);
    const v3 = await server.publish(["casino-three.example"]);
    const swapsBefore = forwarder.matchers.length;
    const result = await runtime.sync();
    expect(result).toMatchObject({ kind: "updated", to: v3, via: "delta" });
    expect(forwarder.matchers.length).toBe(swapsBefore + 1);
    expect(blocks(forwarder.current, "casino-three.example")).toBe(true);
    expect(await runtime.sync()).toMatchObject({ kind: "up-to-date", version: v3 });
  });

  test("a tampered delta and a tampered snapshot are refused, the old list stays, tamper events reach the API", async () => {
    const held = runtime.blocklist.version;
    const matcherBefore = forwarder.current;
    await server.publish(["casino-four.example"]);
    const client = DeviceApiClient.fromStateDir(stateDir, apiUrl) as DeviceApiClient;
    try {
      const deltaResponse = await client.sync({
        protocolVersion: 1,
        currentVersion: held,
        currentSha256: runtime.blocklist.sha256,
      });
      expect(deltaResponse.result.case).toBe("deltaChain");
      const tamperedDelta = clone(SyncResponseSchema, deltaResponse);
      if (tamperedDelta.result.case !== "deltaChain") throw new Error("expected a delta chain");
      const lastDelta = tamperedDelta.result.value.deltas.at(-1) as Uint8Array;
      lastDelta[lastDelta.length - 1] = (lastDelta[lastDelta.length - 1] as number) ^ 0xff;
      expect(runtime.blocklist.apply(tamperedDelta)).toMatchObject({ kind: "refused" });

      const snapshotResponse = await client.sync({
        protocolVersion: 1,
        currentVersion: 0,
        currentSha256: new Uint8Array(),
      });
      if (snapshotResponse.result.case !== "fullSnapshot") throw new Error("expected a snapshot");
      const bytes = snapshotResponse.result.value.snapshot;
      bytes[100] = (bytes[100] as number) ^ 0x01;
      expect(runtime.blocklist.apply(snapshotResponse)).toMatchObject({ kind: "refused" });
    } finally {
      client.close();
    }
    expect(runtime.blocklist.version).toBe(held);
    expect(forwarder.current).toBe(matcherBefore);
    expect(blocks(forwarder.current, "casino-four.example")).toBe(false);
    await runtime.flushEvents();
    const tampers = (await eventRows()).filter((row) => row.event_type === "tamper");
    expect(tampers.length).toBe(2);
    // The real update still applies afterwards.
    expect(await runtime.sync()).toMatchObject({ kind: "updated", via: "delta" });
    expect(blocks(forwarder.current, "casino-four.example")).toBe(true);
  });

  test("with the API down the list stays and events queue; when it is back each arrives exactly once", async () => {
    const version = runtime.blocklist.version;
    relay.down();
    expect(await runtime.sync()).toMatchObject({ kind: "unreachable" });
    expect(runtime.blocklist.version).toBe(version);
    expect(blocks(forwarder.current, "casino-one.example")).toBe(true);
    runtime.events.recordBlock(dnsBlock("casino-one.example"));
    runtime.events.recordBlock(dnsBlock("casino-two.example"));
    runtime.events.recordTamper(TamperType.RESOLVER_CHANGED, "resolver changed");
    expect(await runtime.flushEvents()).toMatchObject({ kind: "failed" });
    expect(runtime.events.queued).toBe(3);

    // Back, but the first answer is lost after the server stored the batch: resent with the same ids.
    relay.up();
    relay.mode = "swallow-responses";
    expect(await runtime.flushEvents()).toMatchObject({ kind: "failed" });
    relay.mode = "up";
    relay.resetConnections();
    expect(await runtime.flushEvents()).toMatchObject({ kind: "delivered", events: 3 });
    expect(runtime.events.queued).toBe(0);

    const rows = await eventRows();
    const counts = new Map<string, number>();
    for (const row of rows) counts.set(row.event_uid, (counts.get(row.event_uid) ?? 0) + 1);
    expect([...counts.values()].every((count) => count === 1)).toBe(true);
    const blockRows = rows.filter((row) => row.event_type === "block");
    expect(blockRows.length).toBe(2);
    // Aggregated reporting (the default): no domain name left the device.
    expect(JSON.stringify(blockRows)).not.toContain("casino-");
  });

  test("a corrupt queue file is quarantined and reported; restart with the API down serves the list from disk", async () => {
    const version = runtime.blocklist.version;
    await runtime.stop();
    relay.down();
    const paths = statePaths(stateDir);
    writeFileSync(paths.eventQueue, "{ not json");
    runtime = openRuntime();
    // No network was needed: the list came from disk and is already in the forwarder.
    expect(runtime.blocklist.version).toBe(version);
    expect(blocks(forwarder.current, "casino-three.example")).toBe(true);
    expect(readdirSync(stateDir).some((name) => name.startsWith("events.queue.json.corrupt-"))).toBe(true);
    expect(runtime.events.queued).toBe(1);
    expect(await runtime.sync()).toMatchObject({ kind: "unreachable" });

    relay.up();
    expect(await runtime.flushEvents()).toMatchObject({ kind: "delivered", events: 1 });
    const tampers = (await eventRows()).filter((row) => row.event_type === "tamper");
    expect(tampers.some((row) => JSON.stringify(row.metadata).includes("config_altered"))).toBe(true);
  });

  test("a heartbeat applies the config from the response and a newer list version triggers a sync", async () => {
    const held = runtime.blocklist.version;
    const latest = await server.publish(["casino-five.example"]);
    expect(latest).toBeGreaterThan(held);
    const response = await runtime.heartbeat();
    expect(response?.latestBlocklistVersion).toBe(latest);
    expect(forwarder.protections.length).toBeGreaterThan(0);
    expect(runtime.state.state.config).not.toBeNull();
    await expect.poll(() => runtime.blocklist.version, { timeout: 10_000 }).toBe(latest);
    expect(blocks(forwarder.current, "casino-five.example")).toBe(true);
  });

  test("wired to the real DNS forwarder: listed names get NXDOMAIN, the block is reported without the name", async () => {
    const upstream = await FakeUpstream.start((request) => addressAnswer(request));
    const dns = await startDnsForwarder({
      matcher: () => runtime.waitForMatcher(),
      upstreams: [`127.0.0.1:${upstream.port}`],
      listen: { address: "127.0.0.1", port: 0 },
      onBlock: runtime.events.recordBlock,
    });
    try {
      runtime.attachForwarder(dns);
      expect(decode(await udpExchange(dns.port, queryBytes("casino-five.example"))).rcode).toBe("NXDOMAIN");
      expect(decode(await udpExchange(dns.port, queryBytes("allowed.example"))).rcode).toBe("NOERROR");
      expect(dns.counters.blocked).toBe(1);
      const before = (await eventRows()).length;
      expect(await runtime.flushEvents()).toMatchObject({ kind: "delivered", events: 1 });
      const rows = await eventRows();
      expect(rows.length).toBe(before + 1);
      expect(JSON.stringify(rows.at(-1))).not.toContain("casino-five");
    } finally {
      await dns.stop();
      await upstream.stop();
    }
  });

  test("a list deleted from disk behind the agent's back is reported as tampering and restored by sync", async () => {
    const version = runtime.blocklist.version;
    await runtime.stop();
    rmSync(statePaths(stateDir).blocklist);
    runtime = openRuntime();
    expect(runtime.blocklist.version).toBe(0);
    expect(runtime.events.queued).toBe(1);
    expect(await runtime.flushEvents()).toMatchObject({ kind: "delivered", events: 1 });
    const last = (await eventRows()).at(-1);
    expect(last?.event_type).toBe("tamper");
    expect(JSON.stringify(last?.metadata)).toContain("list_signature_invalid");
    expect(await runtime.sync()).toMatchObject({ kind: "updated", to: version, via: "snapshot" });
  });

  test("a full queue drops the oldest events and the DropNotice travels in the next batch, accepted by the API", async () => {
    const queue = new EventQueue({ path: join(stateDir, "small-queue.json"), maxEvents: 2 });
    const collector = new EventCollector({ queue });
    for (const name of ["a.example", "b.example", "c.example", "d.example"])
      collector.recordBlock(dnsBlock(name));
    expect(queue.pendingDrop?.count).toBe(2);
    const before = (await eventRows()).length;
    const client = DeviceApiClient.fromStateDir(stateDir, apiUrl) as DeviceApiClient;
    try {
      expect(await collector.flush(client)).toMatchObject({ kind: "delivered", events: 2, rejected: 0 });
    } finally {
      client.close();
    }
    expect(queue.pendingDrop).toBeNull();
    expect((await eventRows()).length).toBe(before + 2);
  });

  test("started, the runtime syncs periodically and picks up a new version by itself", async () => {
    await runtime.stop();
    runtime = openRuntime(1);
    runtime.start();
    const latest = await server.publish(["casino-six.example"]);
    await expect.poll(() => runtime.blocklist.version, { timeout: 15_000, interval: 200 }).toBe(latest);
    expect(blocks(forwarder.current, "casino-six.example")).toBe(true);
    await runtime.stop();
  });
});
