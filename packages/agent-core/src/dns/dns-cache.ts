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
const AD = 0x20;
const CD = 0x10;

class CacheEntry {
  prev: CacheEntry | null = null;
  next: CacheEntry | null = null;
  /** Next entry with the same 32-bit hash. */
  chain: CacheEntry | null = null;
  patchedAge = 0;

  constructor(
    readonly hash: number,
    readonly key: Uint8Array,
    readonly template: Buffer,
    readonly ttlOffsets: Int32Array,
    readonly ttls: Uint32Array,
    readonly storedAt: number,
    readonly expiresAt: number,
  ) {}

  get bytes(): number {
    return this.template.length + this.key.length + this.ttlOffsets.length * 8 + ENTRY_OVERHEAD_BYTES;
  }
}

export class DnsCache {
  private readonly table = new Map<number, CacheEntry>();
  private head: CacheEntry | null = null;
  private tail: CacheEntry | null = null;
  private entryCount = 0;
  private byteCount = 0;
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
  }

  get size(): number {
    return this.entryCount;
  }

  get bytes(): number {
    return this.byteCount;
  }

  clear(): void {
    this.table.clear();
    this.head = null;
    this.tail = null;
    this.entryCount = 0;
    this.byteCount = 0;
  }

  /** The client response for a cached answer to `query`, or null on a miss (expired = miss). */
  answer(query: DnsQuery): Buffer | null {
    if (this.entryCount === 0) return null;
    const packet = query.packet;
    const hash = questionHash(packet, query.qnameEnd, query.dnssecOk);
    let entry = this.table.get(hash) ?? null;
    while (entry !== null && !keyMatches(entry.key, packet, query.qnameEnd, query.dnssecOk))
      entry = entry.chain;
    if (entry === null) return null;
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

  /**
   * Turn an upstream response to `query` (already matched by ID and question) into the client's
   * response, storing it when cacheable. A response that does not scan is answered SERVFAIL.
   */
  admit(query: DnsQuery, response: Uint8Array): Buffer {
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
    if (ttl > 0 && this.maxEntries > 0) this.store(query, template, ttl);
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
    const nameLength = query.qnameEnd - 12;
    const key = new Uint8Array(nameLength + 5);
    for (let i = 0; i < nameLength; i++) key[i] = lowerAscii(packet[12 + i]!);
    for (let i = 0; i < 4; i++) key[nameLength + i] = packet[query.qnameEnd + i]!;
    key[nameLength + 4] = query.dnssecOk ? 1 : 0;
    const hash = questionHash(packet, query.qnameEnd, query.dnssecOk);
    // Replace an existing entry for the same key.
    let existing = this.table.get(hash) ?? null;
    while (existing !== null && !keyMatches(existing.key, packet, query.qnameEnd, query.dnssecOk)) {
      existing = existing.chain;
    }
    if (existing !== null) this.remove(existing);
    const now = this.now();
    const entry = new CacheEntry(hash, key, template, ttlOffsets, ttls, now, now + ttl * 1000);
    entry.chain = this.table.get(hash) ?? null;
    this.table.set(hash, entry);
    entry.next = this.head;
    if (this.head !== null) this.head.prev = entry;
    this.head = entry;
    if (this.tail === null) this.tail = entry;
    this.entryCount++;
    this.byteCount += entry.bytes;
    while ((this.entryCount > this.maxEntries || this.byteCount > this.maxBytes) && this.tail !== null) {
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
    let first = this.table.get(entry.hash) ?? null;
    if (first === entry) {
      if (entry.chain === null) this.table.delete(entry.hash);
      else this.table.set(entry.hash, entry.chain);
    } else {
      while (first !== null && first.chain !== entry) first = first.chain;
      if (first !== null) first.chain = entry.chain;
    }
    entry.chain = null;
    this.entryCount--;
    this.byteCount -= entry.bytes;
  }
}

/** FNV-1a over the case-folded QNAME and QTYPE/QCLASS, then the DO bit. */
function questionHash(packet: Uint8Array, qnameEnd: number, dnssecOk: boolean): number {
  let h = 0x811c9dc5;
  const end = qnameEnd + 4;
  for (let i = 12; i < end; i++) h = Math.imul(h ^ lowerAscii(packet[i]!), 0x01000193);
  h = Math.imul(h ^ (dnssecOk ? 1 : 0), 0x01000193);
  return h >>> 0;
}

function keyMatches(key: Uint8Array, packet: Uint8Array, qnameEnd: number, dnssecOk: boolean): boolean {
  const nameLength = qnameEnd - 12;
  if (key.length !== nameLength + 5 || key[nameLength + 4] !== (dnssecOk ? 1 : 0)) return false;
  for (let i = 0; i < nameLength; i++) if (key[i] !== lowerAscii(packet[12 + i]!)) return false;
  for (let i = 0; i < 4; i++) if (key[nameLength + i] !== packet[qnameEnd + i]) return false;
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
  out.set(template.length === length ? template : template.subarray(0, length), 0);
  out[0] = packet[0]!;
  out[1] = packet[1]!;
  out[2] = (out[2]! & ~FLAG_RD) | (packet[2]! & FLAG_RD);
  const keepAd = query.dnssecOk || (packet[3]! & AD) !== 0;
  out[3] = (out[3]! & ~(CD | (keepAd ? 0 : AD))) | (packet[3]! & CD);
  out.set(packet.subarray(12, query.qnameEnd), 12);
  if (query.hasEdns) {
    const arcount = ((out[10]! << 8) | out[11]!) + 1;
    out[10] = arcount >>> 8;
    out[11] = arcount & 0xff;
    writeOpt(out, length, out[3]! & 0x0f, query.dnssecOk, -1);
  }
  return out.length > query.maxResponseSize ? buildTruncated(query) : out;
}
