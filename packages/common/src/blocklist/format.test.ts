import { describe, expect, it } from "vitest";
import { type BlocklistErrorCode, BlocklistFormatError } from "./errors";
import {
  type BlocklistRules,
  type CompileInput,
  compileBlocklist,
  compileHintsFrom,
  HEADER_FIXED_LENGTH,
  KNOWN_CATEGORIES,
  loadBlocklist,
  sha256,
  signContent,
  verifyChain,
} from "./format";
import { BlocklistMatcher, isBlockedCode } from "./matcher";
import { buildTable, chooseBucketBits } from "./table";
import { bytesEqual, newTestKeys, randomLabel, seededRandom, withFlippedBit } from "./testing";

const keys = newTestKeys();
const otherKeys = newTestKeys();
const CREATED_AT = Date.UTC(2025, 5, 1);

/** A few thousand entries of every kind, deterministic. */
function sampleRules(blockCount = 2_000): BlocklistRules {
  const random = seededRandom(7);
  const block = Array.from({ length: blockCount }, (_, i) => ({
    domain: `${randomLabel(random, 4, 12)}${i}.com`,
    category: KNOWN_CATEGORIES[i % KNOWN_CATEGORIES.length]!,
  }));
  return {
    block,
    wildcard: [
      { domain: "*.pages.example", category: "casino" },
      { domain: "spins.example", category: "custom_slots" },
    ],
    allow: ["gamcare.org.uk", "begambleaware.org"],
    pattern: [
      { pattern: "*casino*", category: "casino" },
      { pattern: "bets??.*", category: "sports_betting" },
    ],
  };
}

function compile(overrides: Partial<CompileInput> = {}): Uint8Array {
  return compileBlocklist({
    version: 1,
    createdAt: CREATED_AT,
    prevHash: null,
    rules: sampleRules(),
    privateKey: keys.privateKey,
    ...overrides,
  });
}

function loadErrorCode(run: () => unknown): BlocklistErrorCode | "no error" | "other error" {
  try {
    run();
    return "no error";
  } catch (error) {
    return error instanceof BlocklistFormatError ? error.code : "other error";
  }
}

const file = compile();

