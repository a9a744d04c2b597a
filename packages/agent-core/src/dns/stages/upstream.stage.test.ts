import packet from "dns-packet";
import { afterEach, describe, expect, it } from "vitest";
import { DnsCounters } from "../query";
import { addressAnswer, decode, FakeUpstream, makeQuery } from "../testing";
import { parseUpstream, UpstreamStage } from "./upstream.stage";

const started: Array<{ stop(): Promise<void> } | { close(): Promise<void> }> = [];
afterEach(async () => {
  for (const item of started.splice(0)) await ("stop" in item ? item.stop() : item.close());
});

async function upstreamServer(reply: ConstructorParameters<typeof FakeUpstream>[0]): Promise<FakeUpstream> {
  const server = await FakeUpstream.start(reply);
  started.push(server);
  return server;
}

async function stageFor(servers: FakeUpstream[], options = {}, fastPath = true) {
  const counters = new DnsCounters();
  const stage = await UpstreamStage.open(
    {
      servers: servers.map((server) => ({ host: "127.0.0.1", port: server.port })),
      timeoutMs: 150,
      fastPath,
      ...options,
    },
    counters,
  );
  started.push(stage);
  return { stage, counters };
}

describe("UpstreamStage", () => {
  it.each([true, false])(
    "forwards with a fresh random ID and returns the answer under the client's ID (fast path %s)",
    async (fast) => {
      const ids: number[] = [];
      const server = await upstreamServer((request) => {
        ids.push(request.id!);
        return addressAnswer(request);
      });
      const { stage, counters } = await stageFor([server], {}, fast);
      const first = decode(
        await stage.resolve(makeQuery("www.example.org", { id: 4321, edns: true, dnssecOk: true })),
      );
      await stage.resolve(makeQuery("www.example.org", { id: 4321 }));
      expect(first.id).toBe(4321);
      expect(first.answers?.[0]).toMatchObject({ data: "192.0.2.1" });
      expect(ids.length).toBe(2);
      expect(new Set([...ids, 4321]).size).toBe(3);
      expect(counters.upstreamQueries).toBe(2);
    },
  );

  it("sends its own EDNS OPT with the client's DO bit and RD set", async () => {
    let seen: packet.DecodedPacket | null = null;
    const server = await upstreamServer((request) => {
      seen = request;
      return addressAnswer(request);
    });
    const { stage } = await stageFor([server]);
    await stage.resolve(makeQuery("x.example", { dnssecOk: true, edns: true, recursionDesired: false }));
    const request = seen as unknown as packet.DecodedPacket;
    expect(request.flag_rd).toBe(true);
    const opt = request.additionals?.find((record) => record.type === "OPT") as unknown as {
      udpPayloadSize: number;
      flags: number;
    };
    expect(opt.udpPayloadSize).toBe(1232);
    expect(opt.flags & packet.DNSSEC_OK).toBe(packet.DNSSEC_OK);
  });

  it("fails over to the second upstream when the first times out", async () => {
    const silent = await upstreamServer(() => null);
    const good = await upstreamServer((request) => addressAnswer(request, 300, "192.0.2.99"));
    const { stage, counters } = await stageFor([silent, good]);
    const started = performance.now();
    const answer = decode(await stage.resolve(makeQuery("failover.example")));
    expect(answer.answers?.[0]).toMatchObject({ data: "192.0.2.99" });
    expect(performance.now() - started).toBeGreaterThanOrEqual(140);
    expect(counters.upstreamTimeouts).toBe(1);
    // The failing server is no longer preferred: the next query goes straight to the good one.
    const before = performance.now();
    await stage.resolve(makeQuery("second.example"));
    expect(performance.now() - before).toBeLessThan(140);
    expect(silent.udpQueries).toBe(1);
  });

  it("retries over TCP when the UDP answer is truncated", async () => {
    const server = await upstreamServer((request, transport) =>
      transport === "udp"
        ? {
            type: "response",
            id: request.id,
            flags: packet.TRUNCATED_RESPONSE | packet.RECURSION_AVAILABLE,
            questions: request.questions,
          }
        : addressAnswer(request, 300, "192.0.2.55"),
    );
    const { stage } = await stageFor([server]);
    const answer = decode(await stage.resolve(makeQuery("big.example")));
    expect(answer.flag_tc).toBe(false);
    expect(answer.answers?.[0]).toMatchObject({ data: "192.0.2.55" });
    expect(server.udpQueries).toBe(1);
    expect(server.tcpQueries).toBe(1);
  });

  it("forwards TCP clients over TCP", async () => {
    const server = await upstreamServer((request) => addressAnswer(request));
    const { stage } = await stageFor([server]);
    expect(decode(await stage.resolve(makeQuery("tcp.example", { transport: "tcp" }))).rcode).toBe("NOERROR");
    expect(server.tcpQueries).toBe(1);
    expect(server.udpQueries).toBe(0);
  });

  it("ignores answers to another question and answers SERVFAIL when every attempt fails", async () => {
    const server = await upstreamServer((request) => ({
      ...addressAnswer(request),
      questions: [{ type: "A", name: "spoofed.example", class: "IN" }],
    }));
    const { stage, counters } = await stageFor([server], { attempts: 2 });
    const answer = decode(await stage.resolve(makeQuery("real.example")));
    expect(answer.rcode).toBe("SERVFAIL");
    expect(server.udpQueries).toBe(2);
    expect(counters.upstreamFailures).toBe(1);
  });

  it("fails over on SERVFAIL from one upstream", async () => {
    const broken = await upstreamServer((request) => ({
      type: "response",
      id: request.id,
      flags: 2,
      questions: request.questions,
    }));
    const good = await upstreamServer((request) => addressAnswer(request));
    const { stage } = await stageFor([broken, good]);
    expect(decode(await stage.resolve(makeQuery("sf.example"))).rcode).toBe("NOERROR");
  });

  it("asks again without EDNS when the upstream answers FORMERR to the OPT record", async () => {
    const server = await upstreamServer((request) =>
      (request.additionals ?? []).some((record) => record.type === "OPT")
        ? { type: "response", id: request.id, flags: 1, questions: request.questions }
        : addressAnswer({ ...request, additionals: [] }),
    );
    const { stage } = await stageFor([server]);
    const answer = decode(await stage.resolve(makeQuery("old-router.example", { edns: true })));
    expect(answer.rcode).toBe("NOERROR");
    expect(server.udpQueries).toBe(2);
  });

  it("parses upstream addresses", () => {
    expect(parseUpstream("127.0.0.1:5300")).toEqual({ host: "127.0.0.1", port: 5300 });
    expect(parseUpstream("[::1]:53")).toEqual({ host: "::1", port: 53 });
    expect(parseUpstream("9.9.9.9")).toEqual({ host: "9.9.9.9", port: 53 });
    expect(() => parseUpstream("dns.example:53")).toThrow(/IP address/);
  });
});
