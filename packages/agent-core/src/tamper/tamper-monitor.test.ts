import { generateKeyPairSync } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BypassMethod, TamperType } from "@betblocker/proto";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import type { VerifyResult } from "../blocklist/blocklist-store";
import {
  type EnforcementStatus,
  type FirewallCounters,
  type NetworkInterfaceInfo,
  type PlatformBridge,
  unsupported,
} from "../platform";
import { sha256Text } from "./file-hash";
import { createManifest } from "./manifest";
import { TamperMonitor, type TamperMonitorOptions, type TamperSink } from "./tamper-monitor";

/** A PlatformBridge whose state the test sets; apply* put the agent's state back. */
class FakeBridge implements PlatformBridge {
  readonly platform = "fake";
  resolver: EnforcementStatus = { intact: true, details: "" };
  firewall: EnforcementStatus = { intact: true, details: "" };
  counters: FirewallCounters = { redirectedDns: 0, rejectedDot: 0 };
  interfaces: NetworkInterfaceInfo[] = [{ name: "lo", kind: "loopback", up: true }];
  hosts = "127.0.0.1 localhost\n";
  applyResolverCalls = 0;
  applyFirewallCalls = 0;
  /** When set, applyResolver does not fix anything. */
  resolverStuck = false;
  countersUnsupported = false;
  hostsDelayMs = 0;

  async resolverStatus() {
    return { ...this.resolver };
  }
  async applyResolver() {
    this.applyResolverCalls += 1;
    if (!this.resolverStuck) this.resolver = { intact: true, details: "" };
  }
  async removeResolver() {}
  async firewallStatus() {
    return { ...this.firewall };
  }
  async firewallCounters() {
    if (this.countersUnsupported) unsupported(this.platform, "firewallCounters");
    return { ...this.counters };
  }
  async applyFirewall() {
    this.applyFirewallCalls += 1;
    this.firewall = { intact: true, details: "" };
    this.counters = { redirectedDns: 0, rejectedDot: 0 };
  }
  async removeFirewall() {}
  async listInterfaces() {
    return this.interfaces.map((info) => ({ ...info }));
  }
  async readHostsFile() {
    if (this.hostsDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.hostsDelayMs));
    return this.hosts;
  }
  notifyWatchdog() {}
  notifyReady() {}
}

type Recorded =
  | { kind: "tamper"; type: TamperType; details: string; expected?: string; actual?: string }
  | { kind: "bypass"; method: BypassMethod; details: string };

class RecordingSink implements TamperSink {
  events: Recorded[] = [];
  alerts = 0;
  recordTamper(type: TamperType, details: string, expected?: string, actual?: string) {
    this.events.push({ kind: "tamper", type, details, expected, actual });
  }
  recordBypass(method: BypassMethod, details: string) {
    this.events.push({ kind: "bypass", method, details });
  }
  alertNow() {
    this.alerts += 1;
  }
  take(): Recorded[] {
    const taken = this.events;
    this.events = [];
    return taken;
  }
}

const BLOCKED = new Set(["casino.example", "poker.example"]);
let dir: string;
let bridge: FakeBridge;
let sink: RecordingSink;
let logs: string[];
let monitors: TamperMonitor[];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "bb-monitor-"));
  bridge = new FakeBridge();
  sink = new RecordingSink();
  logs = [];
  monitors = [];
});
afterEach(() => {
  for (const monitor of monitors) monitor.stop();
  rmSync(dir, { recursive: true, force: true });
});

function newMonitor(overrides: Partial<TamperMonitorOptions> = {}): TamperMonitor {
  const monitor = new TamperMonitor({
    bridge,
    sink,
    intervalMs: 60_000,
    enforce: true,
    listed: (name) => BLOCKED.has(name),
    log: (message) => logs.push(message),
    ...overrides,
  });
  monitors.push(monitor);
  return monitor;
}

