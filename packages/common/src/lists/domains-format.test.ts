import { describe, expect, it } from "vitest";
import { parseList, parseListLine } from "./list-parser";

describe("domains format", () => {
  it.each([
    ["example-casino.com", { type: "domain", value: "example-casino.com" }],
    ["  Example-Casino.COM.  ", { type: "domain", value: "example-casino.com" }],
    ["example-casino.com # inline comment", { type: "domain", value: "example-casino.com" }],
    ["example-casino.com\t#tab before comment", { type: "domain", value: "example-casino.com" }],
    ["*.example-bet.net", { type: "wildcard", value: "*.example-bet.net" }],
    ["casino*.example.org", { type: "pattern", value: "casino*.example.org" }],
    ["münchen-lotto.de", { type: "domain", value: "xn--mnchen-lotto-dlb.de" }],
    ["example-casino.com\r", { type: "domain", value: "example-casino.com" }],
    ["\uFEFFexample-casino.com", { type: "domain", value: "example-casino.com" }],
  ])("%j is an entry", (line, rule) => {
    expect(parseListLine("domains", line, 3)).toEqual([{ kind: "entry", line: 3, rule }]);
  });

  it.each(["", "   ", "# comment", "#", "   # indented comment", "\r"])("%j is skipped", (line) => {
    expect(parseListLine("domains", line, 1)).toEqual([{ kind: "skip", line: 1 }]);
  });

  it.each([
    ["bad_tld.co_m", "invalid character '_' in top-level label"],
    ["exa mple.com", "more than one name on the line"],
    ["0.0.0.0 example.com", "looks like a hosts-file line (import it as format hosts)"],
    ["http://example.com/", "invalid character ':'"],
    ["example..com", "empty label"],
    ["localhost", "reserved name"],
    ["192.168.0.1", "IP address, not a domain"],
    ["*.com", "wildcard over a top-level domain would block all of it"],
    ["*bet*", "pattern too broad: needs at least 4 literal letters or digits"],
    [`${"a".repeat(64)}.com`, "label longer than 63 characters"],
    ["x".repeat(5000), "line longer than 4096 characters"],
  ])("%j is rejected: %s", (line, reason) => {
    const [outcome, ...rest] = parseListLine("domains", line, 9);
    expect(rest).toEqual([]);
    expect(outcome).toMatchObject({ kind: "reject", line: 9, reason });
  });

  it("reports line numbers across a whole file, CRLF or not", () => {
    const parsed = parseList("domains", "# header\r\nexample.com\r\n\r\nbad..name\r\n*.example.org\r\n");
    expect(parsed.entries.map((entry) => [entry.line, entry.rule.value])).toEqual([
      [2, "example.com"],
      [5, "*.example.org"],
    ]);
    expect(parsed.rejects).toEqual([{ kind: "reject", line: 4, reason: "empty label", text: "bad..name" }]);
    expect(parsed.skipped).toBe(2);
  });
});
