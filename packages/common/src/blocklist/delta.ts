/**
 * Signed structural deltas between two consecutive lists N -> N+1 ("BBDELT", delta format 1).
 *
 * Layout (integers little-endian unless "varint" = unsigned LEB128, see varint.ts):
 *   off len  field
 *     0   6  magic "BBDELT"
 *     6   2  delta format version (u16) = 1
 *     8   4  from_version (u32) = N's list version
 *    12   4  to_version (u32)   = N+1's list version
 *    16  32  SHA-256 of N's complete file
 *    48  32  SHA-256 of N+1's complete file
 *    80   8  key id of the signing key (same key for N, N+1 and the delta)
 *    88      body:
 *              varint created_at of N+1; 32 bytes prev_hash of N+1
 *              per table (block, wildcard, allow):
 *                u8 bucket bits (equal in N and N+1)
 *                varint r, then r varints: removed entry indexes into N's table as gaps
 *                  (first index, then index - previous - 1)
 *                varint a, then a varints: added keys (bucket * 2^32 + fingerprint, ascending) as gaps
 *                  (first key, then key - previous - 1), then a meta bytes
 *                (an entry whose category changed is removed and added again)
 *              varint length + N+1's pattern section; varint length + N+1's categories section
 *              64 bytes: N+1's signature
 *   end-64  64  Ed25519 signature of all preceding delta bytes
 *
 * The seed and every table's bucket bits must be equal in N and N+1 (otherwise keys differ and the
 * delta would be as big as the list): `createDelta` throws BLOCKLIST_DELTA_IMPOSSIBLE and the server
 * serves a full snapshot. Size: a removal costs ~1-2 bytes, an addition ~7 bytes (a ~37-bit gap plus a
 * meta byte at 1M entries), so 1% churn of a 1M-entry list (~6 MB) is ~90 kB, about 1.5%.
 */
import { createPublicKey, type KeyObject } from "node:crypto";
import { keyId, SIGNATURE_LENGTH, sign, verify } from "../crypto/signing";
import { BlocklistFormatError, ensure } from "./errors";
import {
  type BlocklistContent,
  encodeContent,
  HASH_LENGTH,
  type LoadedBlocklist,
  loadBlocklist,
  parseContent,
  sha256,
  startsWithMagic,
  TABLE_KINDS,
  type TableKind,
} from "./format";
import { type HashTable, TWO_POW_32 } from "./table";
import { ByteReader, ByteWriter } from "./varint";

export const DELTA_MAGIC = "BBDELT";
export const DELTA_FORMAT_VERSION = 1;
const DELTA_HEADER_LENGTH = 88;

/** One table's changes. Keys are bucket * 2^32 + fingerprint. */
interface TableChanges {
  readonly bucketBits: number;
  readonly removedIndexes: readonly number[];
  readonly addedKeys: readonly number[];
  readonly addedMeta: readonly number[];
}

/**
 * Delta taking `prevBytes` (N) to `nextBytes` (N+1), signed with `privateKey`. Both lists must be signed
 * by that key. Throws BLOCKLIST_DELTA_IMPOSSIBLE when the lists' seed or any table's bucket bits differ.
 */
export function createDelta(prevBytes: Uint8Array, nextBytes: Uint8Array, privateKey: KeyObject): Uint8Array {
  const publicKey = createPublicKey(privateKey);
  return createDeltaFromLists(
    loadBlocklist(prevBytes, publicKey),
    loadBlocklist(nextBytes, publicKey),
    privateKey,
  );
}

/**
 * `createDelta` for lists the caller already holds as `loadBlocklist(bytes, publicKeyOf(privateKey))` results,
 * which saves loading and verifying 2 x 6 MB again (a publisher has verified both already). Same bytes and
 * errors as `createDelta`; a list whose key id is not `privateKey`'s throws BLOCKLIST_KEY_MISMATCH.
 */
