/**
 * The signed binary blocklist ("BBLIST", format version 1) that the device agent loads.
 *
 * All integers are little-endian. File = CONTENT || SIGNATURE, where SIGNATURE is the 64-byte Ed25519
 * signature of CONTENT by the list-signing key.
 *
 * CONTENT header (80 bytes + section table):
 *   off len  field
 *     0   6  magic "BBLIST"
 *     6   2  format version (u16) = 1
 *     8   4  list version (u32), 1, 2, 3, ...
 *    12   4  entry count (u32) = block + wildcard + allow entries + patterns
 *    16   8  created_at, milliseconds since the Unix epoch (u64, <= 2^53 - 1)
 *    24   4  hash seed (u32), see hash.ts
 *    28   4  content length (u32) = file length - 64; tells truncation apart from tampering
 *    32   8  key id = first 8 bytes of SHA-256(raw 32-byte Ed25519 public key)
 *    40  32  prev_hash = SHA-256 of the previous version's COMPLETE file (zeros for version 1)
 *    72   2  section count (u16) = 5
 *    74   6  reserved, zero
 *    80  16 x count  section table: type (u32), offset (u32, from file start), length (u32), reserved (u32)
 * Sections follow in the order below, each starting at an 8-byte aligned offset (zero padding between).
 *
 * Table sections (type 1 "block", 2 "wildcard", 3 "allow"), see table.ts for the lookup:
 *   0  u8  bucket bits B (4..21);  1..3 reserved zero;  4 u32 entry count n
 *   8  u32[2^B + 1] bucket offsets;  then u32[n] fingerprints;  then u8[n] meta (category index)
 *   "block": the name and all its subdomains are blocked (EXACT for the name itself, PARENT below it).
 *   "wildcard": an entry for x.com (written `*.x.com` in rules) blocks strict subdomains of x.com only.
 *   "allow": the name and its subdomains are never blocked; allow wins over every block rule.
 *   Allow meta bytes are 0.
 * Section 4 "pattern": u32 count, then per pattern: u8 category index, u8 length, ASCII bytes.
 * Section 5 "categories": u32 count (<= 256), then per category: u8 length, ASCII bytes. Index order is
 *   the well-known categories first (casino, sports_betting, lottery, poker, bingo, other), then any
 *   other used name in sorted order, so indexes stay stable across versions (deltas stay small).
 *
 * False positives: an unlisted suffix matches a table entry only if its bucket (top B bits of k1) and
 * its 32-bit fingerprint (k2) both equal the entry's: per probe about (average bucket load, ~4) x 2^-32
 * ~= 1e-9; per query about (labels x tables probed) x that, ~1e-8 at worst. Entries of one table
 * never collide with each other: the compiler bumps the seed and rebuilds if they would.
 *
 * Loading (`loadBlocklist`) checks magic, version, lengths, the key id against the pinned key and the
 * signature BEFORE trusting any offset, then checks every section bound and creates typed-array views
 * over the file bytes: no per-entry parsing. Compiling (`compileBlocklist`) is deterministic: equal
 * inputs give equal bytes (Ed25519 signatures are deterministic too).
 */
import { createHash, type KeyObject } from "node:crypto";
import { readFileSync } from "node:fs";
import { keyId, SIGNATURE_LENGTH, sign, verify } from "../crypto/signing";
import { BlocklistFormatError, ensure } from "./errors";
import { HASH_INVALID, MAX_LABEL_LENGTH, MAX_NAME_LENGTH, SuffixHasher } from "./hash";
import { validatePattern } from "./pattern";
import { buildTable, chooseBucketBits, type HashTable, isValidBucketBits, tableEntryCount } from "./table";

export const BLOCKLIST_MAGIC = "BBLIST";
export const BLOCKLIST_FORMAT_VERSION = 1;
export const HEADER_FIXED_LENGTH = 80;
export const SECTION_ENTRY_LENGTH = 16;
export const HASH_LENGTH = 32;
export const DEFAULT_SEED = 0x5eed_b10c;
/** How many seeds the compiler tries before giving up (each retry has probability ~1e-3 at 1M entries). */
const MAX_SEED_ATTEMPTS = 32;

export const KNOWN_CATEGORIES = ["casino", "sports_betting", "lottery", "poker", "bingo", "other"] as const;
const MAX_CATEGORIES = 256;
const CATEGORY_NAME = /^[a-z0-9_]{1,32}$/;

export type TableKind = "block" | "wildcard" | "allow";
export const TABLE_KINDS: readonly TableKind[] = ["block", "wildcard", "allow"];

