/**
 * Compile a PLAIN domain list (one name per line, a name blocks its subdomains too) into an in-memory,
 * unsigned `BlocklistContent` that `BlocklistMatcher` accepts, without creating a JS string per line.
 *
 * Used where a list is given as text and must be ready fast (the DNS benchmark forwarder, local test
 * lists). The device agent's real lists come signed (`loadBlocklist`); this path skips signing, so
 * never feed it a list that crossed a trust boundary.
 *
 * How: the file is streamed in 1 MiB chunks into one reused buffer; each line is trimmed and hashed
 * straight from its bytes, right to left, with `SuffixHasher.hashNameBytes` (the same key the signed
 * format's compiler computes); keys go into two typed arrays, then a counting sort by bucket builds
 * the table (table.ts layout). Memory after the build: 4 bytes (fingerprint) + 1 byte (meta) per
 * entry plus the bucket offsets (~1 byte per entry); the key arrays are temporary.
 *
 * Lines: surrounding spaces, tabs and CR are trimmed; empty lines and lines starting with '#' are
 * skipped; a line that is not a valid name (inner whitespace, empty or over-long label, over 253
 * characters, longer than a chunk) is counted in `rejected`. Case is folded by the hash. Exact
 * duplicates (and the ~1e-4-per-million chance of two names sharing a 53-bit key) collapse into one
 * entry: both names stay blocked, which is what a plain list means.
 */
import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import { type BlocklistContent, DEFAULT_SEED, KNOWN_CATEGORIES } from "./format";
import {
  finalizeK1,
  finalizeK2,
  initialLane1,
  initialLane2,
  MAX_LABEL_LENGTH,
  MAX_NAME_LENGTH,
} from "./hash";
import { chooseBucketBits, emptyTable, type HashTable } from "./table";

const CHUNK_BYTES = 1 << 20;
/**
 * The first read is small and reads then double up to CHUNK_BYTES. Why: a loop that runs once over a
 * big input is optimized while it runs (OSR), and on Node 20 that code stays slower than the
 * function's regularly optimized code (one 20 MB call measured ~1.3-1.5x slower than 1 MiB calls);
 * small first chunks get `hashLinesBackwards` optimized early, so most bytes go through the regular
 * code. Measured: the first 2 MB of a cold run take ~12 ms instead of ~24 ms.
 */
const FIRST_READ_BYTES = 1 << 14;
const NEWLINE = 0x0a;
const HASH_SIGN = 0x23;
const DOT = 0x2e;
const SPACE = 0x20;
/** Byte -> hashed code: A-Z folded to a-z, space/tab/CR/controls to 0 (never valid in a name). */
const LOWER = new Uint8Array(256);
for (let code = 0; code < 256; code++) {
  LOWER[code] = code <= SPACE ? 0 : code >= 0x41 && code <= 0x5a ? code | 0x20 : code;
}

/**
 * A native compiler for whole files with exactly this module's rules and output (the optional addon
 * `@betblocker/dns-native` provides one: packages/dns-native/src/plain_list.c, compared with this
 * module by plain-list.native.test.ts). Returns null when it cannot map the file (not a regular file,
 * empty, too large): the JavaScript reader then reads it.
 */
export interface NativePlainListCompiler {
  compilePlainList(
    fd: number,
    lane1: number,
    lane2: number,
  ): {
    readonly entries: number;
    readonly rejected: number;
    readonly bucketBits: number;
    readonly offsets: Uint32Array;
    readonly fingerprints: Uint32Array;
  } | null;
}

export interface PlainListOptions {
  /** Category reported for every entry (default "other"); must be one of KNOWN_CATEGORIES. */
  readonly category?: (typeof KNOWN_CATEGORIES)[number];
  /** Hash seed (default DEFAULT_SEED). */
  readonly seed?: number;
  /** Compile files with this native compiler when it can (same result, ~2.5x faster); files only. */
  readonly native?: NativePlainListCompiler | null;
}

export interface PlainListResult {
  readonly content: BlocklistContent;
  /** Distinct entries in the block table. */
  readonly entries: number;
  /** Non-empty, non-comment lines that could not be used. */
  readonly rejected: number;
}

