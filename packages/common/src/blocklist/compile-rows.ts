/**
 * Compiling a list straight from PostgreSQL COPY text rows, without a JS string or object per rule.
 *
 * `compileBlocklist` takes rule objects; for a million rules, making those objects (driver rows, rule
 * objects, a Map keyed by domain string) costs more than the rest of compiling. `RuleRowCompiler` is fed
 * the raw bytes of `COPY (SELECT ..., domain, category ...) TO STDOUT` as they arrive, hashes each plain
 * domain from its bytes (hash.ts, right to left) into typed arrays, and at `compile()` builds, encodes and
 * signs with the same code as `compileBlocklist` (`searchSeed`, `assembleList`).
 *
 * Contract: `compile(input)` returns exactly the bytes `compileBlocklist` returns for the same rules, i.e.
 * with `rules` = every row classified as publish.service's rulesFromEntries does ("*.x" wildcard, a name
 * with '*' or '?' a pattern, otherwise a block domain), `input.allow` as the allowlist and `seed` as the
 * start seed; and it throws the same BlocklistFormatError (code and message) for the same bad input.
 *
 * Rows: COPY text format, one row per line, columns separated by TAB; the LAST two columns are the domain
 * and the category, any columns before them are ignored (the publisher adds a tag column for its digest).
 * Backslash escapes are decoded on the rare path only (no valid domain or category contains a backslash);
 * NULL (`\N`) is refused: the query must coalesce a missing category.
 * Equal domains must be adjacent (ORDER BY domain gives that; blocklist_entries.domain is UNIQUE anyway):
 * adjacent duplicates keep the lowest category index like `compileBlocklist`; non-adjacent duplicates of a
 * block domain make every seed collide, so compile() fails with "no collision-free hash seed".
 *
 * Memory: the row bytes are kept until compile() (about 25 MB for a million rows) so that the rare seed
 * retry (~1e-3 per attempt at 1M entries) can hash them again; plus 9 bytes per block entry.
 */
import { BlocklistFormatError } from "./errors";
import {
  assembleList,
  type CompileHeaderInput,
  DEFAULT_SEED,
  type DomainRule,
  hashDomains,
  indexAllowDomains,
  indexDomainRules,
  indexPatterns,
  orderCategoryNames,
  type PatternRule,
  previousBucketBitsFor,
  searchSeed,
  type TableKind,
  validateCompileHeader,
} from "./format";
import {
  finalizeK1,
  finalizeK2,
  initialLane1,
  initialLane2,
  MAX_LABEL_LENGTH,
  MAX_NAME_LENGTH,
  type SuffixHasher,
} from "./hash";
import { buildTable, chooseBucketBits, type HashTable } from "./table";

const NEWLINE = 0x0a;
const TAB = 0x09;
const BACKSLASH = 0x5c;
/** Rows are gathered into batches of about this size: one parse loop and one digest update per batch. */
const BATCH_BYTES = 1 << 20;
/** Byte classes of a normalized domain: 1 = a-z 0-9 '-' '_', 2 = '.', 0 = anything else (rare path). */
const NAME_CHAR = 1;
const NAME_DOT = 2;
const CLASS = new Uint8Array(256);
for (let code = 0x61; code <= 0x7a; code++) CLASS[code] = NAME_CHAR;
for (let code = 0x30; code <= 0x39; code++) CLASS[code] = NAME_CHAR;
CLASS[0x2d] = NAME_CHAR;
CLASS[0x5f] = NAME_CHAR;
CLASS[0x2e] = NAME_DOT;

export interface RuleRowCompilerOptions {
  /**
   * First hash seed to try (the previous version's, to keep deltas possible). May instead be given later
   * with `setSeed` (rows are collected unparsed until then); DEFAULT_SEED if never given.
   */
  readonly seed?: number;
  /** About how many rows will come (e.g. the previous version's entry count): sizes the key arrays once. */
  readonly expectedRows?: number;
  /**
   * Called with the row bytes exactly as pushed, in order, in line-aligned batches (every byte once), e.g.
   * to hash them for a digest. The view is only valid during the call.
   */
  readonly onBatch?: (rows: Uint8Array) => void;
}