describe("TamperMonitor resolver and firewall", () => {
  test("a changed resolver is reported once, re-applied, and the details say it was restored", async () => {
    const monitor = newMonitor();
    expect((await monitor.checkNow()).events).toBe(0);
    bridge.resolver = { intact: false, details: "nameserver 9.9.9.9 in /etc/resolv.conf" };
    const report = await monitor.checkNow();
    expect(sink.take()).toEqual([
      {
        kind: "tamper",
        type: TamperType.RESOLVER_CHANGED,
        details: "nameserver 9.9.9.9 in /etc/resolv.conf; restored",
        expected: undefined,
        actual: undefined,
      },
    ]);
    expect(bridge.applyResolverCalls).toBe(1);
    expect(sink.alerts).toBe(1);
    expect(report.checks.find((check) => check.check === "resolver")).toMatchObject({
      status: "found",
      events: 1,
    });
  });

  test("one event per incident: found again is not re-reported; cleared and back is a new incident", async () => {
    const monitor = newMonitor();
    bridge.resolverStuck = true;
    bridge.resolver = { intact: false, details: "resolv.conf replaced" };
    await monitor.checkNow();
    await monitor.checkNow();
    await monitor.checkNow();
    const first = sink.take();
    expect(first).toHaveLength(1);
    expect(first[0]).toMatchObject({
      details: expect.stringContaining("still not intact after re-applying"),
    });
    expect(sink.alerts).toBe(1);
    bridge.resolverStuck = false;
    bridge.resolver = { intact: true, details: "" };
    await monitor.checkNow();
    bridge.resolver = { intact: false, details: "resolv.conf replaced" };
    await monitor.checkNow();
    expect(sink.take()).toHaveLength(1);
  });

  test("a repaired resolver undone again before the next check stays the same incident", async () => {
    const monitor = newMonitor();
    for (let run = 0; run < 3; run += 1) {
      bridge.resolver = { intact: false, details: "resolv.conf replaced" };
      await monitor.checkNow();
    }
    expect(bridge.applyResolverCalls).toBe(3);
    expect(sink.take()).toHaveLength(1);
  });

  test("without enforce nothing is re-applied", async () => {
    const monitor = newMonitor({ enforce: false });
    bridge.firewall = { intact: false, details: "table inet betblocker missing" };
    await monitor.checkNow();
    expect(bridge.applyFirewallCalls).toBe(0);
    expect(sink.take()).toMatchObject([
      { kind: "tamper", type: TamperType.FIREWALL_FLUSHED, details: "table inet betblocker missing" },
    ]);
  });

  test("a flushed firewall is reported and re-applied; the counter reset is a new baseline, not an event", async () => {
    const monitor = newMonitor();
    bridge.counters = { redirectedDns: 40, rejectedDot: 7 };
    await monitor.checkNow();
    bridge.firewall = { intact: false, details: "rules missing" };
    await monitor.checkNow();
    expect(bridge.applyFirewallCalls).toBe(1);
    expect(sink.take()).toMatchObject([
      { kind: "tamper", type: TamperType.FIREWALL_FLUSHED, details: "rules missing; restored" },
    ]);
    bridge.counters = { redirectedDns: 2, rejectedDot: 0 };
    await monitor.checkNow();
    expect(sink.take()).toMatchObject([{ kind: "bypass", method: BypassMethod.DIRECT_DNS }]);
  });
});

