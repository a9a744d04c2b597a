/**
 * Integration: the whole forwarder over real UDP/TCP sockets on 127.0.0.1, with fake upstream
 * resolvers started by the tests.
 */
import packet from "dns-packet";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DnsForwarder, startDnsForwarder } from "./forwarder";
import type { BlockEvent } from "./query";
import { DnsListenError, isLoopbackAddress } from "./server";
import {
  addressAnswer,
  decode,
  edeCodes,
  FakeUpstream,
  matcherFor,
  nxdomainAnswer,
  queryBytes,
  tcpExchangeMany,
  udpExchange,
} from "./testing";
import { EDE_BLOCKED } from "./wire";

const matcher = matcherFor({
  block: ["casino.example", "listed-cdn.example"],
  allow: ["help.casino.example"],
});

describe("DNS forwarder over sockets", () => {
  let silent: FakeUpstream;
  let upstream: FakeUpstream;
  let forwarder: DnsForwarder;
  const events: BlockEvent[] = [];

  beforeAll(async () => {
    silent = await FakeUpstream.start(() => null);
    upstream = await FakeUpstream.start((request, transport) => {
      const name = request.questions![0]!.name;
      if (name.startsWith("nx")) return nxdomainAnswer(request, 900, 30);
      if (name.startsWith("alias")) {
        return {
          ...addressAnswer(request),
          answers: [
            { type: "CNAME", name, ttl: 60, class: "IN", data: "edge.listed-cdn.example" },
            { type: "A", name: "edge.listed-cdn.example", ttl: 60, class: "IN", data: "192.0.2.66" },
          ],
        };
      }
      if (name.startsWith("big") && transport === "udp") {
        return {
          type: "response",
          id: request.id,
          flags: packet.TRUNCATED_RESPONSE,
          questions: request.questions,
        };
      }
      return addressAnswer(request, 120, transport === "tcp" ? "192.0.2.44" : "192.0.2.1");
    });
    forwarder = await startDnsForwarder({
      matcher,
      // The silent one is first: every query that reaches upstream proves failover too.
      upstreams: [`127.0.0.1:${silent.port}`, `127.0.0.1:${upstream.port}`],
      listen: { address: "127.0.0.1", port: 0 },
      upstream: { timeoutMs: 200 },
      onBlock: (event) => events.push(event),
    });
  });

  afterAll(async () => {
    await forwarder?.stop();
    await silent?.stop();
    await upstream?.stop();
  });

  const ask = async (name: string, options: Parameters<typeof queryBytes>[1] = {}) => {
    const answer = await udpExchange(forwarder.port, queryBytes(name, options));
    expect(answer).not.toBeNull();
    return answer!;
  };

  it("answers a blocked name NXDOMAIN with EDE 15 (EDNS) and reports it", async () => {
    const answer = await ask("www.casino.example", { edns: true, id: 99 });
    expect(decode(answer)).toMatchObject({ id: 99, rcode: "NXDOMAIN" });
    expect(edeCodes(answer)).toEqual([EDE_BLOCKED]);
    expect(events).toContainEqual(
      expect.objectContaining({ name: "www.casino.example", reason: "parent", category: "casino" }),
    );
  });

  it("forwards an allowlisted name under a listed parent", async () => {
    const answer = decode(await ask("help.casino.example"));
    expect(answer.rcode).toBe("NOERROR");
    expect(answer.answers?.[0]).toMatchObject({ data: "192.0.2.1" });
  });

  it("answers canaries and DoH resolver names NXDOMAIN without asking upstream", async () => {
    const before = upstream.names.length;
    expect(decode(await ask("use-application-dns.net")).rcode).toBe("NXDOMAIN");
    expect(decode(await ask("mask.icloud.com")).rcode).toBe("NXDOMAIN");
    expect(decode(await ask("dns.google")).rcode).toBe("NXDOMAIN");
    expect(decode(await ask("mozilla.cloudflare-dns.com")).rcode).toBe("NXDOMAIN");
    expect(upstream.names.length).toBe(before);
  });

  it("serves the second query from the cache with the TTL decremented", async () => {
    const first = decode(await ask("cached.example.org", { id: 1 }));
    const ttlOf = (response: ReturnType<typeof decode>) =>
      (response.answers?.[0] as { ttl?: number } | undefined)?.ttl;
    expect(ttlOf(first)).toBe(120);
    const upstreamCount = upstream.names.filter((name) => name === "cached.example.org").length;
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const second = decode(await ask("cached.example.org", { id: 2 }));
    expect(second.id).toBe(2);
    expect(ttlOf(second)).toBeLessThan(120);
    expect(upstream.names.filter((name) => name === "cached.example.org").length).toBe(upstreamCount);
    expect(forwarder.counters.cacheHits).toBeGreaterThan(0);
  });

  it("caches NXDOMAIN answers (negative caching)", async () => {
    expect(decode(await ask("nx-missing.example")).rcode).toBe("NXDOMAIN");
    expect(decode(await ask("nx-missing.example")).rcode).toBe("NXDOMAIN");
    expect(upstream.names.filter((name) => name === "nx-missing.example").length).toBe(1);
  });

  it("blocks an answer whose CNAME reaches a listed name, and does not cache it", async () => {
    const answer = await ask("alias.innocent.example", { edns: true });
    expect(decode(answer).rcode).toBe("NXDOMAIN");
    expect(decode(answer).answers).toEqual([]);
    expect(edeCodes(answer)).toEqual([EDE_BLOCKED]);
    await ask("alias.innocent.example");
    expect(upstream.names.filter((name) => name === "alias.innocent.example").length).toBe(2);
    expect(events).toContainEqual(
      expect.objectContaining({ name: "alias.innocent.example", reason: "cname" }),
    );
  });

  it("fails over past a silent upstream", async () => {
    expect(silent.udpQueries).toBeGreaterThan(0);
    expect(forwarder.counters.upstreamTimeouts).toBeGreaterThan(0);
    expect(decode(await ask("failover-check.example")).rcode).toBe("NOERROR");
  });

  it("retries over TCP when upstream truncates", async () => {
    const answer = decode(await ask("big.example"));
    expect(answer.flag_tc).toBe(false);
    expect(answer.answers?.[0]).toMatchObject({ data: "192.0.2.44" });
  });

  it("answers several pipelined queries on one TCP connection", async () => {
    const answers = await tcpExchangeMany(forwarder.port, [
      queryBytes("casino.example", { id: 11 }),
      queryBytes("tcp-one.example", { id: 12 }),
      queryBytes("tcp-two.example", { id: 13 }),
    ]);
    const byId = new Map(answers.map((bytes) => [decode(bytes).id, decode(bytes)]));
    expect(byId.get(11)?.rcode).toBe("NXDOMAIN");
    expect(byId.get(12)?.answers?.[0]).toMatchObject({ data: "192.0.2.44" });
    expect(byId.get(13)?.rcode).toBe("NOERROR");
  });

  it("answers malformed queries FORMERR and stays up", async () => {
    const bad = queryBytes("x.example");
    bad[5] = 0; // QDCOUNT 0
    expect(decode(await udpExchange(forwarder.port, bad)).rcode).toBe("FORMERR");
    expect(await udpExchange(forwarder.port, Buffer.from([1, 2, 3]), 300)).toBeNull();
    expect(decode(await ask("still-alive.example")).rcode).toBe("NOERROR");
    expect(forwarder.counters.formErr).toBeGreaterThan(0);
  });

  it("exposes counters for heartbeats", () => {
    const snapshot = forwarder.counters.snapshot();
    expect(snapshot.queries).toBeGreaterThan(10);
    expect(snapshot.blocked).toBeGreaterThan(3);
  });
});

