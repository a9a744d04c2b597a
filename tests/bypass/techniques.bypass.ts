/**
 * `npm run test:bypass`: one test per bypass or tamper technique against the installed Linux agent (release
 * bundle, own user, own capabilities) in a network namespace, with the real API. Each technique must be
 * BLOCKED (the user's attempt fails) or REPORTED (its event reaches the API within one heartbeat interval).
 * The last line (tools/test/bypass-reporter.ts) is `bypass blocked_or_reported=X of Y`.
 */
import { appendFileSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { canUseNetns } from "../../apps/agent-linux/src/testing";
import { AgentHarness, sharedGamblingDomains, waitFor } from "../e2e/agent-harness";

const HEARTBEAT_SECONDS = 30;
const WITHIN = HEARTBEAT_SECONDS * 1000;
const PROBE = join(import.meta.dirname, "../e2e/netns-probe.cjs");

describe.runIf(canUseNetns())("bypass techniques", () => {
  let h: AgentHarness;
  let seen = 0;

  /** The event must arrive within one heartbeat interval of the attempt. */
  async function reported(type: string, match: Record<string, unknown>) {
    const event = await h.waitForEvent(type, match, WITHIN, seen);
    seen = (await h.events()).length;
    return event;
  }

  beforeAll(async () => {
    h = new AgentHarness({
      domains: sharedGamblingDomains(),
      heartbeatSeconds: HEARTBEAT_SECONDS,
      checkIntervalSeconds: 2,
      subnet: 31,
    });
    await h.start();
    // A DoT server on the other side: without the firewall, port 853 would answer.
    await h.startBackground(h.upstreamNs, [
      process.execPath,
      PROBE,
      "serve-dns",
      h.upstreamAddress,
      "853",
      "10.231.31.100",
    ]);
    await h.startAgent();
    seen = (await h.events()).length;
  }, 180_000);

  afterAll(async () => {
    await h?.close();
  });

  it("direct DNS to another server over UDP is answered by the agent (blocked)", async () => {
    expect((await h.dig("www.bet365.com", { server: h.upstreamAddress })).status).toBe("NXDOMAIN");
  });

  it("direct DNS to another server over TCP is answered by the agent (blocked)", async () => {
    expect((await h.dig("www.bet365.com", { server: h.upstreamAddress, tcp: true })).status).toBe("NXDOMAIN");
  });

  it("DNS-over-TLS to port 853 is refused at once (blocked) and reported", async () => {
    const out = h.client.exec([process.execPath, PROBE, "tcp", h.upstreamAddress, "853"]).trim();
    expect(out).toBe("error ECONNREFUSED");
    await reported("bypass_attempt", { method: "dot_attempt" });
  });

  it("DNS-over-HTTPS provider names do not resolve (blocked)", async () => {
    for (const name of ["dns.google", "cloudflare-dns.com", "dns.quad9.net"]) {
      expect((await h.dig(name)).status, name).toBe("NXDOMAIN");
    }
  });

  it("the Firefox DoH canary says: do not enable DoH (blocked)", async () => {
    expect((await h.dig("use-application-dns.net")).status).toBe("NXDOMAIN");
  });

  it("the iCloud Private Relay canaries do not resolve (blocked)", async () => {
    expect((await h.dig("mask.icloud.com")).status).toBe("NXDOMAIN");
    expect((await h.dig("mask-h2.icloud.com")).status).toBe("NXDOMAIN");
  });

  it("a gambling entry added to the hosts file is reported", async () => {
    appendFileSync(h.hostsPath, "203.0.113.7 www.bet365.com\n");
    const event = await reported("bypass_attempt", { method: "hosts_file_override" });
    expect(JSON.stringify(event.metadata)).not.toMatch(/bet365/);
  });

  it("a resolv.conf pointing elsewhere is reported and undone", async () => {
    writeFileSync(h.resolvConf, `nameserver ${h.upstreamAddress}\n`);
    await reported("tamper", { type: "resolver_changed" });
    await waitFor(
      "resolv.conf to name the agent again",
      () => /^nameserver 127\.0\.0\.1$/m.test(readFileSync(h.resolvConf, "utf8")),
      WITHIN,
    );
  });

  it("an nftables flush is reported and the rules come back", async () => {
    h.client.exec(["nft", "flush", "ruleset"]);
    await reported("tamper", { type: "firewall_flushed" });
    await waitFor(
      "direct DNS to be redirected again",
      async () => (await h.dig("www.bet365.com", { server: h.upstreamAddress })).status === "NXDOMAIN",
      WITHIN,
    );
  });

  it("a VPN (tun) interface coming up is reported", async () => {
    h.client.exec(["ip", "tuntap", "add", "dev", "tun7", "mode", "tun"]);
    h.client.exec(["ip", "link", "set", "tun7", "up"]);
    const event = await reported("bypass_attempt", { method: "vpn_detected" });
    expect(String(event.metadata.details)).toMatch(/tun7/);
  });

  it("a modified agent binary is reported", async () => {
    appendFileSync(h.bundle, "\n// modified\n");
    const event = await reported("tamper", { type: "binary_modified" });
    expect(event.metadata.integrity_hash_expected).not.toBe(event.metadata.integrity_hash_actual);
  });

  it("a modified config file is reported and restored", async () => {
    const good = readFileSync(h.configPath, "utf8");
    writeFileSync(h.configPath, good.replace(/upstreams = \[[^\]]*\]/, 'upstreams = [ "10.231.31.1:5353" ]'));
    await reported("tamper", { type: "config_altered" });
    await waitFor("the config to be restored", () => readFileSync(h.configPath, "utf8") === good, WITHIN);
  });

  it("a tampered list file on disk is reported (and the good list stays in force)", async () => {
    const path = join(h.stateDir, "blocklist.bbl");
    const bytes = readFileSync(path);
    const at = Math.floor(bytes.length / 2);
    bytes[at] = (bytes[at] ?? 0) ^ 0x01;
    writeFileSync(path, bytes);
    await reported("tamper", { type: "list_signature_invalid" });
    expect((await h.dig("www.bet365.com")).status).toBe("NXDOMAIN");
  });

  it("killing the agent process is reported, and the watchdog restarts it", async () => {
    const pid = Number(h.status()?.pid);
    expect(pid).toBeGreaterThan(0);
    process.kill(pid, "SIGKILL");
    await reported("tamper", { type: "process_killed" });
    await waitFor(
      "a new agent process to serve",
      async () => {
        const status = h.status();
        return Number(status?.pid) !== pid && (await h.dig("www.bet365.com")).status === "NXDOMAIN";
      },
      WITHIN,
    );
  });

  it("stopping the service is reported", async () => {
    await h.stopAgent();
    await reported("tamper", { type: "service_stopped" });
  });
});