export function createDeltaFromLists(
  prev: LoadedBlocklist,
  next: LoadedBlocklist,
  privateKey: KeyObject,
): Uint8Array {
  const signer = keyId(privateKey);
  for (const list of [prev, next]) {
    ensure(
      Buffer.from(list.header.keyId).equals(signer),
      "BLOCKLIST_KEY_MISMATCH",
      `blocklist version ${list.header.version} is signed by key ${Buffer.from(list.header.keyId).toString("hex")}, not by the delta's key ${Buffer.from(signer).toString("hex")}`,
    );
  }
  assertDeltaPossible(prev, next);
  const writer = new ByteWriter();
  writeDeltaHeader(writer, prev, next, signer);
  writer.varint(next.header.createdAt);
  writer.bytes(next.header.prevHash);
  for (const kind of TABLE_KINDS) writeTableChanges(writer, diffTables(prev.tables[kind], next.tables[kind]));
  writer.block(next.patternSection);
  writer.block(next.categorySection);
  writer.bytes(next.signature);
  const body = writer.finish();
  const signature = sign(body, privateKey);
  const delta = new Uint8Array(body.length + SIGNATURE_LENGTH);
  delta.set(body);
  delta.set(signature, body.length);
  return delta;
}

function assertDeltaPossible(prev: BlocklistContent, next: BlocklistContent): void {
  const impossible = (why: string): never => {
    throw new BlocklistFormatError(
      "BLOCKLIST_DELTA_IMPOSSIBLE",
      `no delta from version ${prev.header.version} to ${next.header.version}: ${why}; serve a full snapshot`,
    );
  };
  if (prev.header.seed !== next.header.seed) impossible("the hash seed changed");
  for (const kind of TABLE_KINDS) {
    if (prev.tables[kind].bucketBits !== next.tables[kind].bucketBits)
      impossible(`the ${kind} table was resized`);
  }
}

function writeDeltaHeader(
  writer: ByteWriter,
  prev: LoadedBlocklist,
  next: LoadedBlocklist,
  signer: Uint8Array,
): void {
  const fixed = new Uint8Array(DELTA_HEADER_LENGTH);
  const view = new DataView(fixed.buffer);
  for (let i = 0; i < DELTA_MAGIC.length; i++) fixed[i] = DELTA_MAGIC.charCodeAt(i);
  view.setUint16(6, DELTA_FORMAT_VERSION, true);
  view.setUint32(8, prev.header.version, true);
  view.setUint32(12, next.header.version, true);
  fixed.set(sha256(prev.bytes), 16);
  fixed.set(sha256(next.bytes), 48);
  fixed.set(signer, 80);
  writer.bytes(fixed);
}

/** Walk both tables bucket by bucket in (bucket, fingerprint) order, like a sorted-merge diff. */
function diffTables(prev: HashTable, next: HashTable): TableChanges {
  const removedIndexes: number[] = [];
  const addedKeys: number[] = [];
  const addedMeta: number[] = [];
  const bucketCount = 2 ** prev.bucketBits;
  for (let bucket = 0; bucket < bucketCount; bucket++) {
    let i = prev.offsets[bucket]!;
    const iEnd = prev.offsets[bucket + 1]!;
    let j = next.offsets[bucket]!;
    const jEnd = next.offsets[bucket + 1]!;
    while (i < iEnd || j < jEnd) {
      const prevFingerprint = i < iEnd ? prev.fingerprints[i]! : TWO_POW_32;
      const nextFingerprint = j < jEnd ? next.fingerprints[j]! : TWO_POW_32;
      if (prevFingerprint < nextFingerprint) {
        removedIndexes.push(i++);
      } else if (nextFingerprint < prevFingerprint) {
        addedKeys.push(bucket * TWO_POW_32 + nextFingerprint);
        addedMeta.push(next.meta[j++]!);
      } else {
        if (prev.meta[i] !== next.meta[j]) {
          removedIndexes.push(i);
          addedKeys.push(bucket * TWO_POW_32 + nextFingerprint);
          addedMeta.push(next.meta[j]!);
        }
        i++;
        j++;
      }
    }
  }
  return { bucketBits: prev.bucketBits, removedIndexes, addedKeys, addedMeta };
}

function writeTableChanges(writer: ByteWriter, changes: TableChanges): void {
  writer.byte(changes.bucketBits);
  writeAscendingGaps(writer, changes.removedIndexes);
  writeAscendingGaps(writer, changes.addedKeys);
  for (const meta of changes.addedMeta) writer.byte(meta);
}

/** Count, then strictly ascending values as gaps: first value, then value - previous - 1. */
function writeAscendingGaps(writer: ByteWriter, values: readonly number[]): void {
  writer.varint(values.length);
  let previous = -1;
  for (const value of values) {
    writer.varint(value - previous - 1);
    previous = value;
  }
}