/** `compile()` input: `compileBlocklist`'s, with the allowlist in place of the rules. */
export interface RowCompileInput extends Omit<CompileHeaderInput, "seed"> {
  readonly allow: readonly string[];
}

/** Feed rows with `push` (and the seed, if not given at construction, with `setSeed`), then `end()`, then `compile()`. Single use. */
export class RuleRowCompiler {
  private startSeed: number | null = null;
  private readonly onBatch: ((rows: Uint8Array) => void) | undefined;
  private readonly capacity: number;
  /** Line-aligned batches received so far, kept for a seed retry (and until the seed is known). */
  private readonly batches: Uint8Array[] = [];
  private pending = new Uint8Array(BATCH_BYTES);
  private pendingLength = 0;
  private ended = false;
  private rows = 0;
  /** Null until the seed is known. */
  private parsing: RowParse | null = null;

  constructor(options: RuleRowCompilerOptions = {}) {
    this.onBatch = options.onBatch;
    this.capacity = Math.min(Math.max(Math.ceil(options.expectedRows ?? 0) + 1024, 1 << 16), 1 << 26);
    if (options.seed !== undefined) this.setSeed(options.seed);
  }

  /** The first seed to try, when not given to the constructor; parses the rows collected so far. Once. */
  setSeed(seed: number): void {
    if (this.startSeed !== null) throw new Error("RuleRowCompiler: the seed is already set");
    this.startSeed = seed;
    this.parsing = new RowParse(seed, this.capacity);
    for (const batch of this.batches) this.rows += this.parsing.rows(batch);
  }

  private get parse(): RowParse {
    if (this.parsing === null) throw new Error("RuleRowCompiler: compile before end");
    return this.parsing;
  }

  /** Rows received (every rule, of every kind; duplicates counted). Complete after `end()`. */
  get rowCount(): number {
    return this.rows;
  }

  /** Append row bytes; chunks may split rows anywhere. */
  push(chunk: Uint8Array): void {
    if (this.ended) throw new Error("RuleRowCompiler: push after end");
    if (this.pendingLength + chunk.length > this.pending.length) {
      this.flush(false);
      if (this.pendingLength + chunk.length > this.pending.length) {
        // A chunk larger than a batch: grow this batch rather than split the copy.
        const grown = new Uint8Array(this.pendingLength + chunk.length);
        grown.set(this.pending.subarray(0, this.pendingLength));
        this.pending = grown;
      }
    }
    this.pending.set(chunk, this.pendingLength);
    this.pendingLength += chunk.length;
  }

  /** No more rows. Throws BLOCKLIST_INVALID_RULE when the last row has no line end (a truncated stream). */
  end(): void {
    if (this.ended) return;
    this.flush(true);
    if (this.startSeed === null) this.setSeed(DEFAULT_SEED);
    this.ended = true;
  }

  /** Build, encode and sign the list. See the module contract. */
  compile(input: RowCompileInput): Uint8Array {
    if (!this.ended || this.startSeed === null) throw new Error("RuleRowCompiler: compile before end");
    validateCompileHeader({ ...input, seed: this.startSeed });
    // The same checks in the same order as compileBlocklist: categories, block, wildcard, allow, patterns.
    const categories = orderCategoryNames(new Set(this.parse.categoryNames));
    const categoryIndex = new Map(categories.map((name, index) => [name, index]));
    if (this.parse.firstInvalidBlock !== null)
      indexDomainRules([this.parse.firstInvalidBlock], categoryIndex, false); // throws its error
    const wildcard = indexDomainRules(this.parse.wildcard, categoryIndex, true);
    const allow = indexAllowDomains(input.allow);
    const patterns = indexPatterns(this.parse.patterns, categoryIndex);
    const bucketBits: Record<TableKind, number> = {
      block: chooseBucketBits(this.parse.blockCount, previousBucketBitsFor(input, "block")),
      wildcard: chooseBucketBits(wildcard.size, previousBucketBitsFor(input, "wildcard")),
      allow: chooseBucketBits(allow.size, previousBucketBitsFor(input, "allow")),
    };
    const blockMeta = this.blockMeta(categoryIndex);
    const { seed, tables } = searchSeed((kind: TableKind, hasher: SuffixHasher): HashTable | null => {
      if (kind === "block") {
        if (hasher.seed !== this.parse.seed) this.reparse(hasher.seed);
        const count = this.parse.blockCount;
        return buildTable(
          bucketBits.block,
          this.parse.keys1.subarray(0, count),
          this.parse.keys2.subarray(0, count),
          blockMeta,
        );
      }
      return hashDomains(hasher, kind === "wildcard" ? wildcard : allow, bucketBits[kind]);
    }, this.startSeed);
    return assembleList(input, seed, tables, patterns, categories);
  }

