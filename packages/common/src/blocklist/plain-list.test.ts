import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { DEFAULT_SEED, KNOWN_CATEGORIES } from "./format";
import { encodeWireName, HASH_INVALID, SuffixHasher, suffixKeys } from "./hash";
import { BlocklistMatcher, isBlockedCode, MatchReason, matchReasonOf } from "./matcher";
import { compilePlainList, compilePlainListFile } from "./plain-list";
import { buildTable, chooseBucketBits, findEntry, type HashTable } from "./table";
import { randomLabel, seededRandom } from "./testing";

/** Characters the line generator draws from: name characters, case, blanks, dots and odd bytes. */
const ALPHABET = "abcxyz019-_ABZ.......  \t\r\v#*\u00e9\u007f";

/** A random line: mostly plausible names, with every kind of oddity the compiler must handle. */
function randomLine(random: () => number): string {
  const roll = random();
  if (roll < 0.03) return "";
  if (roll < 0.45) {
    const labels = Array.from({ length: 1 + Math.floor(random() * 4) }, () =>
      randomLabel(random, random() < 0.05 ? 60 : 1, random() < 0.05 ? 70 : 12),
    );
    const name = labels.join(".");
    const pad = () => (random() < 0.15 ? [" ", "\t", "\r", " \t"][Math.floor(random() * 4)]! : "");
    const trailingDot = random() < 0.1 ? "." : "";
    const upper = random() < 0.1 ? name.toUpperCase() : name;
    return `${pad()}${upper}${trailingDot}${pad()}`;
  }
  if (roll < 0.5) return `${"abcdefghi.".repeat(20 + Math.floor(random() * 10))}com`;
  const length = Math.floor(random() * 24);
  return Array.from({ length }, () => ALPHABET[Math.floor(random() * ALPHABET.length)]!).join("");
}

/**
 * The plain-list rules written over strings, for comparison: trim blanks (code <= 0x20), skip empty
 * lines and '#' comments, reject a blank inside the name or a name `SuffixHasher.hashString` refuses
 * (or that has no label, like "."); keep every distinct full-name key.
 */
function referenceTable(lines: readonly string[], seed: number): { table: HashTable; rejected: number } {
  const hasher = new SuffixHasher(seed);
  const keys = new Map<string, [number, number]>();
  let rejected = 0;
  let accepted = 0; // duplicates included: the compiler sizes the table before dropping them
  for (const line of lines) {
    let start = 0;
    let end = line.length;
    while (start < end && line.charCodeAt(start) <= 0x20) start++;
    while (end > start && line.charCodeAt(end - 1) <= 0x20) end--;
    const name = line.slice(start, end);
    if (name === "" || name.startsWith("#")) continue;
    const innerBlank = Array.from(name).some((char) => char.charCodeAt(0) <= 0x20);
    const count = innerBlank ? HASH_INVALID : hasher.hashString(name);
    if (count <= 0) {
      rejected++;
      continue;
    }
    accepted++;
    const k1 = hasher.suffixK1[count - 1]!;
    const k2 = hasher.suffixK2[count - 1]!;
    keys.set(`${k1}:${k2}`, [k1, k2]);
  }
  const pairs = [...keys.values()];
  const table = buildTable(
    chooseBucketBits(accepted),
    Uint32Array.from(pairs, ([k1]) => k1),
    Uint32Array.from(pairs, ([, k2]) => k2),
    new Uint8Array(pairs.length).fill(KNOWN_CATEGORIES.indexOf("other")),
  );
  if (table === null) throw new Error("two distinct test names share a key: change the test seed");
  return { table, rejected };
}

function expectSameTable(actual: HashTable, expected: HashTable): void {
  expect(actual.bucketBits).toBe(expected.bucketBits);
  expect(Array.from(actual.offsets)).toEqual(Array.from(expected.offsets));
  expect(Array.from(actual.fingerprints)).toEqual(Array.from(expected.fingerprints));
  expect(Array.from(actual.meta)).toEqual(Array.from(expected.meta));
}

describe("plain list compiler", () => {
  it("builds exactly the table of the string reference on random lists (strings and files)", () => {
    const dir = mkdtempSync(join(tmpdir(), "plain-list-"));
    try {
      for (let round = 0; round < 12; round++) {
        const random = seededRandom(1000 + round);
        const lines = Array.from({ length: 1 + Math.floor(random() * 3000) }, () => randomLine(random));
        // Exact duplicates, and the same name differing only in case or a trailing dot.
        for (let i = 0; i < 20; i++) lines.push(lines[Math.floor(random() * lines.length)]!);
        lines.push("dup.example", "DUP.example.", " dup.example\r");
        const seed = round === 0 ? DEFAULT_SEED : Math.floor(random() * 2 ** 32);
        const expected = referenceTable(lines, seed);
        const fromStrings = compilePlainList(lines, { seed });
        expectSameTable(fromStrings.content.tables.block, expected.table);
        expect(fromStrings.rejected).toBe(expected.rejected);
        expect(fromStrings.entries).toBe(expected.table.fingerprints.length);
        const path = join(dir, `random-${round}.txt`);
        writeFileSync(path, Buffer.from(lines.join(round % 2 === 0 ? "\n" : "\r\n"), "latin1"));
        const fromFile = compilePlainListFile(path, { seed });
        expectSameTable(fromFile.content.tables.block, expected.table);
        expect(fromFile.rejected).toBe(expected.rejected);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

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
