/**
 * Suffix hashing for domain names.
 *
 * A name is consumed RIGHT TO LEFT ("a.b.example.com" is read as "moc.elpmaxe.b.a"), so the hash state
 * after consuming a label-boundary suffix S depends on S alone. One pass over a name therefore yields
 * the key of every suffix the matcher must look up: "com", "example.com", "b.example.com",
 * "a.b.example.com".
 *
 * State: two independent 32-bit lanes updated per character `c` (A-Z lowered to a-z on the fly;
 * the boundary between two labels is the character '.' 0x2E, for string and wire input alike):
 *   h1 = (h1 ^ c) * 0x01000193            (FNV-1a step)
 *   h2 = (h2 + c) * 0x5bd1e995; h2 ^= h2 >>> 15   (multiply + xor-shift; different structure)
 * Both updates are bijections of the lane for a fixed c, so no information is lost along the way.
 * The initial lanes are derived from the list's u32 seed (see `SuffixHasher`), which the compiler bumps
 * when two entries of a table collide.
 *
 * The key of suffix S is `finalizeKey(h1, h2)`: two murmur3 fmix32 rounds that cross-mix the lanes.
 * The finalizer is a bijection of the 64-bit pair, so two suffixes share a key only if their raw states
 * collide. `k1` (top bits = bucket) and `k2` (= fingerprint) are the two finalized halves.
 *
 * Two entry points with identical results:
 *  - `hashString(name)`: a JS string (a single trailing dot is ignored);
 *  - `hashWire(buf, offset)`: a DNS QNAME in wire form (length-prefixed labels ending in a 0 byte).
 * Both are allocation-free: results land in the preallocated typed arrays of the hasher.
 */

/** At most 127 labels fit in a 255-octet wire name; 128 slots leave room for every case. */
export const MAX_SUFFIXES = 128;
/** Longest wire name including length octets and the terminating 0 (RFC 1035 §2.3.4). */
export const MAX_WIRE_NAME_LENGTH = 255;
/** Longest dotted name without trailing dot: 255 - 1 (first length octet) - 1 (root label). */
export const MAX_NAME_LENGTH = 253;
export const MAX_LABEL_LENGTH = 63;
/** Returned by `hashString`/`hashWire` for input that cannot be a DNS name. */
export const HASH_INVALID = -1;

const DOT = 0x2e;
const FNV_PRIME = 0x01000193;
const LANE2_MULTIPLIER = 0x5bd1e995;

