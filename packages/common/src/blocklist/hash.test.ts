import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { encodeWireName, HASH_INVALID, SuffixHasher, suffixKeys } from "./hash";

const SEED = 0x1234_5678;

/** Labels of hostname characters plus some upper case, 1..63 long. */
const label = fc.stringMatching(/^[a-zA-Z0-9_-]{1,20}$/);
const hostname = fc.array(label, { minLength: 1, maxLength: 6 }).map((labels) => labels.join("."));

function wireKeys(hasher: SuffixHasher, wire: Uint8Array, offset = 0): Array<[number, number]> {
  const count = hasher.hashWire(wire, offset);
  return Array.from({ length: Math.max(count, 0) }, (_, j) => [hasher.suffixK1[j]!, hasher.suffixK2[j]!]);
}

function stringKeys(hasher: SuffixHasher, name: string): Array<[number, number]> {
  const count = hasher.hashString(name);
  return Array.from({ length: Math.max(count, 0) }, (_, j) => [hasher.suffixK1[j]!, hasher.suffixK2[j]!]);
}

describe("SuffixHasher", () => {
  it("yields one key per label-boundary suffix, shortest first, equal to hashing each suffix alone", () => {
    const hasher = new SuffixHasher(SEED);
    expect(hasher.hashString("a.b.example.com")).toBe(4);
    const all = stringKeys(hasher, "a.b.example.com");
    const alone = ["com", "example.com", "b.example.com", "a.b.example.com"].map((suffix) => {
      const keys = stringKeys(hasher, suffix);
      return keys[keys.length - 1];
    });
    expect(all).toEqual(alone);
    expect(hasher.hashString("a.b.example.com")).toBe(4);
    expect(hasher.suffixStart.slice(0, 4)).toEqual(Int32Array.from([12, 4, 2, 0]));
  });

  it("gives identical keys for string and wire input, case-insensitively", () => {
    const hasher = new SuffixHasher(SEED);
    fc.assert(
      fc.property(hostname, fc.nat(8), (name, pad) => {
        const wire = encodeWireName(name);
        const padded = new Uint8Array(pad + wire.length);
        padded.set(wire, pad);
        const fromWire = wireKeys(hasher, padded, pad);
        expect(hasher.wireEnd).toBe(pad + wire.length);
        expect(fromWire).toEqual(stringKeys(hasher, name.toLowerCase()));
        expect(stringKeys(hasher, name)).toEqual(stringKeys(hasher, `${name.toLowerCase()}.`));
      }),
      { numRuns: 300 },
    );
  });

  it("depends on the seed", () => {
    expect(suffixKeys("example.com", 1)).not.toEqual(suffixKeys("example.com", 2));
  });

  it("has no 64-bit key collisions over 200k distinct names", () => {
    const hasher = new SuffixHasher(SEED);
    const seen = new Set<number>();
    const topBytes = new Uint32Array(256);
    for (let i = 0; i < 200_000; i++) {
      hasher.hashString(`host${i}.example.com`);
      const k1 = hasher.suffixK1[2]!;
      seen.add(k1 * 2 ** 21 + (hasher.suffixK2[2]! >>> 11)); // 53 bits of the key
      topBytes[k1 >>> 24]!++;
    }
    expect(seen.size).toBe(200_000);
    // Buckets come from the top bits of k1: every top byte is within 15% of uniform (781 expected).
    expect(Math.min(...topBytes)).toBeGreaterThan(781 * 0.85);
    expect(Math.max(...topBytes)).toBeLessThan(781 * 1.15);
  });

  it("treats the root name and the empty string as zero labels", () => {
    const hasher = new SuffixHasher(SEED);
    expect(hasher.hashWire(Uint8Array.of(0), 0)).toBe(0);
    expect(hasher.hashString("")).toBe(0);
    expect(hasher.hashString(".")).toBe(0);
  });

  it("rejects malformed wire names", () => {
    const hasher = new SuffixHasher(SEED);
    const cases: Record<string, Uint8Array> = {
      "label over 63": Uint8Array.of(64, ...new Array<number>(64).fill(0x61), 0),
      "compression pointer": Uint8Array.of(3, 0x61, 0x62, 0x63, 0xc0, 0x0c),
      "missing terminator": Uint8Array.of(3, 0x61, 0x62, 0x63),
      "label runs past the end": Uint8Array.of(5, 0x61, 0x62),
      "dot inside a label": Uint8Array.of(3, 0x61, 0x2e, 0x62, 0),
      empty: new Uint8Array(0),
    };
    for (const [what, wire] of Object.entries(cases)) {
      expect(hasher.hashWire(wire, 0), what).toBe(HASH_INVALID);
    }
    expect(hasher.hashWire(Uint8Array.of(1, 0x61, 0), 5)).toBe(HASH_INVALID);
    expect(hasher.hashWire(Uint8Array.of(1, 0x61, 0), -1)).toBe(HASH_INVALID);
    expect(hasher.hashWire(Uint8Array.of(1, 0x61, 0), 0.5)).toBe(HASH_INVALID);
  });

  it("accepts a 255-octet wire name and rejects 256 octets", () => {
    const hasher = new SuffixHasher(SEED);
    // 127 one-character labels = 254 octets + terminator = 255.
    const longest = encodeWireName(new Array(127).fill("a").join("."));
    expect(longest.length).toBe(255);
    expect(hasher.hashWire(longest, 0)).toBe(127);
    const tooLong = encodeWireName(`${new Array(126).fill("a").join(".")}.bb`);
    expect(tooLong.length).toBe(256);
    expect(hasher.hashWire(tooLong, 0)).toBe(HASH_INVALID);
  });

  it("rejects strings that cannot be DNS names", () => {
    const hasher = new SuffixHasher(SEED);
    expect(hasher.hashString("a..b")).toBe(HASH_INVALID);
    expect(hasher.hashString(".a")).toBe(HASH_INVALID);
    expect(hasher.hashString(`${"x".repeat(64)}.com`)).toBe(HASH_INVALID);
    expect(hasher.hashString(new Array(128).fill("a").join("."))).toBe(HASH_INVALID);
    expect(hasher.hashString(`${"x".repeat(63)}.com`)).toBe(2);
  });
});
