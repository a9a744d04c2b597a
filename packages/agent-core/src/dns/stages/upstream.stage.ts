/**
 * Position 6 (last): forwards to the upstream resolvers.
 *
 * - The upstream query is the client's header and question with our own EDNS OPT (UDP size 1232,
 *   the client's DO bit), RD set, a fresh random ID per attempt (crypto-random pool), sent from one
 *   of several UDP sockets on kernel-chosen random ports (so ID x port must be guessed together).
 * - A response is accepted only from the server it was sent to, with the same ID on the same socket,
 *   QR set and the same question (case-insensitive); anything else is ignored (spoofing, late
 *   answers to an abandoned attempt).
 * - Timeout per attempt; the next attempt goes to the next server (failover) and the failing server
 *   stops being the preferred one. SERVFAIL/REFUSED from one server also fails over while attempts
 *   remain. After the last attempt the client gets SERVFAIL.
 * - TC from upstream -> the same question again over TCP (RFC 7766); TCP clients are forwarded
 *   over TCP from the start. FORMERR/NOTIMP to our EDNS query -> asked once more without OPT.
 * - Timeouts use one timer for all pending queries (same timeout for all, so insertion order is
 *   deadline order: a linked list, no per-query timer objects).
 * Contract: the returned promise never rejects.
 */
import { randomFillSync } from "node:crypto";
import { isIP } from "node:net";
import type { DnsAnswer, DnsCounters, DnsQuery, DnsStage } from "../query";
import { tcpExchange } from "../tcp-exchange";
import { BatchedUdpSocket } from "../udp-socket";
import {
  buildRcodeResponse,
  FLAG_TC,
  HEADER_LENGTH,
  OPT_RECORD_LENGTH,
  Rcode,
  sameQuestion,
  writeOpt,
} from "../wire";

export interface UpstreamServer {
  /** IP literal (v4 or v6). */
  readonly host: string;
  readonly port: number;
}

export interface UpstreamOptions {
  readonly servers: readonly UpstreamServer[];
  /** Per-attempt timeout (default 1500 ms; stub resolvers give up after ~5 s). */
  readonly timeoutMs?: number;
  /** Attempts per query across servers (default: servers + 1, at least 2). */
  readonly attempts?: number;
  /** UDP sockets (random source ports) per address family (default 4). */
  readonly udpSockets?: number;
  /** Queries in flight before new ones are answered SERVFAIL at once (default 8192). */
  readonly maxPending?: number;
  readonly tcpTimeoutMs?: number;
  readonly fastPath?: boolean;
}

/** Parse "HOST:PORT", "[V6]:PORT" or a bare IP (port 53). */
export function parseUpstream(text: string): UpstreamServer {
  let host = text;
  let port = 53;
  const bracket = /^\[([^\]]+)\](?::(\d+))?$/.exec(text);
  if (bracket) {
    host = bracket[1]!;
    if (bracket[2] !== undefined) port = Number(bracket[2]);
  } else if (isIP(text) === 0 && text.lastIndexOf(":") > 0) {
    host = text.slice(0, text.lastIndexOf(":"));
    port = Number(text.slice(text.lastIndexOf(":") + 1));
  }
  if (isIP(host) === 0) throw new Error(`upstream ${JSON.stringify(text)} must be an IP address`);
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    throw new Error(`upstream ${JSON.stringify(text)} has a bad port`);
  return { host: canonicalHost(host), port };
}

/** The spelling Node reports for a peer address, so it can be compared with rinfo.address. */
function canonicalHost(host: string): string {
  if (isIP(host) !== 6) return host;
  return new URL(`http://[${host}]/`).hostname.slice(1, -1);
}

class Pending {
  prev: Pending | null = null;
  next: Pending | null = null;
  attempt = 0;
  key = -1;
  deadline = 0;
  overTcp: boolean;
  settled = false;
  /** Set once the server answered our EDNS query FORMERR/NOTIMP: asked again without OPT. */
  withoutEdns = false;

  constructor(
    readonly query: DnsQuery,
    public wire: Buffer,
    public serverIndex: number,
    readonly resolve: (answer: DnsAnswer) => void,
  ) {
    this.overTcp = query.transport === "tcp";
  }
}

const KEY_SPACE = 65536;

export class UpstreamStage implements DnsStage {
  private readonly servers: Array<UpstreamServer & { readonly v6: boolean }>;
  private readonly timeoutMs: number;
  private readonly tcpTimeoutMs: number;
  private readonly attempts: number;
  private readonly maxPending: number;
  private readonly pending = new Map<number, Pending>();
  /** Every upstream UDP socket; a pending query's key is socketIndex * 65536 + ID. */
  private readonly sockets: BatchedUdpSocket[] = [];
  private readonly sockets4: number[] = [];
  private readonly sockets6: number[] = [];
  private preferred = 0;
  private timeoutHead: Pending | null = null;
  private timeoutTail: Pending | null = null;
  private timer: NodeJS.Timeout | null = null;
  private readonly randomPool = new Uint16Array(4096);
  private randomIndex = 4096;
  private closed = false;
  private readonly onTimerBound = (): void => this.onTimer();