describe("TamperMonitor bypass checks", () => {
  test("counter increases are DoT / direct DNS bypasses with the count; lower values are a new baseline", async () => {
    const monitor = newMonitor();
    bridge.counters = { redirectedDns: 10, rejectedDot: 3 };
    await monitor.checkNow();
    expect(sink.take()).toEqual([]);
    bridge.counters = { redirectedDns: 13, rejectedDot: 5 };
    await monitor.checkNow();
    expect(sink.take()).toEqual([
      {
        kind: "bypass",
        method: BypassMethod.DOT_ATTEMPT,
        details: "2 DNS-over-TLS connection attempts (port 853) rejected",
      },
      {
        kind: "bypass",
        method: BypassMethod.DIRECT_DNS,
        details: "3 queries to another DNS server redirected to the agent",
      },
    ]);
    expect(sink.alerts).toBe(1);
    bridge.counters = { redirectedDns: 14, rejectedDot: 5 };
    await monitor.checkNow(); // still increasing: same incident
    bridge.counters = { redirectedDns: 1, rejectedDot: 0 }; // reset by a re-apply elsewhere
    await monitor.checkNow();
    expect(sink.take()).toEqual([]);
    bridge.counters = { redirectedDns: 2, rejectedDot: 1 };
    await monitor.checkNow();
    expect(sink.take()).toMatchObject([
      { method: BypassMethod.DOT_ATTEMPT, details: "1 DNS-over-TLS connection attempt (port 853) rejected" },
      { method: BypassMethod.DIRECT_DNS },
    ]);
  });

  test("a VPN interface coming up is reported once by name; down and up again is a new incident", async () => {
    const monitor = newMonitor();
    bridge.interfaces.push(
      { name: "eth0", kind: "", up: true },
      { name: "wg0", kind: "wireguard", up: true },
    );
    await monitor.checkNow();
    await monitor.checkNow();
    expect(sink.take()).toEqual([
      {
        kind: "bypass",
        method: BypassMethod.VPN_DETECTED,
        details: "VPN/tunnel wireguard interface wg0 is up",
      },
    ]);
    bridge.interfaces.push({ name: "tun0", kind: "", up: true });
    await monitor.checkNow();
    expect(sink.take()).toMatchObject([{ details: "VPN/tunnel interface tun0 is up" }]);
    bridge.interfaces = bridge.interfaces.map((info) =>
      info.name === "wg0" ? { ...info, up: false } : info,
    );
    await monitor.checkNow();
    bridge.interfaces = bridge.interfaces.map((info) => ({ ...info, up: true }));
    await monitor.checkNow();
    expect(sink.take()).toMatchObject([{ details: expect.stringContaining("wg0") }]);
  });

  test("hosts overrides are reported without names; skipped while no list is loaded", async () => {
    let loaded = false;
    const monitor = newMonitor({ listed: (name) => (loaded ? BLOCKED.has(name) : null) });
    bridge.hosts = "127.0.0.1 localhost\n0.0.0.0 poker.example\n203.0.113.9 casino.example\n";
    const before = await monitor.checkNow();
    expect(before.checks.find((check) => check.check === "hosts_file")?.status).toBe("skipped");
    loaded = true;
    await monitor.checkNow();
    await monitor.checkNow();
    const events = sink.take();
    expect(events).toEqual([
      {
        kind: "bypass",
        method: BypassMethod.HOSTS_FILE_OVERRIDE,
        details: "hosts file maps 1 blocked name to another address (line 3)",
      },
    ]);
    expect(JSON.stringify(events)).not.toContain("example");
    bridge.hosts += "203.0.113.9 poker.example\n";
    await monitor.checkNow();
    expect(sink.take()).toHaveLength(1);
  });
});

