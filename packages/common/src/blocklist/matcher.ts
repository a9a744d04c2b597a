/**
 * Matching names against a loaded blocklist.
 *
 * `matchName` / `matchWire` return a small integer: `(reason << 8) | categoryIndex`. They allocate
 * nothing: hashing writes into the matcher's preallocated arrays and results are plain numbers.
 *
 * Decision procedure for a name with labels l1.l2...ln:
 *   1. Hash every label-boundary suffix in one pass (hash.ts).
 *   2. From the longest suffix (the name itself) to the shortest: probe "block" (EXACT for the name,
 *      PARENT for an ancestor), then "wildcard" (ancestors only: `*.x.com` never matches x.com).
 *      The first hit is the most specific rule; it decides reason and category.
 *   3. If nothing matched and the list has patterns, run them over the whole name (first hit wins, in
 *      the list's pattern order).
 *   4. If something matched, probe "allow" with every suffix: any hit makes the result ALLOWLISTED
 *      (the category of the overridden rule is kept in the low byte, for reporting).
 * A wire name that is malformed (see `SuffixHasher.hashWire`) yields INVALID; so does a string that
 * cannot be a DNS name (empty label, label > 63, name > 253).
 */
import type { BlocklistContent, StoredPattern } from "./format";
import { HASH_INVALID, MAX_WIRE_NAME_LENGTH, SuffixHasher } from "./hash";
import { compilePattern, type GlobPattern } from "./pattern";
import { findEntry, type HashTable } from "./table";

export const MatchReason = {
  NONE: 0,
  EXACT: 1,
  PARENT: 2,
  WILDCARD: 3,
  PATTERN: 4,
  ALLOWLISTED: 5,
  INVALID: 6,
} as const;
export type MatchReason = (typeof MatchReason)[keyof typeof MatchReason];

export const REASON_SHIFT = 8;
const CATEGORY_MASK = 0xff;
const INVALID_CODE = MatchReason.INVALID << REASON_SHIFT;
const DOT = 0x2e;

export function matchReasonOf(code: number): MatchReason {
  return (code >>> REASON_SHIFT) as MatchReason;
}

export function matchCategoryOf(code: number): number {
  return code & CATEGORY_MASK;
}

/** True for EXACT, PARENT, WILDCARD and PATTERN; false for NONE, ALLOWLISTED and INVALID. */
export function isBlockedCode(code: number): boolean {
  const reason = code >>> REASON_SHIFT;
  return reason >= MatchReason.EXACT && reason <= MatchReason.PATTERN;
}

export type ExplainReason = "exact" | "parent" | "wildcard" | "pattern" | "allowlist" | "none" | "invalid";

export interface MatchExplanation {
  readonly blocked: boolean;
  readonly reason: ExplainReason;
  /** Category of the rule that matched (for "allowlist": of the rule the allowlist overrode). */
  readonly category: string | null;
  /**
   * What matched: the listed suffix ("example.com"), the wildcard ("*.example.com"), the pattern text,
   * or for "allowlist" the allowlisted suffix. Null for "none" and "invalid".
   */
  readonly matched: string | null;
}

const EXPLAIN_REASON: Readonly<Record<MatchReason, ExplainReason>> = {
  [MatchReason.NONE]: "none",
  [MatchReason.EXACT]: "exact",
  [MatchReason.PARENT]: "parent",
  [MatchReason.WILDCARD]: "wildcard",
  [MatchReason.PATTERN]: "pattern",
  [MatchReason.ALLOWLISTED]: "allowlist",
  [MatchReason.INVALID]: "invalid",
};

/**
 * Matcher over one loaded list. Holds scratch state, so use one instance per thread of control (in JS:
 * one per list is fine). The list's typed arrays are read, never copied.
 */
