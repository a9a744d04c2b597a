import packet from "dns-packet";
import { describe, expect, it } from "vitest";
import { dohProviderEntries } from "../builtin-names";
import { WireNameSet } from "../name-set";
import { DnsPolicy } from "../policy";
import { type BlockEvent, BlockReporter, DnsCounters, type DnsQuery } from "../query";
import { addressAnswer, decode, edeCodes, FakeStage, makeQuery, matcherFor } from "../testing";
import { EDE_BLOCKED } from "../wire";
import { MatcherRef } from "./blocklist.stage";
import { CnameCheckStage } from "./cname.stage";

function chainAnswer(
  request: packet.DecodedPacket,
  targets: string[],
  type: "CNAME" | "DNAME" = "CNAME",
): Buffer {
  const question = request.questions![0]!.name;
  const answers: packet.Answer[] = [];
  let owner = question;
  for (const target of targets) {
    answers.push({ type, name: owner, ttl: 60, class: "IN", data: target } as packet.Answer);
    owner = target;
  }
  answers.push({ type: "A", name: owner, ttl: 60, class: "IN", data: "192.0.2.7" });
  return packet.encode({ ...addressAnswer(request), answers });
}

describe("CnameCheckStage", () => {
  const setup = (reply: (query: DnsQuery) => Uint8Array) => {
    const events: BlockEvent[] = [];
    const counters = new DnsCounters();
    const next = new FakeStage(reply);
    const stage = new CnameCheckStage(
      next,
      new MatcherRef(matcherFor({ block: ["casino.example"], allow: ["ok.casino.example"] })),
      new WireNameSet(dohProviderEntries()),
      new DnsPolicy(),
      new BlockReporter(counters, (event) => events.push(event)),
      counters,
    );
    return { events, counters, stage };
  };
  const decodeQuery = (query: DnsQuery) => packet.decode(Buffer.from(query.packet));

  it("replaces an answer whose CNAME chain reaches a listed name, and marks it uncacheable", async () => {
    const { events, stage } = setup((query) =>
      chainAnswer(decodeQuery(query), ["hop.cdn.example", "www.casino.example"]),
    );
    const query = makeQuery("innocent.example", { edns: true });
    const answer = await stage.resolve(query);
    expect(decode(answer).rcode).toBe("NXDOMAIN");
    expect(decode(answer).answers).toEqual([]);
    expect(edeCodes(answer!)).toEqual([EDE_BLOCKED]);
    expect(query.blocked).toBe(true);
    expect(events).toEqual([
      expect.objectContaining({ name: "innocent.example", reason: "cname", via: "www.casino.example" }),
    ]);
  });

  it("also checks DNAME targets and DoH resolvers behind a CNAME", async () => {
    const dname = setup((query) => chainAnswer(decodeQuery(query), ["casino.example"], "DNAME"));
    expect(decode(await dname.stage.resolve(makeQuery("x.mirror.example"))).rcode).toBe("NXDOMAIN");
    const doh = setup((query) => chainAnswer(decodeQuery(query), ["dns.google"]));
    expect(decode(await doh.stage.resolve(makeQuery("my-resolver.example"))).rcode).toBe("NXDOMAIN");
    expect(doh.events[0]?.reason).toBe("doh-provider");
  });

  it("checks the TargetName of HTTPS/SVCB records", async () => {
    const { stage } = setup((query) => {
      const request = packet.encode({ ...addressAnswer(decodeQuery(query)), answers: [], additionals: [] });
      const target = Buffer.from([
        3,
        ...Buffer.from("cdn"),
        6,
        ...Buffer.from("casino"),
        7,
        ...Buffer.from("example"),
        0,
      ]);
      const record = Buffer.concat([
        Buffer.from([0xc0, 12, 0, 65, 0, 1, 0, 0, 0, 60, 0, 2 + target.length, 0, 1]),
        target,
      ]);
      const bytes = Buffer.concat([request, record]);
      bytes.writeUInt16BE(1, 6); // ANCOUNT
      return bytes;
    });
    expect(decode(await stage.resolve(makeQuery("svc.example", { type: "HTTPS" }))).rcode).toBe("NXDOMAIN");
  });

  it("passes clean chains and allowlisted targets through unchanged", async () => {
    let sent: Uint8Array | null = null;
    const { stage } = setup((query) => {
      sent = chainAnswer(decodeQuery(query), ["cdn.example.net", "ok.casino.example"]);
      return sent;
    });
    const answer = await stage.resolve(makeQuery("site.example"));
    expect(answer).toBe(sent);
  });

  it("refuses (SERVFAIL) an answer whose CNAME target cannot be read", async () => {
    const { stage, counters } = setup((query) => {
      const bytes = chainAnswer(decodeQuery(query), ["target.example"]);
      // Point the CNAME RDATA at itself: a compression loop.
      const rdata = bytes.indexOf(Buffer.from([6, 0x74, 0x61, 0x72, 0x67, 0x65, 0x74]));
      bytes[rdata] = 0xc0;
      bytes[rdata + 1] = rdata;
      return bytes;
    });
    expect(decode(await stage.resolve(makeQuery("loop.example"))).rcode).toBe("SERVFAIL");
    expect(counters.servFail).toBe(1);
  });
});