describe("TamperMonitor file checks", () => {
  const keys = generateKeyPairSync("ed25519");

  test("a changed installed file is BINARY_MODIFIED with the hashes of the first mismatch and a count", async () => {
    writeFileSync(join(dir, "agent"), "binary v1");
    writeFileSync(join(dir, "agent.service"), "[Unit]");
    const manifestText = await createManifest({
      rootDir: dir,
      files: ["agent", "agent.service"],
      privateKey: keys.privateKey,
      agentVersion: "1.0.0",
    });
    const monitor = newMonitor({
      integrity: { manifestText: () => manifestText, publicKey: keys.publicKey, rootDir: dir },
    });
    await monitor.checkNow();
    expect(sink.take()).toEqual([]);
    writeFileSync(join(dir, "agent"), "binary patched");
    unlinkSync(join(dir, "agent.service"));
    await monitor.checkNow();
    await monitor.checkNow();
    expect(sink.take()).toEqual([
      {
        kind: "tamper",
        type: TamperType.BINARY_MODIFIED,
        details: "2 installed files differ from the signed manifest (agent changed, agent.service missing)",
        expected: sha256Text("binary v1"),
        actual: sha256Text("binary patched"),
      },
    ]);
  });

  test("a manifest with a bad signature or a deleted manifest is BINARY_MODIFIED", async () => {
    writeFileSync(join(dir, "agent"), "binary v1");
    const good = await createManifest({
      rootDir: dir,
      files: ["agent"],
      privateKey: keys.privateKey,
      agentVersion: "1",
    });
    let text: string | null = good.replace('"agent_version": "1"', '"agent_version": "2"');
    const monitor = newMonitor({
      integrity: { manifestText: () => text, publicKey: keys.publicKey, rootDir: dir },
    });
    await monitor.checkNow();
    expect(sink.take()).toMatchObject([
      { type: TamperType.BINARY_MODIFIED, details: expect.stringContaining("signature") },
    ]);
    text = null;
    await monitor.checkNow();
    expect(sink.take()).toMatchObject([
      { type: TamperType.BINARY_MODIFIED, details: expect.stringContaining("missing") },
    ]);
    text = good;
    await monitor.checkNow();
    expect(sink.take()).toEqual([]);
  });

  test("an altered config file is CONFIG_ALTERED with both hashes and is restored", async () => {
    const path = join(dir, "agent.toml");
    const good = "api_url = 'https://127.0.0.1'\n";
    writeFileSync(path, good);
    const monitor = newMonitor({
      configFile: { path, expectedSha256: () => sha256Text(good), restore: () => writeFileSync(path, good) },
    });
    await monitor.checkNow();
    expect(sink.take()).toEqual([]);
    writeFileSync(path, "api_url = 'https://evil'\n");
    await monitor.checkNow();
    expect(sink.take()).toEqual([
      {
        kind: "tamper",
        type: TamperType.CONFIG_ALTERED,
        details: `config file ${path} was altered; restored`,
        expected: sha256Text(good),
        actual: sha256Text("api_url = 'https://evil'\n"),
      },
    ]);
    expect(readFileSync(path, "utf8")).toBe(good);
    await monitor.checkNow();
    expect(sink.take()).toEqual([]);
  });

  test("a list file that does not verify is LIST_SIGNATURE_INVALID with hashes, once per incident", async () => {
    let result: VerifyResult = { ok: true };
    const monitor = newMonitor({ listFile: { verify: () => result } });
    await monitor.checkNow();
    result = {
      ok: false,
      details: "blocklist file altered",
      expectedSha256: "aa",
      actualSha256: "bb",
      restored: false,
    };
    await monitor.checkNow();
    await monitor.checkNow();
    expect(sink.take()).toEqual([
      {
        kind: "tamper",
        type: TamperType.LIST_SIGNATURE_INVALID,
        details: "blocklist file altered",
        expected: "aa",
        actual: "bb",
      },
    ]);
  });
});

describe("TamperMonitor robustness", () => {
  test("a check that throws is logged once and does not stop the other checks", async () => {
    bridge.countersUnsupported = true;
    const monitor = newMonitor({
      listFile: {
        verify: () => {
          throw new Error("EACCES: permission denied");
        },
      },
    });
    bridge.interfaces.push({ name: "wg0", kind: "wireguard", up: true });
    const report = await monitor.checkNow();
    await monitor.checkNow();
    expect(report.checks.find((check) => check.check === "firewall_counters")?.status).toBe("unsupported");
    expect(report.checks.find((check) => check.check === "list_file")?.status).toBe("error");
    expect(sink.take()).toMatchObject([{ method: BypassMethod.VPN_DETECTED }]);
    expect(logs).toHaveLength(2);
    expect(logs.join("\n")).toContain("firewallCounters is not supported on fake");
    expect(logs.join("\n")).toContain("EACCES");
  });

  test("the timer runs checks and skips a tick while a slow check is still running", async () => {
    bridge.hostsDelayMs = 120;
    let hostsReads = 0;
    let active = 0;
    let maxActive = 0;
    const read = bridge.readHostsFile.bind(bridge);
    bridge.readHostsFile = async () => {
      hostsReads += 1;
      active += 1;
      maxActive = Math.max(maxActive, active);
      try {
        return await read();
      } finally {
        active -= 1;
      }
    };
    const monitor = newMonitor({ intervalMs: 20 });
    monitor.start();
    await new Promise((resolve) => setTimeout(resolve, 300));
    monitor.stop();
    await monitor.checkNow(); // waits for any run in progress, then runs once more
    // ~15 ticks in 300 ms, but each run takes >= 120 ms: a few runs (plus ours), never overlapping.
    expect(maxActive).toBe(1);
    expect(hostsReads).toBeGreaterThanOrEqual(2);
    expect(hostsReads).toBeLessThanOrEqual(4);
    expect(monitor.lastReport?.checks).toHaveLength(8);
  });
});