  private constructor(
    options: UpstreamOptions,
    private readonly counters: DnsCounters,
  ) {
    if (options.servers.length === 0) throw new Error("at least one upstream server is required");
    this.servers = options.servers.map((server) => ({
      host: canonicalHost(server.host),
      port: server.port,
      v6: isIP(server.host) === 6,
    }));
    this.timeoutMs = options.timeoutMs ?? 1500;
    this.tcpTimeoutMs = options.tcpTimeoutMs ?? Math.max(this.timeoutMs * 2, 2000);
    this.attempts = options.attempts ?? Math.max(2, this.servers.length + 1);
    this.maxPending = options.maxPending ?? 8192;
  }

  static async open(options: UpstreamOptions, counters: DnsCounters): Promise<UpstreamStage> {
    const stage = new UpstreamStage(options, counters);
    const socketCount = Math.max(1, options.udpSockets ?? 4);
    const v4 = stage.servers.filter((server) => !server.v6);
    const v6 = stage.servers.filter((server) => server.v6);
    // Bind to loopback when every upstream is on loopback: nothing else can then reach these ports.
    const v4Address = v4.every((server) => server.host.startsWith("127.")) ? "127.0.0.1" : "0.0.0.0";
    const v6Address = v6.every((server) => server.host === "::1") ? "::1" : "::";
    const families: Array<["udp4" | "udp6", string, number[]]> = [
      ["udp4", v4Address, v4.length > 0 ? stage.sockets4 : []],
      ["udp6", v6Address, v6.length > 0 ? stage.sockets6 : []],
    ];
    for (const [type, address, indexes] of families) {
      if ((type === "udp4" ? v4 : v6).length === 0) continue;
      for (let i = 0; i < socketCount; i++) {
        const index = stage.sockets.length;
        indexes.push(index);
        stage.sockets.push(
          await BatchedUdpSocket.open({
            type,
            address,
            port: 0,
            fastPath: options.fastPath,
            onMessage: (message, port, from) => stage.onResponse(index, message, port, from),
          }),
        );
      }
    }
    return stage;
  }

