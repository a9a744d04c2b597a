import { describe, expect, test } from "vitest";
import { canonicalAddress, findHostsOverrides, isSinkAddress, parseHostsFile } from "./hosts-file";

const listed = new Set(["casino.example", "poker.example", "www.casino.example"]);
const isListed = (name: string) => listed.has(name);

const HOSTS = [
  "# static table lookup for hostnames",
  "127.0.0.1\tlocalhost",
  "::1 localhost ip6-localhost ip6-loopback",
  "",
  "0.0.0.0 casino.example   # blocked by the person themselves",
  "203.0.113.7 Casino.Example. www.casino.example mirror.example",
  "2001:db8::7 poker.example",
  "fe80::1%eth0 poker.example",
  "not-an-ip casino.example",
  "198.51.100.1",
  "   # indented comment",
  "0:0:0:0:0:0:0:1 poker.example",
  "198.51.100.2 harmless.example",
].join("\n");

describe("hosts file", () => {
  test("parses comments, several names per line, IPv4/IPv6 with zone; bad lines are skipped", () => {
    const { entries, skippedLines } = parseHostsFile(HOSTS);
    expect(skippedLines).toBe(2);
    expect(entries.map((entry) => entry.line)).toEqual([2, 3, 5, 6, 7, 8, 12, 13]);
    expect(entries[1]).toEqual({
      line: 3,
      address: "::1",
      names: ["localhost", "ip6-localhost", "ip6-loopback"],
    });
    expect(entries[3]?.names).toEqual(["casino.example", "www.casino.example", "mirror.example"]);
    expect(entries[5]?.address).toBe("fe80::1");
  });

  test("sink addresses in any spelling are the person blocking a name, not a bypass", () => {
    for (const sink of ["0.0.0.0", "127.0.0.1", "::", "::1", "0:0:0:0:0:0:0:1", "::ffff:127.0.0.1"]) {
      expect(isSinkAddress(sink), sink).toBe(true);
    }
    for (const real of ["203.0.113.7", "127.0.0.2", "2001:db8::1", "fe80::1"]) {
      expect(isSinkAddress(real), real).toBe(false);
    }
    expect(canonicalAddress("2001:DB8:0:0:0:0:0:7")).toBe("2001:db8::7");
  });

  test("reports each listed name mapped to a real address, with a details text holding no name", () => {
    const report = findHostsOverrides(HOSTS, isListed);
    expect(report.overrides).toEqual([
      { line: 6, address: "203.0.113.7", name: "casino.example" },
      { line: 6, address: "203.0.113.7", name: "www.casino.example" },
      { line: 7, address: "2001:db8::7", name: "poker.example" },
      { line: 8, address: "fe80::1", name: "poker.example" },
    ]);
    expect(report.overriddenNames).toBe(3);
    expect(report.overrideLines).toEqual([6, 7, 8]);
    expect(report.details).toBe("hosts file maps 3 blocked names to another address (lines 6, 7, 8)");
    expect(report.details).not.toMatch(/example/);
  });

  test("no override: an empty report", () => {
    const report = findHostsOverrides("127.0.0.1 localhost\n0.0.0.0 casino.example\n", isListed);
    expect(report).toEqual({ overrides: [], overriddenNames: 0, overrideLines: [], details: "" });
    expect(findHostsOverrides("", isListed).overrides).toEqual([]);
  });
});
