/**
 * The filtering DNS forwarder: chain (chain.ts) + listeners (server.ts) + the state the agent
 * changes at run time (list, protection config, event sink).
 *
 *   const forwarder = await startDnsForwarder({
 *     matcher: new BlocklistMatcher(loadBlocklistFile(path, pinnedKey)),   // last known good list
 *     upstreams: ["127.0.0.53:53", "[::1]:5353"],
 *     protection: protectionConfig.dns,                                     // block_response, block_doh...
 *     onBlock: (event) => collector.record(event),
 *   });
 *   // or `matcher: () => loadLastKnownGood()`: the sockets bind first and queries wait for the list
 *   forwarder.setMatcher(newMatcher);        // after a verified list update (clears the cache)
 *   forwarder.setProtection(config.dns);     // after a config sync
 *   forwarder.counters.snapshot();           // for heartbeats
 *   await forwarder.stop();
 */
import type { BlocklistMatcher } from "@betblocker/common/blocklist/matcher";
import { buildDnsChain } from "./chain";
import type { DnsCache, DnsCacheOptions } from "./dns-cache";
import { DnsPolicy, type DnsProtectionConfig, type RedirectAddresses } from "./policy";
import { type BlockEventSink, BlockReporter, DnsCounters } from "./query";
import { type DnsListenOptions, DnsServer } from "./server";
import { MatcherRef } from "./stages/blocklist.stage";
import type { GateStage } from "./stages/gate.stage";
import {
  parseUpstream,
  type UpstreamOptions,
  type UpstreamServer,
  UpstreamStage,
} from "./stages/upstream.stage";

export interface DnsForwarderOptions {
  /**
   * The list to enforce (a verified signed list, or `compilePlainListFile` for local/bench lists), or
   * a function producing it: then the listeners bind first and queries wait (gate stage) until the
   * function has returned, so loading a large list never shows up as "connection refused".
   */
  readonly matcher: BlocklistMatcher | (() => BlocklistMatcher | Promise<BlocklistMatcher>);
  /** Upstream resolvers, "IP:PORT", "[IPv6]:PORT" or objects; tried in order with failover. */
  readonly upstreams: ReadonlyArray<string | UpstreamServer>;
  /** Listener (default 127.0.0.1:53, loopback only unless allowNonLoopback). */
  readonly listen?: DnsListenOptions;
  /** protection_config.dns; default: NXDOMAIN, DoH/DoT provider names blocked. */
  readonly protection?: DnsProtectionConfig;
  /** Interstitial addresses when redirect_url names a host (see policy.ts). */
  readonly redirectAddresses?: RedirectAddresses;
  readonly onBlock?: BlockEventSink;
  /** Names resolved upstream (cache misses that passed every check): the federated reporter's input. */
  readonly onForward?: (name: string) => void;
  readonly cache?: DnsCacheOptions;
  readonly upstream?: Omit<UpstreamOptions, "servers">;
  /** Use the libuv-handle UDP path (udp-socket.ts; default true). */
  readonly fastPath?: boolean;
}

const DEFAULT_PROTECTION: DnsProtectionConfig = {
  block_response: "nxdomain",
  redirect_url: null,
  block_doh: true,
  block_dot: true,
  hosts_file_fallback: true,
};

export class DnsForwarder {
  private readonly policy: DnsPolicy;
  private readonly matcherRef: MatcherRef;
  private readonly reporter: BlockReporter;
  private readonly cache: DnsCache;
  private readonly gate: GateStage;
  private readonly server: DnsServer;

  private constructor(
    options: DnsForwarderOptions,
    private readonly upstream: UpstreamStage,
    /** Monotonic counters for heartbeats: `counters.snapshot()`. */
    readonly counters: DnsCounters,
  ) {
    this.policy = DnsPolicy.fromConfig(options.protection ?? DEFAULT_PROTECTION, options.redirectAddresses);
    this.matcherRef = new MatcherRef(typeof options.matcher === "function" ? null : options.matcher);
    this.reporter = new BlockReporter(this.counters, options.onBlock ?? null);
    const chain = buildDnsChain({
      matcher: this.matcherRef,
      policy: this.policy,
      reporter: this.reporter,
      counters: this.counters,
      upstream,
      cache: options.cache,
      ...(options.onForward ? { observer: { current: options.onForward } } : {}),
    });
    this.cache = chain.cache;
    this.gate = chain.gate;
    this.server = new DnsServer(chain.head, this.counters, { fastPath: options.fastPath, ...options.listen });
  }

  /** Open the upstream sockets, then the listeners. Throws DnsListenError for a refused address. */
  static async start(options: DnsForwarderOptions): Promise<DnsForwarder> {
    const servers = options.upstreams.map((upstream) =>
      typeof upstream === "string" ? parseUpstream(upstream) : upstream,
    );
    const counters = new DnsCounters();
    const upstream = await UpstreamStage.open(
      { fastPath: options.fastPath, ...options.upstream, servers },
      counters,
    );
    const forwarder = new DnsForwarder(options, upstream, counters);
    try {
      await forwarder.server.start();
      if (typeof options.matcher === "function") {
        // Let the binds complete before a (possibly long, synchronous) list load.
        await new Promise((resolve) => setImmediate(resolve));
        forwarder.matcherRef.current = await options.matcher();
      }
    } catch (error) {
      await forwarder.server.stop();
      await upstream.close();
      throw error;
    }
    forwarder.gate.openGate();
    return forwarder;
  }

  get port(): number {
    return this.server.port;
  }

  /** Swap the list atomically (the next query sees it) and drop cached answers checked against the old one. */
  setMatcher(matcher: BlocklistMatcher): void {
    this.matcherRef.current = matcher;
    this.cache.clear();
  }

  setProtection(config: DnsProtectionConfig, redirectAddresses?: RedirectAddresses): void {
    this.policy.apply(config, redirectAddresses);
    this.cache.clear();
  }

  setBlockSink(sink: BlockEventSink | null): void {
    this.reporter.setSink(sink);
  }

  cacheStats(): { entries: number; bytes: number } {
    return { entries: this.cache.size, bytes: this.cache.bytes };
  }

  async stop(): Promise<void> {
    await this.server.stop();
    await this.upstream.close();
  }
}

export function startDnsForwarder(options: DnsForwarderOptions): Promise<DnsForwarder> {
  return DnsForwarder.start(options);
}
