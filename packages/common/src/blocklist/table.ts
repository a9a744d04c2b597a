/**
 * The compact hashed table used by the "block", "wildcard" and "allow" sections.
 *
 * An entry is identified by its suffix key (k1, k2) from hash.ts:
 *   bucket      = top B bits of k1          (B = bucket bits, 4..21)
 *   fingerprint = k2                        (full 32 bits)
 * `offsets[b] .. offsets[b+1]` is the slice of `fingerprints`/`meta` holding bucket b, fingerprints
 * sorted ascending inside the bucket. Ordering entries by (bucket, fingerprint) is the same as ordering
 * by the combined key `bucket * 2^32 + fingerprint`, which is an exact JS number because B <= 21
 * (21 + 32 = 53 bits). The delta codec relies on that order.
 *
 * False positives: an unlisted suffix matches only if its bucket AND its 32-bit fingerprint equal a
 * listed entry's; per probe that is about (average bucket load) x 2^-32 ~= 4 x 2.3e-10 ~= 1e-9, and per
 * query about (labels x tables probed) times that, ~1e-8 at worst. Entries of one table never share a
 * key: the compiler changes the seed and rebuilds when they would.
 */

export const MIN_BUCKET_BITS = 4;
export const MAX_BUCKET_BITS = 21;
/** Target average load per bucket used to choose B for a fresh table. */
const TARGET_LOAD = 4;
/** A previous version's B is kept while the average load stays within these bounds. */
const MIN_KEPT_LOAD = 1;
const MAX_KEPT_LOAD = 16;
export const TWO_POW_32 = 0x1_0000_0000;

/** Typed-array views (or freshly built arrays) of one table. Same shape for every table. */
export interface HashTable {
  readonly bucketBits: number;
  /** Length 2^B + 1; offsets[0] = 0, offsets[2^B] = entry count, non-decreasing. */
  readonly offsets: Uint32Array;
  /** Fingerprints (k2), ascending within each bucket. */
  readonly fingerprints: Uint32Array;
  /** One byte per entry: category index (0 for the allow table). */
  readonly meta: Uint8Array;
}

/** B for a fresh table of `entryCount` entries: round(log2(n / 4)) clamped to [4, 21]. */
export function chooseBucketBits(entryCount: number, previousBucketBits?: number): number {
  if (previousBucketBits !== undefined && isValidBucketBits(previousBucketBits)) {
    const load = entryCount / 2 ** previousBucketBits;
    if (load >= MIN_KEPT_LOAD && load <= MAX_KEPT_LOAD) return previousBucketBits;
  }
  const ideal = Math.round(Math.log2(Math.max(entryCount, 1) / TARGET_LOAD));
  return Math.min(MAX_BUCKET_BITS, Math.max(MIN_BUCKET_BITS, ideal));
}

export function isValidBucketBits(bits: number): boolean {
  return Number.isInteger(bits) && bits >= MIN_BUCKET_BITS && bits <= MAX_BUCKET_BITS;
}

export function emptyTable(bucketBits: number = MIN_BUCKET_BITS): HashTable {
  return {
    bucketBits,
    offsets: new Uint32Array(2 ** bucketBits + 1),
    fingerprints: new Uint32Array(0),
    meta: new Uint8Array(0),
  };
}

/**
 * Index of the entry with key (k1, k2), or -1. Contract: `shift` = 32 - table.bucketBits.
 * Buckets are short (average 1..16) and sorted, so a linear scan with early exit beats binary search.
 */
export function findEntry(
  offsets: Uint32Array,
  fingerprints: Uint32Array,
  shift: number,
  k1: number,
  k2: number,
): number {
  const bucket = k1 >>> shift;
  const end = offsets[bucket + 1]!;
  for (let i = offsets[bucket]!; i < end; i++) {
    const fingerprint = fingerprints[i]!;
    if (fingerprint >= k2) return fingerprint === k2 ? i : -1;
  }
  return -1;
}

/**
 * Build a table from unsorted entry keys. Returns null when two entries share (bucket, fingerprint):
 * the caller then retries with another seed. O(n + 2^B): counting sort by bucket, then insertion sort
 * of each (short) bucket by fingerprint.
 */
export function buildTable(
  bucketBits: number,
  keys1: Uint32Array,
  keys2: Uint32Array,
  metaIn: Uint8Array,
): HashTable | null {
  const entryCount = keys1.length;
  const shift = 32 - bucketBits;
  const bucketCount = 2 ** bucketBits;
  const offsets = new Uint32Array(bucketCount + 1);
  for (let i = 0; i < entryCount; i++) offsets[(keys1[i]! >>> shift) + 1]!++;
  for (let b = 0; b < bucketCount; b++) offsets[b + 1]! += offsets[b]!;
  const fill = offsets.slice(0, bucketCount);
  const fingerprints = new Uint32Array(entryCount);
  const meta = new Uint8Array(entryCount);
  for (let i = 0; i < entryCount; i++) {
    const slot = fill[keys1[i]! >>> shift]!++;
    fingerprints[slot] = keys2[i]!;
    meta[slot] = metaIn[i]!;
  }
  for (let b = 0; b < bucketCount; b++) {
    if (!sortBucket(fingerprints, meta, offsets[b]!, offsets[b + 1]!)) return null;
  }
  return { bucketBits, offsets, fingerprints, meta };
}

/** Insertion sort of one bucket by fingerprint; false if two fingerprints are equal. */
function sortBucket(fingerprints: Uint32Array, meta: Uint8Array, start: number, end: number): boolean {
  for (let i = start + 1; i < end; i++) {
    const fingerprint = fingerprints[i]!;
    const metaByte = meta[i]!;
    let j = i - 1;
    while (j >= start && fingerprints[j]! > fingerprint) {
      fingerprints[j + 1] = fingerprints[j]!;
      meta[j + 1] = meta[j]!;
      j--;
    }
    if (j >= start && fingerprints[j] === fingerprint) return false;
    fingerprints[j + 1] = fingerprint;
    meta[j + 1] = metaByte;
  }
  return true;
}

export function tableEntryCount(table: HashTable): number {
  return table.fingerprints.length;
}