export const SECTION_TYPE = { block: 1, wildcard: 2, allow: 3, pattern: 4, categories: 5 } as const;
type SectionName = keyof typeof SECTION_TYPE;
const SECTION_ORDER: readonly SectionName[] = ["block", "wildcard", "allow", "pattern", "categories"];

export interface DomainRule {
  /** Normalized name: lowercase ASCII/punycode, no trailing dot. Wildcard rules may start with "*.". */
  readonly domain: string;
  readonly category: string;
}

export interface PatternRule {
  readonly pattern: string;
  readonly category: string;
}

export interface BlocklistRules {
  readonly block: readonly DomainRule[];
  readonly wildcard: readonly DomainRule[];
  readonly allow: readonly string[];
  readonly pattern: readonly PatternRule[];
}

/** A pattern as stored in a list: its text and category index. */
export interface StoredPattern {
  readonly pattern: string;
  readonly categoryIndex: number;
}

/** Header fields of a list (content header without the section table). */
export interface BlocklistHeader {
  readonly formatVersion: number;
  readonly version: number;
  readonly entryCount: number;
  readonly createdAt: number;
  readonly seed: number;
  readonly contentLength: number;
  readonly keyId: Uint8Array;
  readonly prevHash: Uint8Array;
}

/** Structure of a list's content. Obtained from `loadBlocklist` (verified) or `parseContent` (not). */
export interface BlocklistContent {
  readonly header: BlocklistHeader;
  readonly tables: Readonly<Record<TableKind, HashTable>>;
  readonly patterns: readonly StoredPattern[];
  readonly categories: readonly string[];
  /** Raw section payloads, re-emitted verbatim by the delta codec. */
  readonly patternSection: Uint8Array;
  readonly categorySection: Uint8Array;
}

/** A verified, ready-to-match list. All arrays are views over `bytes`. */
export interface LoadedBlocklist extends BlocklistContent {
  /** The complete file (content || signature), 8-byte aligned. */
  readonly bytes: Uint8Array;
  readonly signature: Uint8Array;
}

export function sha256(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(createHash("sha256").update(bytes).digest());
}

function align8(value: number): number {
  return (value + 7) & ~7;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.from(a.buffer, a.byteOffset, a.length).equals(b);
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString("hex");
}

// ---------------------------------------------------------------------------------------------------
// Loading

export interface LoadOptions {
  /** When given, the list's prev_hash must equal it (SHA-256 of the list it replaces). */
  readonly expectedPrevHash?: Uint8Array;
}

/**
 * Verify and map a list. Throws `BlocklistFormatError` (BAD_MAGIC, UNSUPPORTED_VERSION, TRUNCATED,
 * CORRUPT, KEY_MISMATCH, BAD_SIGNATURE, CHAIN_MISMATCH) on any problem; on success every table is a
 * typed-array view over `bytes` (or over an aligned copy when `bytes.byteOffset` is not 8-aligned).
 */
export function loadBlocklist(
  bytes: Uint8Array,
  pinnedPublicKey: KeyObject,
  options: LoadOptions = {},
): LoadedBlocklist {
  const file = bytes.byteOffset % 8 === 0 ? bytes : new Uint8Array(bytes);
  const contentLength = checkEnvelope(file);
  const content = file.subarray(0, contentLength);
  const signature = file.subarray(contentLength);
  const listKeyId = file.subarray(32, 40);
  const pinnedKeyId = keyId(pinnedPublicKey);
  ensure(
    sameBytes(listKeyId, pinnedKeyId),
    "BLOCKLIST_KEY_MISMATCH",
    `blocklist is signed by key ${hex(listKeyId)}, but the pinned key is ${hex(pinnedKeyId)}`,
  );
  ensure(
    verify(content, signature, pinnedPublicKey),
    "BLOCKLIST_BAD_SIGNATURE",
    "blocklist signature does not verify with the pinned key (file tampered with or corrupted)",
  );
  const parsed = parseContent(content);
  if (options.expectedPrevHash !== undefined) {
    ensure(
      sameBytes(parsed.header.prevHash, options.expectedPrevHash),
      "BLOCKLIST_CHAIN_MISMATCH",
      `blocklist version ${parsed.header.version} does not follow the list held (prev_hash ${hex(parsed.header.prevHash)})`,
    );
  }
  return { ...parsed, bytes: file, signature };
}

/** `readFileSync` + `loadBlocklist`. */
export function loadBlocklistFile(
  path: string,
  pinnedPublicKey: KeyObject,
  options?: LoadOptions,
): LoadedBlocklist {
  return loadBlocklist(readFileSync(path), pinnedPublicKey, options);
}