  /** Final category index of every block entry (lowest of an adjacent duplicate's categories). */
  private blockMeta(categoryIndex: ReadonlyMap<string, number>): Uint8Array {
    const { categoryNames, blockCount } = this.parse;
    const final = new Uint8Array(categoryNames.length);
    categoryNames.forEach((name, provisional) => {
      final[provisional] = categoryIndex.get(name)!;
    });
    const provisional = this.parse.meta;
    const meta = new Uint8Array(blockCount);
    for (let i = 0; i < blockCount; i++) meta[i] = final[provisional[i]!]!;
    const { duplicateOf, duplicateCategory } = this.parse;
    for (let d = 0; d < duplicateOf.length; d++) {
      const entry = duplicateOf[d]!;
      meta[entry] = Math.min(meta[entry]!, final[duplicateCategory[d]!]!);
    }
    return meta;
  }

  /** Hash every kept row again with another seed (a collision under the previous one). */
  private reparse(seed: number): void {
    this.parsing = new RowParse(seed, this.capacity);
    for (const batch of this.batches) this.parsing.rows(batch);
  }

  /** Hand every complete line of `pending` to the parser; `final`: there is no more input. */
  private flush(final: boolean): void {
    const bytes = this.pending;
    let end = this.pendingLength;
    while (end > 0 && bytes[end - 1] !== NEWLINE) end--;
    if (final && end !== this.pendingLength) {
      throw new BlocklistFormatError(
        "BLOCKLIST_INVALID_RULE",
        "rule rows end inside a row (stream truncated?)",
      );
    }
    if (end === 0) return;
    const batch = bytes.subarray(0, end);
    this.onBatch?.(batch);
    if (this.parsing !== null) this.rows += this.parsing.rows(batch);
    this.batches.push(batch);
    // The batch stays referenced: the rest of the line moves to a fresh buffer.
    const rest = this.pendingLength - end;
    this.pending = new Uint8Array(Math.max(BATCH_BYTES, rest * 2));
    this.pending.set(bytes.subarray(end, end + rest));
    this.pendingLength = rest;
  }
}

/** The state of hashing every row with one seed. */
class RowParse {
  readonly seed: number;
  private readonly lane1: number;
  private readonly lane2: number;
  /** Full-name keys and provisional category ids of block entries, in row order (duplicates dropped). */
  keys1: Uint32Array;
  keys2: Uint32Array;
  meta: Uint8Array;
  blockCount = 0;
  /** Provisional category id -> name, in order of first use; the raw COPY bytes of each, for lookup. */
  readonly categoryNames: string[] = [];
  private readonly categoryBytes: Uint8Array[] = [];
  /** Adjacent duplicate block rows: the entry they repeat, and their provisional category. */
  readonly duplicateOf: number[] = [];
  readonly duplicateCategory: number[] = [];
  /** Rules that are not plain valid domains, as rule objects for format.ts (rare). */
  readonly wildcard: DomainRule[] = [];
  readonly patterns: PatternRule[] = [];
  firstInvalidBlock: DomainRule | null = null;
  /** The previous block entry, for the adjacent-duplicate check. */
  private lastBatch: Uint8Array | null = null;
  private lastStart = 0;
  private lastEnd = 0;

