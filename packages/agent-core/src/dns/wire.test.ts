import packet from "dns-packet";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DnsQuery } from "./query";
import { addressAnswer, decode, edeCodes, makeQuery, queryBytes } from "./testing";
import {
  buildBlockedResponse,
  buildFormErr,
  buildRcodeResponse,
  buildTruncated,
  EDE_BLOCKED,
  ParseStatus,
  Rcode,
  ResponseScanner,
  readName,
  wireNameToString,
} from "./wire";

function parse(bytes: Uint8Array): DnsQuery {
  return new DnsQuery(bytes, "udp");
}

/** A header with the given counts followed by `body`. */
function rawMessage(counts: [number, number, number, number], body: number[], flags = [0x01, 0x00]): Buffer {
  return Buffer.from([0xab, 0xcd, ...flags, 0, counts[0], 0, counts[1], 0, counts[2], 0, counts[3], ...body]);
}

describe("parseQuery", () => {
  it("reads header and question straight from the bytes", () => {
    const query = parse(queryBytes("www.Example.COM", { id: 0x4242, type: "AAAA" }));
    expect(query.status).toBe(ParseStatus.OK);
    expect(query.id).toBe(0x4242);
    expect(query.qtype).toBe(28);
    expect(query.qclass).toBe(1);
    expect(query.qnameEnd).toBe(12 + 17);
    expect(query.questionEnd).toBe(query.qnameEnd + 4);
    expect(query.hasEdns).toBe(false);
    expect(query.maxResponseSize).toBe(512);
    expect(query.name()).toBe("www.example.com");
  });

  it("finds the OPT record: UDP size and DO bit", () => {
    const query = parse(queryBytes("example.com", { edns: true, udpSize: 4096, dnssecOk: true }));
    expect(query.status).toBe(ParseStatus.OK);
    expect(query.hasEdns).toBe(true);
    expect(query.ednsUdpSize).toBe(4096);
    expect(query.dnssecOk).toBe(true);
    expect(query.maxResponseSize).toBe(4096);
    const small = parse(queryBytes("example.com", { edns: true, udpSize: 100 }));
    expect(small.ednsUdpSize).toBe(512);
  });

  it("drops what has no header or is a response", () => {
    expect(parse(Buffer.alloc(0)).status).toBe(ParseStatus.DROP);
    expect(parse(Buffer.alloc(11)).status).toBe(ParseStatus.DROP);
    const response = queryBytes("example.com");
    response[2] = response[2]! | 0x80;
    expect(parse(response).status).toBe(ParseStatus.DROP);
  });

  it("answers FORMERR for every malformed class with a readable header", () => {
    const name = [3, 0x61, 0x62, 0x63, 0];
    const question = [...name, 0, 1, 0, 1];
    // qdcount 0 and 2
    expect(parse(rawMessage([0, 0, 0, 0], [])).status).toBe(ParseStatus.FORMERR);
    expect(parse(rawMessage([2, 0, 0, 0], [...question, ...question])).status).toBe(ParseStatus.FORMERR);
    // answers in a query
    expect(parse(rawMessage([1, 1, 0, 0], question)).status).toBe(ParseStatus.FORMERR);
    // label over 63 (64 = 0x40, also a reserved label type)
    expect(parse(rawMessage([1, 0, 0, 0], [64, ...new Array(64).fill(0x61), 0, 0, 1, 0, 1])).status).toBe(
      ParseStatus.FORMERR,
    );
    // name over 255 octets: five labels of 63
    const long: number[] = [];
    for (let i = 0; i < 5; i++) long.push(63, ...new Array(63).fill(0x61));
    expect(parse(rawMessage([1, 0, 0, 0], [...long, 0, 0, 1, 0, 1])).status).toBe(ParseStatus.FORMERR);
    // compression pointer in the question, including a pointer to itself (loop)
    expect(parse(rawMessage([1, 0, 0, 0], [0xc0, 12, 0, 1, 0, 1])).status).toBe(ParseStatus.FORMERR);
    // truncated name, truncated type/class
    expect(parse(rawMessage([1, 0, 0, 0], [3, 0x61, 0x62])).status).toBe(ParseStatus.FORMERR);
    expect(parse(rawMessage([1, 0, 0, 0], [...name, 0, 1])).status).toBe(ParseStatus.FORMERR);
    // arcount says 1, nothing there; garbage RDLENGTH
    expect(parse(rawMessage([1, 0, 0, 1], question)).status).toBe(ParseStatus.FORMERR);
    expect(
      parse(rawMessage([1, 0, 0, 1], [...question, 0, 0, 41, 4, 0xd0, 0, 0, 0, 0, 0xff, 0xff])).status,
    ).toBe(ParseStatus.FORMERR);
    // two OPT records
    const opt = [0, 0, 41, 4, 0xd0, 0, 0, 0, 0, 0, 0];
    expect(parse(rawMessage([1, 0, 0, 2], [...question, ...opt, ...opt])).status).toBe(ParseStatus.FORMERR);
    // OPT whose options do not tile its RDATA
    expect(
      parse(rawMessage([1, 0, 0, 1], [...question, 0, 0, 41, 4, 0xd0, 0, 0, 0, 0, 0, 3, 0, 1, 0])).status,
    ).toBe(ParseStatus.FORMERR);
  });

  it("flags other opcodes NOTIMP and EDNS versions other than 0 BADVERS", () => {
    const notify = queryBytes("example.com");
    notify[2] = (notify[2]! & 0x87) | (4 << 3);
    expect(parse(notify).status).toBe(ParseStatus.NOTIMP);
    const question = [3, 0x61, 0x62, 0x63, 0, 0, 1, 0, 1];
    const optVersion1 = [0, 0, 41, 4, 0xd0, 0, 1, 0, 0, 0, 0];
    expect(parse(rawMessage([1, 0, 0, 1], [...question, ...optVersion1])).status).toBe(ParseStatus.BADVERS);
  });

  it("never throws on random or mutated bytes", () => {
    const seed = queryBytes("www.casino.example.com", { edns: true });
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 600 }),
        fc.array(fc.tuple(fc.nat(seed.length - 1), fc.integer({ min: 0, max: 255 })), { maxLength: 8 }),
        fc.nat(seed.length),
        (random, flips, cut) => {
          for (const bytes of [random, mutate(seed, flips).subarray(0, cut)]) {
            const query = parse(bytes);
            expect([0, 1, 2, 3, 4]).toContain(query.status);
            if (query.status === ParseStatus.OK) {
              expect(query.questionEnd).toBeLessThanOrEqual(bytes.length);
              expect(query.qnameEnd - 12).toBeLessThanOrEqual(255);
            }
          }
        },
      ),
      { numRuns: 3000 },
    );
  });
});