/** Throws CHAIN_MISMATCH unless `next` declares `previousFile` (complete bytes) as its predecessor. */
export function verifyChain(previousFile: Uint8Array, next: BlocklistContent): void {
  ensure(
    sameBytes(next.header.prevHash, sha256(previousFile)),
    "BLOCKLIST_CHAIN_MISMATCH",
    `blocklist version ${next.header.version} was not built on top of the given previous list`,
  );
}

/** Magic, version and declared length; returns the content length. */
function checkEnvelope(file: Uint8Array): number {
  ensure(
    file.length >= BLOCKLIST_MAGIC.length,
    "BLOCKLIST_TRUNCATED",
    `blocklist is only ${file.length} bytes`,
  );
  ensure(startsWithMagic(file, BLOCKLIST_MAGIC), "BLOCKLIST_BAD_MAGIC", "not a blocklist (bad magic)");
  ensure(
    file.length >= HEADER_FIXED_LENGTH + SIGNATURE_LENGTH,
    "BLOCKLIST_TRUNCATED",
    `blocklist is ${file.length} bytes, shorter than a header and signature`,
  );
  const view = dataView(file);
  const formatVersion = view.getUint16(6, true);
  ensure(
    formatVersion === BLOCKLIST_FORMAT_VERSION,
    "BLOCKLIST_UNSUPPORTED_VERSION",
    `blocklist format version ${formatVersion} is not supported (expected ${BLOCKLIST_FORMAT_VERSION})`,
  );
  const contentLength = view.getUint32(28, true);
  ensure(
    file.length >= contentLength + SIGNATURE_LENGTH,
    "BLOCKLIST_TRUNCATED",
    `blocklist is truncated: ${file.length} bytes, header announces ${contentLength + SIGNATURE_LENGTH}`,
  );
  ensure(
    file.length === contentLength + SIGNATURE_LENGTH && contentLength >= HEADER_FIXED_LENGTH,
    "BLOCKLIST_CORRUPT",
    `blocklist is ${file.length} bytes, header announces ${contentLength + SIGNATURE_LENGTH}`,
  );
  return contentLength;
}

export function startsWithMagic(bytes: Uint8Array, magic: string): boolean {
  if (bytes.length < magic.length) return false;
  for (let i = 0; i < magic.length; i++) if (bytes[i] !== magic.charCodeAt(i)) return false;
  return true;
}

