/**
 * The response cache (dns-cache.ts) in two places of the chain:
 *
 * - `CacheProbeStage` (position 0.5, right after validation) answers a hit synchronously, with the ID
 *   rewritten and TTLs decremented, without running the name checks again. That is safe because an
 *   entry only exists for a name that passed every name check under the CURRENT list and policy:
 *   blocked answers are never stored, and the cache is cleared when the list or the policy changes
 *   (the probe also clears it itself when it sees another matcher or policy generation, so a caller
 *   that swaps `MatcherRef.current` directly cannot leave stale entries behind).
 * - `CacheStage` (position 4) on a miss shapes the answer from further down for the client (EDNS,
 *   size) and stores it when cacheable; an answer a later stage marked as blocked (`query.blocked`,
 *   e.g. by the CNAME check) is passed through and never stored, and neither is an answer to a query
 *   that was asked before the cache was last cleared (it was checked against the old list). Used
 *   alone (tests) it also serves hits itself.
 */
import type { BlocklistMatcher } from "@betblocker/common/blocklist/matcher";
import type { DnsCache } from "../dns-cache";
import type { DnsPolicy } from "../policy";
import type { DnsAnswer, DnsCounters, DnsQuery, DnsStage } from "../query";
import type { MatcherRef } from "./blocklist.stage";

export class CacheProbeStage implements DnsStage {
  private matcherSeen: BlocklistMatcher | null = null;
  private policyGenerationSeen: number;

  constructor(
    readonly next: DnsStage,
    readonly cache: DnsCache,
    private readonly matcher: MatcherRef,
    private readonly policy: DnsPolicy,
    private readonly counters: DnsCounters,
  ) {
    this.policyGenerationSeen = policy.generation;
  }

  resolve(query: DnsQuery): DnsAnswer | Promise<DnsAnswer> {
    const cache = this.cache;
    if (this.matcher.current !== this.matcherSeen || this.policy.generation !== this.policyGenerationSeen) {
      this.matcherSeen = this.matcher.current;
      this.policyGenerationSeen = this.policy.generation;
      cache.clear();
    }
    const hit = cache.answer(query);
    if (hit !== null) {
      this.counters.cacheHits++;
      return hit;
    }
    query.cacheEpoch = cache.epoch;
    return this.next.resolve(query);
  }
}

export class CacheStage implements DnsStage {
  constructor(
    readonly next: DnsStage,
    readonly cache: DnsCache,
    private readonly counters: DnsCounters,
  ) {}

  resolve(query: DnsQuery): DnsAnswer | Promise<DnsAnswer> {
    if (query.cacheEpoch < 0) {
      // No probe in front (a chain without CacheProbeStage): look up here.
      const hit = this.cache.answer(query);
      if (hit !== null) {
        this.counters.cacheHits++;
        return hit;
      }
      query.cacheEpoch = this.cache.epoch;
    }
    this.counters.cacheMisses++;
    const answer = this.next.resolve(query);
    if (answer instanceof Promise) return answer.then((resolved) => this.afterMiss(query, resolved));
    return this.afterMiss(query, answer);
  }

  private afterMiss(query: DnsQuery, answer: DnsAnswer): DnsAnswer {
    if (answer === null || query.blocked) return answer;
    return this.cache.admit(query, answer, query.cacheEpoch === this.cache.epoch);
  }
}