  resolve(query: DnsQuery): Promise<DnsAnswer> {
    if (this.closed || this.pending.size >= this.maxPending) {
      this.counters.upstreamFailures++;
      this.counters.servFail++;
      return Promise.resolve(buildRcodeResponse(query, Rcode.SERVFAIL));
    }
    return new Promise((resolve) => {
      const pending = new Pending(query, buildUpstreamQuery(query), this.preferred, resolve);
      this.sendAttempt(pending);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    for (const pending of this.pending.values()) this.fail(pending);
    this.pending.clear();
    await Promise.all(this.sockets.map((socket) => socket.close()));
  }

  private randomU16(): number {
    if (this.randomIndex >= this.randomPool.length) {
      randomFillSync(this.randomPool);
      this.randomIndex = 0;
    }
    return this.randomPool[this.randomIndex++]!;
  }

  private sendAttempt(pending: Pending): void {
    this.counters.upstreamQueries++;
    const server = this.servers[pending.serverIndex]!;
    if (pending.overTcp) {
      this.sendTcp(pending, server);
      return;
    }
    const family = server.v6 ? this.sockets6 : this.sockets4;
    const socketIndex = family[this.randomU16() % family.length]!;
    let key = -1;
    for (let tries = 0; tries < 16; tries++) {
      const candidate = socketIndex * KEY_SPACE + this.randomU16();
      if (!this.pending.has(candidate)) {
        key = candidate;
        break;
      }
    }
    if (key < 0) {
      this.fail(pending);
      return;
    }
    const id = key % KEY_SPACE;
    pending.wire[0] = id >>> 8;
    pending.wire[1] = id & 0xff;
    pending.key = key;
    this.pending.set(key, pending);
    this.pushTimeout(pending);
    this.sockets[socketIndex]!.send(pending.wire, server.port, server.host);
  }

  private sendTcp(pending: Pending, server: UpstreamServer): void {
    const id = this.randomU16();
    pending.wire[0] = id >>> 8;
    pending.wire[1] = id & 0xff;
    const attempt = pending.attempt;
    void tcpExchange(server.host, server.port, pending.wire, this.tcpTimeoutMs).then((response) => {
      if (pending.settled || pending.attempt !== attempt) return;
      if (
        response === null ||
        response.length < HEADER_LENGTH ||
        response[0] !== pending.wire[0] ||
        response[1] !== pending.wire[1] ||
        (response[2]! & 0x80) === 0 ||
        !sameQuestion(response, pending.query)
      ) {
        this.attemptFailed(pending, false);
        return;
      }
      this.accept(pending, response);
    });
  }

  /** A datagram on upstream socket `socketIndex`. */
  private onResponse(socketIndex: number, message: Buffer, port: number, address: string): void {
    if (message.length < HEADER_LENGTH) return;
    const key = socketIndex * KEY_SPACE + ((message[0]! << 8) | message[1]!);
    const pending = this.pending.get(key);
    if (pending === undefined) return;
    const server = this.servers[pending.serverIndex]!;
    if (port !== server.port || address !== server.host) return;
    if ((message[2]! & 0x80) === 0 || !sameQuestion(message, pending.query)) return;
    this.pending.delete(key);
    this.unlinkTimeout(pending);
    if ((message[2]! & FLAG_TC) !== 0) {
      pending.overTcp = true;
      this.sendAttempt(pending);
      return;
    }
    this.accept(pending, message);
  }

  private accept(pending: Pending, response: Buffer): void {
    const rcode = response[3]! & 0x0f;
    if ((rcode === Rcode.FORMERR || rcode === Rcode.NOTIMP) && !pending.withoutEdns) {
      // RFC 6891 §7: a server without EDNS answers FORMERR/NOTIMP; ask it again without the OPT.
      pending.withoutEdns = true;
      pending.wire = pending.wire.subarray(0, pending.query.questionEnd);
      pending.wire[10] = 0;
      pending.wire[11] = 0;
      this.sendAttempt(pending);
      return;
    }
    if (
      (rcode === Rcode.SERVFAIL || rcode === Rcode.REFUSED) &&
      this.servers.length > 1 &&
      pending.attempt + 1 < this.attempts
    ) {
      this.retry(pending);
      return;
    }
    this.preferred = pending.serverIndex;
    pending.settled = true;
    const query = pending.query;
    response[0] = query.id >>> 8;
    response[1] = query.id & 0xff;
    pending.resolve(response);
  }

  private attemptFailed(pending: Pending, timedOut: boolean): void {
    if (timedOut) this.counters.upstreamTimeouts++;
    // This server just failed: start the next queries elsewhere.
    if (this.preferred === pending.serverIndex)
      this.preferred = (pending.serverIndex + 1) % this.servers.length;
    if (pending.attempt + 1 < this.attempts && !this.closed) {
      this.retry(pending);
      return;
    }
    this.fail(pending);
  }

  private retry(pending: Pending): void {
    pending.attempt++;
    pending.serverIndex = (pending.serverIndex + 1) % this.servers.length;
    this.sendAttempt(pending);
  }

  private fail(pending: Pending): void {
    if (pending.settled) return;
    pending.settled = true;
    this.counters.upstreamFailures++;
    this.counters.servFail++;
    pending.resolve(buildRcodeResponse(pending.query, Rcode.SERVFAIL));
  }

  private pushTimeout(pending: Pending): void {
    pending.deadline = performance.now() + this.timeoutMs;
    pending.next = null;
    pending.prev = this.timeoutTail;
    if (this.timeoutTail !== null) this.timeoutTail.next = pending;
    else this.timeoutHead = pending;
    this.timeoutTail = pending;
    if (this.timer === null) this.armTimer();
  }

  private unlinkTimeout(pending: Pending): void {
    if (pending.prev !== null) pending.prev.next = pending.next;
    else if (this.timeoutHead === pending) this.timeoutHead = pending.next;
    if (pending.next !== null) pending.next.prev = pending.prev;
    else if (this.timeoutTail === pending) this.timeoutTail = pending.prev;
    pending.prev = null;
    pending.next = null;
  }

  private armTimer(): void {
    const head = this.timeoutHead;
    if (head === null || this.closed) return;
    const delay = Math.max(1, Math.ceil(head.deadline - performance.now()));
    this.timer = setTimeout(this.onTimerBound, delay);
    this.timer.unref();
  }

  private onTimer(): void {
    this.timer = null;
    const now = performance.now();
    let head = this.timeoutHead;
    while (head !== null && head.deadline <= now) {
      this.unlinkTimeout(head);
      this.pending.delete(head.key);
      this.attemptFailed(head, true);
      head = this.timeoutHead;
    }
    if (this.timer === null) this.armTimer();
  }
}

/** Header + question of the client's query, RD set, our OPT (RFC 6891) with the client's DO bit. */
export function buildUpstreamQuery(query: DnsQuery): Buffer {
  const questionEnd = query.questionEnd;
  const out = Buffer.allocUnsafe(questionEnd + OPT_RECORD_LENGTH);
  out.set(query.packet.subarray(0, questionEnd), 0);
  out[2] = 0x01; // QUERY, RD
  out[3] = query.packet[3]! & 0x30; // keep AD and CD as the client sent them
  out[4] = 0;
  out[5] = 1;
  out.fill(0, 6, 10);
  out[10] = 0;
  out[11] = 1;
  writeOpt(out, questionEnd, 0, query.dnssecOk, -1);
  return out;
}
