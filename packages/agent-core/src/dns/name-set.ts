/**
 * A small, fixed set of names matched against wire-format QNAMEs without allocating: used for the
 * built-in lists (resolver canaries, DoH/DoT providers), a few dozen names. Each entry matches the
 * name exactly, or also every subdomain. Keys are the same suffix keys the blocklist uses (hash.ts),
 * with the full 64-bit key compared, so a false match needs a 2^-64 collision.
 */
import { SuffixHasher } from "@betblocker/common/blocklist/hash";

const SEED = 0x6e616d65; // any constant: this set is built and queried in one process

export interface NameSetEntry {
  /** Lower-case dotted name, no trailing dot. */
  readonly name: string;
  /** True: the name and all its subdomains; false: the name only. */
  readonly includeSubdomains: boolean;
}

interface StoredEntry {
  readonly k2: number;
  readonly name: string;
  readonly includeSubdomains: boolean;
}

/** Bits of the top-level-label filter (a false positive only costs the full check). */
const TLD_FILTER_BITS = 4096;

export class WireNameSet {
  private readonly hasher = new SuffixHasher(SEED);
  private readonly byK1 = new Map<number, StoredEntry[]>();
  /** Pre-filter 1: which last labels (TLDs) occur in the set, by a 12-bit hash. */
  private readonly tldFilter = new Uint8Array(TLD_FILTER_BITS);
  /** Pre-filter 2, when every entry is exact: which wire lengths occur. */
  private readonly exactLengths: Uint8Array | null;
  readonly size: number;

  constructor(entries: readonly NameSetEntry[]) {
    const keyer = new SuffixHasher(SEED);
    const allExact = entries.every((entry) => !entry.includeSubdomains);
    this.exactLengths = allExact ? new Uint8Array(256) : null;
    for (const entry of entries) {
      const labels = entry.name.split(".");
      this.tldFilter[
        labelHash(Buffer.from(labels[labels.length - 1]!, "latin1"), 0, labels[labels.length - 1]!.length)
      ] = 1;
      if (this.exactLengths !== null) this.exactLengths[entry.name.length + 2] = 1;
      const count = keyer.hashString(entry.name);
      if (count <= 0) throw new Error(`invalid built-in name ${JSON.stringify(entry.name)}`);
      const k1 = keyer.suffixK1[count - 1]!;
      const stored = {
        k2: keyer.suffixK2[count - 1]!,
        name: entry.name,
        includeSubdomains: entry.includeSubdomains,
      };
      const bucket = this.byK1.get(k1);
      if (bucket) bucket.push(stored);
      else this.byK1.set(k1, [stored]);
    }
    this.size = entries.length;
  }

  /** The listed name matching the wire QNAME at `packet[offset]`, or null (also for malformed names). */
  matchWire(packet: Uint8Array, offset: number): string | null {
    // Cheap pre-filters first: most names end in a TLD no entry has, or have no entry's length.
    let pos = offset;
    let lastLabel = -1;
    let wireLength = 1;
    for (;;) {
      const labelLength = packet[pos];
      if (labelLength === undefined || labelLength > 63) return null;
      if (labelLength === 0) break;
      lastLabel = pos;
      wireLength += labelLength + 1;
      if (wireLength > 255) return null;
      pos += labelLength + 1;
    }
    if (lastLabel < 0) return null;
    if (this.exactLengths !== null && this.exactLengths[wireLength] === 0) return null;
    if (this.tldFilter[labelHash(packet, lastLabel + 1, packet[lastLabel]!)] === 0) return null;
    const count = this.hasher.hashWire(packet, offset);
    if (count <= 0) return null;
    const k1s = this.hasher.suffixK1;
    const k2s = this.hasher.suffixK2;
    const full = count - 1;
    for (let j = full; j >= 0; j--) {
      const bucket = this.byK1.get(k1s[j]!);
      if (bucket === undefined) continue;
      const k2 = k2s[j]!;
      for (let i = 0; i < bucket.length; i++) {
        const entry = bucket[i]!;
        if (entry.k2 === k2 && (j === full || entry.includeSubdomains)) return entry.name;
      }
    }
    return null;
  }
}

/** 12-bit FNV-1a of a label, case-folded (the TLD pre-filter). */
function labelHash(bytes: Uint8Array, start: number, length: number): number {
  let h = 0x811c9dc5;
  for (let i = start; i < start + length; i++) {
    const code = bytes[i]!;
    h = Math.imul(h ^ (code >= 0x41 && code <= 0x5a ? code | 0x20 : code), 0x01000193);
  }
  return (h >>> 20) & (TLD_FILTER_BITS - 1);
}
