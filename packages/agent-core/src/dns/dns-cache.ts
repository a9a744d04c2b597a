/**
 * Response cache for the forwarder: keyed by (QNAME case-folded, QTYPE, QCLASS, DO bit), bounded by
 * entry count and bytes with LRU eviction, TTL-aware.
 *
 * - What is stored is a TEMPLATE: the upstream response without its OPT record (EDNS is per hop,
 *   RFC 6891 §6.2.1), ID 0. Every answer to a client, hit or fresh, is made from a template by
 *   `shapeForClient`: the client's ID, RD/CD bits and QNAME spelling (0x20 case), our OPT when the
 *   client sent EDNS, TC when it does not fit the client's UDP size.
 * - TTL: positive answers live for the smallest TTL of their records; NXDOMAIN/NODATA answers for
 *   min(SOA TTL, SOA MINIMUM) and are not cached without a SOA (RFC 2308 §3, §5). Both are capped.
 *   On a hit the record TTLs are decremented by the entry's age (whole seconds).
 * - Not cached: truncated answers, RCODEs other than NOERROR/NXDOMAIN, answers whose OPT is not the
 *   last record, and anything a stage answered as blocked (the chain never offers those).
 */
import type { DnsQuery } from "./query";
import {
  buildRcodeResponse,
  buildTruncated,
  FLAG_RD,
  lowerAscii,
  OPT_RECORD_LENGTH,
  Rcode,
  ResponseScanner,
  RrType,
  Section,
  writeOpt,
  writeU32At,
} from "./wire";

export interface DnsCacheOptions {
  /** Most entries kept (default 10,000; 0 disables storing). */
  readonly maxEntries?: number;
  /** Most template bytes kept, plus ~100 bytes of bookkeeping per entry (default 8 MiB). */
  readonly maxBytes?: number;
  /** Cap on a positive answer's lifetime (default one day). */
  readonly maxTtlSeconds?: number;
  /** Cap on a negative answer's lifetime (default one hour; RFC 2308 §5 suggests 1-3 hours). */
  readonly maxNegativeTtlSeconds?: number;
  /** Monotonic milliseconds (injectable for tests). */
  readonly now?: () => number;
}

const ENTRY_OVERHEAD_BYTES = 100;
/** Byte -> ASCII-lower-cased byte (a table: no branch per name byte on the hit path). */
const LOWER = new Uint8Array(256);
for (let code = 0; code < 256; code++) LOWER[code] = lowerAscii(code);
const AD = 0x20;
const CD = 0x10;

class CacheEntry {
  prev: CacheEntry | null = null;
  next: CacheEntry | null = null;
  patchedAge = 0;

  constructor(
    /** int32 question hash (the index compares it before the key bytes). */
    readonly hash: number,
    /** The key is the template's own question (QNAME compared case-folded, QTYPE, QCLASS) + DO. */
    readonly dnssecOk: boolean,
    readonly qnameEnd: number,
    readonly template: Buffer,
    readonly ttlOffsets: Int32Array,
    readonly ttls: Uint32Array,
    readonly storedAt: number,
    readonly expiresAt: number,
  ) {}

  get bytes(): number {
    return this.template.length + this.ttlOffsets.length * 8 + ENTRY_OVERHEAD_BYTES;
  }
}

export class DnsCache {
  /**
   * Open-addressing index (linear probing, at most half full): a hit costs one hash over the wire
   * question and one or two array reads, no Map lookup. `slotHash` is compared before the key bytes.
   */
  private slots: (CacheEntry | null)[];
  private slotHash: Int32Array;
  private mask: number;
  /** Largest index size; the index starts small and doubles (a small index stays in the CPU cache). */
  private readonly maxSlots: number;
  private head: CacheEntry | null = null;
  private tail: CacheEntry | null = null;
  private entryCount = 0;
  private byteCount = 0;
  private clears = 0;
  private readonly scanner = new ResponseScanner();
  private readonly maxEntries: number;
  private readonly maxBytes: number;
  private readonly maxTtl: number;
  private readonly maxNegativeTtl: number;
  private readonly now: () => number;

