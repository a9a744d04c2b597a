import packet from "dns-packet";
import { describe, expect, it } from "vitest";
import { DnsCache } from "../dns-cache";
import { DnsPolicy } from "../policy";
import { DnsCounters, type DnsQuery } from "../query";
import { addressAnswer, decode, FakeStage, makeQuery, matcherFor, nxdomainAnswer } from "../testing";
import { MatcherRef } from "./blocklist.stage";
import { CacheProbeStage, CacheStage } from "./cache.stage";

/** A next stage answering like an upstream would, through `reply`. */
function upstreamLike(reply: (request: packet.DecodedPacket) => packet.Packet): FakeStage {
  return new FakeStage((query: DnsQuery) => packet.encode(reply(packet.decode(Buffer.from(query.packet)))));
}

describe("CacheStage", () => {
  const setup = (reply: (request: packet.DecodedPacket) => packet.Packet, options = {}) => {
    let now = 1_000_000;
    const cache = new DnsCache({ now: () => now, ...options });
    const counters = new DnsCounters();
    const next = upstreamLike(reply);
    return {
      next,
      counters,
      cache,
      stage: new CacheStage(next, cache, counters),
      advance: (ms: number) => (now += ms),
    };
  };

  it("serves a hit without the next stage, with the client's ID and decremented TTLs", async () => {
    const { next, counters, stage, advance } = setup((request) => addressAnswer(request, 300));
    const first = decode(await stage.resolve(makeQuery("www.example.org", { id: 1 })));
    expect(first.answers?.[0]).toMatchObject({ ttl: 300, data: "192.0.2.1" });
    advance(42_500);
    const hit = stage.resolve(makeQuery("WWW.Example.ORG", { id: 2 }));
    expect(hit).toBeInstanceOf(Uint8Array); // synchronous: no promise on the hit path
    const decoded = decode(hit as Uint8Array);
    expect(decoded.id).toBe(2);
    expect(decoded.questions?.[0]?.name).toBe("WWW.Example.ORG"); // the client's spelling (0x20)
    expect(decoded.answers?.[0]).toMatchObject({ ttl: 258, data: "192.0.2.1" });
    expect(next.seen).toEqual(["www.example.org"]);
    expect(counters.cacheHits).toBe(1);
    expect(counters.cacheMisses).toBe(1);
  });

  it("expires an entry after its TTL", async () => {
    const { next, stage, advance } = setup((request) => addressAnswer(request, 10));
    await stage.resolve(makeQuery("a.example"));
    advance(10_001);
    await stage.resolve(makeQuery("a.example"));
    expect(next.seen).toEqual(["a.example", "a.example"]);
  });

  it("caches NXDOMAIN for min(SOA TTL, SOA MINIMUM) and not without a SOA (RFC 2308)", async () => {
    const { next, stage, advance } = setup((request) => nxdomainAnswer(request, 900, 60));
    expect(decode(await stage.resolve(makeQuery("nope.example"))).rcode).toBe("NXDOMAIN");
    advance(59_000);
    expect(decode(stage.resolve(makeQuery("nope.example")) as Uint8Array).rcode).toBe("NXDOMAIN");
    advance(2_000);
    await stage.resolve(makeQuery("nope.example"));
    expect(next.seen).toEqual(["nope.example", "nope.example"]);
    const noSoa = setup((request) => ({ ...nxdomainAnswer(request), authorities: [] }));
    await noSoa.stage.resolve(makeQuery("x.example"));
    await noSoa.stage.resolve(makeQuery("x.example"));
    expect(noSoa.next.seen).toEqual(["x.example", "x.example"]);
  });

  it("keys on type and DO bit, strips the upstream OPT and adds one only for EDNS clients", async () => {
    const { next, stage } = setup((request) => addressAnswer(request));
    await stage.resolve(makeQuery("k.example", { type: "A" }));
    await stage.resolve(makeQuery("k.example", { type: "AAAA" }));
    await stage.resolve(makeQuery("k.example", { type: "A", edns: true, dnssecOk: true }));
    expect(next.seen.length).toBe(3);
    const plain = decode(stage.resolve(makeQuery("k.example")) as Uint8Array);
    expect(plain.additionals).toEqual([]);
    const edns = decode(stage.resolve(makeQuery("k.example", { edns: true })) as Uint8Array);
    expect(edns.additionals?.map((record) => record.type)).toEqual(["OPT"]);
  });

  it("never stores an answer a later stage marked as blocked", async () => {
    const cache = new DnsCache();
    const next = new FakeStage((query) => {
      query.blocked = true;
      return Buffer.from("blocked answer");
    });
    const stage = new CacheStage(next, cache, new DnsCounters());
    await stage.resolve(makeQuery("cname-to-casino.example"));
    await stage.resolve(makeQuery("cname-to-casino.example"));
    expect(next.seen.length).toBe(2);
    expect(cache.size).toBe(0);
  });

  it("is bounded by entries (LRU) and by bytes", async () => {
    const { stage, cache, next } = setup((request) => addressAnswer(request), { maxEntries: 2 });
    await stage.resolve(makeQuery("one.example"));
    await stage.resolve(makeQuery("two.example"));
    stage.resolve(makeQuery("one.example")); // one is now most recently used
    await stage.resolve(makeQuery("three.example")); // evicts two
    expect(cache.size).toBe(2);
    expect(stage.resolve(makeQuery("one.example"))).toBeInstanceOf(Uint8Array);
    await stage.resolve(makeQuery("two.example"));
    expect(next.seen.filter((name) => name === "two.example").length).toBe(2);
    const small = setup((request) => addressAnswer(request), { maxBytes: 400 });
    for (let i = 0; i < 20; i++) await small.stage.resolve(makeQuery(`n${i}.example`));
    expect(small.cache.bytes).toBeLessThanOrEqual(400);
    expect(small.cache.size).toBeGreaterThan(0);
  });

  it("does not cache SERVFAIL or truncated answers and sets TC when the answer does not fit", async () => {
    const servfail = setup((request) => ({
      type: "response",
      id: request.id,
      flags: 2,
      questions: request.questions,
    }));
    await servfail.stage.resolve(makeQuery("s.example"));
    await servfail.stage.resolve(makeQuery("s.example"));
    expect(servfail.next.seen.length).toBe(2);
    const big = setup((request) => ({
      ...addressAnswer(request),
      answers: Array.from({ length: 40 }, (_, i) => ({
        type: "A" as const,
        name: request.questions![0]!.name,
        ttl: 60,
        class: "IN" as const,
        data: `192.0.2.${i}`,
      })),
    }));
    const udp = decode(await big.stage.resolve(makeQuery("big.example")));
    expect(udp.flag_tc).toBe(true);
    expect(udp.answers).toEqual([]);
    const tcp = decode(big.stage.resolve(makeQuery("big.example", { transport: "tcp" })) as Uint8Array);
    expect(tcp.answers?.length).toBe(40);
  });

  it("keeps every entry findable through index growth and evictions", async () => {
    const { stage, cache, next } = setup((request) => addressAnswer(request), { maxEntries: 300 });
    for (let i = 0; i < 1000; i++) await stage.resolve(makeQuery(`g${i}.example`));
    expect(cache.size).toBe(300);
    for (let i = 700; i < 1000; i++) {
      expect(stage.resolve(makeQuery(`G${i}.Example`))).toBeInstanceOf(Uint8Array);
    }
    expect(next.seen.length).toBe(1000);
    await stage.resolve(makeQuery("g0.example")); // evicted long ago: asked again
    expect(next.seen.length).toBe(1001);
  });
});

