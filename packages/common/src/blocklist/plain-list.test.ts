import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { DEFAULT_SEED } from "./format";
import { encodeWireName, suffixKeys } from "./hash";
import { BlocklistMatcher, isBlockedCode, MatchReason, matchReasonOf } from "./matcher";
import { compilePlainList, compilePlainListFile } from "./plain-list";
import { findEntry } from "./table";
import { randomLabel, seededRandom } from "./testing";

describe("plain list compiler", () => {
  it("computes the same keys as SuffixHasher.hashString (so BlocklistMatcher finds every name)", () => {
    const random = seededRandom(7);
    const names = Array.from({ length: 2000 }, () =>
      Array.from({ length: 1 + Math.floor(random() * 4) }, () => randomLabel(random, 1, 20)).join("."),
    );
    const { content, entries } = compilePlainList(names);
    expect(entries).toBe(new Set(names).size);
    const table = content.tables.block;
    for (const name of names) {
      const keys = suffixKeys(name, DEFAULT_SEED);
      const full = keys[keys.length - 1]!;
      expect(
        findEntry(table.offsets, table.fingerprints, 32 - table.bucketBits, full.k1, full.k2),
      ).toBeGreaterThanOrEqual(0);
    }
  });

  it("blocks listed names and their subdomains, from strings or wire bytes, case-insensitively", () => {
    const matcher = new BlocklistMatcher(compilePlainList(["casino.example", "Bet.Example."]).content);
    expect(matchReasonOf(matcher.matchName("casino.example"))).toBe(MatchReason.EXACT);
    expect(matchReasonOf(matcher.matchWire(encodeWireName("WWW.CASINO.example"), 0))).toBe(
      MatchReason.PARENT,
    );
    expect(isBlockedCode(matcher.matchName("a.bet.example"))).toBe(true);
    expect(isBlockedCode(matcher.matchName("example"))).toBe(false);
    expect(isBlockedCode(matcher.matchName("notcasino.example"))).toBe(false);
    expect(matcher.categoryName(matcher.matchName("casino.example"))).toBe("other");
  });

  it("trims blanks and CR, skips comments and empty lines, rejects invalid lines", () => {
    const { content, entries, rejected } = compilePlainList([
      "  spaced.example \r",
      "# comment with spaces",
      "   # indented comment",
      "",
      "   ",
      "in valid.example",
      "double..dot.example",
      ".leading.example",
      `${"a".repeat(64)}.example`,
      `${"abcdefghi.".repeat(26)}com`,
      "ok.example",
      "ok.example",
    ]);
    expect(entries).toBe(2);
    expect(rejected).toBe(5);
    const matcher = new BlocklistMatcher(content);
    expect(isBlockedCode(matcher.matchName("spaced.example"))).toBe(true);
    expect(isBlockedCode(matcher.matchName("ok.example"))).toBe(true);
  });

  it("reads a file in chunks: lines across chunk boundaries, no final newline, CRLF", () => {
    const dir = mkdtempSync(join(tmpdir(), "plain-list-"));
    try {
      const names = Array.from({ length: 120_000 }, (_, i) => `name${i}.casino${i % 97}.example`);
      const path = join(dir, "list.txt");
      writeFileSync(path, `${names.join("\r\n")}`);
      const { content, entries, rejected } = compilePlainListFile(path);
      expect(entries).toBe(names.length);
      expect(rejected).toBe(0);
      const matcher = new BlocklistMatcher(content);
      for (const index of [0, 1, 54_321, 119_999]) {
        expect(isBlockedCode(matcher.matchName(`www.${names[index]}`))).toBe(true);
      }
      expect(isBlockedCode(matcher.matchName("name120000.casino0.example"))).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("skips a line longer than the read chunk and keeps the lines around it", () => {
    const dir = mkdtempSync(join(tmpdir(), "plain-list-"));
    try {
      const path = join(dir, "long.txt");
      writeFileSync(path, `first.example\n${"x".repeat(1_500_000)}\nsecond.example\n`);
      const { content, entries, rejected } = compilePlainListFile(path);
      expect([entries, rejected]).toEqual([2, 1]);
      const matcher = new BlocklistMatcher(content);
      expect(isBlockedCode(matcher.matchName("first.example"))).toBe(true);
      expect(isBlockedCode(matcher.matchName("second.example"))).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