/**
 * Rebuild N+1 from N (`prevBytes`, complete file) and a delta. Verifies the delta's signature with the
 * pinned key, that it was made against exactly `prevBytes`, that the result hashes to the announced
 * SHA-256 and that it loads under the pinned key. Returns N+1's complete file, byte for byte.
 */
export function applyDelta(
  prevBytes: Uint8Array,
  deltaBytes: Uint8Array,
  pinnedPublicKey: KeyObject,
): Uint8Array {
  const header = verifyDeltaEnvelope(deltaBytes, pinnedPublicKey);
  ensure(
    Buffer.from(sha256(prevBytes)).equals(header.fromHash),
    "BLOCKLIST_DELTA_BASE_MISMATCH",
    `delta ${header.fromVersion} -> ${header.toVersion} was made for a different base list than the one held`,
  );
  // The base is authenticated by the signed hash above; parse its structure without a second verify.
  const aligned = prevBytes.byteOffset % 8 === 0 ? prevBytes : new Uint8Array(prevBytes);
  const prev = parseContent(aligned.subarray(0, aligned.length - SIGNATURE_LENGTH));
  ensure(
    prev.header.version === header.fromVersion,
    "BLOCKLIST_DELTA_BASE_MISMATCH",
    `delta starts from version ${header.fromVersion}, base list is version ${prev.header.version}`,
  );
  const reader = new ByteReader(
    deltaBytes,
    DELTA_HEADER_LENGTH,
    deltaBytes.length - SIGNATURE_LENGTH,
    "delta",
  );
  const createdAt = reader.varint();
  const prevHash = reader.bytes(HASH_LENGTH);
  const tables = {} as Record<TableKind, HashTable>;
  for (const kind of TABLE_KINDS) tables[kind] = applyTableChanges(prev.tables[kind], reader, kind);
  const patternSection = reader.block();
  const categorySection = reader.block();
  const nextSignature = reader.bytes(SIGNATURE_LENGTH);
  reader.expectEnd();
  const content = encodeContent({
    version: header.toVersion,
    createdAt,
    seed: prev.header.seed,
    keyId: header.keyId,
    prevHash,
    tables,
    patternSection,
    categorySection,
  });
  const next = new Uint8Array(content.length + SIGNATURE_LENGTH);
  next.set(content);
  next.set(nextSignature, content.length);
  ensure(
    Buffer.from(sha256(next)).equals(header.toHash),
    "BLOCKLIST_DELTA_RESULT_MISMATCH",
    `applying delta ${header.fromVersion} -> ${header.toVersion} did not reproduce the announced list`,
  );
  loadBlocklist(next, pinnedPublicKey);
  return next;
}

interface DeltaHeader {
  readonly fromVersion: number;
  readonly toVersion: number;
  readonly fromHash: Uint8Array;
  readonly toHash: Uint8Array;
  readonly keyId: Uint8Array;
}

/** Magic, version, length, key id and signature of a delta; returns its fixed header. */
function verifyDeltaEnvelope(delta: Uint8Array, pinnedPublicKey: KeyObject): DeltaHeader {
  ensure(delta.length >= DELTA_MAGIC.length, "BLOCKLIST_TRUNCATED", `delta is only ${delta.length} bytes`);
  ensure(startsWithMagic(delta, DELTA_MAGIC), "BLOCKLIST_BAD_MAGIC", "not a blocklist delta (bad magic)");
  ensure(
    delta.length >= DELTA_HEADER_LENGTH + SIGNATURE_LENGTH,
    "BLOCKLIST_TRUNCATED",
    `delta is ${delta.length} bytes, shorter than a header and signature`,
  );
  const view = new DataView(delta.buffer, delta.byteOffset, delta.byteLength);
  const formatVersion = view.getUint16(6, true);
  ensure(
    formatVersion === DELTA_FORMAT_VERSION,
    "BLOCKLIST_UNSUPPORTED_VERSION",
    `delta format version ${formatVersion} is not supported (expected ${DELTA_FORMAT_VERSION})`,
  );
  const signer = delta.subarray(80, 88);
  const pinned = keyId(pinnedPublicKey);
  ensure(
    Buffer.from(signer).equals(pinned),
    "BLOCKLIST_KEY_MISMATCH",
    `delta is signed by key ${Buffer.from(signer).toString("hex")}, pinned key is ${Buffer.from(pinned).toString("hex")}`,
  );
  const bodyEnd = delta.length - SIGNATURE_LENGTH;
  ensure(
    verify(delta.subarray(0, bodyEnd), delta.subarray(bodyEnd), pinnedPublicKey),
    "BLOCKLIST_BAD_SIGNATURE",
    "delta signature does not verify with the pinned key (delta tampered with, truncated or corrupted)",
  );
  return {
    fromVersion: view.getUint32(8, true),
    toVersion: view.getUint32(12, true),
    fromHash: delta.subarray(16, 48),
    toHash: delta.subarray(48, 80),
    keyId: signer,
  };
}

