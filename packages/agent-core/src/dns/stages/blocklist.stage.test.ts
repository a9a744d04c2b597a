import { describe, expect, it } from "vitest";
import { DnsPolicy } from "../policy";
import { type BlockEvent, BlockReporter, DnsCounters } from "../query";
import { decode, edeCodes, FakeStage, makeQuery, matcherFor } from "../testing";
import { EDE_BLOCKED } from "../wire";
import { BlocklistStage, MatcherRef } from "./blocklist.stage";

describe("BlocklistStage", () => {
  const matcher = matcherFor({
    block: ["casino.example", { domain: "lotto.example", category: "lottery" }, "bet.example"],
    allow: ["help.bet.example"],
    wildcard: ["*.wild.example"],
  });
  const setup = (policy = new DnsPolicy()) => {
    const events: BlockEvent[] = [];
    const counters = new DnsCounters();
    const next = new FakeStage(() => Buffer.from("next"));
    const reporter = new BlockReporter(counters, (event) => events.push(event));
    return {
      events,
      counters,
      next,
      stage: new BlocklistStage(next, new MatcherRef(matcher), policy, reporter),
    };
  };

  it("blocks a listed name and its subdomains with NXDOMAIN + EDE 15, reporting reason and category", () => {
    const { events, next, stage, counters } = setup();
    const exact = stage.resolve(makeQuery("Casino.Example", { edns: true })) as Buffer;
    expect(decode(exact).rcode).toBe("NXDOMAIN");
    expect(edeCodes(exact)).toEqual([EDE_BLOCKED]);
    expect(decode(stage.resolve(makeQuery("a.b.lotto.example")) as Buffer).rcode).toBe("NXDOMAIN");
    expect(decode(stage.resolve(makeQuery("x.wild.example")) as Buffer).rcode).toBe("NXDOMAIN");
    expect(next.seen).toEqual([]);
    expect(counters.blocked).toBe(3);
    expect(events.map((e) => [e.name, e.reason, e.category])).toEqual([
      ["casino.example", "exact", "casino"],
      ["a.b.lotto.example", "parent", "lottery"],
      ["x.wild.example", "wildcard", "casino"],
    ]);
  });

  it("lets the allowlist win over a blocked parent", () => {
    const { next, stage } = setup();
    expect(stage.resolve(makeQuery("www.help.bet.example"))).toEqual(Buffer.from("next"));
    expect(decode(stage.resolve(makeQuery("www.bet.example")) as Buffer).rcode).toBe("NXDOMAIN");
    expect(next.seen).toEqual(["www.help.bet.example"]);
  });

  it("passes names that are not listed (a wildcard does not cover its own apex)", () => {
    const { next, stage } = setup();
    stage.resolve(makeQuery("example.org"));
    stage.resolve(makeQuery("wild.example"));
    stage.resolve(makeQuery("notcasino.example"));
    expect(next.seen).toEqual(["example.org", "wild.example", "notcasino.example"]);
  });

  it("answers with the redirect address when block_response is redirect", () => {
    const policy = DnsPolicy.fromConfig({
      block_response: "redirect",
      redirect_url: "http://203.0.113.9/blocked",
      block_doh: true,
      block_dot: true,
      hosts_file_fallback: true,
    });
    const { stage } = setup(policy);
    const response = decode(stage.resolve(makeQuery("casino.example")) as Buffer);
    expect(response.rcode).toBe("NOERROR");
    expect(response.answers).toEqual([expect.objectContaining({ type: "A", data: "203.0.113.9" })]);
  });

  it("refuses a name the matcher cannot read (a '.' byte inside a label)", () => {
    const { next, stage } = setup();
    const query = makeQuery("casinoXexample");
    query.packet[12 + 7] = 0x2e;
    expect(decode(stage.resolve(query) as Buffer).rcode).toBe("REFUSED");
    expect(next.seen).toEqual([]);
  });
});
