import { describe, expect, it } from "vitest";
import { splitCsvRecord } from "./csv-format";
import { createListParser, parseList } from "./list-parser";

describe("splitCsvRecord", () => {
  it.each([
    ["a,b,c", ["a", "b", "c"]],
    ["a,,c,", ["a", "", "c", ""]],
    ['"a,1",b', ["a,1", "b"]],
    ['"say ""hi""",x', ['say "hi"', "x"]],
    [' "a" , b', ["a", " b"]],
    ['""', [""]],
    ["", [""]],
  ])("%j -> %j", (record, fields) => {
    expect(splitCsvRecord(record)).toEqual({ ok: true, fields });
  });

  it("refuses malformed quoting", () => {
    expect(splitCsvRecord('"open,b')).toEqual({
      ok: false,
      reason: "unterminated quoted field (fields spanning lines are not supported)",
    });
    expect(splitCsvRecord('"a"b,c')).toEqual({ ok: false, reason: "unexpected text after a closing quote" });
  });
});

describe("csv format", () => {
  it("finds the columns by name and normalizes domain and category", () => {
    const parsed = parseList(
      "csv",
      [
        "Source,Category,Domain",
        "hostsvn,casino,Example-Casino.com",
        'manual,"Sports Betting","*.example-bet.net"',
        "manual,,casino*.example.org",
        "manual, LOTTERY ,bücher-lotto.de.",
      ].join("\r\n"),
    );
    expect(parsed.rejects).toEqual([]);
    expect(parsed.entries).toEqual([
      { kind: "entry", line: 2, rule: { type: "domain", value: "example-casino.com", category: "casino" } },
      {
        kind: "entry",
        line: 3,
        rule: { type: "wildcard", value: "*.example-bet.net", category: "sports_betting" },
      },
      { kind: "entry", line: 4, rule: { type: "pattern", value: "casino*.example.org" } },
      {
        kind: "entry",
        line: 5,
        rule: { type: "domain", value: "xn--bcher-lotto-thb.de", category: "lottery" },
      },
    ]);
    expect(parsed.skipped).toBe(1);
  });

  it("works without a category column and ignores blank and # lines, also before the header", () => {
    const parsed = parseList("csv", "\uFEFF# exported 2025-01-01\n\ndomain\nexample.com\n\n# end\n");
    expect(parsed.entries).toEqual([
      { kind: "entry", line: 4, rule: { type: "domain", value: "example.com" } },
    ]);
    expect(parsed.skipped).toBe(5);
  });

  it("rejects bad rows with the line number and keeps going", () => {
    const parser = createListParser("csv");
    expect(parser.line("domain,category", 1)).toEqual([{ kind: "skip", line: 1 }]);
    const rows: [string, string][] = [
      ["bad_tld.co_m,casino", "invalid character '_' in top-level label"],
      [",casino", "empty domain"],
      ['"unterminated,casino', "unterminated quoted field (fields spanning lines are not supported)"],
      ["example.com,casino/poker", "invalid character '/' in category (allowed: a-z, 0-9, _)"],
      [`example.com,${"c".repeat(33)}`, "category longer than 32 characters"],
      ["1.2.3.4,casino", "IP address, not a domain"],
    ];
    rows.forEach(([row, reason], index) => {
      expect(parser.line(row, index + 2)).toEqual([
        expect.objectContaining({ kind: "reject", line: index + 2, reason }),
      ]);
    });
    expect(parser.line("good.example,casino", 99)).toEqual([
      { kind: "entry", line: 99, rule: { type: "domain", value: "good.example", category: "casino" } },
    ]);
  });

  it("rejects a row without a domain field", () => {
    const parser = createListParser("csv");
    parser.line("category,domain", 1);
    expect(parser.line("casino", 2)).toEqual([
      expect.objectContaining({ kind: "reject", reason: "row has 1 fields, no domain column" }),
    ]);
  });

  it("rejects every line when the header has no domain column", () => {
    const parsed = parseList("csv", "host,category\nexample.com,casino\n");
    expect(parsed.entries).toEqual([]);
    expect(parsed.rejects.map((reject) => [reject.line, reject.reason])).toEqual([
      [1, "CSV header has no 'domain' column"],
      [2, "no usable CSV header (line 1 has no 'domain' column)"],
    ]);
  });
});