  constructor(options: DnsCacheOptions = {}) {
    this.maxEntries = options.maxEntries ?? 10_000;
    this.maxBytes = options.maxBytes ?? 8 * 1024 * 1024;
    this.maxTtl = options.maxTtlSeconds ?? 86_400;
    this.maxNegativeTtl = options.maxNegativeTtlSeconds ?? 3_600;
    this.now = options.now ?? performance.now.bind(performance);
    // The index never holds more than half its slots (store evicts beyond that), up to 2^22 slots.
    const most = Math.min(this.maxEntries, Math.ceil(this.maxBytes / ENTRY_OVERHEAD_BYTES), 1 << 21);
    let capacity = 16;
    while (capacity < most * 2) capacity *= 2;
    this.maxSlots = capacity;
    this.mask = 63;
    this.slots = new Array<CacheEntry | null>(64).fill(null);
    this.slotHash = new Int32Array(64);
  }

  get size(): number {
    return this.entryCount;
  }

  get bytes(): number {
    return this.byteCount;
  }

  /** Changes with every `clear()`: an answer to a query asked under an older epoch is not stored. */
  get epoch(): number {
    return this.clears;
  }

  clear(): void {
    this.clears++;
    if (this.entryCount > 0) {
      this.slots.fill(null);
      this.slotHash.fill(0);
    }
    this.head = null;
    this.tail = null;
    this.entryCount = 0;
    this.byteCount = 0;
  }

  /** The client response for a cached answer to `query`, or null on a miss (expired = miss). */
  answer(query: DnsQuery): Buffer | null {
    if (this.entryCount === 0) return null;
    const packet = query.packet;
    const slot = this.find(packet, query.qnameEnd, query.dnssecOk);
    if (slot < 0) return null;
    const entry = this.slots[slot]!;
    const now = this.now();
    if (now >= entry.expiresAt) {
      this.remove(entry);
      return null;
    }
    this.touch(entry);
    const age = Math.floor((now - entry.storedAt) / 1000);
    if (age !== entry.patchedAge) {
      const template = entry.template;
      const offsets = entry.ttlOffsets;
      const ttls = entry.ttls;
      for (let i = 0; i < offsets.length; i++) {
        const ttl = ttls[i]! - age;
        writeU32At(template, offsets[i]!, Math.max(ttl, 0));
      }
      entry.patchedAge = age;
    }
    return shapeForClient(entry.template, entry.template.length, query);
  }

  /** Slot of the entry for the question in `packet`, or -1. */
  private find(packet: Uint8Array, qnameEnd: number, dnssecOk: boolean): number {
    const hash = questionHash(packet, qnameEnd, dnssecOk);
    const slots = this.slots;
    const slotHash = this.slotHash;
    const mask = this.mask;
    let i = hash & mask;
    for (;;) {
      const entry = slots[i];
      if (entry === null || entry === undefined) return -1;
      if (slotHash[i] === hash && keyMatches(entry, packet, qnameEnd, dnssecOk)) return i;
      i = (i + 1) & mask;
    }
  }

  /**
   * Turn an upstream response to `query` (already matched by ID and question) into the client's
   * response, storing it when cacheable and `storable`. A response that does not scan is answered
   * SERVFAIL.
   */
  admit(query: DnsQuery, response: Uint8Array, storable = true): Buffer {
    const scanner = this.scanner;
    if (!scanner.scan(response)) return buildRcodeResponse(query, Rcode.SERVFAIL);
    const length = response.length;
    if (scanner.optStart >= 0 && scanner.optEnd !== length) {
      // OPT in the middle of the additional section: cutting it out would break later compression
      // pointers. Pass the response through unchanged except for the ID (rare; never cached).
      const copy = Buffer.from(response);
      copy[0] = query.id >>> 8;
      copy[1] = query.id & 0xff;
      return copy.length > query.maxResponseSize ? buildTruncated(query) : copy;
    }
    const templateLength = scanner.optStart >= 0 ? scanner.optStart : length;
    const template = Buffer.allocUnsafe(templateLength);
    template.set(response.subarray(0, templateLength), 0);
    template[0] = 0;
    template[1] = 0;
    if (scanner.optStart >= 0) {
      const arcount = ((template[10]! << 8) | template[11]!) - 1;
      template[10] = arcount >>> 8;
      template[11] = arcount & 0xff;
    }
    const ttl = this.cacheableTtl(response);
    if (storable && ttl > 0 && this.maxEntries > 0) this.store(query, template, ttl);
    return shapeForClient(template, templateLength, query);
  }

