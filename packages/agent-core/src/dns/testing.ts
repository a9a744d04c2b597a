/**
 * Test support for the DNS path: query builders (dns-packet, tests only), a fake next stage, a list
 * compiled from rules, and a fake upstream server on 127.0.0.1 (UDP + TCP) whose answers each test
 * programs. Imported by *.test.ts files only.
 */
import dgram from "node:dgram";
import net from "node:net";
import { compileBlocklist, type DomainRule, loadBlocklist } from "@betblocker/common/blocklist/format";
import { BlocklistMatcher } from "@betblocker/common/blocklist/matcher";
import { newTestKeys } from "@betblocker/common/blocklist/testing";
import packet from "dns-packet";
import { type DnsAnswer, DnsQuery, type DnsStage, type Transport } from "./query";

export interface QueryOptions {
  readonly id?: number;
  readonly type?: string;
  readonly edns?: boolean;
  readonly dnssecOk?: boolean;
  readonly udpSize?: number;
  readonly recursionDesired?: boolean;
}

/** Wire bytes of a one-question query (dns-packet encodes; tests only). */
export function queryBytes(name: string, options: QueryOptions = {}): Buffer {
  return packet.encode({
    type: "query",
    id: options.id ?? 0x1234,
    flags: options.recursionDesired === false ? 0 : packet.RECURSION_DESIRED,
    questions: [{ type: (options.type ?? "A") as "A", name, class: "IN" }],
    additionals: options.edns
      ? [
          {
            type: "OPT",
            name: ".",
            udpPayloadSize: options.udpSize ?? 1232,
            flags: options.dnssecOk ? packet.DNSSEC_OK : 0,
            options: [],
          } as unknown as packet.Answer,
        ]
      : [],
  });
}

export function makeQuery(name: string, options: QueryOptions & { transport?: Transport } = {}): DnsQuery {
  return new DnsQuery(queryBytes(name, options), options.transport ?? "udp");
}

export function decode(bytes: Uint8Array | null): packet.DecodedPacket & { rcode: string } {
  if (bytes === null) throw new Error("expected an answer, got a drop");
  return packet.decode(Buffer.from(bytes)) as packet.DecodedPacket & { rcode: string };
}

/** The EDE INFO-CODEs (RFC 8914) carried in a response's OPT record. */
export function edeCodes(bytes: Uint8Array): number[] {
  const decoded = decode(bytes);
  const codes: number[] = [];
  for (const record of decoded.additionals ?? []) {
    if (record.type !== "OPT") continue;
    for (const option of (record as unknown as { options: Array<{ code: number; data: Buffer }> }).options) {
      if (option.code === 15) codes.push(option.data.readUInt16BE(0));
    }
  }
  return codes;
}

/** A next stage that records what reached it and answers with a programmed function. */
export class FakeStage implements DnsStage {
  readonly seen: string[] = [];
  constructor(private readonly answer: (query: DnsQuery) => DnsAnswer | Promise<DnsAnswer> = () => null) {}

  resolve(query: DnsQuery): DnsAnswer | Promise<DnsAnswer> {
    this.seen.push(query.name());
    return this.answer(query);
  }
}

export const testKeys = newTestKeys();

/** A verified matcher over block/allow/wildcard rules (category "casino" unless given). */
export function matcherFor(rules: {
  block?: Array<string | DomainRule>;
  allow?: string[];
  wildcard?: string[];
}): BlocklistMatcher {
  const toRule = (entry: string | DomainRule): DomainRule =>
    typeof entry === "string" ? { domain: entry, category: "casino" } : entry;
  const bytes = compileBlocklist({
    version: 1,
    createdAt: 1_700_000_000_000,
    prevHash: null,
    rules: {
      block: (rules.block ?? []).map(toRule),
      wildcard: (rules.wildcard ?? []).map((domain) => ({ domain, category: "casino" })),
      allow: rules.allow ?? [],
      pattern: [],
    },
    privateKey: testKeys.privateKey,
  });
  return new BlocklistMatcher(loadBlocklist(bytes, testKeys.publicKey));
}

export type UpstreamReply = (
  request: packet.DecodedPacket,
  transport: Transport,
) => packet.Packet | Buffer | null;

/**
 * A fake upstream resolver on 127.0.0.1 (UDP and TCP on the same port). `reply` builds the answer
 * (null = stay silent); `delayMs` delays UDP answers. Counts what it received per transport.
 */
export class FakeUpstream {
  udpQueries = 0;
  tcpQueries = 0;
  readonly names: string[] = [];
  private udp!: dgram.Socket;
  private tcp!: net.Server;
  private readonly sockets = new Set<net.Socket>();
  port = 0;

  constructor(public reply: UpstreamReply) {}

  /**
   * UDP and TCP listen on the same port, like a real DNS server. The UDP port is picked by the kernel; when
   * its TCP twin is taken by another process (parallel test runs), both are closed and another port is tried.
   */
  static async start(reply: UpstreamReply): Promise<FakeUpstream> {
    for (let attempt = 0; attempt < 20; attempt++) {
      const upstream = new FakeUpstream(reply);
      if (await upstream.listen()) return upstream;
    }
    throw new Error("FakeUpstream: no port free for both UDP and TCP after 20 attempts");
  }

