/**
 * The Linux agent end to end: release bundle in a network namespace, real API, list from ../shared/data.
 * Enroll with a code, sync, dig blocks listed names (EDE 15) and resolves others from the upstream in the
 * other namespace; a newly published domain is blocked within one sync interval; a tampered delta is
 * refused and its tamper event reaches the API; with the API down the agent keeps blocking and queues,
 * and when it is back every event arrives exactly once; uninstall is refused while enrolled.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { canUseNetns } from "../../apps/agent-linux/src/testing";
import { AgentHarness, sharedGamblingDomains, waitFor } from "./agent-harness";

const SYNC_SECONDS = 10;

describe.runIf(canUseNetns())("Linux agent end to end (network namespaces, real API)", () => {
  let h: AgentHarness;

  beforeAll(async () => {
    h = new AgentHarness({ domains: sharedGamblingDomains(), syncIntervalSeconds: SYNC_SECONDS, subnet: 21 });
    await h.start();
    await h.startAgent();
  }, 180_000);

  afterAll(async () => {
    await h?.close();
  });

  it("blocks listed names with NXDOMAIN and EDE 15, and resolves others through the upstream", async () => {
    for (const name of ["www.bet365.com", "pokerstars.com", "williamhill.com"]) {
      const answer = await h.dig(name);
      expect(answer.status, name).toBe("NXDOMAIN");
      expect(answer.ede, name).toBe(15);
    }
    const allowed = await h.dig("example.org");
    expect(allowed.status).toBe("NOERROR");
    expect(allowed.addresses).toEqual(["10.231.21.100"]);
    expect((await h.dig("www.bet365.com", { tcp: true })).status).toBe("NXDOMAIN");
    // The system resolver file now names only the agent.
    expect(h.status()?.blocklist_version).toBeGreaterThan(0);
    // The release's native UDP listener (shipped when `npm ci` built it) was verified and used.
    if (existsSync(join(h.installDir, "dns_native.node"))) {
      expect(h.agentLog).not.toContain("native UDP listener unavailable");
      expect(h.agentLog).not.toContain("native DNS addon not loaded");
    }
  });

  it("answers a query sent straight to another server itself (nftables redirect)", async () => {
    expect((await h.dig("www.bet365.com", { server: h.upstreamAddress })).status).toBe("NXDOMAIN");
    expect((await h.dig("example.org", { server: h.upstreamAddress })).addresses).toEqual(["10.231.21.100"]);
  });

  it("reports an unlisted name that looks like gambling to the federated review queue, once", async () => {
    const name = "best-online-casino-slots-e2e.example";
    expect((await h.dig(name)).status).toBe("NOERROR");
    expect((await h.dig(name)).status).toBe("NOERROR");
    expect((await h.dig("plain-bakery-e2e.example")).status).toBe("NOERROR");
    const rows = await waitFor(
      "the federated report at the API",
      async () => {
        const found = await h.server.api.db.owner<{ domain: string; heuristic_match_type: string }[]>`
          select domain, heuristic_match_type from federated_reports where device_id = ${h.deviceRowId}`;
        return found.length > 0 ? found : null;
      },
      20_000,
    );
    expect(rows).toEqual([{ domain: name, heuristic_match_type: "keyword" }]);
  });

  it("blocks a newly published domain within one sync interval", async () => {
    const name = "fresh-casino-e2e.example";
    expect((await h.dig(name)).status).toBe("NOERROR");
    const published = Date.now();
    await h.server.publish([name]);
    await waitFor(
      "the new domain to be blocked",
      async () => (await h.dig(name)).status === "NXDOMAIN",
      SYNC_SECONDS * 1000 + 5000,
    );
    expect(Date.now() - published).toBeLessThanOrEqual(SYNC_SECONDS * 1000 + 5000);
  });

  it("refuses a tampered delta, keeps blocking, and its tamper event reaches the API", async () => {
    const before = (await h.events()).length;
    const version = await h.server.publish(["tampered-delta-e2e.example"]);
    // Flip one byte of the stored delta: what the API serves is no longer what was signed.
    await h.server.api.db.owner`
      update blocklist_versions set delta_binary = set_byte(delta_binary, 40, get_byte(delta_binary, 40) # 1)
      where version_number = ${version}`;
    h.server.runtime.sync?.invalidate();
    const tamper = await h.waitForEvent("tamper", { type: "list_signature_invalid" }, 30_000, before);
    expect(tamper.metadata.type).toBe("list_signature_invalid");
    expect((await h.dig("www.bet365.com")).status).toBe("NXDOMAIN");
    expect((await h.dig("tampered-delta-e2e.example")).status).toBe("NOERROR");
  });

  it("with the API down keeps blocking and queues; when it is back every event arrives exactly once", async () => {
    await h.drained();
    const blocksBefore = (await h.events()).filter((e) => e.event_type === "block").length;
    h.setApiDown(true);
    const names = ["pokerstars.com", "www.williamhill.com", "m.bet365.com", "sports.bet365.com"];
    try {
      for (const name of names) expect((await h.dig(name)).status, name).toBe("NXDOMAIN");
      await waitFor(
        "the queue to hold the blocks",
        () => Number(h.status()?.queued_events) >= names.length,
        15_000,
      );
    } finally {
      h.setApiDown(false);
    }
    const rows = await waitFor(
      "the queued blocks at the API",
      async () => {
        const all = await h.events();
        return all.filter((e) => e.event_type === "block").length >= blocksBefore + names.length ? all : null;
      },
      60_000,
    );
    const blocks = rows.filter((e) => e.event_type === "block");
    expect(blocks.length).toBe(blocksBefore + names.length);
    expect(new Set(rows.map((e) => e.event_uid)).size).toBe(rows.length);
    // Aggregated reporting (the default): no domain name left the device.
    expect(JSON.stringify(blocks.map((b) => b.metadata))).not.toMatch(/pokerstars|williamhill|bet365/);
  });

  it("refuses to uninstall while the enrollment is active", async () => {
    const result = await h.agentCli(["uninstall", "--config", h.configPath, "--state-dir", h.stateDir], {
      allowFail: true,
      caps: true,
    });
    expect(result.code).toBe(2);
    expect(result.output).toMatch(/refused: this device's enrollment is still active/);
    expect((await h.dig("www.bet365.com")).status).toBe("NXDOMAIN");
  });

  it("uninstalls once the API says the enrollment has ended: agent stopped, firewall and resolver put back", async () => {
    // The unenrollment flows themselves are tested at the API; here the enrollment simply has ended.
    await h.server.api.db.owner`
      update enrollments set status = 'unenrolled' where device_id = ${h.deviceRowId} and status = 'active'`;
    h.server.runtime.authenticator.invalidateDevice(h.deviceRowId);
    const supervisor = h.agent;
    const exited = new Promise<number | null>((r) => supervisor?.once("exit", (code) => r(code)));
    const result = await h.agentCli(
      [
        "uninstall",
        "--config",
        h.configPath,
        "--state-dir",
        h.stateDir,
        "--prefix",
        h.installDir,
        "--unit-dir",
        `${h.dir}/units`,
      ],
      { allowFail: true, caps: true },
    );
    expect(result.output).toMatch(/uninstalled/);
    expect(result.code).toBe(0);
    expect(
      await Promise.race([exited, new Promise((r) => setTimeout(() => r("still running"), 15_000))]),
    ).toBe(0);
    h.agent = null;
    expect(h.client.exec(["nft", "list", "tables"])).not.toMatch(/betblocker/);
    expect(readFileSync(h.resolvConf, "utf8")).toBe(`nameserver ${h.upstreamAddress}\n`);
    expect(existsSync(h.stateDir)).toBe(false);
    // No tamper event for an authorized stop.
    const tampers = (await h.events()).filter(
      (e) => e.event_type === "tamper" && e.metadata.type === "service_stopped",
    );
    expect(tampers).toEqual([]);
  });
});
