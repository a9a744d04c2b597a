/**
 * DNS wire format, read and written straight on the packet bytes (RFC 1035 §4, RFC 6891 EDNS(0),
 * RFC 8914 Extended DNS Errors). Nothing here decodes a whole message into objects and nothing throws:
 * every read is bounds-checked and a malformed input yields a status, never an exception.
 *
 * Queries: `parseQuery` reads the header and the single question, and scans the additional section
 * (only when ARCOUNT > 0) for the OPT record. Responses we make (`buildRcodeResponse`,
 * `buildBlockedResponse`, `buildFormErr`) copy the query's header and question and patch the header.
 * Upstream answers are walked by `ResponseScanner` (record offsets, TTLs, OPT) and names inside them
 * are read with `readName`, which follows compression pointers with a bounded hop count.
 */
import type { DnsQuery } from "./query";

export const HEADER_LENGTH = 12;
export const MAX_NAME_WIRE_LENGTH = 255;
export const MAX_LABEL_LENGTH = 63;
/** UDP payload size we advertise upstream and to clients (DNS flag day 2020 value). */
export const EDNS_UDP_SIZE = 1232;
/** Classic UDP limit for clients without EDNS (RFC 1035 §4.2.1). */
export const CLASSIC_UDP_SIZE = 512;
/** Longest response we ever build for an EDNS client over UDP, whatever size it advertises. */
export const MAX_UDP_RESPONSE = 4096;
/** Bound on pointer hops while reading one name (a name has at most 127 labels). */
export const MAX_POINTER_HOPS = 128;

export const Rcode = {
  NOERROR: 0,
  FORMERR: 1,
  SERVFAIL: 2,
  NXDOMAIN: 3,
  NOTIMP: 4,
  REFUSED: 5,
  /** Extended RCODE 16 (RFC 6891 §6.1.3): carried as 1 in the OPT TTL's upper byte, 0 in the header. */
  BADVERS: 16,
} as const;

export const RrType = {
  A: 1,
  NS: 2,
  CNAME: 5,
  SOA: 6,
  AAAA: 28,
  DNAME: 39,
  OPT: 41,
  SVCB: 64,
  HTTPS: 65,
  IXFR: 251,
  AXFR: 252,
} as const;

export const CLASS_IN = 1;

/** RFC 8914 §4.16: INFO-CODE 15 "Blocked". */
export const EDE_BLOCKED = 15;
const EDE_OPTION_CODE = 15;

/** Flag bits of header byte 2 / byte 3. */
const QR = 0x80;
const OPCODE_MASK = 0x78;
const TC = 0x02;
const RD = 0x01;
const RA = 0x80;
const CD = 0x10;

export const ParseStatus = {
  OK: 0,
  /** Header readable, message malformed: answer FORMERR. */
  FORMERR: 1,
  /** Not even a header (or a response sent to us): drop silently. */
  DROP: 2,
  /** Opcode other than QUERY. */
  NOTIMP: 3,
  /** EDNS version other than 0 (RFC 6891 §6.1.3). */
  BADVERS: 4,
} as const;
export type ParseStatus = (typeof ParseStatus)[keyof typeof ParseStatus];

/**
 * Parse `packet` as a query into `query` (fields documented on DnsQuery). Returns the status it also
 * stores in `query.status`. Refused as FORMERR: QDCOUNT != 1, ANCOUNT/NSCOUNT != 0, a compression
 * pointer or extended label type in the question, a label over 63 octets, a name over 255 octets, a
 * truncated question or additional section, more than one OPT, an OPT not owned by the root.
 */
export function parseQuery(packet: Uint8Array, query: DnsQuery): ParseStatus {
  const status = readQuery(packet, query);
  query.status = status;
  return status;
}