describe("listener safety", () => {
  it("refuses to bind a non-loopback address unless allowed explicitly", async () => {
    await expect(
      startDnsForwarder({ matcher, upstreams: ["127.0.0.1:9"], listen: { address: "0.0.0.0", port: 0 } }),
    ).rejects.toBeInstanceOf(DnsListenError);
    await expect(
      startDnsForwarder({ matcher, upstreams: ["127.0.0.1:9"], listen: { address: "::", port: 0 } }),
    ).rejects.toMatchObject({ code: "DNS_NON_LOOPBACK_BIND" });
    expect(isLoopbackAddress("127.0.0.53")).toBe(true);
    expect(isLoopbackAddress("::1")).toBe(true);
    expect(isLoopbackAddress("::ffff:127.0.0.1")).toBe(true);
    expect(isLoopbackAddress("192.168.1.10")).toBe(false);
    expect(isLoopbackAddress("0.0.0.0")).toBe(false);
  });

  it("works with the public dgram API too (fast path off)", async () => {
    const upstream = await FakeUpstream.start((request) => addressAnswer(request));
    const forwarder = await startDnsForwarder({
      matcher,
      upstreams: [`127.0.0.1:${upstream.port}`],
      listen: { port: 0 },
      fastPath: false,
    });
    try {
      expect(decode(await udpExchange(forwarder.port, queryBytes("casino.example"))).rcode).toBe("NXDOMAIN");
      expect(decode(await udpExchange(forwarder.port, queryBytes("public.example"))).rcode).toBe("NOERROR");
    } finally {
      await forwarder.stop();
      await upstream.stop();
    }
  });

  it("swaps the list atomically and clears the cache", async () => {
    const upstream = await FakeUpstream.start((request) => addressAnswer(request));
    const forwarder = await startDnsForwarder({
      matcher,
      upstreams: [`127.0.0.1:${upstream.port}`],
      listen: { port: 0 },
    });
    try {
      expect(decode(await udpExchange(forwarder.port, queryBytes("newly-listed.example"))).rcode).toBe(
        "NOERROR",
      );
      forwarder.setMatcher(matcherFor({ block: ["newly-listed.example"] }));
      expect(decode(await udpExchange(forwarder.port, queryBytes("newly-listed.example"))).rcode).toBe(
        "NXDOMAIN",
      );
      expect(forwarder.cacheStats().entries).toBe(0);
    } finally {
      await forwarder.stop();
      await upstream.stop();
    }
  });
});

describe("TCP listener bounds", () => {
  it("answers more pipelined queries than its in-flight bound on one connection", async () => {
    const upstream = await FakeUpstream.start((request) => addressAnswer(request));
    const forwarder = await startDnsForwarder({
      matcher,
      upstreams: [`127.0.0.1:${upstream.port}`],
      listen: { port: 0, maxTcpInFlight: 2 },
    });
    try {
      const queries = Array.from({ length: 12 }, (_, i) =>
        queryBytes(i % 3 === 0 ? "casino.example" : `tcp${i}.example`, { id: 100 + i }),
      );
      const answers = await tcpExchangeMany(forwarder.port, queries);
      expect(answers.map((bytes) => decode(bytes).id).sort()).toEqual(queries.map((_, i) => 100 + i));
    } finally {
      await forwarder.stop();
      await upstream.stop();
    }
  });
});