export class BlocklistMatcher {
  private readonly hasher: SuffixHasher;
  private readonly blockOffsets: Uint32Array;
  private readonly blockFingerprints: Uint32Array;
  private readonly blockMeta: Uint8Array;
  private readonly blockShift: number;
  private readonly wildcardOffsets: Uint32Array;
  private readonly wildcardFingerprints: Uint32Array;
  private readonly wildcardMeta: Uint8Array;
  private readonly wildcardShift: number;
  private readonly hasWildcards: boolean;
  private readonly allowOffsets: Uint32Array;
  private readonly allowFingerprints: Uint32Array;
  private readonly allowShift: number;
  private readonly hasAllow: boolean;
  private readonly patterns: readonly GlobPattern[];
  private readonly patternCategories: Uint8Array;
  private readonly categories: readonly string[];
  /** Dotted spelling of the current wire name, built only when patterns must run (step 3). */
  private readonly nameBytes = new Uint8Array(MAX_WIRE_NAME_LENGTH);
  // Where the last match came from; read by `explain` only.
  private lastSuffix = -1;
  private lastPattern = -1;
  private lastAllowSuffix = -1;

  constructor(list: BlocklistContent) {
    this.hasher = new SuffixHasher(list.header.seed);
    const { block, wildcard, allow } = list.tables;
    this.blockOffsets = block.offsets;
    this.blockFingerprints = block.fingerprints;
    this.blockMeta = block.meta;
    this.blockShift = shiftOf(block);
    this.wildcardOffsets = wildcard.offsets;
    this.wildcardFingerprints = wildcard.fingerprints;
    this.wildcardMeta = wildcard.meta;
    this.wildcardShift = shiftOf(wildcard);
    this.hasWildcards = wildcard.fingerprints.length > 0;
    this.allowOffsets = allow.offsets;
    this.allowFingerprints = allow.fingerprints;
    this.allowShift = shiftOf(allow);
    this.hasAllow = allow.fingerprints.length > 0;
    this.patterns = list.patterns.map((stored: StoredPattern) => compilePattern(stored.pattern));
    this.patternCategories = Uint8Array.from(list.patterns, (stored) => stored.categoryIndex);
    this.categories = list.categories;
  }

  /** Match a dotted name (A-Z are matched as a-z; one trailing dot is ignored). */
  matchName(name: string): number {
    const count = this.hasher.hashString(name);
    if (count <= 0) return count === HASH_INVALID ? INVALID_CODE : 0;
    let code = this.probeBlockTables(count);
    if (code === 0 && this.patterns.length > 0) {
      code = this.matchPatternsOnString(name, this.hasher.nameLength);
    }
    if (code !== 0 && this.hasAllow && this.isAllowlisted(count)) {
      code = (MatchReason.ALLOWLISTED << REASON_SHIFT) | (code & CATEGORY_MASK);
    }
    return code;
  }

  /** Match the wire-format QNAME at `buf[offset]` (see `SuffixHasher.hashWire` for what is INVALID). */
  matchWire(buf: Uint8Array, offset: number): number {
    const count = this.hasher.hashWire(buf, offset);
    if (count <= 0) return count === HASH_INVALID ? INVALID_CODE : 0;
    let code = this.probeBlockTables(count);
    if (code === 0 && this.patterns.length > 0) {
      code = this.matchPatternsOnWire(buf, count);
    }
    if (code !== 0 && this.hasAllow && this.isAllowlisted(count)) {
      code = (MatchReason.ALLOWLISTED << REASON_SHIFT) | (code & CATEGORY_MASK);
    }
    return code;
  }

  /** Human-oriented account of `matchName(name)`; allocates, not for the hot path. */
  explain(name: string): MatchExplanation {
    this.lastSuffix = -1;
    this.lastPattern = -1;
    this.lastAllowSuffix = -1;
    const code = this.matchName(name);
    const reason = matchReasonOf(code);
    const hasRule = reason !== MatchReason.NONE && reason !== MatchReason.INVALID;
    return {
      blocked: isBlockedCode(code),
      reason: EXPLAIN_REASON[reason],
      category: hasRule ? (this.categories[code & CATEGORY_MASK] ?? null) : null,
      matched: hasRule ? this.describeMatch(name, reason) : null,
    };
  }