function readQuery(packet: Uint8Array, query: DnsQuery): ParseStatus {
  query.hasEdns = false;
  query.ednsUdpSize = CLASSIC_UDP_SIZE;
  query.dnssecOk = false;
  const length = packet.length;
  if (length < HEADER_LENGTH) return ParseStatus.DROP;
  const flags2 = packet[2]!;
  // Never answer a response: it would let two resolvers bounce packets at each other forever.
  if ((flags2 & QR) !== 0) return ParseStatus.DROP;
  query.id = (packet[0]! << 8) | packet[1]!;
  if ((flags2 & OPCODE_MASK) !== 0) return ParseStatus.NOTIMP;
  const qdcount = (packet[4]! << 8) | packet[5]!;
  const ancount = (packet[6]! << 8) | packet[7]!;
  const nscount = (packet[8]! << 8) | packet[9]!;
  const arcount = (packet[10]! << 8) | packet[11]!;
  if (qdcount !== 1 || ancount !== 0 || nscount !== 0) return ParseStatus.FORMERR;
  let pos = HEADER_LENGTH;
  let nameLength = 1;
  for (;;) {
    if (pos >= length) return ParseStatus.FORMERR;
    const labelLength = packet[pos]!;
    if (labelLength === 0) break;
    // > 63 covers compression pointers (0xC0) and the reserved label types (0x40, 0x80).
    if (labelLength > MAX_LABEL_LENGTH) return ParseStatus.FORMERR;
    nameLength += labelLength + 1;
    if (nameLength > MAX_NAME_WIRE_LENGTH) return ParseStatus.FORMERR;
    pos += labelLength + 1;
  }
  const qnameEnd = pos + 1;
  if (qnameEnd + 4 > length) return ParseStatus.FORMERR;
  query.qnameEnd = qnameEnd;
  query.questionEnd = qnameEnd + 4;
  query.qtype = (packet[qnameEnd]! << 8) | packet[qnameEnd + 1]!;
  query.qclass = (packet[qnameEnd + 2]! << 8) | packet[qnameEnd + 3]!;
  if (arcount > 0) return scanQueryAdditional(packet, query, arcount);
  return ParseStatus.OK;
}

/** Walk the additional section of a query looking for OPT (RFC 6891 §6.1.1). */
function scanQueryAdditional(packet: Uint8Array, query: DnsQuery, arcount: number): ParseStatus {
  const length = packet.length;
  let pos = query.questionEnd;
  let status: ParseStatus = ParseStatus.OK;
  for (let i = 0; i < arcount; i++) {
    const ownerStart = pos;
    pos = skipName(packet, pos);
    if (pos < 0 || pos + 10 > length) return ParseStatus.FORMERR;
    const type = (packet[pos]! << 8) | packet[pos + 1]!;
    const rdLength = (packet[pos + 8]! << 8) | packet[pos + 9]!;
    const rdataStart = pos + 10;
    if (rdataStart + rdLength > length) return ParseStatus.FORMERR;
    if (type === RrType.OPT) {
      if (query.hasEdns || pos !== ownerStart + 1 || packet[ownerStart] !== 0) return ParseStatus.FORMERR;
      query.hasEdns = true;
      const udpSize = (packet[pos + 2]! << 8) | packet[pos + 3]!;
      query.ednsUdpSize = Math.max(udpSize, CLASSIC_UDP_SIZE);
      if (packet[pos + 5] !== 0) status = ParseStatus.BADVERS;
      query.dnssecOk = (packet[pos + 6]! & 0x80) !== 0;
      if (!isValidOptionList(packet, rdataStart, rdataStart + rdLength)) return ParseStatus.FORMERR;
    }
    pos = rdataStart + rdLength;
  }
  return status;
}

/** EDNS options are (code u16, length u16, data) and must tile the RDATA exactly. */
function isValidOptionList(packet: Uint8Array, start: number, end: number): boolean {
  let pos = start;
  while (pos < end) {
    if (pos + 4 > end) return false;
    pos += 4 + ((packet[pos + 2]! << 8) | packet[pos + 3]!);
  }
  return pos === end;
}

/**
 * Offset just past the name at `pos` WITHOUT following pointers (a pointer ends the name: 2 bytes),
 * or -1 when it runs off the buffer, exceeds 255 octets or uses a reserved label type.
 */
