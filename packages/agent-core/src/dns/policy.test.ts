import { describe, expect, it } from "vitest";
import { DnsPolicy, ipv6Bytes } from "./policy";

const base = { block_doh: true, block_dot: true, hosts_file_fallback: true } as const;

describe("DnsPolicy", () => {
  it("answers NXDOMAIN by default and blocks DoH names when block_doh or block_dot is on", () => {
    const policy = DnsPolicy.fromConfig({ ...base, block_response: "nxdomain", redirect_url: null });
    expect(policy.redirect).toBeNull();
    expect(policy.blockDohProviders).toBe(true);
    policy.apply({
      ...base,
      block_doh: false,
      block_dot: false,
      block_response: "nxdomain",
      redirect_url: null,
    });
    expect(policy.blockDohProviders).toBe(false);
    policy.apply({
      ...base,
      block_doh: false,
      block_dot: true,
      block_response: "nxdomain",
      redirect_url: null,
    });
    expect(policy.blockDohProviders).toBe(true);
  });

  it("takes the redirect address from an IP-literal redirect_url or from resolved addresses", () => {
    const literal = DnsPolicy.fromConfig({
      ...base,
      block_response: "redirect",
      redirect_url: "https://[2001:db8::7]/x",
    });
    expect(literal.redirect?.ipv6).toEqual(ipv6Bytes("2001:db8::7"));
    const named = DnsPolicy.fromConfig(
      { ...base, block_response: "redirect", redirect_url: "https://blocked.betblocker.example/" },
      { ipv4: "203.0.113.5" },
    );
    expect([...(named.redirect?.ipv4 ?? [])]).toEqual([203, 0, 113, 5]);
  });

  it("falls back to NXDOMAIN (still blocked) when no redirect address is known", () => {
    const policy = DnsPolicy.fromConfig({
      ...base,
      block_response: "redirect",
      redirect_url: "https://blocked.example/",
    });
    expect(policy.redirect).toBeNull();
  });

  it("encodes IPv6 addresses, including embedded IPv4", () => {
    expect([...ipv6Bytes("::1")!]).toEqual([...new Array(15).fill(0), 1]);
    expect([...ipv6Bytes("::ffff:192.0.2.1")!].slice(10)).toEqual([0xff, 0xff, 192, 0, 2, 1]);
    expect(ipv6Bytes("10.0.0.1")).toBeNull();
  });
});
