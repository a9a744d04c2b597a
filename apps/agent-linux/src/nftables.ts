/**
 * nftables enforcement: one table (family inet) owned by the agent.
 *   - output nat: outgoing DNS (UDP and TCP 53) from any process but the agent's own user is
 *     redirected to the agent's listener, so `dig @8.8.8.8` is answered by the agent.
 *   - output filter: DNS-over-TLS (TCP 853, RFC 7858) and DNS-over-QUIC (UDP 853, RFC 9250) are
 *     rejected at once (a TCP reset, not a timeout), so clients fall back to plain DNS.
 * Rules carry comments so their counters can be read back (bypass attempts are reported from them).
 * Applying is one `nft -f` transaction: the table is replaced atomically, never half there.
 * IPv6 DNS to another server is redirected to [::1]:port; the agent listens on IPv4 loopback, so such
 * a query gets "connection refused": blocked, and counted like any other redirect.
 */
import { execFile } from "node:child_process";
import { sbinPath } from "./sbin-path";

export interface FirewallSpec {
  table: string;
  /** Port of the agent's DNS listener on loopback. */
  dnsPort: number;
  /** The agent's own user: its upstream queries are not redirected. */
  agentUid: number;
}

export const RULE_COMMENTS = {
  dnsUdp: "betblocker dns udp redirect",
  dnsTcp: "betblocker dns tcp redirect",
  dotTcp: "betblocker dot tcp reject",
  dotUdp: "betblocker doq udp reject",
} as const;

export function rulesetText(spec: FirewallSpec): string {
  const { table, dnsPort, agentUid } = spec;
  // `table X` then `delete table X` then the definition: replaces the table whether or not it exists,
  // in one atomic transaction.
  return `table inet ${table}
delete table inet ${table}
table inet ${table} {
  chain dns_redirect {
    type nat hook output priority -100; policy accept;
    meta skuid ${agentUid} return
    udp dport 53 counter redirect to :${dnsPort} comment "${RULE_COMMENTS.dnsUdp}"
    tcp dport 53 counter redirect to :${dnsPort} comment "${RULE_COMMENTS.dnsTcp}"
  }
  chain dot_block {
    type filter hook output priority 0; policy accept;
    tcp dport 853 counter reject with tcp reset comment "${RULE_COMMENTS.dotTcp}"
    udp dport 853 counter reject comment "${RULE_COMMENTS.dotUdp}"
  }
}
`;
}

export class NftError extends Error {
  constructor(
    message: string,
    readonly missing = false,
  ) {
    super(message);
    this.name = "NftError";
  }
}

/**
 * Run nft. `prefix` wraps the command (tests run it inside their network namespace with
 * ["ip", "netns", "exec", NAME]); the agent itself runs in the namespace it protects.
 */
export function runNft(args: string[], input?: string, prefix: readonly string[] = []): Promise<string> {
  const [command, ...rest] = [...prefix, "nft", ...args];
  return new Promise((resolve, reject) => {
    const child = execFile(
      command as string,
      rest,
      { timeout: 10_000, maxBuffer: 4 * 1024 * 1024, env: { ...process.env, PATH: sbinPath() } },
      (error, stdout, stderr) => {
        if (error) {
          const text = String(stderr || error.message).trim();
          reject(new NftError(`nft ${args.join(" ")}: ${text}`, /No such file or directory/.test(text)));
        } else resolve(String(stdout));
      },
    );
    if (input !== undefined) child.stdin?.end(input);
  });
}

/** The listing with everything that changes by itself removed (counters, handles), for comparison. */
export function normalizeListing(text: string): string {
  return text
    .replace(/counter packets \d+ bytes \d+/g, "counter")
    .replace(/\s*# handle \d+/g, "")
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line.length > 0)
    .join("\n");
}

export interface RuleCounters {
  redirectedDns: number;
  rejectedDot: number;
}

interface NftJsonRule {
  rule?: { comment?: string; expr?: Array<{ counter?: { packets?: number } }> };
}

/** Sum rule counters by comment from `nft -j list table`. */
export function countersFromJson(jsonText: string): RuleCounters {
  const parsed = JSON.parse(jsonText) as { nftables?: NftJsonRule[] };
  const byComment = new Map<string, number>();
  for (const item of parsed.nftables ?? []) {
    const comment = item.rule?.comment;
    if (!comment) continue;
    const packets = item.rule?.expr?.find((e) => e.counter)?.counter?.packets ?? 0;
    byComment.set(comment, (byComment.get(comment) ?? 0) + packets);
  }
  const get = (c: string) => byComment.get(c) ?? 0;
  return {
    redirectedDns: get(RULE_COMMENTS.dnsUdp) + get(RULE_COMMENTS.dnsTcp),
    rejectedDot: get(RULE_COMMENTS.dotTcp) + get(RULE_COMMENTS.dotUdp),
  };
}

export class NftablesFirewall {
  /** Normalized listing right after our last apply: the state "intact" means. */
  private expected: string | null = null;

  constructor(
    private readonly spec: FirewallSpec,
    private readonly prefix: readonly string[] = [],
  ) {}

  async apply(): Promise<void> {
    await runNft(["-f", "-"], rulesetText(this.spec), this.prefix);
    this.expected = normalizeListing(await this.list());
  }

  async remove(): Promise<void> {
    try {
      await runNft(["delete", "table", "inet", this.spec.table], undefined, this.prefix);
    } catch (error) {
      if (!(error instanceof NftError && error.missing)) throw error;
    }
    this.expected = null;
  }

  list(): Promise<string> {
    return runNft(["list", "table", "inet", this.spec.table], undefined, this.prefix);
  }

  async status(): Promise<{ intact: boolean; details: string }> {
    let listing: string;
    try {
      listing = await this.list();
    } catch (error) {
      if (error instanceof NftError && error.missing) {
        return { intact: false, details: `nftables table inet ${this.spec.table} is missing` };
      }
      throw error;
    }
    if (this.expected === null) {
      // Not applied by this process yet: compare with a fresh rendering through a scratch table would
      // need privileges twice; the agent applies at start, so "present" is the best we can say here.
      return { intact: true, details: `nftables table inet ${this.spec.table} present` };
    }
    const now = normalizeListing(listing);
    if (now === this.expected)
      return { intact: true, details: `nftables table inet ${this.spec.table} intact` };
    const missing = this.expected.split("\n").filter((line) => !now.includes(line));
    return {
      intact: false,
      details: `nftables table inet ${this.spec.table} changed: ${missing.length} rule line(s) missing or altered`,
    };
  }

  async counters(): Promise<RuleCounters> {
    try {
      return countersFromJson(
        await runNft(["-j", "list", "table", "inet", this.spec.table], undefined, this.prefix),
      );
    } catch (error) {
      if (error instanceof NftError && error.missing) return { redirectedDns: 0, rejectedDot: 0 };
      throw error;
    }
  }
}