export function skipName(packet: Uint8Array, pos: number): number {
  const length = packet.length;
  let p = pos;
  let nameLength = 1;
  for (;;) {
    if (p >= length) return -1;
    const labelLength = packet[p]!;
    if (labelLength === 0) return p + 1;
    if ((labelLength & 0xc0) === 0xc0) return p + 2 <= length ? p + 2 : -1;
    if (labelLength > MAX_LABEL_LENGTH) return -1;
    nameLength += labelLength + 1;
    if (nameLength > MAX_NAME_WIRE_LENGTH) return -1;
    p += labelLength + 1;
  }
}

/**
 * Copy the (possibly compressed) name at `pos` into `out` as an uncompressed wire name starting at 0.
 * Returns its length (>= 1), or -1 on a malformed name: a pointer loop or more than MAX_POINTER_HOPS
 * hops, a pointer past the end or not strictly backwards, a reserved label type, more than 255 octets.
 * Contract: `out` holds at least 255 bytes.
 */
export function readName(packet: Uint8Array, pos: number, out: Uint8Array): number {
  const length = packet.length;
  let p = pos;
  let written = 0;
  let hops = 0;
  let lowestTarget = pos;
  for (;;) {
    if (p >= length) return -1;
    const labelLength = packet[p]!;
    if (labelLength === 0) {
      out[written] = 0;
      return written + 1;
    }
    if ((labelLength & 0xc0) === 0xc0) {
      if (p + 1 >= length || ++hops > MAX_POINTER_HOPS) return -1;
      const target = ((labelLength & 0x3f) << 8) | packet[p + 1]!;
      // Strictly backwards from every earlier position: makes loops impossible, hops bound the rest.
      if (target >= lowestTarget) return -1;
      lowestTarget = target;
      p = target;
      continue;
    }
    if (labelLength > MAX_LABEL_LENGTH) return -1;
    if (written + labelLength + 2 > MAX_NAME_WIRE_LENGTH || p + 1 + labelLength > length) return -1;
    out[written] = labelLength;
    for (let i = 1; i <= labelLength; i++) out[written + i] = packet[p + i]!;
    written += labelLength + 1;
    p += labelLength + 1;
  }
}

/** ASCII case-insensitive comparison of two uncompressed wire names. */
export function sameWireName(a: Uint8Array, aStart: number, b: Uint8Array, bStart: number): boolean {
  let i = aStart;
  let j = bStart;
  for (;;) {
    if (i >= a.length || j >= b.length) return false;
    const la = a[i]!;
    if (la !== b[j]) return false;
    if (la === 0) return true;
    if (la > MAX_LABEL_LENGTH) return false;
    for (let k = 1; k <= la; k++) {
      if (i + k >= a.length || j + k >= b.length) return false;
      if (lowerAscii(a[i + k]!) !== lowerAscii(b[j + k]!)) return false;
    }
    i += la + 1;
    j += la + 1;
  }
}

export function lowerAscii(code: number): number {
  return code >= 0x41 && code <= 0x5a ? code | 0x20 : code;
}

/** The dotted, lower-case spelling of an uncompressed wire name (allocates: events, logs, tests). */
export function wireNameToString(packet: Uint8Array, pos: number): string {
  let p = pos;
  let name = "";
  while (p < packet.length) {
    const labelLength = packet[p]!;
    if (labelLength === 0 || labelLength > MAX_LABEL_LENGTH) break;
    if (name.length > 0) name += ".";
    for (let i = 1; i <= labelLength && p + i < packet.length; i++) {
      name += String.fromCharCode(lowerAscii(packet[p + i]!));
    }
    p += labelLength + 1;
  }
  return name;
}

// ---------------------------------------------------------------------------------------------------
// Building responses to a parsed query

/** Size of our OPT record without options / with one EDE option (no EXTRA-TEXT). */
const OPT_LENGTH = 11;
const EDE_OPTION_LENGTH = 6;