/** Incremental builder: feed chunks of whole lines, then `finish()`. */
export class PlainListBuilder {
  private readonly lane1: number;
  private readonly lane2: number;
  private keys1: Uint32Array;
  private keys2: Uint32Array;
  private count = 0;
  private rejectedLines = 0;

  constructor(seed: number = DEFAULT_SEED, expectedEntries = 1024) {
    this.lane1 = initialLane1(seed >>> 0);
    this.lane2 = initialLane2(seed >>> 0);
    const capacity = Math.max(16, Math.ceil(expectedEntries));
    this.keys1 = new Uint32Array(capacity);
    this.keys2 = new Uint32Array(capacity);
  }

  get rejected(): number {
    return this.rejectedLines;
  }

  get entries(): number {
    return this.count;
  }

  /**
   * Hash every complete line of `bytes[start, end)`; returns where the unfinished last line starts
   * (`end` when `final`, which treats the tail as a line).
   */
  addLines(bytes: Uint8Array, start: number, end: number, final: boolean): number {
    let last = end;
    if (!final) {
      while (last > start && bytes[last - 1] !== NEWLINE) last--;
      if (last === start) return start;
    }
    if (start > 0 && bytes[start - 1] === NEWLINE) {
      this.hashLinesBackwards(bytes, start, last);
    } else {
      // The backwards pass needs a newline just before the first line: copy behind one.
      const copy = new Uint8Array(last - start + 1);
      copy[0] = NEWLINE;
      copy.set(bytes.subarray(start, last), 1);
      this.hashLinesBackwards(copy, 1, copy.length);
    }
    return last;
  }

  /**
   * One right-to-left pass over whole lines: a name's hash is fed its characters from the end
   * (hash.ts), so walking the chunk backwards splits, trims, validates and hashes in the same loop,
   * with one table lookup and one rarely-true comparison per byte on the common path.
   * Per line: trailing and leading blanks are skipped, one trailing dot is ignored, A-Z are folded;
   * a blank inside the name, an empty or over-long label, or over 253 characters rejects the line;
   * a line whose first non-blank character is '#' is a comment.
   * Contract: `start >= 1` and `bytes[start - 1]` is a newline (it ends the walk with the first line).
   */
  private hashLinesBackwards(bytes: Uint8Array, start: number, end: number): void {
    let keys1 = this.keys1;
    let keys2 = this.keys2;
    // int32 locals: a uint32 above 2^31 would turn every lane operation into a double operation.
    const lane1 = this.lane1 | 0;
    const lane2 = this.lane2 | 0;
    let count = this.count;
    let rejected = this.rejectedLines;
    let h1 = lane1;
    let h2 = lane2;
    let contentEnd = -1; // just past the line's last name character; -1 while none was seen
    let labelEnd = 0; // just past the label being read
    let blanks = 0; // blanks seen to the left of the name's characters so far
    let invalid = 0;
    const lower = LOWER;
    let pos = end - 1;
    while (pos >= start - 1) {
      let c = lower[bytes[pos]!]!;
      if (c > DOT) {
        // A run of ordinary name characters: the hot loop. It stops at the latest on bytes[start - 1],
        // a newline (contract), whose code is 0.
        if (contentEnd < 0) {
          contentEnd = pos + 1;
          labelEnd = pos + 1;
        } else if (blanks !== 0) {
          invalid = 1;
        }
        do {
          h1 = Math.imul(h1 ^ c, 0x01000193); // FNV_PRIME (literal: keeps the hot loop free of module loads)
          h2 = Math.imul(h2 + c, 0x5bd1e995); // LANE2_MULTIPLIER
          h2 ^= h2 >>> 15;
          pos--;
          c = lower[bytes[pos]!]!;
        } while (c > DOT);
      }
      const byte = bytes[pos]!;
      pos--;
      if (c === 0) {
        if (byte !== NEWLINE) {
          if (contentEnd >= 0) blanks++;
          continue;
        }
        const lineStart = pos + 2;
        let first = lineStart;
        while (first < contentEnd && lower[bytes[first]!] === 0) first++;
        if (contentEnd >= 0 && bytes[first] !== HASH_SIGN) {
          const firstLabel = labelEnd - lineStart - blanks;
          const nameLength = contentEnd - lineStart - blanks;
          if (
            invalid !== 0 ||
            firstLabel <= 0 ||
            firstLabel > MAX_LABEL_LENGTH ||
            nameLength > MAX_NAME_LENGTH
          ) {
            rejected++;
          } else {
            if (count === keys1.length) {
              this.count = count;
              this.grow(count + 1);
              keys1 = this.keys1;
              keys2 = this.keys2;
            }
            const k1 = finalizeK1(h1, h2);
            keys1[count] = k1;
            keys2[count] = finalizeK2(k1, h2);
            count++;
          }
        }
        h1 = lane1;
        h2 = lane2;
        contentEnd = -1;
        blanks = 0;
        invalid = 0;
        continue;
      }
      // '.', '-' and the other codes below '.': part of the name
      const at = pos + 1;
      if (contentEnd < 0) {
        contentEnd = at + 1;
        labelEnd = at + 1;
        if (c === DOT) {
          // one trailing dot: "example.com." is "example.com"
          contentEnd = at;
          labelEnd = at;
          continue;
        }
      } else if (blanks !== 0) {
        invalid = 1;
      }
      if (c === DOT) {
        const labelLength = labelEnd - at - 1;
        if (labelLength === 0 || labelLength > MAX_LABEL_LENGTH) invalid = 1;
        labelEnd = at;
      }
      h1 = Math.imul(h1 ^ c, 0x01000193);
      h2 = Math.imul(h2 + c, 0x5bd1e995);
      h2 ^= h2 >>> 15;
    }
    this.count = count;
    this.rejectedLines = rejected;
  }