/** Decode one table's changes and merge them into N's table, producing N+1's table. */
function applyTableChanges(prev: HashTable, reader: ByteReader, kind: TableKind): HashTable {
  const bucketBits = reader.byte();
  ensure(
    bucketBits === prev.bucketBits,
    "BLOCKLIST_CORRUPT",
    `delta ${kind} table has ${bucketBits} bucket bits, base has ${prev.bucketBits}`,
  );
  const prevCount = prev.fingerprints.length;
  const removed = new Uint8Array(prevCount);
  const removedCount = readAscendingGaps(reader, prevCount, (index) => {
    removed[index] = 1;
  });
  const addedBuckets: number[] = [];
  const addedFingerprints: number[] = [];
  const bucketCount = 2 ** bucketBits;
  readAscendingGaps(reader, bucketCount * TWO_POW_32, (key) => {
    const bucket = Math.floor(key / TWO_POW_32);
    addedBuckets.push(bucket);
    addedFingerprints.push(key - bucket * TWO_POW_32);
  });
  const addedMeta = reader.bytes(addedBuckets.length);
  return mergeTable(prev, removed, prevCount - removedCount, addedBuckets, addedFingerprints, addedMeta);
}

/** Read count + ascending gaps, calling `accept` with each value (< limit); returns the count. */
function readAscendingGaps(reader: ByteReader, limit: number, accept: (value: number) => void): number {
  const count = reader.varint();
  let value = -1;
  for (let i = 0; i < count; i++) {
    value += reader.varint() + 1;
    ensure(value < limit, "BLOCKLIST_CORRUPT", `delta value ${value} is out of range (limit ${limit})`);
    accept(value);
  }
  return count;
}

/** Sorted merge of N's retained entries and the added ones, bucket by bucket. */
function mergeTable(
  prev: HashTable,
  removed: Uint8Array,
  retainedCount: number,
  addedBuckets: readonly number[],
  addedFingerprints: readonly number[],
  addedMeta: Uint8Array,
): HashTable {
  const bucketCount = 2 ** prev.bucketBits;
  const total = retainedCount + addedBuckets.length;
  const offsets = new Uint32Array(bucketCount + 1);
  const fingerprints = new Uint32Array(total);
  const meta = new Uint8Array(total);
  let out = 0;
  let added = 0;
  for (let bucket = 0; bucket < bucketCount; bucket++) {
    offsets[bucket] = out;
    let i = prev.offsets[bucket]!;
    const iEnd = prev.offsets[bucket + 1]!;
    for (;;) {
      while (i < iEnd && removed[i] === 1) i++;
      const hasAdded = added < addedBuckets.length && addedBuckets[added] === bucket;
      if (i >= iEnd && !hasAdded) break;
      const retainedFingerprint = i < iEnd ? prev.fingerprints[i]! : TWO_POW_32;
      const addedFingerprint = hasAdded ? addedFingerprints[added]! : TWO_POW_32;
      ensure(
        retainedFingerprint !== addedFingerprint,
        "BLOCKLIST_CORRUPT",
        "delta adds an entry that is present",
      );
      if (retainedFingerprint < addedFingerprint) {
        fingerprints[out] = retainedFingerprint;
        meta[out++] = prev.meta[i++]!;
      } else {
        fingerprints[out] = addedFingerprint;
        meta[out++] = addedMeta[added++]!;
      }
    }
  }
  offsets[bucketCount] = out;
  ensure(out === total && added === addedBuckets.length, "BLOCKLIST_CORRUPT", "delta entries do not add up");
  return { bucketBits: prev.bucketBits, offsets, fingerprints, meta };
}