describe("compileBlocklist / loadBlocklist", () => {
  it("round-trips header fields, categories and patterns", () => {
    const list = loadBlocklist(file, keys.publicKey);
    expect(list.header.version).toBe(1);
    expect(list.header.createdAt).toBe(CREATED_AT);
    expect(list.header.entryCount).toBe(2_000 + 2 + 2 + 2);
    expect(list.header.prevHash).toEqual(new Uint8Array(32));
    expect(list.categories).toEqual([...KNOWN_CATEGORIES, "custom_slots"]);
    expect(list.patterns.map((p) => p.pattern)).toEqual(["*casino*", "bets??.*"]);
    expect(list.tables.block.fingerprints.length).toBe(2_000);
    expect(list.tables.block.bucketBits).toBe(chooseBucketBits(2_000));
    const sectionOffsets = [0, 1, 2, 3, 4].map((i) => new DataView(file.buffer).getUint32(84 + i * 16, true));
    expect(sectionOffsets.every((offset) => offset % 8 === 0)).toBe(true);
  });

  it("maps the file with views instead of copying", () => {
    const list = loadBlocklist(file, keys.publicKey);
    expect(list.tables.block.fingerprints.buffer).toBe(file.buffer);
    expect(list.bytes).toBe(file);
  });

  it("copies into an aligned buffer when the input is not 8-aligned", () => {
    const shifted = new Uint8Array(file.length + 3);
    shifted.set(file, 3);
    const list = loadBlocklist(shifted.subarray(3), keys.publicKey);
    expect(list.bytes.byteOffset % 8).toBe(0);
    expect(new BlocklistMatcher(list).explain("www.casino-royale.net").reason).toBe("pattern");
  });

  it("is deterministic and independent of rule order", () => {
    const rules = sampleRules();
    const reordered: BlocklistRules = {
      block: [...rules.block].reverse(),
      wildcard: [...rules.wildcard].reverse(),
      allow: [...rules.allow].reverse(),
      pattern: [...rules.pattern].reverse(),
    };
    expect(bytesEqual(compile({ rules: reordered }), file)).toBe(true);
  });

  it("refuses a list signed by another key", () => {
    const foreign = compile({ privateKey: otherKeys.privateKey });
    expect(loadErrorCode(() => loadBlocklist(foreign, keys.publicKey))).toBe("BLOCKLIST_KEY_MISMATCH");
    // Same key id as the pinned key but signed by another key: the signature must fail.
    const content = foreign.slice(0, foreign.length - 64);
    content.set(loadBlocklist(file, keys.publicKey).header.keyId, 32);
    const forged = signContent(content, otherKeys.privateKey);
    expect(loadErrorCode(() => loadBlocklist(forged, keys.publicKey))).toBe("BLOCKLIST_BAD_SIGNATURE");
  });

  it("refuses every single-bit flip (header, section table, tables, patterns, signature)", () => {
    const random = seededRandom(99);
    const accepted: number[] = [];
    for (let index = 0; index < file.length; index++) {
      const code = loadErrorCode(() =>
        loadBlocklist(withFlippedBit(file, index, Math.floor(random() * 8)), keys.publicKey),
      );
      if (code === "no error" || code === "other error") accepted.push(index);
    }
    expect(accepted).toEqual([]);
  });

  it("refuses every truncation and any trailing bytes", () => {
    for (let length = 0; length < file.length; length += length < 200 ? 1 : 37) {
      expect(loadErrorCode(() => loadBlocklist(file.subarray(0, length), keys.publicKey))).toMatch(
        /BLOCKLIST_(TRUNCATED|BAD_MAGIC)/,
      );
    }
    expect(loadErrorCode(() => loadBlocklist(file.subarray(0, file.length - 1), keys.publicKey))).toBe(
      "BLOCKLIST_TRUNCATED",
    );
    const longer = new Uint8Array(file.length + 8);
    longer.set(file);
    expect(loadErrorCode(() => loadBlocklist(longer, keys.publicKey))).toBe("BLOCKLIST_CORRUPT");
  });

  it("names bad magic and unsupported versions", () => {
    const notAList = new Uint8Array(file);
    notAList[0] = 0x58;
    expect(loadErrorCode(() => loadBlocklist(notAList, keys.publicKey))).toBe("BLOCKLIST_BAD_MAGIC");
    const future = new Uint8Array(file);
    future[6] = 2;
    expect(loadErrorCode(() => loadBlocklist(future, keys.publicKey))).toBe("BLOCKLIST_UNSUPPORTED_VERSION");
    expect(HEADER_FIXED_LENGTH).toBe(80);
  });

  it("checks the version chain through prev_hash", () => {
    const next = compile({ version: 2, prevHash: sha256(file) });
    const list = loadBlocklist(next, keys.publicKey, { expectedPrevHash: sha256(file) });
    expect(() => verifyChain(file, list)).not.toThrow();
    expect(loadErrorCode(() => verifyChain(next, list))).toBe("BLOCKLIST_CHAIN_MISMATCH");
    expect(loadErrorCode(() => loadBlocklist(next, keys.publicKey, { expectedPrevHash: sha256(next) }))).toBe(
      "BLOCKLIST_CHAIN_MISMATCH",
    );
  });

  it("rejects input that is not normalized or out of range", () => {
    const withBlock = (domain: string) =>
      loadErrorCode(() =>
        compile({ rules: { ...sampleRules(10), block: [{ domain, category: "casino" }] } }),
      );
    expect(withBlock("Casino.com")).toBe("BLOCKLIST_INVALID_RULE");
    expect(withBlock("casino.com.")).toBe("BLOCKLIST_INVALID_RULE");
    expect(withBlock("a..com")).toBe("BLOCKLIST_INVALID_RULE");
    expect(withBlock(`${"a".repeat(64)}.com`)).toBe("BLOCKLIST_INVALID_RULE");
    expect(withBlock("xn--caf-dma.com")).toBe("no error");
    expect(loadErrorCode(() => compile({ version: 0 }))).toBe("BLOCKLIST_INVALID_RULE");
    expect(loadErrorCode(() => compile({ prevHash: new Uint8Array(31) }))).toBe("BLOCKLIST_INVALID_RULE");
    expect(
      loadErrorCode(() =>
        compile({ rules: { ...sampleRules(10), block: [{ domain: "a.com", category: "Bad Category" }] } }),
      ),
    ).toBe("BLOCKLIST_INVALID_RULE");
    expect(
      loadErrorCode(() =>
        compile({ rules: { ...sampleRules(10), pattern: [{ pattern: "*.*", category: "casino" }] } }),
      ),
    ).toBe("BLOCKLIST_INVALID_PATTERN");
  });

  it("finds no false positive among 200k random unlisted names", () => {
    const random = seededRandom(2024);
    const block = Array.from({ length: 100_000 }, (_, i) => ({
      domain: `${randomLabel(random, 3, 10)}-${i}.com`,
      category: "other",
    }));
    const matcher = new BlocklistMatcher(
      loadBlocklist(compile({ rules: { block, wildcard: [], allow: [], pattern: [] } }), keys.publicKey),
    );
    let falsePositives = 0;
    for (let i = 0; i < 200_000; i++) {
      // Unlisted by construction: listed names all contain "-<number>." right before ".com".
      const name = `${randomLabel(random, 1, 8)}.${randomLabel(random, 3, 12)}.com`;
      if (isBlockedCode(matcher.matchName(name))) falsePositives++;
    }
    expect(falsePositives).toBe(0);
  });
});