/** Header bytes 2-3 of a response to `packet`: QR, the query's opcode and RD, RA, the query's CD. */
function writeResponseFlags(out: Uint8Array, packet: Uint8Array, rcode: number): void {
  out[2] = QR | (packet[2]! & (OPCODE_MASK | RD));
  out[3] = RA | (packet[3]! & CD) | (rcode & 0x0f);
}

function writeU16(out: Uint8Array, pos: number, value: number): void {
  out[pos] = value >>> 8;
  out[pos + 1] = value & 0xff;
}

function writeU32(out: Uint8Array, pos: number, value: number): void {
  out[pos] = value >>> 24;
  out[pos + 1] = (value >>> 16) & 0xff;
  out[pos + 2] = (value >>> 8) & 0xff;
  out[pos + 3] = value & 0xff;
}

/**
 * Write our OPT record at `pos` (RFC 6891 §6.1.2): root owner, our UDP size, extended RCODE bits,
 * version 0, the client's DO bit echoed (RFC 3225 §3), and optionally an EDE option. Returns the end.
 */
export function writeOpt(
  out: Uint8Array,
  pos: number,
  rcode: number,
  dnssecOk: boolean,
  ede: number,
): number {
  out[pos] = 0;
  writeU16(out, pos + 1, RrType.OPT);
  writeU16(out, pos + 3, EDNS_UDP_SIZE);
  out[pos + 5] = rcode >>> 4;
  out[pos + 6] = 0;
  out[pos + 7] = dnssecOk ? 0x80 : 0;
  out[pos + 8] = 0;
  if (ede < 0) {
    writeU16(out, pos + 9, 0);
    return pos + OPT_LENGTH;
  }
  writeU16(out, pos + 9, EDE_OPTION_LENGTH);
  writeU16(out, pos + 11, EDE_OPTION_CODE);
  writeU16(out, pos + 13, 2);
  writeU16(out, pos + 15, ede);
  return pos + OPT_LENGTH + EDE_OPTION_LENGTH;
}

/**
 * Header + the query's question (+ our OPT when the query had EDNS, carrying EDE `ede` unless -1).
 * Contract: `query.status` is OK or BADVERS (the question was read).
 */
export function buildRcodeResponse(query: DnsQuery, rcode: number, ede = -1): Buffer {
  const packet = query.packet;
  const questionEnd = query.questionEnd;
  const optLength = query.hasEdns ? OPT_LENGTH + (ede >= 0 ? EDE_OPTION_LENGTH : 0) : 0;
  const out = Buffer.allocUnsafe(questionEnd + optLength);
  out.set(packet.subarray(0, questionEnd), 0);
  writeResponseFlags(out, packet, rcode);
  writeU16(out, 4, 1);
  writeU32(out, 6, 0);
  writeU16(out, 10, query.hasEdns ? 1 : 0);
  if (query.hasEdns) writeOpt(out, questionEnd, rcode, query.dnssecOk, ede);
  return out;
}

/** FORMERR / NOTIMP for a message whose question may be unreadable: the header alone, counts zero. */
export function buildHeaderOnlyResponse(packet: Uint8Array, rcode: number): Buffer {
  const out = Buffer.alloc(HEADER_LENGTH);
  out[0] = packet[0]!;
  out[1] = packet[1]!;
  writeResponseFlags(out, packet, rcode);
  return out;
}

export function buildFormErr(packet: Uint8Array): Buffer {
  return buildHeaderOnlyResponse(packet, Rcode.FORMERR);
}

/** BADVERS (RFC 6891 §6.1.3): header RCODE 0, extended RCODE 1 in our OPT. */
export function buildBadVers(query: DnsQuery): Buffer {
  const packet = query.packet;
  const questionEnd = query.questionEnd;
  const out = Buffer.allocUnsafe(questionEnd + OPT_LENGTH);
  out.set(packet.subarray(0, questionEnd), 0);
  writeResponseFlags(out, packet, 0);
  writeU16(out, 4, 1);
  writeU32(out, 6, 0);
  writeU16(out, 10, 1);
  writeOpt(out, questionEnd, Rcode.BADVERS, query.dnssecOk, -1);
  return out;
}