  constructor(seed: number, capacity: number) {
    this.keys1 = new Uint32Array(capacity);
    this.keys2 = new Uint32Array(capacity);
    this.meta = new Uint8Array(capacity);
    this.seed = seed >>> 0;
    this.lane1 = initialLane1(this.seed);
    this.lane2 = initialLane2(this.seed);
  }

  /**
   * Parse whole lines (`bytes` ends with a newline); returns how many. Per row: find the line end, the
   * category (back to the last TAB) and hash the domain right to left from that TAB to the previous
   * TAB, checking its characters and label lengths in the same loop (the checks of assertNormalizedDomain).
   */
  rows(bytes: Uint8Array): number {
    // int32 copies: a uint32 above 2^31 would turn the lane arithmetic into double arithmetic.
    const lane1 = this.lane1 | 0;
    const lane2 = this.lane2 | 0;
    const end = bytes.length;
    let count = 0;
    let pos = 0;
    while (pos < end) {
      let lineEnd = pos;
      while (bytes[lineEnd] !== NEWLINE) lineEnd++;
      let categoryStart = lineEnd;
      while (categoryStart > pos && bytes[categoryStart - 1] !== TAB) categoryStart--;
      if (categoryStart === pos) {
        throw new BlocklistFormatError(
          "BLOCKLIST_INVALID_RULE",
          `rule row ${JSON.stringify(decodeUtf8(bytes, pos, lineEnd))} has no domain and category columns`,
        );
      }
      const category = this.categoryId(bytes, categoryStart, lineEnd);
      const domainEnd = categoryStart - 1;
      let h1 = lane1;
      let h2 = lane2;
      let labelLength = 0;
      let valid = true;
      let p = domainEnd - 1;
      for (; p >= pos; p--) {
        const code = bytes[p]!;
        const cls = CLASS[code]!;
        if (cls === NAME_CHAR) {
          labelLength++;
        } else if (cls === NAME_DOT) {
          if (labelLength === 0 || labelLength > MAX_LABEL_LENGTH) valid = false;
          labelLength = 0;
        } else if (code === TAB) {
          break;
        } else {
          valid = false;
        }
        h1 = Math.imul(h1 ^ code, 0x01000193); // hash.ts FNV_PRIME
        h2 = Math.imul(h2 + code, 0x5bd1e995); // hash.ts LANE2_MULTIPLIER
        h2 ^= h2 >>> 15;
      }
      const domainStart = p + 1;
      if (labelLength === 0 || labelLength > MAX_LABEL_LENGTH || domainEnd - domainStart > MAX_NAME_LENGTH)
        valid = false;
      if (valid) {
        const k1 = finalizeK1(h1, h2);
        this.addBlock(k1, finalizeK2(k1, h2), category, bytes, domainStart, domainEnd);
      } else {
        this.rareRule(decodeField(bytes, domainStart, domainEnd), this.categoryNames[category]!);
      }
      count++;
      pos = lineEnd + 1;
    }
    return count;
  }

  private addBlock(
    k1: number,
    k2: number,
    category: number,
    bytes: Uint8Array,
    start: number,
    end: number,
  ): void {
    const last = this.blockCount - 1;
    if (
      last >= 0 &&
      this.keys1[last] === k1 &&
      this.keys2[last] === k2 &&
      this.lastBatch !== null &&
      sameBytes(this.lastBatch, this.lastStart, this.lastEnd, bytes, start, end)
    ) {
      this.duplicateOf.push(last);
      this.duplicateCategory.push(category);
      return;
    }
    if (this.blockCount === this.keys1.length) this.grow();
    this.keys1[this.blockCount] = k1;
    this.keys2[this.blockCount] = k2;
    this.meta[this.blockCount] = category;
    this.blockCount++;
    this.lastBatch = bytes;
    this.lastStart = start;
    this.lastEnd = end;
  }

