/**
 * Test support for the blocklist modules: a slow-but-obvious reference matcher, rule generators and
 * shared keys. Not exported from the package index; imported by *.test.ts files only.
 */
import { generateKeyPairSync, type KeyObject } from "node:crypto";
import fc from "fast-check";
import { type BlocklistRules, KNOWN_CATEGORIES } from "./format";
import { MatchReason } from "./matcher";

export interface TestKeys {
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
}

export function newTestKeys(): TestKeys {
  return generateKeyPairSync("ed25519");
}

/** mulberry32, for large deterministic inputs where fast-check would be too slow. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randomLabel(random: () => number, min: number, max: number): string {
  const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
  const length = min + Math.floor(random() * (max - min + 1));
  let label = "";
  for (let i = 0; i < length; i++) label += alphabet[Math.floor(random() * alphabet.length)];
  return label;
}

// Small label pools make parents, children, wildcards and allow entries overlap often.
const LABELS = ["a", "b", "bet", "casino", "www", "x-1", "m"];
const TLDS = ["com", "net", "io"];

/** Names of 1..4 labels drawn from small pools (so random rules and queries collide a lot). */
export const overlappingName: fc.Arbitrary<string> = fc
  .tuple(fc.array(fc.constantFrom(...LABELS), { minLength: 0, maxLength: 3 }), fc.constantFrom(...TLDS))
  .map(([labels, tld]) => [...labels, tld].join("."));

const category = fc.constantFrom(...KNOWN_CATEGORIES);
const PATTERNS = ["*casino*", "bets?.*", "*.bet*.com", "www.a*b*", "*x-1.net", "m.bet.io", "*a*a*a*a*b"];

export const rulesArbitrary: fc.Arbitrary<BlocklistRules> = fc.record({
  block: fc.array(fc.record({ domain: overlappingName, category }), { maxLength: 12 }),
  wildcard: fc.array(fc.record({ domain: overlappingName.map((name) => `*.${name}`), category }), {
    maxLength: 4,
  }),
  allow: fc.array(overlappingName, { maxLength: 3 }),
  pattern: fc.array(fc.record({ pattern: fc.constantFrom(...PATTERNS), category }), { maxLength: 2 }),
});

export interface ReferenceResult {
  readonly reason: MatchReason;
  readonly category: number;
}

/** Glob -> anchored RegExp; fine for the short, trusted patterns used in tests. */
export function globToRegExp(pattern: string): RegExp {
  const body = [...pattern]
    .map((char) => (char === "*" ? ".*" : char === "?" ? "." : char.replace(/[.-]/g, "\\$&")))
    .join("");
  return new RegExp(`^${body}$`, "s");
}

/**
 * The matching rules of matcher.ts, spelled out with Maps and string slicing. Categories are indexes
 * into KNOWN_CATEGORIES (the generators only use those), duplicates keep the lowest index.
 */
export function referenceMatch(rules: BlocklistRules, rawName: string): ReferenceResult {
  const name = rawName.toLowerCase().replace(/\.$/, "");
  const categoryIndex = (category: string): number =>
    (KNOWN_CATEGORIES as readonly string[]).indexOf(category);
  const lowest = (entries: ReadonlyArray<{ domain: string; category: string }>): Map<string, number> => {
    const map = new Map<string, number>();
    for (const { domain, category: cat } of entries) {
      const index = categoryIndex(cat);
      map.set(domain, Math.min(index, map.get(domain) ?? index));
    }
    return map;
  };
  const block = lowest(rules.block);
  const wildcard = lowest(
    rules.wildcard.map((rule) => ({ ...rule, domain: rule.domain.replace(/^\*\./, "") })),
  );
  const allow = new Set(rules.allow);
  const labels = name.split(".");
  const suffixes = labels.map((_, index) => labels.slice(index).join("."));
  let result: ReferenceResult = { reason: MatchReason.NONE, category: 0 };
  for (const [index, suffix] of suffixes.entries()) {
    const blockCategory = block.get(suffix);
    if (blockCategory !== undefined) {
      result = { reason: index === 0 ? MatchReason.EXACT : MatchReason.PARENT, category: blockCategory };
      break;
    }
    const wildcardCategory = index > 0 ? wildcard.get(suffix) : undefined;
    if (wildcardCategory !== undefined) {
      result = { reason: MatchReason.WILDCARD, category: wildcardCategory };
      break;
    }
  }
  if (result.reason === MatchReason.NONE) {
    const patterns = lowest(rules.pattern.map((rule) => ({ domain: rule.pattern, category: rule.category })));
    for (const pattern of [...patterns.keys()].sort()) {
      if (globToRegExp(pattern).test(name)) {
        result = { reason: MatchReason.PATTERN, category: patterns.get(pattern)! };
        break;
      }
    }
  }
  if (result.reason !== MatchReason.NONE && suffixes.some((suffix) => allow.has(suffix))) {
    result = { reason: MatchReason.ALLOWLISTED, category: result.category };
  }
  return result;
}

/** Flip one bit of a copy. */
export function withFlippedBit(bytes: Uint8Array, byteIndex: number, bit: number): Uint8Array {
  const copy = new Uint8Array(bytes);
  copy[byteIndex]! ^= 1 << bit;
  return copy;
}

/** Byte equality for large arrays (vitest's deep equality walks them element by element, slowly). */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.length).equals(b);
}