/** What a blocked name is answered with (see block-response.ts). */
export interface BlockAnswer {
  /** 4 bytes, or null: then A queries get an empty NOERROR (NODATA) answer. */
  readonly ipv4: Uint8Array | null;
  /** 16 bytes, or null. */
  readonly ipv6: Uint8Array | null;
  /** TTL of the redirect record, seconds. */
  readonly ttl: number;
}

/**
 * The answer to a blocked query: NXDOMAIN, or (when `redirect` is given) NOERROR with one A/AAAA
 * record of the interstitial address for A/AAAA queries and no records for other types. Always
 * carries EDE 15 "Blocked" when the query had EDNS (RFC 8914).
 */
export function buildBlockedResponse(query: DnsQuery, redirect: BlockAnswer | null): Buffer {
  if (redirect === null) return buildRcodeResponse(query, Rcode.NXDOMAIN, EDE_BLOCKED);
  let address: Uint8Array | null = null;
  if (query.qclass === CLASS_IN) {
    if (query.qtype === RrType.A) address = redirect.ipv4;
    else if (query.qtype === RrType.AAAA) address = redirect.ipv6;
  }
  if (address === null) return buildRcodeResponse(query, Rcode.NOERROR, EDE_BLOCKED);
  const packet = query.packet;
  const questionEnd = query.questionEnd;
  const answerLength = 12 + address.length; // pointer(2) type(2) class(2) ttl(4) rdlength(2) rdata
  const optLength = query.hasEdns ? OPT_LENGTH + EDE_OPTION_LENGTH : 0;
  const out = Buffer.allocUnsafe(questionEnd + answerLength + optLength);
  out.set(packet.subarray(0, questionEnd), 0);
  writeResponseFlags(out, packet, Rcode.NOERROR);
  writeU16(out, 4, 1);
  writeU16(out, 6, 1);
  writeU16(out, 8, 0);
  writeU16(out, 10, query.hasEdns ? 1 : 0);
  let pos = questionEnd;
  writeU16(out, pos, 0xc000 | HEADER_LENGTH); // owner = the question's name
  writeU16(out, pos + 2, query.qtype);
  writeU16(out, pos + 4, CLASS_IN);
  writeU32(out, pos + 6, redirect.ttl);
  writeU16(out, pos + 10, address.length);
  out.set(address, pos + 12);
  pos += answerLength;
  if (query.hasEdns) writeOpt(out, pos, Rcode.NOERROR, query.dnssecOk, EDE_BLOCKED);
  return out;
}

/** A response with TC set and no records (RFC 2181 §9): the client retries over TCP. */
export function buildTruncated(query: DnsQuery): Buffer {
  const out = buildRcodeResponse(query, Rcode.NOERROR);
  out[2] = out[2]! | TC;
  return out;
}

// ---------------------------------------------------------------------------------------------------
// Reading upstream responses

export const Section = { ANSWER: 1, AUTHORITY: 2, ADDITIONAL: 3 } as const;

/** Records beyond this many make a response "unscannable" (we then refuse to pass it on unchecked). */
export const MAX_SCANNED_RECORDS = 512;

/**
 * Walks a response once and records, per resource record: its section, type, the offset of its TTL
 * field and of its RDATA, and the RDATA length. Reused across calls (preallocated arrays).
 */
export class ResponseScanner {
  readonly recordType = new Uint16Array(MAX_SCANNED_RECORDS);
  readonly recordSection = new Uint8Array(MAX_SCANNED_RECORDS);
  readonly ttlOffset = new Int32Array(MAX_SCANNED_RECORDS);
  readonly rdataOffset = new Int32Array(MAX_SCANNED_RECORDS);
  readonly rdataLength = new Uint16Array(MAX_SCANNED_RECORDS);
  recordCount = 0;
  answerCount = 0;
  authorityCount = 0;
  rcode = 0;
  truncated = false;
  questionEnd = 0;
  /** Start of the OPT record and the offset just past it, or -1. */
  optStart = -1;
  optEnd = -1;
  /** Index of the OPT record among the scanned records, or -1. */
  optIndex = -1;