  /** Category name for a code's low byte, or null when the index is unknown. */
  categoryName(code: number): string | null {
    return this.categories[code & CATEGORY_MASK] ?? null;
  }

  private describeMatch(name: string, reason: MatchReason): string | null {
    const suffixText = (suffix: number): string =>
      name.slice(this.hasher.suffixStart[suffix], this.hasher.nameLength).toLowerCase();
    if (reason === MatchReason.ALLOWLISTED) return suffixText(this.lastAllowSuffix);
    if (reason === MatchReason.PATTERN) return this.patterns[this.lastPattern]?.source ?? null;
    if (reason === MatchReason.WILDCARD) return `*.${suffixText(this.lastSuffix)}`;
    return suffixText(this.lastSuffix);
  }

  /** Steps 2 of the procedure; `count` >= 1 suffix keys are in the hasher. */
  private probeBlockTables(count: number): number {
    const k1s = this.hasher.suffixK1;
    const k2s = this.hasher.suffixK2;
    const full = count - 1;
    for (let j = full; j >= 0; j--) {
      const k1 = k1s[j]!;
      const k2 = k2s[j]!;
      const blockIndex = findEntry(this.blockOffsets, this.blockFingerprints, this.blockShift, k1, k2);
      if (blockIndex >= 0) {
        this.lastSuffix = j;
        const reason = j === full ? MatchReason.EXACT : MatchReason.PARENT;
        return (reason << REASON_SHIFT) | this.blockMeta[blockIndex]!;
      }
      if (j !== full && this.hasWildcards) {
        const wildcardIndex = findEntry(
          this.wildcardOffsets,
          this.wildcardFingerprints,
          this.wildcardShift,
          k1,
          k2,
        );
        if (wildcardIndex >= 0) {
          this.lastSuffix = j;
          return (MatchReason.WILDCARD << REASON_SHIFT) | this.wildcardMeta[wildcardIndex]!;
        }
      }
    }
    return 0;
  }

  /** Step 4: does any suffix hit the allow table? */
  private isAllowlisted(count: number): boolean {
    const k1s = this.hasher.suffixK1;
    const k2s = this.hasher.suffixK2;
    for (let j = 0; j < count; j++) {
      if (findEntry(this.allowOffsets, this.allowFingerprints, this.allowShift, k1s[j]!, k2s[j]!) >= 0) {
        this.lastAllowSuffix = j;
        return true;
      }
    }
    return false;
  }

  private matchPatternsOnString(name: string, length: number): number {
    for (let p = 0; p < this.patterns.length; p++) {
      if (this.patterns[p]!.matchesString(name, length)) return this.patternCode(p);
    }
    return 0;
  }

  private matchPatternsOnWire(buf: Uint8Array, count: number): number {
    const length = this.copyWireName(buf, count);
    for (let p = 0; p < this.patterns.length; p++) {
      if (this.patterns[p]!.matchesBytes(this.nameBytes, length)) return this.patternCode(p);
    }
    return 0;
  }

  private patternCode(patternIndex: number): number {
    this.lastPattern = patternIndex;
    return (MatchReason.PATTERN << REASON_SHIFT) | this.patternCategories[patternIndex]!;
  }

  /** Dotted spelling of the last hashed wire name into `nameBytes`; returns its length. */
  private copyWireName(buf: Uint8Array, count: number): number {
    let length = 0;
    for (let label = 0; label < count; label++) {
      if (label > 0) this.nameBytes[length++] = DOT;
      const start = this.hasher.wireLabelStart[label]!;
      const labelLength = this.hasher.wireLabelLength[label]!;
      for (let i = 0; i < labelLength; i++) this.nameBytes[length++] = buf[start + i]!;
    }
    return length;
  }
}

function shiftOf(table: HashTable): number {
  return 32 - table.bucketBits;
}