/** murmur3's 32-bit finalizer: a bijection with full avalanche. */
export function fmix32(value: number): number {
  let h = value;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Initial lane 1 for a list seed. */
export function initialLane1(seed: number): number {
  return fmix32((seed ^ 0x811c9dc5) >>> 0);
}

/** Initial lane 2 for a list seed (a different derivation so the lanes start unrelated). */
export function initialLane2(seed: number): number {
  return fmix32((seed + 0x6b43a9b5) >>> 0);
}

/**
 * First half of the key (bucket source). Must be called with the same lanes as `finalizeK2`.
 * Exported for byte-oriented builders that must produce identical keys (plain-list.ts).
 */
export function finalizeK1(h1: number, h2: number): number {
  return fmix32((h1 ^ Math.imul(h2, 0x9e3779b1)) >>> 0);
}

/** Second half of the key (fingerprint), mixed with the already finalized first half. */
export function finalizeK2(k1: number, h2: number): number {
  return fmix32((h2 + Math.imul(k1, 0x85ebca77)) >>> 0);
}

/** ASCII lowercase for A-Z only; any other code is returned unchanged. */
function lowerAscii(code: number): number {
  return code - 0x41 < 26 && code >= 0x41 ? code | 0x20 : code;
}

/**
 * Reusable, allocation-free suffix hasher bound to one list seed.
 *
 * After a successful call (return value `count` >= 0), for j in [0, count):
 *   suffixK1[j], suffixK2[j]  = key of the suffix made of the j+1 RIGHTMOST labels
 *                               (j = 0: "com"; j = count-1: the whole name);
 *   suffixStart[j]           = where that suffix starts: a char index into the string for
 *                               `hashString`, a byte offset of its first label's FIRST CHARACTER
 *                               (after the length octet) for `hashWire`.
 * For `hashWire`, `wireLabelStart`/`wireLabelLength` also hold the labels left to right and
 * `wireEnd` the offset just past the terminating 0 byte.
 * The arrays are overwritten by the next call; copy what you need to keep.
 */
export class SuffixHasher {
  readonly suffixK1 = new Uint32Array(MAX_SUFFIXES);
  readonly suffixK2 = new Uint32Array(MAX_SUFFIXES);
  readonly suffixStart = new Int32Array(MAX_SUFFIXES);
  readonly wireLabelStart = new Int32Array(MAX_SUFFIXES);
  readonly wireLabelLength = new Uint8Array(MAX_SUFFIXES);
  /** Number of labels in the last successfully hashed name. */
  count = 0;
  wireEnd = 0;
  /** Length of the last string name without its optional trailing dot. */
  nameLength = 0;
  private readonly lane1Start: number;
  private readonly lane2Start: number;

  constructor(readonly seed: number) {
    this.lane1Start = initialLane1(seed >>> 0);
    this.lane2Start = initialLane2(seed >>> 0);
  }

  /**
   * Hash every label-boundary suffix of `name`. Contract: returns the label count (0 for "" or "."),
   * or HASH_INVALID when the name has an empty label, a label over 63 characters or is longer than
   * 253 characters. Characters are not otherwise validated (the matcher treats unknown ones as data);
   * each is hashed as its UTF-16 code unit, which equals the latin1 byte the wire form would carry for
   * codes below 0x100.
   */
  hashString(name: string): number {
    let end = name.length;
    if (end > 0 && name.charCodeAt(end - 1) === DOT) end--;
    this.nameLength = end;
    this.count = 0;
    if (end === 0) return 0;
    if (end > MAX_NAME_LENGTH) return HASH_INVALID;
    let h1 = this.lane1Start;
    let h2 = this.lane2Start;
    let count = 0;
    let labelEnd = end;
    for (let pos = end - 1; pos >= -1; pos--) {
      const code = pos >= 0 ? name.charCodeAt(pos) : DOT;
      if (code === DOT) {
        const labelLength = labelEnd - pos - 1;
        if (labelLength === 0 || labelLength > MAX_LABEL_LENGTH) return HASH_INVALID;
        const k1 = finalizeK1(h1, h2);
        this.suffixK1[count] = k1;
        this.suffixK2[count] = finalizeK2(k1, h2);
        this.suffixStart[count] = pos + 1;
        count++;
        labelEnd = pos;
      }
      if (pos < 0) break;
      const c = lowerAscii(code);
      h1 = Math.imul(h1 ^ c, FNV_PRIME);
      h2 = Math.imul(h2 + c, LANE2_MULTIPLIER);
      h2 ^= h2 >>> 15;
    }
    this.count = count;
    return count;
  }

  /**
   * Hash every label-boundary suffix of the wire-format QNAME at `buf[offset]`.
   * Contract: returns the label count (0 for the root name), or HASH_INVALID when a length octet is
   * over 63 (this includes compression pointers 0xC0..0xFF and extended label types), the name runs
   * past the end of `buf`, it exceeds 255 octets, or a label contains a '.' byte (such a name has no
   * dotted spelling, so string and wire matching could not agree on it).
   */
  hashWire(buf: Uint8Array, offset: number): number {
    const labelCount = this.scanWireLabels(buf, offset);
    this.count = 0;
    if (labelCount <= 0) return labelCount;
    let h1 = this.lane1Start;
    let h2 = this.lane2Start;
    for (let label = labelCount - 1, j = 0; label >= 0; label--, j++) {
      if (j > 0) {
        h1 = Math.imul(h1 ^ DOT, FNV_PRIME);
        h2 = Math.imul(h2 + DOT, LANE2_MULTIPLIER);
        h2 ^= h2 >>> 15;
      }
      const start = this.wireLabelStart[label]!;
      for (let pos = start + this.wireLabelLength[label]! - 1; pos >= start; pos--) {
        const code = buf[pos]!;
        if (code === DOT) return HASH_INVALID;
        const c = lowerAscii(code);
        h1 = Math.imul(h1 ^ c, FNV_PRIME);
        h2 = Math.imul(h2 + c, LANE2_MULTIPLIER);
        h2 ^= h2 >>> 15;
      }
      const k1 = finalizeK1(h1, h2);
      this.suffixK1[j] = k1;
      this.suffixK2[j] = finalizeK2(k1, h2);
      this.suffixStart[j] = start;
    }
    this.count = labelCount;
    return labelCount;
  }

  /** Forward pass over the length octets: records label positions and checks every bound. */
  private scanWireLabels(buf: Uint8Array, offset: number): number {
    const bufferLength = buf.length;
    if (offset !== (offset | 0) || offset < 0) return HASH_INVALID;
    let pos = offset;
    let wireLength = 1; // the terminating zero octet
    let count = 0;
    for (;;) {
      if (pos >= bufferLength) return HASH_INVALID;
      const labelLength = buf[pos]!;
      if (labelLength === 0) break;
      if (labelLength > MAX_LABEL_LENGTH) return HASH_INVALID;
      wireLength += labelLength + 1;
      if (wireLength > MAX_WIRE_NAME_LENGTH || pos + 1 + labelLength >= bufferLength) return HASH_INVALID;
      this.wireLabelStart[count] = pos + 1;
      this.wireLabelLength[count] = labelLength;
      count++;
      pos += 1 + labelLength;
    }
    this.wireEnd = pos + 1;
    return count;
  }
}

/** Convenience (allocating) view of a name's suffix keys, shortest suffix first. For tests and tools. */
export function suffixKeys(name: string, seed: number): Array<{ k1: number; k2: number }> {
  const hasher = new SuffixHasher(seed);
  const count = hasher.hashString(name);
  const keys: Array<{ k1: number; k2: number }> = [];
  for (let j = 0; j < count; j++) keys.push({ k1: hasher.suffixK1[j]!, k2: hasher.suffixK2[j]! });
  return keys;
}

/**
 * Encode a dotted name as a wire-format QNAME (allocating; for tests, tools and benchmarks).
 * Contract: `name` has no empty label; a single trailing dot is ignored. Labels are written verbatim
 * (latin1), so the caller controls case and content.
 */
export function encodeWireName(name: string): Uint8Array {
  const trimmed = name.endsWith(".") ? name.slice(0, -1) : name;
  const labels = trimmed.length === 0 ? [] : trimmed.split(".");
  const out = new Uint8Array(trimmed.length + (labels.length > 0 ? 2 : 1));
  let pos = 0;
  for (const label of labels) {
    out[pos++] = label.length;
    for (let i = 0; i < label.length; i++) out[pos++] = label.charCodeAt(i) & 0xff;
  }
  out[pos] = 0;
  return out;
}