  /** Count a line that could not be read whole (longer than the reader's chunk). */
  rejectLine(): void {
    this.rejectedLines++;
  }

  private grow(minimum: number): void {
    const capacity = Math.max(minimum, this.keys1.length * 2);
    const next1 = new Uint32Array(capacity);
    const next2 = new Uint32Array(capacity);
    next1.set(this.keys1.subarray(0, this.count));
    next2.set(this.keys2.subarray(0, this.count));
    this.keys1 = next1;
    this.keys2 = next2;
  }

  /** Build the block table: counting sort by bucket, insertion sort inside buckets, duplicates dropped. */
  finish(categoryIndex: number): { table: HashTable; entries: number } {
    const n = this.count;
    const bucketBits = chooseBucketBits(n);
    const shift = 32 - bucketBits;
    const bucketCount = 2 ** bucketBits;
    const offsets = new Uint32Array(bucketCount + 1);
    const keys1 = this.keys1;
    const keys2 = this.keys2;
    for (let i = 0; i < n; i++) offsets[(keys1[i]! >>> shift) + 1]!++;
    for (let b = 0; b < bucketCount; b++) offsets[b + 1]! += offsets[b]!;
    const fill = offsets.slice(0, bucketCount);
    let fingerprints = new Uint32Array(n);
    for (let i = 0; i < n; i++) fingerprints[fill[keys1[i]! >>> shift]!++] = keys2[i]!;
    // Drop the temporary key arrays before the next allocations.
    this.keys1 = new Uint32Array(0);
    this.keys2 = new Uint32Array(0);
    this.count = 0;
    let duplicates = 0;
    let bucketStart = 0;
    for (let b = 1; b <= bucketCount; b++) {
      const bucketEnd = offsets[b]!;
      for (let i = bucketStart + 1; i < bucketEnd; i++) {
        const fingerprint = fingerprints[i]!;
        let j = i - 1;
        while (j >= bucketStart && fingerprints[j]! > fingerprint) {
          fingerprints[j + 1] = fingerprints[j]!;
          j--;
        }
        fingerprints[j + 1] = fingerprint;
        if (j >= bucketStart && fingerprints[j] === fingerprint) duplicates++;
      }
      bucketStart = bucketEnd;
    }
    if (duplicates > 0) fingerprints = dropDuplicates(fingerprints, offsets, bucketCount, n - duplicates);
    const entries = fingerprints.length;
    const meta = new Uint8Array(entries).fill(categoryIndex);
    return { table: { bucketBits, offsets, fingerprints, meta }, entries };
  }
}

