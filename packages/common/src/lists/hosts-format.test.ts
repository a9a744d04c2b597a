import { describe, expect, it } from "vitest";
import { parseList, parseListLine } from "./list-parser";

const entry = (line: number, value: string) => ({ kind: "entry", line, rule: { type: "domain", value } });

describe("hosts format", () => {
  it.each([
    ["0.0.0.0 example-casino.com", "example-casino.com"],
    ["127.0.0.1\texample-casino.com", "example-casino.com"],
    [":: example-casino.com", "example-casino.com"],
    ["::1 Example-Casino.com.", "example-casino.com"],
    ["0.0.0.0   example-casino.com   # comment", "example-casino.com"],
    ["  0.0.0.0 example-casino.com\r", "example-casino.com"],
  ])("%j maps to a domain entry", (line, value) => {
    expect(parseListLine("hosts", line, 4)).toEqual([entry(4, value)]);
  });

  it("turns several names on a line into several entries, and rejects only the bad one", () => {
    expect(
      parseListLine("hosts", "0.0.0.0 a-casino.com www.a-casino.com bad..name m.a-casino.com", 7),
    ).toEqual([
      entry(7, "a-casino.com"),
      entry(7, "www.a-casino.com"),
      { kind: "reject", line: 7, reason: "empty label", text: "bad..name" },
      entry(7, "m.a-casino.com"),
    ]);
  });

  it.each([
    "",
    "# comment",
    "127.0.0.1 localhost",
    "127.0.0.1\tlocalhost localhost.localdomain local",
    "255.255.255.255 broadcasthost",
    "::1 localhost ip6-localhost ip6-loopback",
    "fe80::1%lo0 localhost",
    "ff00::0 ip6-localnet",
    "ff00::0 ip6-mcastprefix",
    "ff02::1 ip6-allnodes",
    "ff02::2 ip6-allrouters",
    "ff02::3 ip6-allhosts",
    "0.0.0.0 0.0.0.0",
    "127.0.1.1 LOCALHOST",
  ])("%j is skipped as boilerplate", (line) => {
    expect(parseListLine("hosts", line, 1)).toEqual([{ kind: "skip", line: 1 }]);
  });

  it("drops boilerplate names on a line that also names real hosts", () => {
    expect(parseListLine("hosts", "127.0.0.1 localhost example-casino.com", 2)).toEqual([
      entry(2, "example-casino.com"),
    ]);
  });

  it.each([
    ["example-casino.com", "line does not start with an IP address"],
    ["0.0.0.0", "no host name after the address"],
    ["0.0.0.0   # only a comment", "no host name after the address"],
    [
      "93.184.216.34 example-casino.com",
      "maps names to 93.184.216.34, not to a blocking address (0.0.0.0, 127.0.0.1, ::, ::1)",
    ],
    ["0.0.0.0 *.example-casino.com", "wildcards are not valid in a hosts file"],
    ["0.0.0.0 bad_tld.co_m", "invalid character '_' in top-level label"],
    ["0.0.0.0 printer.local", "reserved name"],
    ["0.0.0.0 com", "single-label name (no dot)"],
    ["||example.com^", "line does not start with an IP address"],
  ])("%j is rejected: %s", (line, reason) => {
    expect(parseListLine("hosts", line, 5)).toEqual([
      expect.objectContaining({ kind: "reject", line: 5, reason }),
    ]);
  });

  it("parses a StevenBlack-style file", () => {
    const file = [
      "# Title: example hosts",
      "127.0.0.1 localhost",
      "::1 localhost",
      "0.0.0.0 0.0.0.0",
      "",
      "# Casinos",
      "0.0.0.0 casino-one.com",
      "0.0.0.0 casino-two.com # affiliate",
      "0.0.0.0 casino-three.com www.casino-three.com",
    ].join("\n");
    const parsed = parseList("hosts", file);
    expect(parsed.entries.map((outcome) => outcome.rule.value)).toEqual([
      "casino-one.com",
      "casino-two.com",
      "casino-three.com",
      "www.casino-three.com",
    ]);
    expect(parsed.rejects).toEqual([]);
    expect(parsed.skipped).toBe(6);
  });
});