  private async listen(): Promise<boolean> {
    this.udp = dgram.createSocket("udp4");
    await new Promise<void>((resolve) => this.udp.bind(0, "127.0.0.1", () => resolve()));
    this.port = this.udp.address().port;
    this.udp.on("message", (message, rinfo) => {
      this.udpQueries++;
      const answer = this.answer(message, "udp");
      if (answer !== null) this.udp.send(answer, rinfo.port, rinfo.address);
    });
    this.tcp = net.createServer((socket) => {
      this.sockets.add(socket);
      socket.on("close", () => this.sockets.delete(socket));
      socket.on("error", () => {});
      let buffered = Buffer.alloc(0);
      socket.on("data", (chunk) => {
        buffered = Buffer.concat([buffered, chunk]);
        while (buffered.length >= 2 && buffered.length >= buffered.readUInt16BE(0) + 2) {
          const length = buffered.readUInt16BE(0);
          const message = buffered.subarray(2, 2 + length);
          buffered = buffered.subarray(2 + length);
          this.tcpQueries++;
          const answer = this.answer(message, "tcp");
          if (answer !== null) {
            const frame = Buffer.alloc(answer.length + 2);
            frame.writeUInt16BE(answer.length, 0);
            answer.copy(frame, 2);
            socket.write(frame);
          }
        }
      });
    });
    const listening = await new Promise<boolean>((resolve) => {
      this.tcp.once("error", () => resolve(false));
      this.tcp.listen(this.port, "127.0.0.1", () => resolve(true));
    });
    if (!listening) {
      this.udp.close();
      this.tcp.close();
    }
    return listening;
  }

  private answer(message: Buffer, transport: Transport): Buffer | null {
    let request: packet.DecodedPacket;
    try {
      request = packet.decode(message);
    } catch {
      return null;
    }
    this.names.push(request.questions?.[0]?.name ?? "");
    const reply = this.reply(request, transport);
    if (reply === null) return null;
    return Buffer.isBuffer(reply) ? reply : packet.encode(reply);
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.udp.close(() => resolve()));
    await new Promise<void>((resolve) => this.tcp.close(() => resolve()));
  }
}

/** A positive answer: the question's name -> 192.0.2.1 (A) with `ttl`. */
export function addressAnswer(
  request: packet.DecodedPacket,
  ttl = 300,
  address = "192.0.2.1",
): packet.Packet {
  const question = request.questions![0]!;
  return {
    type: "response",
    id: request.id,
    flags: packet.RECURSION_DESIRED | packet.RECURSION_AVAILABLE,
    questions: request.questions,
    answers: [{ type: "A", name: question.name, ttl, class: "IN", data: address }],
    additionals: [
      { type: "OPT", name: ".", udpPayloadSize: 1232, flags: 0, options: [] } as unknown as packet.Answer,
    ],
  };
}

/** NXDOMAIN with a SOA in the authority section (RFC 2308), SOA TTL `soaTtl`, MINIMUM `minimum`. */
export function nxdomainAnswer(request: packet.DecodedPacket, soaTtl = 900, minimum = 60): packet.Packet {
  return {
    type: "response",
    id: request.id,
    // dns-packet ignores `rcode` on encode: the RCODE goes into the flags' low bits.
    flags: packet.RECURSION_DESIRED | packet.RECURSION_AVAILABLE | 3,
    questions: request.questions,
    authorities: [
      {
        type: "SOA",
        name: "example",
        ttl: soaTtl,
        class: "IN",
        data: {
          mname: "ns.example",
          rname: "hostmaster.example",
          serial: 1,
          refresh: 3600,
          retry: 600,
          expire: 86400,
          minimum,
        },
      },
    ],
  };
}

/** Send one UDP query to 127.0.0.1:port and wait for the answer (or null after timeoutMs). */
export function udpExchange(port: number, bytes: Uint8Array, timeoutMs = 2000): Promise<Buffer | null> {
  return new Promise((resolve) => {
    const socket = dgram.createSocket("udp4");
    const timer = setTimeout(() => {
      socket.close();
      resolve(null);
    }, timeoutMs);
    socket.on("message", (message) => {
      clearTimeout(timer);
      socket.close();
      resolve(message);
    });
    socket.send(bytes, port, "127.0.0.1");
  });
}

/** Send queries over one TCP connection; resolves with the answers in arrival order. */
export function tcpExchangeMany(port: number, queries: Uint8Array[], timeoutMs = 3000): Promise<Buffer[]> {
  return new Promise((resolve) => {
    const answers: Buffer[] = [];
    const socket = net.connect(port, "127.0.0.1");
    let buffered = Buffer.alloc(0);
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(answers);
    }, timeoutMs);
    socket.on("connect", () => {
      for (const query of queries) {
        const frame = Buffer.alloc(query.length + 2);
        frame.writeUInt16BE(query.length, 0);
        frame.set(query, 2);
        socket.write(frame);
      }
    });
    socket.on("data", (chunk) => {
      buffered = Buffer.concat([buffered, chunk]);
      while (buffered.length >= 2 && buffered.length >= buffered.readUInt16BE(0) + 2) {
        const length = buffered.readUInt16BE(0);
        answers.push(Buffer.from(buffered.subarray(2, 2 + length)));
        buffered = buffered.subarray(2 + length);
      }
      if (answers.length === queries.length) {
        clearTimeout(timer);
        socket.destroy();
        resolve(answers);
      }
    });
    socket.on("error", () => {});
  });
}
