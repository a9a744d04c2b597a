import { describe, expect, it } from "vitest";
import { DnsCounters, DnsQuery } from "../query";
import { decode, FakeStage, makeQuery, queryBytes } from "../testing";
import { ValidateStage } from "./validate.stage";

describe("ValidateStage", () => {
  const setup = () => {
    const next = new FakeStage(() => Buffer.from("next"));
    const counters = new DnsCounters();
    return { next, counters, stage: new ValidateStage(next, counters) };
  };

  it("passes a well-formed IN query to the next stage", () => {
    const { next, stage } = setup();
    expect(stage.resolve(makeQuery("example.com"))).toEqual(Buffer.from("next"));
    expect(next.seen).toEqual(["example.com"]);
  });

  it("answers FORMERR without calling the next stage, and counts it", () => {
    const { next, counters, stage } = setup();
    const bytes = queryBytes("example.com");
    bytes[5] = 2; // QDCOUNT 2
    const answer = stage.resolve(new DnsQuery(bytes, "udp")) as Buffer;
    expect(decode(answer).rcode).toBe("FORMERR");
    expect(next.seen).toEqual([]);
    expect(counters.formErr).toBe(1);
  });

  it("drops a message without a header", () => {
    const { counters, stage } = setup();
    expect(stage.resolve(new DnsQuery(Buffer.alloc(5), "udp"))).toBeNull();
    expect(counters.dropped).toBe(1);
  });

  it("refuses other classes and zone transfers", () => {
    const { next, stage } = setup();
    const chaos = queryBytes("version.bind", { type: "TXT" });
    chaos.writeUInt16BE(3, chaos.length - 2); // CLASS CH
    expect(decode(stage.resolve(new DnsQuery(chaos, "udp")) as Buffer).rcode).toBe("REFUSED");
    expect(decode(stage.resolve(makeQuery("example.com", { type: "AXFR" })) as Buffer).rcode).toBe("REFUSED");
    expect(next.seen).toEqual([]);
  });

  it("answers NOTIMP for other opcodes", () => {
    const { stage } = setup();
    const update = queryBytes("example.com");
    update[2] = (5 << 3) | 1;
    expect(decode(stage.resolve(new DnsQuery(update, "udp")) as Buffer).rcode).toBe("NOTIMP");
  });
});