  /**
   * Scan `packet` as a response to a one-question query. Returns false when it is not a well-formed
   * response: shorter than a header, QR clear, QDCOUNT != 1, a record running past the end, more than
   * MAX_SCANNED_RECORDS records, more than one OPT, or trailing garbage.
   */
  scan(packet: Uint8Array): boolean {
    this.recordCount = 0;
    this.optStart = -1;
    this.optEnd = -1;
    this.optIndex = -1;
    const length = packet.length;
    if (length < HEADER_LENGTH || (packet[2]! & QR) === 0) return false;
    this.truncated = (packet[2]! & TC) !== 0;
    this.rcode = packet[3]! & 0x0f;
    const qdcount = (packet[4]! << 8) | packet[5]!;
    const ancount = (packet[6]! << 8) | packet[7]!;
    const nscount = (packet[8]! << 8) | packet[9]!;
    const arcount = (packet[10]! << 8) | packet[11]!;
    if (qdcount !== 1) return false;
    const total = ancount + nscount + arcount;
    if (total > MAX_SCANNED_RECORDS) return false;
    let pos = skipName(packet, HEADER_LENGTH);
    if (pos < 0 || pos + 4 > length) return false;
    pos += 4;
    this.questionEnd = pos;
    this.answerCount = ancount;
    this.authorityCount = nscount;
    for (let i = 0; i < total; i++) {
      const recordStart = pos;
      pos = skipName(packet, pos);
      if (pos < 0 || pos + 10 > length) return false;
      const type = (packet[pos]! << 8) | packet[pos + 1]!;
      const rdLength = (packet[pos + 8]! << 8) | packet[pos + 9]!;
      const rdata = pos + 10;
      if (rdata + rdLength > length) return false;
      const section =
        i < ancount ? Section.ANSWER : i < ancount + nscount ? Section.AUTHORITY : Section.ADDITIONAL;
      if (type === RrType.OPT) {
        if (this.optStart >= 0 || section !== Section.ADDITIONAL) return false;
        this.optStart = recordStart;
        this.optEnd = rdata + rdLength;
        this.optIndex = i;
        this.rcode |= packet[pos + 4]! << 4; // extended RCODE bits
      }
      this.recordType[i] = type;
      this.recordSection[i] = section;
      this.ttlOffset[i] = pos + 4;
      this.rdataOffset[i] = rdata;
      this.rdataLength[i] = rdLength;
      pos = rdata + rdLength;
    }
    if (pos !== length) return false;
    this.recordCount = total;
    return true;
  }

  ttlOf(packet: Uint8Array, index: number): number {
    const at = this.ttlOffset[index]!;
    // RFC 2181 §8: a TTL with the top bit set is treated as zero.
    const ttl =
      ((packet[at]! << 24) | (packet[at + 1]! << 16) | (packet[at + 2]! << 8) | packet[at + 3]!) >>> 0;
    return ttl > 0x7fffffff ? 0 : ttl;
  }
}

/** Does the response's question equal the query's (name case-insensitively, type, class)? */
export function sameQuestion(response: Uint8Array, query: DnsQuery): boolean {
  const packet = query.packet;
  if (response.length < query.questionEnd) return false;
  if (!sameWireName(response, HEADER_LENGTH, packet, HEADER_LENGTH)) return false;
  const at = query.qnameEnd;
  return (
    response[at] === packet[at] &&
    response[at + 1] === packet[at + 1] &&
    response[at + 2] === packet[at + 2] &&
    response[at + 3] === packet[at + 3]
  );
}

export function readU16(packet: Uint8Array, pos: number): number {
  return (packet[pos]! << 8) | packet[pos + 1]!;
}

export function writeU16At(packet: Uint8Array, pos: number, value: number): void {
  writeU16(packet, pos, value);
}

export function writeU32At(packet: Uint8Array, pos: number, value: number): void {
  writeU32(packet, pos, value);
}

export const OPT_RECORD_LENGTH = OPT_LENGTH;
export const FLAG_TC = TC;
export const FLAG_RD = RD;
