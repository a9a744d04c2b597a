import { describe, expect, it } from "vitest";
import { parseList, parseListLine } from "./list-parser";

describe("adblock format", () => {
  it.each([
    ["||example-casino.com^", { type: "domain", value: "example-casino.com" }],
    ["||Example-Casino.COM^|", { type: "domain", value: "example-casino.com" }],
    ["  ||example-casino.com^  ", { type: "domain", value: "example-casino.com" }],
    ["||*.example-casino.com^", { type: "wildcard", value: "*.example-casino.com" }],
    ["||casino*.example^", { type: "pattern", value: "casino*.example" }],
    ["||bücher-wetten.de^", { type: "domain", value: "xn--bcher-wetten-dlb.de" }],
    ["example-casino.com", { type: "domain", value: "example-casino.com" }],
    ["example-casino.com^", { type: "domain", value: "example-casino.com" }],
  ])("%j is an entry", (line, rule) => {
    expect(parseListLine("adblock", line, 2)).toEqual([{ kind: "entry", line: 2, rule }]);
  });

  it.each(["", "! Title: Gambling list", "!", "[Adblock Plus 2.0]", "[AdGuard]", "# hosts-style comment"])(
    "%j is skipped",
    (line) => {
      expect(parseListLine("adblock", line, 1)).toEqual([{ kind: "skip", line: 1 }]);
    },
  );

  it.each([
    ["@@||gamcare.org.uk^", "exception rules are not imported (allowlist is curated)"],
    ["@@||example.com^$document", "exception rules are not imported (allowlist is curated)"],
    ["||example.com^$third-party", "rules with $ options are not imported ($third-party)"],
    ["||example.com^$important,dnstype=A", "rules with $ options are not imported ($important,dnstype=A)"],
    ["example.com##.banner", "cosmetic (element-hiding) rules are not imported"],
    ["##.ad-slot", "cosmetic (element-hiding) rules are not imported"],
    ["example.com#@#.banner", "cosmetic (element-hiding) rules are not imported"],
    ["example.com#?#div:has(.bet)", "cosmetic (element-hiding) rules are not imported"],
    ["example.com#$#body { display: none }", "cosmetic (element-hiding) rules are not imported"],
    ["example.com$$script", "cosmetic (element-hiding) rules are not imported"],
    ["||example.com/ads/", "rules with a path are not imported (DNS blocking sees host names only)"],
    ["||example.com^/casino", "rules with a path are not imported (DNS blocking sees host names only)"],
    ["example.com/casino", "rules with a path are not imported (DNS blocking sees host names only)"],
    ["||example.com:8080^", "rules with a port are not imported"],
    ["/casino[0-9]+\\.com/", "regular-expression rules are not imported"],
    ["|https://example.com^", "address-anchored rules (|...) are not imported"],
    ["||example.com", "rule has no '^' separator, so it matches name prefixes, not a domain"],
    ["||^", "empty host name"],
    ["||bad_tld.co_m^", "invalid character '_' in top-level label"],
    ["||*.com^", "wildcard over a top-level domain would block all of it"],
    ["||*bet*^", "pattern too broad: needs at least 4 literal letters or digits"],
    ["0.0.0.0 example.com", "not an adblock rule (contains whitespace)"],
  ])("%j is rejected: %s", (line, reason) => {
    expect(parseListLine("adblock", line, 6)).toEqual([
      { kind: "reject", line: 6, reason, text: line.trim() },
    ]);
  });

  it("parses a small filter list with header, comments and mixed rules", () => {
    const parsed = parseList(
      "adblock",
      [
        "[Adblock Plus 2.0]",
        "! Version: 1",
        "||casino-one.com^",
        "@@||help.org^",
        "||*.casino-two.net^",
        "casino-three.org##.ad",
      ].join("\r\n"),
    );
    expect(parsed.entries.map((entry) => entry.rule)).toEqual([
      { type: "domain", value: "casino-one.com" },
      { type: "wildcard", value: "*.casino-two.net" },
    ]);
    expect(parsed.rejects.map((reject) => reject.line)).toEqual([4, 6]);
    expect(parsed.skipped).toBe(2);
  });
});