/** Copy sorted buckets without adjacent equal fingerprints, rewriting `offsets` in place. */
function dropDuplicates(
  fingerprints: Uint32Array,
  offsets: Uint32Array,
  bucketCount: number,
  unique: number,
): Uint32Array<ArrayBuffer> {
  const out = new Uint32Array(unique);
  let write = 0;
  for (let b = 0; b < bucketCount; b++) {
    const start = offsets[b]!;
    const end = offsets[b + 1]!;
    offsets[b] = write;
    for (let i = start; i < end; i++) {
      if (i > start && fingerprints[i] === fingerprints[i - 1]) continue;
      out[write++] = fingerprints[i]!;
    }
  }
  offsets[bucketCount] = write;
  return out;
}

/** Build the unsigned content around a finished block table. */
export function plainListContent(table: HashTable, entries: number, seed: number): BlocklistContent {
  return {
    header: {
      formatVersion: 1,
      version: 0,
      entryCount: entries,
      createdAt: Date.now(),
      seed,
      contentLength: 0,
      keyId: new Uint8Array(8),
      prevHash: new Uint8Array(32),
    },
    tables: { block: table, wildcard: emptyTable(), allow: emptyTable() },
    patterns: [],
    categories: [...KNOWN_CATEGORIES],
    patternSection: new Uint8Array(0),
    categorySection: new Uint8Array(0),
  };
}

/** Read and compile a plain list file (see the module comment). Throws the fs error if unreadable. */
export function compilePlainListFile(path: string, options: PlainListOptions = {}): PlainListResult {
  const seed = (options.seed ?? DEFAULT_SEED) >>> 0;
  const categoryIndex = KNOWN_CATEGORIES.indexOf(options.category ?? "other");
  const fd = openSync(path, "r");
  try {
    const compiled = options.native?.compilePlainList(fd, initialLane1(seed), initialLane2(seed)) ?? null;
    if (compiled !== null) {
      const { entries, rejected, bucketBits, offsets, fingerprints } = compiled;
      const meta = new Uint8Array(entries).fill(categoryIndex);
      const table: HashTable = { bucketBits, offsets, fingerprints, meta };
      return { content: plainListContent(table, entries, seed), entries, rejected };
    }
    const size = fstatSync(fd).size;
    // Domain lists average ~15-25 bytes per line; the key arrays grow if the guess is short.
    const builder = new PlainListBuilder(seed, size / 12 + 16);
    // chunk[0] stays a newline: the backwards pass over [1, end) stops on it (see hashLinesBackwards).
    const chunk = Buffer.allocUnsafe(Math.min(CHUNK_BYTES, Math.max(4096, size + 2)));
    chunk[0] = NEWLINE;
    let filled = 1;
    let skippingLongLine = false;
    let readLimit = FIRST_READ_BYTES;
    for (;;) {
      const read = readSync(fd, chunk, filled, Math.min(chunk.length - filled, readLimit), null);
      readLimit = Math.min(readLimit * 2, CHUNK_BYTES);
      const end = filled + read;
      const final = read === 0;
      let from = 1;
      if (skippingLongLine) {
        const newline = chunk.indexOf(NEWLINE, 1);
        if (newline < 0 || newline >= end) {
          filled = 1;
          if (final) break;
          continue;
        }
        from = newline + 1;
        skippingLongLine = false;
      }
      const rest = builder.addLines(chunk, from, end, final);
      if (final) break;
      if (rest === 1 && end === chunk.length) {
        builder.rejectLine(); // one line fills the whole chunk: skip to its end
        skippingLongLine = true;
        filled = 1;
        continue;
      }
      chunk.copyWithin(1, rest, end);
      filled = 1 + end - rest;
    }
    const rejected = builder.rejected;
    const { table, entries } = builder.finish(categoryIndex);
    return { content: plainListContent(table, entries, seed), entries, rejected };
  } finally {
    closeSync(fd);
  }
}

/** Compile plain names given as strings (tests, small built-in lists). */
export function compilePlainList(names: Iterable<string>, options: PlainListOptions = {}): PlainListResult {
  const seed = (options.seed ?? DEFAULT_SEED) >>> 0;
  const categoryIndex = KNOWN_CATEGORIES.indexOf(options.category ?? "other");
  const builder = new PlainListBuilder(seed);
  for (const name of names) {
    const bytes = Buffer.from(`${name}\n`, "latin1");
    builder.addLines(bytes, 0, bytes.length, true);
  }
  const rejected = builder.rejected;
  const { table, entries } = builder.finish(categoryIndex);
  return { content: plainListContent(table, entries, seed), entries, rejected };
}
