/**
 * Real nftables in a network namespace the test creates: the redirect answers a query sent to another
 * server, DoT gets a reset, the agent's own user is not redirected, counters count, a flush is seen.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NftablesFirewall, normalizeListing, rulesetText } from "./nftables";
import { canUseNetns, linkNamespaces, TestNetns } from "./testing";

const PROBE = join(import.meta.dirname, "../../../tests/e2e/netns-probe.cjs");
const AGENT_UID = 65534;

describe("normalizeListing", () => {
  it("ignores counters and handles, not rules", () => {
    const a =
      "table inet t {\n\tchain c {\n\t\tudp dport 53 counter packets 5 bytes 300 redirect to :53 # handle 4\n\t}\n}";
    const b =
      "table inet t {\n  chain c {\n    udp dport 53 counter packets 0 bytes 0 redirect to :53\n  }\n}";
    expect(normalizeListing(a)).toBe(normalizeListing(b));
    expect(normalizeListing(a)).not.toBe(normalizeListing(b.replace(":53", ":54")));
  });

  it("renders the agent's uid and port into the rules", () => {
    const text = rulesetText({ table: "betblocker", dnsPort: 5353, agentUid: 990 });
    expect(text).toContain("meta skuid 990 return");
    expect(text).toContain("redirect to :5353");
    expect(text).toContain("tcp dport 853 counter reject with tcp reset");
  });
});

describe.runIf(canUseNetns())("nftables in a network namespace", () => {
  let ns: TestNetns;
  let peer: TestNetns;
  let server: ChildProcess;
  let firewall: NftablesFirewall;
  const probe = (...args: string[]) => ns.exec([process.execPath, PROBE, ...args]).trim();
  const probeAs = (uid: number, ...args: string[]) =>
    ns
      .exec([
        "setpriv",
        `--reuid=${uid}`,
        `--regid=${uid}`,
        "--clear-groups",
        process.execPath,
        PROBE,
        ...args,
      ])
      .trim();

  beforeAll(async () => {
    ns = new TestNetns("nft");
    // "Another DNS server": a second namespace with nothing listening, reachable over a veth.
    peer = new TestNetns("nfp");
    linkNamespaces(peer, ns, 9);
    server = spawn("ip", ["netns", "exec", ns.name, process.execPath, PROBE, "serve-udp", "5353", "agent"], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    await new Promise<void>((resolve) => server.stdout?.once("data", () => resolve()));
    firewall = new NftablesFirewall({ table: "bbtest", dnsPort: 5353, agentUid: AGENT_UID }, ns.prefix);
  });

  afterAll(() => {
    if (server?.pid) process.kill(server.pid, "SIGKILL");
    ns?.remove();
    peer?.remove();
  });

  it("without rules a query to another server goes out unanswered", () => {
    expect(probe("udp", "10.231.9.1", "53")).toBe("timeout");
  });

  it("redirects DNS to the agent, rejects DoT at once, and counts both", async () => {
    await firewall.apply();
    expect(await firewall.status()).toMatchObject({ intact: true });
    expect(probe("udp", "10.231.9.1", "53")).toBe("reply agent");
    expect(probe("tcp", "10.231.9.1", "853")).toBe("error ECONNREFUSED");
    const counters = await firewall.counters();
    expect(counters.redirectedDns).toBeGreaterThanOrEqual(1);
    expect(counters.rejectedDot).toBeGreaterThanOrEqual(1);
  });

  it("does not redirect the agent's own user (its upstream queries)", () => {
    expect(probeAs(AGENT_UID, "udp", "10.231.9.1", "53")).toBe("timeout");
  });

  it("sees a flushed ruleset and an edited rule, and re-applies", async () => {
    ns.exec(["nft", "flush", "ruleset"]);
    expect(await firewall.status()).toEqual({
      intact: false,
      details: "nftables table inet bbtest is missing",
    });
    expect(probe("udp", "10.231.9.1", "53")).toBe("timeout");
    await firewall.apply();
    expect(probe("udp", "10.231.9.1", "53")).toBe("reply agent");
    ns.exec(["nft", "flush", "chain", "inet", "bbtest", "dot_block"]);
    const status = await firewall.status();
    expect(status.intact).toBe(false);
    expect(status.details).toMatch(/2 rule line\(s\) missing or altered/);
    await firewall.remove();
    expect((await firewall.status()).intact).toBe(false);
  });
});