function mutate(seed: Buffer, flips: Array<[number, number]>): Buffer {
  const copy = Buffer.from(seed);
  for (const [at, value] of flips) copy[at] = value;
  return copy;
}

describe("response builders", () => {
  it("NXDOMAIN for a blocked name copies ID, question and RD, and carries EDE 15 when the query had EDNS", () => {
    const query = makeQuery("casino.example", { id: 777, edns: true, dnssecOk: true });
    const bytes = buildBlockedResponse(query, null);
    const response = decode(bytes);
    expect(response.id).toBe(777);
    expect(response.rcode).toBe("NXDOMAIN");
    expect(response.flag_qr).toBe(true);
    expect(response.flag_rd).toBe(true);
    expect(response.flag_ra).toBe(true);
    expect(response.questions?.[0]).toMatchObject({ name: "casino.example", type: "A" });
    expect(edeCodes(bytes)).toEqual([EDE_BLOCKED]);
    const opt = response.additionals?.find((record) => record.type === "OPT") as unknown as { flags: number };
    expect(opt.flags & packet.DNSSEC_OK).toBe(packet.DNSSEC_OK);
  });

  it("adds no OPT record for a client without EDNS", () => {
    const bytes = buildBlockedResponse(makeQuery("casino.example"), null);
    expect(decode(bytes).additionals).toEqual([]);
    expect(bytes.length).toBe(12 + 16 + 4);
  });

  it("redirect answers A/AAAA with the interstitial address and other types with NODATA", () => {
    const redirect = { ipv4: Uint8Array.from([203, 0, 113, 7]), ipv6: null, ttl: 60 };
    const a = decode(buildBlockedResponse(makeQuery("casino.example", { edns: true }), redirect));
    expect(a.rcode).toBe("NOERROR");
    expect(a.answers).toEqual([
      expect.objectContaining({ name: "casino.example", type: "A", ttl: 60, data: "203.0.113.7" }),
    ]);
    const aaaaBytes = buildBlockedResponse(
      makeQuery("casino.example", { type: "AAAA", edns: true }),
      redirect,
    );
    expect(decode(aaaaBytes).answers).toEqual([]);
    expect(decode(aaaaBytes).rcode).toBe("NOERROR");
    expect(edeCodes(aaaaBytes)).toEqual([EDE_BLOCKED]);
  });

  it("FORMERR is the header alone; TC responses have no records", () => {
    const formErr = decode(buildFormErr(queryBytes("x.example", { id: 9 })));
    expect(formErr).toMatchObject({ id: 9, rcode: "FORMERR", questions: [] });
    const truncated = decode(buildTruncated(makeQuery("x.example", { edns: true })));
    expect(truncated.flag_tc).toBe(true);
    expect(truncated.answers).toEqual([]);
  });

  it("SERVFAIL without EDE", () => {
    const bytes = buildRcodeResponse(makeQuery("x.example", { edns: true }), Rcode.SERVFAIL);
    expect(decode(bytes).rcode).toBe("SERVFAIL");
    expect(edeCodes(bytes)).toEqual([]);
  });
});

