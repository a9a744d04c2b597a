/**
 * Position 4: the response cache (dns-cache.ts). A hit is answered synchronously with the ID
 * rewritten and TTLs decremented. On a miss the answer from further down is shaped for the client
 * (EDNS, size) and stored when cacheable; an answer a later stage marked as blocked
 * (`query.blocked`, e.g. by the CNAME check) is passed through and never stored.
 */
import type { DnsCache } from "../dns-cache";
import type { DnsAnswer, DnsCounters, DnsQuery, DnsStage } from "../query";

export class CacheStage implements DnsStage {
  constructor(
    readonly next: DnsStage,
    readonly cache: DnsCache,
    private readonly counters: DnsCounters,
  ) {}

  resolve(query: DnsQuery): DnsAnswer | Promise<DnsAnswer> {
    const hit = this.cache.answer(query);
    if (hit !== null) {
      this.counters.cacheHits++;
      return hit;
    }
    this.counters.cacheMisses++;
    const answer = this.next.resolve(query);
    if (answer instanceof Promise) return answer.then((resolved) => this.afterMiss(query, resolved));
    return this.afterMiss(query, answer);
  }

  private afterMiss(query: DnsQuery, answer: DnsAnswer): DnsAnswer {
    if (answer === null || query.blocked) return answer;
    return this.cache.admit(query, answer);
  }
}