  /** Seconds the scanned response may be cached, 0 when it must not be. */
  private cacheableTtl(response: Uint8Array): number {
    const scanner = this.scanner;
    if (scanner.truncated) return 0;
    const rcode = scanner.rcode;
    if (rcode !== Rcode.NOERROR && rcode !== Rcode.NXDOMAIN) return 0;
    const negative = rcode === Rcode.NXDOMAIN || scanner.answerCount === 0;
    if (negative) {
      // RFC 2308 §5: the negative TTL is min(SOA TTL, SOA MINIMUM); without a SOA, do not cache.
      for (let i = 0; i < scanner.recordCount; i++) {
        if (scanner.recordSection[i] !== Section.AUTHORITY || scanner.recordType[i] !== RrType.SOA) continue;
        const rdataEnd = scanner.rdataOffset[i]! + scanner.rdataLength[i]!;
        if (scanner.rdataLength[i]! < 22) return 0;
        const minimum =
          ((response[rdataEnd - 4]! << 24) |
            (response[rdataEnd - 3]! << 16) |
            (response[rdataEnd - 2]! << 8) |
            response[rdataEnd - 1]!) >>>
          0;
        const ttl = Math.min(scanner.ttlOf(response, i), minimum);
        return Math.min(ttl, this.maxNegativeTtl);
      }
      return 0;
    }
    let ttl = this.maxTtl;
    for (let i = 0; i < scanner.recordCount; i++) {
      if (i === scanner.optIndex) continue;
      const recordTtl = scanner.ttlOf(response, i);
      if (recordTtl < ttl) ttl = recordTtl;
    }
    return ttl;
  }

  private store(query: DnsQuery, template: Buffer, ttl: number): void {
    const scanner = this.scanner;
    const recordCount = scanner.optIndex >= 0 ? scanner.recordCount - 1 : scanner.recordCount;
    const ttlOffsets = new Int32Array(recordCount);
    const ttls = new Uint32Array(recordCount);
    let n = 0;
    for (let i = 0; i < scanner.recordCount; i++) {
      if (i === scanner.optIndex) continue;
      ttlOffsets[n] = scanner.ttlOffset[i]!;
      ttls[n] = scanner.ttlOf(template, i);
      n++;
    }
    const packet = query.packet;
    const qnameEnd = query.qnameEnd;
    // The template's question is the key: store only when it is the query's (it always is for an
    // upstream answer matched by `sameQuestion`).
    if (template.length < qnameEnd + 4) return;
    for (let i = 12; i < qnameEnd + 4; i++) if (LOWER[template[i]!] !== LOWER[packet[i]!]) return;
    // Replace an existing entry for the same key.
    const existing = this.find(packet, query.qnameEnd, query.dnssecOk);
    if (existing >= 0) this.remove(this.slots[existing]!);
    const hash = questionHash(packet, query.qnameEnd, query.dnssecOk);
    const now = this.now();
    const entry = new CacheEntry(
      hash,
      query.dnssecOk,
      qnameEnd,
      template,
      ttlOffsets,
      ttls,
      now,
      now + ttl * 1000,
    );
    if (this.entryCount + 1 > (this.mask + 1) >>> 1 && this.mask + 1 < this.maxSlots) this.grow();
    const mask = this.mask;
    let i = hash & mask;
    while (this.slots[i] !== null) i = (i + 1) & mask;
    this.slots[i] = entry;
    this.slotHash[i] = hash;
    entry.next = this.head;
    if (this.head !== null) this.head.prev = entry;
    this.head = entry;
    if (this.tail === null) this.tail = entry;
    this.entryCount++;
    this.byteCount += entry.bytes;
    const indexLimit = this.maxSlots >>> 1;
    while (
      (this.entryCount > this.maxEntries || this.byteCount > this.maxBytes || this.entryCount > indexLimit) &&
      this.tail !== null
    ) {
      this.remove(this.tail);
    }
  }

  private touch(entry: CacheEntry): void {
    if (this.head === entry) return;
    // unlink
    if (entry.prev !== null) entry.prev.next = entry.next;
    if (entry.next !== null) entry.next.prev = entry.prev;
    if (this.tail === entry) this.tail = entry.prev;
    // push front
    entry.prev = null;
    entry.next = this.head;
    if (this.head !== null) this.head.prev = entry;
    this.head = entry;
  }

  private remove(entry: CacheEntry): void {
    if (entry.prev !== null) entry.prev.next = entry.next;
    else this.head = entry.next;
    if (entry.next !== null) entry.next.prev = entry.prev;
    else this.tail = entry.prev;
    entry.prev = null;
    entry.next = null;
    this.unindex(entry);
    this.entryCount--;
    this.byteCount -= entry.bytes;
  }