describe("reading names in answers", () => {
  const out = new Uint8Array(256);

  it("follows compression pointers", () => {
    const request = packet.decode(queryBytes("www.casino.example"));
    const response = packet.encode({
      ...addressAnswer(request),
      answers: [
        { type: "CNAME", name: "www.casino.example", ttl: 60, class: "IN", data: "cdn.casino.example" },
        { type: "A", name: "cdn.casino.example", ttl: 60, class: "IN", data: "192.0.2.5" },
      ],
    });
    const scanner = new ResponseScanner();
    expect(scanner.scan(response)).toBe(true);
    expect(scanner.answerCount).toBe(2);
    const length = readName(response, scanner.rdataOffset[0]!, out);
    expect(length).toBeGreaterThan(0);
    expect(wireNameToString(out, 0)).toBe("cdn.casino.example");
  });

  it("refuses pointer loops, forward pointers and names over 255 octets", () => {
    // pointer at 12 pointing to itself
    expect(readName(Buffer.from([...new Array(12).fill(0), 0xc0, 12]), 12, out)).toBe(-1);
    // two pointers pointing at each other
    expect(readName(Buffer.from([...new Array(12).fill(0), 0xc0, 14, 0xc0, 12]), 14, out)).toBe(-1);
    // forward pointer
    expect(
      readName(Buffer.from([...new Array(12).fill(0), 0xc0, 20, ...new Array(10).fill(0)]), 12, out),
    ).toBe(-1);
    // label chain that grows past 255 octets through backward pointers
    const bytes: number[] = [];
    bytes.push(63, ...new Array(63).fill(0x61), 0); // name A at 0
    const at = bytes.length;
    bytes.push(
      63,
      ...new Array(63).fill(0x62),
      63,
      ...new Array(63).fill(0x63),
      63,
      ...new Array(63).fill(0x64),
    );
    bytes.push(0xc0, 0);
    expect(readName(Buffer.from(bytes), at, out)).toBe(-1);
    // truncated
    expect(readName(Buffer.from([3, 0x61]), 0, out)).toBe(-1);
  });

  it("the scanner refuses truncated records, trailing garbage and OPT outside the additional section", () => {
    const request = packet.decode(queryBytes("a.example"));
    const response = packet.encode(addressAnswer(request));
    const scanner = new ResponseScanner();
    expect(scanner.scan(response)).toBe(true);
    expect(scanner.optStart).toBeGreaterThan(0);
    expect(scanner.optEnd).toBe(response.length);
    expect(scanner.scan(response.subarray(0, response.length - 3))).toBe(false);
    expect(scanner.scan(Buffer.concat([response, Buffer.from([1, 2, 3])]))).toBe(false);
    const huge = Buffer.from(response);
    huge.writeUInt16BE(0xffff, 6); // ANCOUNT 65535
    expect(scanner.scan(huge)).toBe(false);
  });
});
