import { encodeWireName } from "@betblocker/common/blocklist/hash";
import { describe, expect, it } from "vitest";
import { WireNameSet } from "./name-set";

describe("WireNameSet", () => {
  const set = new WireNameSet([
    { name: "dns.google", includeSubdomains: true },
    { name: "mask.icloud.com", includeSubdomains: false },
  ]);

  it("matches exact entries, and subdomains only where allowed, case-insensitively", () => {
    expect(set.matchWire(encodeWireName("DNS.Google"), 0)).toBe("dns.google");
    expect(set.matchWire(encodeWireName("a.b.dns.google"), 0)).toBe("dns.google");
    expect(set.matchWire(encodeWireName("MASK.icloud.com"), 0)).toBe("mask.icloud.com");
    expect(set.matchWire(encodeWireName("x.mask.icloud.com"), 0)).toBeNull();
    expect(set.matchWire(encodeWireName("google"), 0)).toBeNull();
    expect(set.matchWire(encodeWireName("icloud.com"), 0)).toBeNull();
    expect(set.matchWire(encodeWireName("dns.google.evil"), 0)).toBeNull();
  });

  it("returns null for malformed or root names", () => {
    expect(set.matchWire(Uint8Array.from([0]), 0)).toBeNull();
    expect(set.matchWire(Uint8Array.from([3, 0x64, 0x6e]), 0)).toBeNull();
    expect(set.matchWire(Uint8Array.from([0xc0, 0]), 0)).toBeNull();
  });

  it("uses the length pre-filter only for exact-only sets", () => {
    const exact = new WireNameSet([{ name: "use-application-dns.net", includeSubdomains: false }]);
    expect(exact.matchWire(encodeWireName("use-application-dns.net"), 0)).toBe("use-application-dns.net");
    expect(exact.matchWire(encodeWireName("www.use-application-dns.net"), 0)).toBeNull();
  });
});
