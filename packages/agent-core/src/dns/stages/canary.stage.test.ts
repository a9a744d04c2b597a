import { describe, expect, it } from "vitest";
import { type BlockEvent, BlockReporter, DnsCounters } from "../query";
import { decode, edeCodes, FakeStage, makeQuery } from "../testing";
import { EDE_BLOCKED } from "../wire";
import { CanaryStage } from "./canary.stage";

describe("CanaryStage", () => {
  const setup = () => {
    const events: BlockEvent[] = [];
    const counters = new DnsCounters();
    const next = new FakeStage(() => Buffer.from("next"));
    return {
      events,
      counters,
      next,
      stage: new CanaryStage(next, new BlockReporter(counters, (e) => events.push(e))),
    };
  };

  it.each(["use-application-dns.net", "mask.icloud.com", "MASK-H2.icloud.com"])(
    "answers %s NXDOMAIN with EDE 15",
    (name) => {
      const { events, next, stage } = setup();
      const answer = stage.resolve(makeQuery(name, { edns: true })) as Buffer;
      expect(decode(answer).rcode).toBe("NXDOMAIN");
      expect(edeCodes(answer)).toEqual([EDE_BLOCKED]);
      expect(next.seen).toEqual([]);
      expect(events).toEqual([
        expect.objectContaining({ name: name.toLowerCase(), reason: "canary", category: null }),
      ]);
    },
  );

  it("matches the canary names exactly, not their subdomains or parents", () => {
    const { next, stage } = setup();
    stage.resolve(makeQuery("www.use-application-dns.net"));
    stage.resolve(makeQuery("icloud.com"));
    expect(next.seen).toEqual(["www.use-application-dns.net", "icloud.com"]);
  });
});