describe("bucket bits", () => {
  it("chooses round(log2(n/4)) clamped to [4, 21]", () => {
    expect(chooseBucketBits(0)).toBe(4);
    expect(chooseBucketBits(100)).toBe(5);
    expect(chooseBucketBits(1_000_000)).toBe(18);
    expect(chooseBucketBits(100_000_000)).toBe(21);
  });

  it("keeps a previous B while the average load stays within [1, 16]", () => {
    expect(chooseBucketBits(1_200_000, 18)).toBe(18);
    expect(chooseBucketBits(2 ** 18 * 16, 18)).toBe(18);
    expect(chooseBucketBits(2 ** 18 * 16 + 1, 18)).toBe(20);
    expect(chooseBucketBits(2 ** 18 - 1, 18)).toBe(16);
    expect(chooseBucketBits(10, 4)).toBe(4);
  });

  it("compileHintsFrom carries seed and bucket bits to the next version", () => {
    const list = loadBlocklist(file, keys.publicKey);
    const hints = compileHintsFrom(list);
    const bigger = sampleRules(2_600);
    const next = loadBlocklist(compile({ rules: bigger, ...hints }), keys.publicKey);
    expect(next.tables.block.bucketBits).toBe(list.tables.block.bucketBits);
    expect(next.header.seed).toBe(list.header.seed);
  });

  it("accepts one previous B for every table, keeping it only where the load fits", () => {
    const list = loadBlocklist(compile({ previousBucketBits: 8 }), keys.publicKey);
    expect(list.tables.block.bucketBits).toBe(8); // 2000 / 256 ~= 7.8 per bucket: kept
    expect(list.tables.allow.bucketBits).toBe(4); // 2 entries: load < 1, fresh choice
  });

  it("buildTable reports two entries with the same (bucket, fingerprint) so the compiler can reseed", () => {
    const keys1 = Uint32Array.of(0x1000_0000, 0x1000_0001, 0x2000_0000);
    expect(buildTable(4, keys1, Uint32Array.of(5, 5, 5), new Uint8Array(3))).toBeNull();
    const table = buildTable(4, keys1, Uint32Array.of(9, 5, 5), Uint8Array.of(1, 2, 3));
    expect(table?.fingerprints).toEqual(Uint32Array.of(5, 9, 5));
    expect(table?.meta).toEqual(Uint8Array.of(2, 1, 3));
    expect(table?.offsets[1]).toBe(0);
    expect(table?.offsets[2]).toBe(2);
    expect(table?.offsets[16]).toBe(3);
  });
});
