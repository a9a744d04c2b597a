import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { applyDelta, createDelta } from "./delta";
import { type BlocklistErrorCode, BlocklistFormatError } from "./errors";
import {
  type BlocklistRules,
  type CompileInput,
  compileBlocklist,
  compileHintsFrom,
  KNOWN_CATEGORIES,
  loadBlocklist,
  sha256,
} from "./format";
import {
  bytesEqual,
  newTestKeys,
  randomLabel,
  rulesArbitrary,
  seededRandom,
  withFlippedBit,
} from "./testing";

const keys = newTestKeys();
const otherKeys = newTestKeys();

function errorCode(run: () => unknown): BlocklistErrorCode | "no error" | "other error" {
  try {
    run();
    return "no error";
  } catch (error) {
    return error instanceof BlocklistFormatError ? error.code : "other error";
  }
}

function compile(version: number, rules: BlocklistRules, extra: Partial<CompileInput> = {}): Uint8Array {
  return compileBlocklist({
    version,
    createdAt: 1_700_000_000_000 + version,
    prevHash: null,
    rules,
    privateKey: keys.privateKey,
    ...extra,
  });
}

/** Version N+1 built the way the server does: chained to N, with N's seed and bucket bits. */
function successor(prev: Uint8Array, rules: BlocklistRules): Uint8Array {
  const base = loadBlocklist(prev, keys.publicKey);
  return compile(base.header.version + 1, rules, { prevHash: sha256(prev), ...compileHintsFrom(base) });
}

function syntheticRules(count: number, seed: number, prefix = ""): BlocklistRules {
  const random = seededRandom(seed);
  const block = Array.from({ length: count }, (_, i) => ({
    domain: `${prefix}${randomLabel(random, 4, 12)}${i}.net`,
    category: KNOWN_CATEGORIES[i % 6]!,
  }));
  return {
    block,
    wildcard: [{ domain: "*.w.example", category: "casino" }],
    allow: ["help.example"],
    pattern: [],
  };
}

describe("createDelta / applyDelta", () => {
  it("reproduces N+1 byte for byte for random rule sets (property)", () => {
    fc.assert(
      fc.property(rulesArbitrary, rulesArbitrary, (first, second) => {
        const prev = compile(1, first);
        const next = successor(prev, second);
        const delta = createDelta(prev, next, keys.privateKey);
        expect(bytesEqual(applyDelta(prev, delta, keys.publicKey), next)).toBe(true);
      }),
      { numRuns: 60 },
    );
  });

  it("handles category changes, removals and additions in the same table", () => {
    const prevRules = syntheticRules(3_000, 1);
    const changed = prevRules.block.map((rule, i) => (i % 97 === 0 ? { ...rule, category: "poker" } : rule));
    const nextRules = { ...prevRules, block: [...changed.slice(50), ...syntheticRules(70, 2, "new").block] };
    const prev = compile(1, prevRules);
    const next = successor(prev, nextRules);
    expect(bytesEqual(applyDelta(prev, createDelta(prev, next, keys.privateKey), keys.publicKey), next)).toBe(
      true,
    );
  });

  it("stays under 3% of the full file at 1% churn", () => {
    const prevRules = syntheticRules(100_000, 3);
    const kept = prevRules.block.filter((_, i) => i % 100 !== 0);
    const nextRules = { ...prevRules, block: [...kept, ...syntheticRules(1_000, 4, "added").block] };
    const prev = compile(1, prevRules);
    const next = successor(prev, nextRules);
    const delta = createDelta(prev, next, keys.privateKey);
    expect(delta.length / next.length).toBeLessThan(0.03);
    expect(bytesEqual(applyDelta(prev, delta, keys.publicKey), next)).toBe(true);
  });

  it("refuses every single-bit flip of a delta", () => {
    const prev = compile(1, syntheticRules(300, 5));
    const next = successor(prev, syntheticRules(320, 5));
    const delta = createDelta(prev, next, keys.privateKey);
    const random = seededRandom(6);
    const accepted: number[] = [];
    for (let index = 0; index < delta.length; index++) {
      const flipped = withFlippedBit(delta, index, Math.floor(random() * 8));
      const code = errorCode(() => applyDelta(prev, flipped, keys.publicKey));
      if (code === "no error" || code === "other error") accepted.push(index);
    }
    expect(accepted).toEqual([]);
    expect(errorCode(() => applyDelta(prev, delta.subarray(0, delta.length - 1), keys.publicKey))).toBe(
      "BLOCKLIST_BAD_SIGNATURE",
    );
    expect(errorCode(() => applyDelta(prev, delta.subarray(0, 40), keys.publicKey))).toBe(
      "BLOCKLIST_TRUNCATED",
    );
  });

  it("refuses a delta applied to another base, or signed by another key", () => {
    const prev = compile(1, syntheticRules(200, 7));
    const next = successor(prev, syntheticRules(210, 7));
    const delta = createDelta(prev, next, keys.privateKey);
    const otherBase = compile(1, syntheticRules(200, 8));
    expect(errorCode(() => applyDelta(otherBase, delta, keys.publicKey))).toBe(
      "BLOCKLIST_DELTA_BASE_MISMATCH",
    );
    expect(errorCode(() => applyDelta(prev, delta, otherKeys.publicKey))).toBe("BLOCKLIST_KEY_MISMATCH");
    expect(errorCode(() => createDelta(prev, next, otherKeys.privateKey))).toBe("BLOCKLIST_KEY_MISMATCH");
    expect(errorCode(() => applyDelta(prev, next, keys.publicKey))).toBe("BLOCKLIST_BAD_MAGIC");
  });

  it("declares a delta impossible when the seed or bucket bits differ", () => {
    const prev = compile(1, syntheticRules(2_000, 9));
    const reseeded = compile(2, syntheticRules(2_000, 9), { seed: 12345 });
    expect(errorCode(() => createDelta(prev, reseeded, keys.privateKey))).toBe("BLOCKLIST_DELTA_IMPOSSIBLE");
    const grown = compile(2, syntheticRules(40_000, 9));
    expect(errorCode(() => createDelta(prev, grown, keys.privateKey))).toBe("BLOCKLIST_DELTA_IMPOSSIBLE");
  });
});