  /** A rule that is not a valid plain domain: classified like rulesFromEntries, checked by format.ts. */
  private rareRule(domain: string, category: string): void {
    if (domain.startsWith("*.")) this.wildcard.push({ domain, category });
    else if (domain.includes("*") || domain.includes("?")) this.patterns.push({ pattern: domain, category });
    else this.firstInvalidBlock ??= { domain, category };
  }

  /** Provisional id of the category in bytes[start, end): categories are few, so a linear search. */
  private categoryId(bytes: Uint8Array, start: number, end: number): number {
    const length = end - start;
    const known = this.categoryBytes;
    for (let id = 0; id < known.length; id++) {
      const candidate = known[id]!;
      if (candidate.length === length && sameBytes(candidate, 0, length, bytes, start, end)) return id;
    }
    // Ids past 255 wrap in `meta`: harmless, as more than 256 categories never compile (orderCategoryNames).
    this.categoryBytes.push(bytes.slice(start, end));
    this.categoryNames.push(decodeField(bytes, start, end));
    return known.length - 1;
  }

  private grow(): void {
    const capacity = this.keys1.length * 2;
    const keys1 = new Uint32Array(capacity);
    const keys2 = new Uint32Array(capacity);
    const meta = new Uint8Array(capacity);
    keys1.set(this.keys1);
    keys2.set(this.keys2);
    meta.set(this.meta);
    this.keys1 = keys1;
    this.keys2 = keys2;
    this.meta = meta;
  }
}

function sameBytes(a: Uint8Array, aStart: number, aEnd: number, b: Uint8Array, bStart: number, bEnd: number) {
  if (aEnd - aStart !== bEnd - bStart) return false;
  for (let i = 0; i < aEnd - aStart; i++) if (a[aStart + i] !== b[bStart + i]) return false;
  return true;
}

function decodeUtf8(bytes: Uint8Array, start: number, end: number): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset + start, end - start).toString("utf8");
}

/** One COPY text field as the string the database holds (escapes decoded); NULL is refused. */
function decodeField(bytes: Uint8Array, start: number, end: number): string {
  let backslash = -1;
  for (let i = start; i < end; i++) {
    if (bytes[i] === BACKSLASH) {
      backslash = i;
      break;
    }
  }
  if (backslash < 0) return decodeUtf8(bytes, start, end);
  if (end - start === 2 && bytes[start + 1] === 0x4e) {
    throw new BlocklistFormatError("BLOCKLIST_INVALID_RULE", "a rule row has a NULL domain or category");
  }
  const out: number[] = [];
  for (let i = start; i < end; i++) {
    const code = bytes[i]!;
    if (code !== BACKSLASH || i + 1 >= end) {
      out.push(code);
      continue;
    }
    const next = bytes[++i]!;
    const simple = COPY_ESCAPES[String.fromCharCode(next)];
    if (simple !== undefined) {
      out.push(simple);
    } else if (next >= 0x30 && next <= 0x37) {
      let value = next - 0x30;
      for (
        let digits = 1;
        digits < 3 && i + 1 < end && bytes[i + 1]! >= 0x30 && bytes[i + 1]! <= 0x37;
        digits++
      )
        value = value * 8 + (bytes[++i]! - 0x30);
      out.push(value & 0xff);
    } else if (next === 0x78 && i + 1 < end && isHexDigit(bytes[i + 1]!)) {
      let value = 0;
      for (let digits = 0; digits < 2 && i + 1 < end && isHexDigit(bytes[i + 1]!); digits++)
        value = value * 16 + Number.parseInt(String.fromCharCode(bytes[++i]!), 16);
      out.push(value);
    } else {
      out.push(next); // any other escaped character stands for itself
    }
  }
  return Buffer.from(out).toString("utf8");
}

const COPY_ESCAPES: Readonly<Record<string, number>> = { b: 8, f: 12, n: 10, r: 13, t: 9, v: 11 };

function isHexDigit(code: number): boolean {
  return (code >= 0x30 && code <= 0x39) || (code >= 0x41 && code <= 0x46) || (code >= 0x61 && code <= 0x66);
}