  /** Double the index and re-insert every entry. */
  private grow(): void {
    const capacity = (this.mask + 1) * 2;
    const old = this.slots;
    const oldHash = this.slotHash;
    this.slots = new Array<CacheEntry | null>(capacity).fill(null);
    this.slotHash = new Int32Array(capacity);
    this.mask = capacity - 1;
    for (let j = 0; j < old.length; j++) {
      const entry = old[j];
      if (entry === null || entry === undefined) continue;
      let i = oldHash[j]! & this.mask;
      while (this.slots[i] !== null) i = (i + 1) & this.mask;
      this.slots[i] = entry;
      this.slotHash[i] = oldHash[j]!;
    }
  }

  /** Take `entry` out of the index, shifting later probes back (no tombstones). */
  private unindex(entry: CacheEntry): void {
    const slots = this.slots;
    const slotHash = this.slotHash;
    const mask = this.mask;
    let hole = entry.hash & mask;
    while (slots[hole] !== entry) {
      if (slots[hole] === null) return;
      hole = (hole + 1) & mask;
    }
    slots[hole] = null;
    let j = hole;
    for (;;) {
      j = (j + 1) & mask;
      const moving = slots[j];
      if (moving === null || moving === undefined) return;
      const home = slotHash[j]! & mask;
      // `moving` may fill the hole only if its home slot is not cyclically inside (hole, j].
      const homeInside = hole <= j ? home > hole && home <= j : home > hole || home <= j;
      if (homeInside) continue;
      slots[hole] = moving;
      slotHash[hole] = slotHash[j]!;
      slots[j] = null;
      hole = j;
    }
  }
}

/** FNV-1a over the case-folded QNAME and QTYPE/QCLASS, then the DO bit, finalized (int32). */
function questionHash(packet: Uint8Array, qnameEnd: number, dnssecOk: boolean): number {
  let h = 0x811c9dc5 | 0;
  const end = qnameEnd + 4;
  for (let i = 12; i < end; i++) h = Math.imul(h ^ LOWER[packet[i]!]!, 0x01000193);
  h = Math.imul(h ^ (dnssecOk ? 1 : 0), 0x01000193);
  // FNV's low bits (the probe index) mix poorly: fold the high bits in.
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  return h ^ (h >>> 13);
}

function keyMatches(entry: CacheEntry, packet: Uint8Array, qnameEnd: number, dnssecOk: boolean): boolean {
  if (entry.qnameEnd !== qnameEnd || entry.dnssecOk !== dnssecOk) return false;
  const template = entry.template;
  for (let i = 12; i < qnameEnd; i++) if (LOWER[template[i]!] !== LOWER[packet[i]!]) return false;
  for (let i = qnameEnd; i < qnameEnd + 4; i++) if (template[i] !== packet[i]) return false;
  return true;
}

/**
 * The client's response from a template (`length` bytes of it): its ID, RD and CD bits and QNAME
 * spelling; AD only when it asked with DO or AD (RFC 6840 §5.8); our OPT when it sent EDNS; TC with
 * no records when the result exceeds what it can receive.
 */
export function shapeForClient(template: Uint8Array, length: number, query: DnsQuery): Buffer {
  const packet = query.packet;
  const out = Buffer.allocUnsafe(query.hasEdns ? length + OPT_RECORD_LENGTH : length);
  if (template.length === length) out.set(template, 0);
  else for (let i = 0; i < length; i++) out[i] = template[i]!;
  out[0] = packet[0]!;
  out[1] = packet[1]!;
  out[2] = (out[2]! & ~FLAG_RD) | (packet[2]! & FLAG_RD);
  const keepAd = query.dnssecOk || (packet[3]! & AD) !== 0;
  out[3] = (out[3]! & ~(CD | (keepAd ? 0 : AD))) | (packet[3]! & CD);
  const qnameEnd = query.qnameEnd;
  for (let i = 12; i < qnameEnd; i++) out[i] = packet[i]!; // the client's 0x20 spelling; short: a loop
  if (query.hasEdns) {
    const arcount = ((out[10]! << 8) | out[11]!) + 1;
    out[10] = arcount >>> 8;
    out[11] = arcount & 0xff;
    writeOpt(out, length, out[3]! & 0x0f, query.dnssecOk, -1);
  }
  return out.length > query.maxResponseSize ? buildTruncated(query) : out;
}
