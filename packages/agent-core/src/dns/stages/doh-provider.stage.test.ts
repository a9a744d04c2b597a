import { describe, expect, it } from "vitest";
import { DOH_DOT_PROVIDERS, dohProviderEntries } from "../builtin-names";
import { WireNameSet } from "../name-set";
import { DnsPolicy } from "../policy";
import { type BlockEvent, BlockReporter, DnsCounters } from "../query";
import { decode, FakeStage, makeQuery } from "../testing";
import { DohProviderStage } from "./doh-provider.stage";

describe("DohProviderStage", () => {
  const setup = () => {
    const events: BlockEvent[] = [];
    const policy = new DnsPolicy();
    const next = new FakeStage(() => Buffer.from("next"));
    const reporter = new BlockReporter(new DnsCounters(), (event) => events.push(event));
    const stage = new DohProviderStage(next, new WireNameSet(dohProviderEntries()), policy, reporter);
    return { events, policy, next, stage };
  };

  it("blocks the well-known DoH/DoT resolver names and their subdomains", () => {
    const { events, next, stage } = setup();
    for (const name of [
      "dns.google",
      "cloudflare-dns.com",
      "mozilla.cloudflare-dns.com",
      "one.one.one.one",
      "dns.quad9.net",
      "doh.opendns.com",
      "abc123.dns.nextdns.io",
      "doh.cleanbrowsing.org",
      "dns.adguard-dns.com",
    ]) {
      expect(decode(stage.resolve(makeQuery(name)) as Buffer).rcode).toBe("NXDOMAIN");
    }
    expect(next.seen).toEqual([]);
    expect(events.every((event) => event.reason === "doh-provider")).toBe(true);
    expect(DOH_DOT_PROVIDERS.length).toBeGreaterThan(40);
  });

  it("leaves the providers' other names alone", () => {
    const { next, stage } = setup();
    stage.resolve(makeQuery("google.com"));
    stage.resolve(makeQuery("quad9.net"));
    stage.resolve(makeQuery("www.cloudflare.com"));
    expect(next.seen).toEqual(["google.com", "quad9.net", "www.cloudflare.com"]);
  });

  it("does nothing while block_doh and block_dot are off", () => {
    const { next, policy, stage } = setup();
    policy.blockDohProviders = false;
    expect(stage.resolve(makeQuery("dns.google"))).toEqual(Buffer.from("next"));
    expect(next.seen).toEqual(["dns.google"]);
  });
});
