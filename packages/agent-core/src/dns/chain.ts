/**
 * THE order of the DNS stages (blocky's createQueryResolver, server/server.go). Each position says
 * why it sits where it does; change the order here and nowhere else.
 */
import { dohProviderEntries } from "./builtin-names";
import { DnsCache, type DnsCacheOptions } from "./dns-cache";
import { WireNameSet } from "./name-set";
import type { DnsPolicy } from "./policy";
import type { BlockReporter, DnsCounters, DnsStage } from "./query";
import { BlocklistStage, type MatcherRef } from "./stages/blocklist.stage";
import { CacheProbeStage, CacheStage } from "./stages/cache.stage";
import { CanaryStage } from "./stages/canary.stage";
import { CnameCheckStage } from "./stages/cname.stage";
import { DohProviderStage } from "./stages/doh-provider.stage";
import { GateStage } from "./stages/gate.stage";
import { type ObserverRef, ObserveStage } from "./stages/observe.stage";
import type { UpstreamStage } from "./stages/upstream.stage";
import { ValidateStage } from "./stages/validate.stage";

export interface ChainDependencies {
  readonly matcher: MatcherRef;
  readonly policy: DnsPolicy;
  readonly reporter: BlockReporter;
  readonly counters: DnsCounters;
  /** The terminal stage (or a fake in tests). */
  readonly upstream: UpstreamStage | DnsStage;
  readonly cache?: DnsCacheOptions;
  /** Sees the names resolved upstream (cache misses that passed every check). */
  readonly observer?: ObserverRef;
}

export interface DnsChain {
  readonly head: DnsStage;
  readonly gate: GateStage;
  readonly cache: DnsCache;
}

export function buildDnsChain(deps: ChainDependencies): DnsChain {
  const { matcher, policy, reporter, counters } = deps;
  const cache = new DnsCache(deps.cache);
  const dohProviders = new WireNameSet(dohProviderEntries());
  // 6. upstream: last; only what every earlier stage let through leaves the device.
  const upstream = deps.upstream;
  // 5. CNAME check: right after upstream, so an answer whose CNAME/DNAME chain reaches a listed name
  //    (or a DoH resolver) is replaced by the block response BEFORE the cache could store it.
  const cname = new CnameCheckStage(upstream, matcher, dohProviders, policy, reporter, counters);
  // 4.5 observe: names about to be resolved upstream, for the federated reporter; after the cache, so
  //     each name is seen once per TTL, not per query.
  const observe = deps.observer ? new ObserveStage(cname, deps.observer) : cname;
  // 4. cache store: after every name check (only answers for names that passed them are stored; a
  //    list or policy change clears it) and before the CNAME check, which therefore runs once per
  //    fresh answer.
  const cacheStage = new CacheStage(observe, cache, counters);
  // 3. DoH/DoT provider names: after the curated list, so the allowlist cannot re-open a resolver
  //    bypass; only while protection_config.dns.block_doh/block_dot is on.
  const doh = new DohProviderStage(cacheStage, dohProviders, policy, reporter);
  // 2. curated blocklist (allowlist wins inside the matcher): the main decision, synchronous.
  const blocklist = new BlocklistStage(doh, matcher, policy, reporter);
  // 1. resolver canaries: before the list, so no allowlist entry can turn Firefox DoH or iCloud
  //    Private Relay back on.
  const canary = new CanaryStage(blocklist, reporter);
  // 0.5 cache probe: a hit is answered here, without the name checks 1-3: entries exist only for
  //     names that passed them under the current list and policy (see cache.stage.ts).
  const probe = new CacheProbeStage(canary, cache, matcher, policy, counters);
  // 0. validate: nothing malformed, no other opcode/class reaches a matcher or the cache.
  const validate = new ValidateStage(probe, counters);
  // -1. gate: closed until the first list is loaded, so the sockets can bind before it is compiled
  //     and no query is ever answered without a list.
  const gate = new GateStage(validate);
  return { head: gate, gate, cache };
}