describe("CacheProbeStage", () => {
  const policyConfig = {
    block_response: "nxdomain" as const,
    redirect_url: null,
    block_doh: true,
    block_dot: true,
    hosts_file_fallback: true,
  };
  const setup = () => {
    let release: (() => void) | null = null;
    const cache = new DnsCache();
    const counters = new DnsCounters();
    const matcher = new MatcherRef(matcherFor({ block: ["listed.example"] }));
    const policy = DnsPolicy.fromConfig(policyConfig);
    const slow = { value: false };
    const upstream = new FakeStage((query) => {
      const bytes = packet.encode(addressAnswer(packet.decode(Buffer.from(query.packet)), 300));
      if (!slow.value) return bytes;
      return new Promise((resolve) => {
        release = () => resolve(bytes);
      });
    });
    const checks = new FakeStage((query) => store.resolve(query)); // stands in for the name checks
    const store = new CacheStage(upstream, cache, counters);
    const probe = new CacheProbeStage(checks, cache, matcher, policy, counters);
    return { cache, counters, matcher, policy, upstream, checks, probe, slow, release: () => release?.() };
  };

  it("answers a hit before the name checks, synchronously", async () => {
    const { probe, checks, upstream, counters } = setup();
    await probe.resolve(makeQuery("ok.example"));
    const hit = probe.resolve(makeQuery("OK.example", { id: 9 }));
    expect(hit).toBeInstanceOf(Uint8Array);
    expect(decode(hit as Uint8Array).id).toBe(9);
    expect(checks.seen).toEqual(["ok.example"]);
    expect(upstream.seen).toEqual(["ok.example"]);
    expect(counters.cacheHits).toBe(1);
    expect(counters.cacheMisses).toBe(1);
  });

  it("drops the cache when the matcher or the policy changes, even without clear()", async () => {
    const { probe, checks, matcher, policy } = setup();
    await probe.resolve(makeQuery("ok.example"));
    matcher.current = matcherFor({ block: ["ok.example"] });
    await probe.resolve(makeQuery("ok.example"));
    expect(checks.seen).toEqual(["ok.example", "ok.example"]);
    policy.apply({ ...policyConfig, block_doh: false, block_dot: false });
    await probe.resolve(makeQuery("ok.example"));
    expect(checks.seen.length).toBe(3);
  });

  it("does not store an answer to a query asked before the cache was cleared", async () => {
    const { probe, cache, slow, release } = setup();
    slow.value = true;
    const pending = probe.resolve(makeQuery("inflight.example"));
    cache.clear(); // a list swap while the query is upstream
    release();
    expect(decode(await pending).rcode).toBe("NOERROR");
    expect(cache.size).toBe(0);
  });
});