function dataView(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * Structural parse of CONTENT (no signature check: callers must have authenticated the bytes, by
 * signature or by a signed hash). Contract: `content.byteOffset` is 8-aligned.
 */
export function parseContent(content: Uint8Array): BlocklistContent {
  ensure(content.byteOffset % 8 === 0, "BLOCKLIST_CORRUPT", "blocklist content is not 8-byte aligned");
  ensure(content.length >= HEADER_FIXED_LENGTH, "BLOCKLIST_TRUNCATED", "blocklist header is truncated");
  const header = parseHeader(content);
  const sections = parseSectionTable(content);
  const categorySection = sections.categories;
  const categories = parseCategories(categorySection);
  const patternSection = sections.pattern;
  const patterns = parsePatterns(patternSection, categories.length);
  const tables = {
    block: parseTable(sections.block, "block"),
    wildcard: parseTable(sections.wildcard, "wildcard"),
    allow: parseTable(sections.allow, "allow"),
  };
  const entries = TABLE_KINDS.reduce((sum, kind) => sum + tableEntryCount(tables[kind]), patterns.length);
  ensure(
    entries === header.entryCount,
    "BLOCKLIST_CORRUPT",
    `blocklist header announces ${header.entryCount} entries, sections hold ${entries}`,
  );
  return { header, tables, patterns, categories, patternSection, categorySection };
}

function parseHeader(content: Uint8Array): BlocklistHeader {
  const view = dataView(content);
  const createdAt = view.getBigUint64(16, true);
  ensure(
    createdAt <= BigInt(Number.MAX_SAFE_INTEGER),
    "BLOCKLIST_CORRUPT",
    "blocklist created_at is out of range",
  );
  const contentLength = view.getUint32(28, true);
  ensure(contentLength === content.length, "BLOCKLIST_CORRUPT", "blocklist content length does not match");
  return {
    formatVersion: view.getUint16(6, true),
    version: view.getUint32(8, true),
    entryCount: view.getUint32(12, true),
    createdAt: Number(createdAt),
    seed: view.getUint32(24, true),
    contentLength,
    keyId: content.subarray(32, 40),
    prevHash: content.subarray(40, 72),
  };
}

/** Returns each section's payload; checks count, types, alignment, order, overlap and bounds. */
function parseSectionTable(content: Uint8Array): Record<SectionName, Uint8Array> {
  const view = dataView(content);
  const count = view.getUint16(72, true);
  ensure(count === SECTION_ORDER.length, "BLOCKLIST_CORRUPT", `blocklist has ${count} sections, expected 5`);
  const tableEnd = HEADER_FIXED_LENGTH + count * SECTION_ENTRY_LENGTH;
  ensure(tableEnd <= content.length, "BLOCKLIST_TRUNCATED", "blocklist section table is truncated");
  const payloads: Partial<Record<SectionName, Uint8Array>> = {};
  let previousEnd = align8(tableEnd);
  for (let index = 0; index < count; index++) {
    const entry = HEADER_FIXED_LENGTH + index * SECTION_ENTRY_LENGTH;
    const name = SECTION_ORDER[index]!;
    const type = view.getUint32(entry, true);
    const offset = view.getUint32(entry + 4, true);
    const length = view.getUint32(entry + 8, true);
    ensure(
      type === SECTION_TYPE[name],
      "BLOCKLIST_CORRUPT",
      `section ${index} has type ${type}, expected ${name}`,
    );
    ensure(
      offset % 8 === 0 && offset >= previousEnd,
      "BLOCKLIST_CORRUPT",
      `section ${name} at ${offset} is misaligned or overlaps`,
    );
    ensure(offset + length <= content.length, "BLOCKLIST_TRUNCATED", `section ${name} runs past the end`);
    payloads[name] = content.subarray(offset, offset + length);
    previousEnd = offset + length;
  }
  return payloads as Record<SectionName, Uint8Array>;
}

/** Views over one table section; validates B, lengths and the bucket offset array. */
function parseTable(payload: Uint8Array, name: TableKind): HashTable {
  ensure(payload.length >= 8, "BLOCKLIST_CORRUPT", `${name} table header is truncated`);
  const view = dataView(payload);
  const bucketBits = view.getUint8(0);
  const entryCount = view.getUint32(4, true);
  ensure(
    isValidBucketBits(bucketBits),
    "BLOCKLIST_CORRUPT",
    `${name} table has invalid bucket bits ${bucketBits}`,
  );
  const offsetCount = 2 ** bucketBits + 1;
  ensure(
    payload.length === tableSectionLength(bucketBits, entryCount),
    "BLOCKLIST_CORRUPT",
    `${name} table length ${payload.length} does not match ${entryCount} entries`,
  );
  const base = payload.byteOffset;
  const offsets = new Uint32Array(payload.buffer, base + 8, offsetCount);
  const fingerprintStart = base + 8 + offsetCount * 4;
  const fingerprints = new Uint32Array(payload.buffer, fingerprintStart, entryCount);
  const meta = new Uint8Array(payload.buffer, fingerprintStart + entryCount * 4, entryCount);
  ensure(
    bucketOffsetsAreValid(offsets, entryCount),
    "BLOCKLIST_CORRUPT",
    `${name} table bucket offsets are invalid`,
  );
  return { bucketBits, offsets, fingerprints, meta };
}

/** offsets[0] = 0, non-decreasing, offsets[last] = n: guarantees every probe stays in bounds. */
function bucketOffsetsAreValid(offsets: Uint32Array, entryCount: number): boolean {
  if (offsets[0] !== 0 || offsets[offsets.length - 1] !== entryCount) return false;
  for (let b = 1; b < offsets.length; b++) if (offsets[b]! < offsets[b - 1]!) return false;
  return true;
}

export function tableSectionLength(bucketBits: number, entryCount: number): number {
  return 8 + (2 ** bucketBits + 1) * 4 + entryCount * 5;
}

function parseCategories(payload: Uint8Array): string[] {
  const reader = new PayloadReader(payload, "categories");
  const count = reader.u32();
  ensure(count <= MAX_CATEGORIES, "BLOCKLIST_CORRUPT", `blocklist declares ${count} categories`);
  const categories: string[] = [];
  for (let i = 0; i < count; i++) categories.push(reader.shortString());
  reader.expectEnd();
  return categories;
}

function parsePatterns(payload: Uint8Array, categoryCount: number): StoredPattern[] {
  const reader = new PayloadReader(payload, "pattern");
  const count = reader.u32();
  const patterns: StoredPattern[] = [];
  for (let i = 0; i < count; i++) {
    const categoryIndex = reader.u8();
    const pattern = reader.shortString();
    ensure(
      categoryIndex < categoryCount,
      "BLOCKLIST_CORRUPT",
      `pattern ${i} has unknown category ${categoryIndex}`,
    );
    try {
      validatePattern(pattern);
    } catch (error) {
      throw new BlocklistFormatError("BLOCKLIST_CORRUPT", `stored ${(error as Error).message}`);
    }
    patterns.push({ pattern, categoryIndex });
  }
  reader.expectEnd();
  return patterns;
}

/** Bounds-checked little-endian reader over a small section payload. */
class PayloadReader {
  private position = 0;

  constructor(
    private readonly bytes: Uint8Array,
    private readonly what: string,
  ) {}

  private take(length: number): number {
    ensure(
      this.position + length <= this.bytes.length,
      "BLOCKLIST_CORRUPT",
      `${this.what} section ends inside an entry`,
    );
    const start = this.position;
    this.position += length;
    return start;
  }

  u8(): number {
    return this.bytes[this.take(1)]!;
  }

  u32(): number {
    const at = this.take(4);
    return dataView(this.bytes).getUint32(at, true);
  }

  /** u8 length + ASCII bytes. */
  shortString(): string {
    const length = this.u8();
    const start = this.take(length);
    return Buffer.from(this.bytes.buffer, this.bytes.byteOffset + start, length).toString("latin1");
  }

  expectEnd(): void {
    ensure(
      this.position === this.bytes.length,
      "BLOCKLIST_CORRUPT",
      `${this.what} section has trailing bytes`,
    );
  }
}

// ---------------------------------------------------------------------------------------------------
// Encoding (shared by the compiler and the delta codec, so both produce identical bytes)

export interface ContentParts {
  readonly version: number;
  readonly createdAt: number;
  readonly seed: number;
  readonly keyId: Uint8Array;
  readonly prevHash: Uint8Array;
  readonly tables: Readonly<Record<TableKind, HashTable>>;
  readonly patternSection: Uint8Array;
  readonly categorySection: Uint8Array;
}

/** Serialize CONTENT (everything but the signature). Deterministic in its inputs. */
export function encodeContent(parts: ContentParts): Uint8Array {
  const sectionCount = SECTION_ORDER.length;
  const payloadLengths: Record<SectionName, number> = {
    block: tableSectionLength(parts.tables.block.bucketBits, tableEntryCount(parts.tables.block)),
    wildcard: tableSectionLength(parts.tables.wildcard.bucketBits, tableEntryCount(parts.tables.wildcard)),
    allow: tableSectionLength(parts.tables.allow.bucketBits, tableEntryCount(parts.tables.allow)),
    pattern: parts.patternSection.length,
    categories: parts.categorySection.length,
  };
  const offsets: Partial<Record<SectionName, number>> = {};
  let contentLength = HEADER_FIXED_LENGTH + sectionCount * SECTION_ENTRY_LENGTH;
  for (const name of SECTION_ORDER) {
    offsets[name] = align8(contentLength);
    contentLength = offsets[name] + payloadLengths[name];
  }
  const content = new Uint8Array(contentLength);
  const view = dataView(content);
  writeHeader(content, view, parts, contentLength);
  SECTION_ORDER.forEach((name, index) => {
    const entry = HEADER_FIXED_LENGTH + index * SECTION_ENTRY_LENGTH;
    view.setUint32(entry, SECTION_TYPE[name], true);
    view.setUint32(entry + 4, offsets[name]!, true);
    view.setUint32(entry + 8, payloadLengths[name], true);
  });
  for (const kind of TABLE_KINDS) writeTable(content, offsets[kind]!, parts.tables[kind]);
  content.set(parts.patternSection, offsets.pattern!);
  content.set(parts.categorySection, offsets.categories!);
  return content;
}

function writeHeader(content: Uint8Array, view: DataView, parts: ContentParts, contentLength: number): void {
  for (let i = 0; i < BLOCKLIST_MAGIC.length; i++) content[i] = BLOCKLIST_MAGIC.charCodeAt(i);
  const patternCount =
    parts.patternSection.length >= 4 ? dataView(parts.patternSection).getUint32(0, true) : 0;
  const entryCount = TABLE_KINDS.reduce(
    (sum, kind) => sum + tableEntryCount(parts.tables[kind]),
    patternCount,
  );
  view.setUint16(6, BLOCKLIST_FORMAT_VERSION, true);
  view.setUint32(8, parts.version, true);
  view.setUint32(12, entryCount, true);
  view.setBigUint64(16, BigInt(parts.createdAt), true);
  view.setUint32(24, parts.seed, true);
  view.setUint32(28, contentLength, true);
  content.set(parts.keyId, 32);
  content.set(parts.prevHash, 40);
  view.setUint16(72, SECTION_ORDER.length, true);
}

function writeTable(content: Uint8Array, offset: number, table: HashTable): void {
  const entryCount = tableEntryCount(table);
  const view = dataView(content);
  view.setUint8(offset, table.bucketBits);
  view.setUint32(offset + 4, entryCount, true);
  // Section offsets are 8-aligned and the content buffer starts at 0, so these views are aligned.
  new Uint32Array(content.buffer, content.byteOffset + offset + 8, table.offsets.length).set(table.offsets);
  const fingerprintStart = offset + 8 + table.offsets.length * 4;
  new Uint32Array(content.buffer, content.byteOffset + fingerprintStart, entryCount).set(table.fingerprints);
  content.set(table.meta, fingerprintStart + entryCount * 4);
}

export function encodeCategorySection(categories: readonly string[]): Uint8Array {
  const bytes: number[] = [];
  pushU32(bytes, categories.length);
  for (const name of categories) pushShortString(bytes, name);
  return Uint8Array.from(bytes);
}

export function encodePatternSection(patterns: readonly StoredPattern[]): Uint8Array {
  const bytes: number[] = [];
  pushU32(bytes, patterns.length);
  for (const { pattern, categoryIndex } of patterns) {
    bytes.push(categoryIndex);
    pushShortString(bytes, pattern);
  }
  return Uint8Array.from(bytes);
}

function pushU32(bytes: number[], value: number): void {
  bytes.push(value & 0xff, (value >>> 8) & 0xff, (value >>> 16) & 0xff, (value >>> 24) & 0xff);
}

function pushShortString(bytes: number[], value: string): void {
  bytes.push(value.length);
  for (let i = 0; i < value.length; i++) bytes.push(value.charCodeAt(i));
}

/** CONTENT || Ed25519(CONTENT). */
export function signContent(content: Uint8Array, privateKey: KeyObject): Uint8Array {
  const signature = sign(content, privateKey);
  const file = new Uint8Array(content.length + signature.length);
  file.set(content);
  file.set(signature, content.length);
  return file;
}

// ---------------------------------------------------------------------------------------------------
// Compiling

export interface CompileInput extends CompileHeaderInput {
  readonly rules: BlocklistRules;
}

/** Everything a compiler needs besides the rules (shared by `compileBlocklist` and compile-rows.ts). */
export interface CompileHeaderInput {
  /** List version, >= 1. */
  readonly version: number;
  /** Milliseconds since the Unix epoch. */
  readonly createdAt: number;
  /** SHA-256 of the previous version's complete file; null (= 32 zero bytes) for version 1. */
  readonly prevHash: Uint8Array | null;
  readonly privateKey: KeyObject;
  /**
   * Bucket bits of the previous version's tables (one number = the same hint for every table); each is
   * kept while that table's average load stays within [1, 16], so a delta from the previous version
   * stays possible. See `compileHintsFrom`.
   */
  readonly previousBucketBits?: number | Partial<Readonly<Record<TableKind, number>>>;
  /** First hash seed to try (pass the previous version's seed to keep deltas possible). */
  readonly seed?: number;
}

/** The hints that keep version N+1 delta-compatible with N: its seed and bucket bits. */
export function compileHintsFrom(list: BlocklistContent): {
  seed: number;
  previousBucketBits: Record<TableKind, number>;
} {
  return {
    seed: list.header.seed,
    previousBucketBits: {
      block: list.tables.block.bucketBits,
      wildcard: list.tables.wildcard.bucketBits,
      allow: list.tables.allow.bucketBits,
    },
  };
}

/**
 * Compile and sign a list. Deterministic: equal inputs (rules in any order) give equal bytes.
 * Duplicate domains within a table keep the lowest category index; a domain may appear in several
 * tables. Throws BLOCKLIST_INVALID_RULE / BLOCKLIST_INVALID_PATTERN on bad input.
 */
export function compileBlocklist(input: CompileInput): Uint8Array {
  validateCompileHeader(input);
  const categories = orderCategories(input.rules);
  const categoryIndex = new Map(categories.map((name, index) => [name, index]));
  const byTable: Record<TableKind, Map<string, number>> = {
    block: indexDomainRules(input.rules.block, categoryIndex, false),
    wildcard: indexDomainRules(input.rules.wildcard, categoryIndex, true),
    allow: indexAllowDomains(input.rules.allow),
  };
  const patterns = indexPatterns(input.rules.pattern, categoryIndex);
  const bucketBits = Object.fromEntries(
    TABLE_KINDS.map((kind) => [
      kind,
      chooseBucketBits(byTable[kind].size, previousBucketBitsFor(input, kind)),
    ]),
  ) as Record<TableKind, number>;
  const { seed, tables } = buildTablesWithFreshSeed(byTable, bucketBits, input.seed ?? DEFAULT_SEED);
  return assembleList(input, seed, tables, patterns, categories);
}

/** Encode and sign a compiled list: the common tail of both compilers, so their bytes cannot drift apart. */
export function assembleList(
  input: CompileHeaderInput,
  seed: number,
  tables: Readonly<Record<TableKind, HashTable>>,
  patterns: readonly StoredPattern[],
  categories: readonly string[],
): Uint8Array {
  const content = encodeContent({
    version: input.version,
    createdAt: input.createdAt,
    seed,
    keyId: keyId(input.privateKey),
    prevHash: input.prevHash ?? new Uint8Array(HASH_LENGTH),
    tables,
    patternSection: encodePatternSection(patterns),
    categorySection: encodeCategorySection(categories),
  });
  return signContent(content, input.privateKey);
}

/** The bucket-bits hint of `input` for one table (see `CompileHeaderInput.previousBucketBits`). */
export function previousBucketBitsFor(input: CompileHeaderInput, kind: TableKind): number | undefined {
  const hint = input.previousBucketBits;
  return typeof hint === "number" ? hint : hint?.[kind];
}

function invalidRule(message: string): never {
  throw new BlocklistFormatError("BLOCKLIST_INVALID_RULE", message);
}

/** Throws BLOCKLIST_INVALID_RULE for a version, createdAt, prevHash or seed a list cannot carry. */
export function validateCompileHeader(input: CompileHeaderInput): void {
  if (!Number.isInteger(input.version) || input.version < 1 || input.version > 0xffff_ffff) {
    invalidRule(`list version must be an integer in [1, 2^32), got ${input.version}`);
  }
  if (!Number.isSafeInteger(input.createdAt) || input.createdAt < 0) {
    invalidRule(`createdAt must be a non-negative integer of milliseconds, got ${input.createdAt}`);
  }
  if (input.prevHash !== null && input.prevHash.length !== HASH_LENGTH) {
    invalidRule(`prevHash must be ${HASH_LENGTH} bytes, got ${input.prevHash.length}`);
  }
  if (
    input.seed !== undefined &&
    (!Number.isInteger(input.seed) || input.seed < 0 || input.seed > 0xffff_ffff)
  ) {
    invalidRule(`seed must be a u32, got ${input.seed}`);
  }
}

/** Well-known categories first (stable indexes), then every other used category, sorted. */
function orderCategories(rules: BlocklistRules): string[] {
  const used = new Set<string>();
  for (const rule of rules.block) used.add(rule.category);
  for (const rule of rules.wildcard) used.add(rule.category);
  for (const rule of rules.pattern) used.add(rule.category);
  return orderCategoryNames(used);
}

/**
 * The category table for the categories `used` by block, wildcard and pattern rules: well-known ones first,
 * then the others sorted. Throws BLOCKLIST_INVALID_RULE for a bad name or more than 256 categories.
 */
export function orderCategoryNames(used: ReadonlySet<string>): string[] {
  const known = new Set<string>(KNOWN_CATEGORIES);
  const extra = [...used].filter((name) => !known.has(name)).sort();
  for (const name of extra) {
    if (!CATEGORY_NAME.test(name))
      invalidRule(`category ${JSON.stringify(name)} must match ${CATEGORY_NAME}`);
  }
  const categories = [...KNOWN_CATEGORIES, ...extra];
  if (categories.length > MAX_CATEGORIES) invalidRule(`at most ${MAX_CATEGORIES} categories are supported`);
  return categories;
}

/** domain -> lowest category index. Wildcard rules may be written "*.x.com" or "x.com". */
export function indexDomainRules(
  rules: readonly DomainRule[],
  categoryIndex: ReadonlyMap<string, number>,
  isWildcard: boolean,
): Map<string, number> {
  const byDomain = new Map<string, number>();
  for (const rule of rules) {
    const domain = isWildcard && rule.domain.startsWith("*.") ? rule.domain.slice(2) : rule.domain;
    assertNormalizedDomain(domain);
    const index = categoryIndex.get(rule.category)!;
    const existing = byDomain.get(domain);
    if (existing === undefined || index < existing) byDomain.set(domain, index);
  }
  return byDomain;
}

/** Allow entries carry no category: meta byte 0. */
export function indexAllowDomains(domains: readonly string[]): Map<string, number> {
  const byDomain = new Map<string, number>();
  for (const domain of domains) {
    assertNormalizedDomain(domain);
    byDomain.set(domain, 0);
  }
  return byDomain;
}

/**
 * Contract check for compiler input: lowercase a-z 0-9 '-' '_' labels of 1..63 characters, at most 253
 * characters, no trailing dot. Normalization (IDNA, case) is the caller's job; we refuse rather than guess.
 */
export function assertNormalizedDomain(domain: string): void {
  if (domain.length === 0 || domain.length > MAX_NAME_LENGTH) {
    invalidRule(`domain ${JSON.stringify(domain)} must be 1..${MAX_NAME_LENGTH} characters`);
  }
  let labelLength = 0;
  for (let i = 0; i <= domain.length; i++) {
    const code = i < domain.length ? domain.charCodeAt(i) : 0x2e;
    if (code === 0x2e) {
      if (labelLength === 0 || labelLength > MAX_LABEL_LENGTH) {
        invalidRule(`domain ${JSON.stringify(domain)} has an empty or over-long label`);
      }
      labelLength = 0;
    } else if (isHostnameChar(code)) {
      labelLength++;
    } else {
      invalidRule(
        `domain ${JSON.stringify(domain)} has character ${JSON.stringify(domain[i])}; normalize it first`,
      );
    }
  }
}

function isHostnameChar(code: number): boolean {
  return (code >= 0x61 && code <= 0x7a) || (code >= 0x30 && code <= 0x39) || code === 0x2d || code === 0x5f;
}

/** Validated, de-duplicated patterns sorted by text (lowest category wins for duplicates). */
export function indexPatterns(
  rules: readonly PatternRule[],
  categoryIndex: ReadonlyMap<string, number>,
): StoredPattern[] {
  const byPattern = new Map<string, number>();
  for (const rule of rules) {
    validatePattern(rule.pattern);
    const index = categoryIndex.get(rule.category)!;
    const existing = byPattern.get(rule.pattern);
    if (existing === undefined || index < existing) byPattern.set(rule.pattern, index);
  }
  return [...byPattern.keys()].sort().map((pattern) => ({ pattern, categoryIndex: byPattern.get(pattern)! }));
}

/**
 * Hash every table with `startSeed`, then startSeed+1, ... until no table has two entries with the
 * same (bucket, fingerprint). Deterministic in its inputs.
 */
export function buildTablesWithFreshSeed(
  byTable: Readonly<Record<TableKind, ReadonlyMap<string, number>>>,
  bucketBits: Readonly<Record<TableKind, number>>,
  startSeed: number,
): { seed: number; tables: Record<TableKind, HashTable> } {
  return searchSeed((kind, hasher) => hashDomains(hasher, byTable[kind], bucketBits[kind]), startSeed);
}

/**
 * The seed search shared by both compilers: `build` makes one table with the given hasher's seed (null on
 * a collision); seeds startSeed, startSeed+1, ... are tried, each for every table in TABLE_KINDS order,
 * until all three build. Deterministic as long as `build` is.
 */
export function searchSeed(
  build: (kind: TableKind, hasher: SuffixHasher) => HashTable | null,
  startSeed: number,
): { seed: number; tables: Record<TableKind, HashTable> } {
  for (let attempt = 0; attempt < MAX_SEED_ATTEMPTS; attempt++) {
    const seed = (startSeed + attempt) >>> 0;
    const hasher = new SuffixHasher(seed);
    const tables: Partial<Record<TableKind, HashTable>> = {};
    for (const kind of TABLE_KINDS) {
      const table = build(kind, hasher);
      if (table === null) break;
      tables[kind] = table;
    }
    if (tables.block && tables.wildcard && tables.allow) {
      return { seed, tables: { block: tables.block, wildcard: tables.wildcard, allow: tables.allow } };
    }
  }
  throw new BlocklistFormatError(
    "BLOCKLIST_INVALID_RULE",
    `no collision-free hash seed found in ${MAX_SEED_ATTEMPTS} attempts (duplicate domains?)`,
  );
}

/** Hash a domain -> category index map into a table with `bucketBits`; null on a key collision. */
export function hashDomains(
  hasher: SuffixHasher,
  domains: ReadonlyMap<string, number>,
  bucketBits: number,
): HashTable | null {
  const keys1 = new Uint32Array(domains.size);
  const keys2 = new Uint32Array(domains.size);
  const meta = new Uint8Array(domains.size);
  let i = 0;
  for (const [domain, categoryIndex] of domains) {
    const labels = hasher.hashString(domain);
    if (labels === HASH_INVALID || labels === 0)
      invalidRule(`domain ${JSON.stringify(domain)} cannot be hashed`);
    keys1[i] = hasher.suffixK1[labels - 1]!;
    keys2[i] = hasher.suffixK2[labels - 1]!;
    meta[i] = categoryIndex;
    i++;
  }
  return buildTable(bucketBits, keys1, keys2, meta);
}
