/**
 * The objects that flow through the DNS chain: one `DnsQuery` per received message, answered by a
 * chain of `DnsStage`s (chain.ts), with block events and counters on the side.
 */
import { CLASSIC_UDP_SIZE, MAX_UDP_RESPONSE, ParseStatus, parseQuery, wireNameToString } from "./wire";

export type Transport = "udp" | "tcp";

/** A response to send, or null: send nothing (the message is dropped). */
export type DnsAnswer = Uint8Array | null;

/**
 * One position in the chain. Contract: `resolve` never throws and never rejects (a stage that calls
 * something fallible catches and answers SERVFAIL itself); it answers synchronously whenever it can,
 * so blocked names and cache hits never touch a promise.
 */
export interface DnsStage {
  resolve(query: DnsQuery): DnsAnswer | Promise<DnsAnswer>;
}

/** Why a name was blocked (AdGuard Home's filtering reasons, narrowed to what this agent does). */
export type BlockReason =
  /** The name itself is listed. */
  | "exact"
  /** A parent of the name is listed. */
  | "parent"
  /** A wildcard rule `*.parent` matched. */
  | "wildcard"
  /** A glob pattern of the list matched. */
  | "pattern"
  /** A resolver canary (Firefox DoH, iCloud Private Relay) answered NXDOMAIN so the bypass turns itself off. */
  | "canary"
  /** The name belongs to a public DNS-over-HTTPS / DNS-over-TLS resolver (protection_config.dns.block_doh). */
  | "doh-provider"
  /** The upstream answer's CNAME/DNAME chain reaches a listed name. */
  | "cname";

export interface BlockEvent {
  /** Query name, lower-case, no trailing dot. */
  readonly name: string;
  readonly qtype: number;
  readonly reason: BlockReason;
  /** Category of the matching list rule; null for canaries and DoH providers. */
  readonly category: string | null;
  /** For "cname": the listed name the chain reached. */
  readonly via: string | null;
  readonly transport: Transport;
  /** Milliseconds since the Unix epoch. */
  readonly at: number;
}

/**
 * Receives block events. Called synchronously on the query path: keep it cheap (queue, don't await).
 * An exception it throws is swallowed and counted (`sinkErrors`), never allowed to break answering.
 */
export type BlockEventSink = (event: BlockEvent) => void;

/** Monotonic counters, read by heartbeats (`snapshot()`); never reset while the forwarder runs. */
export class DnsCounters {
  queries = 0;
  blocked = 0;
  cacheHits = 0;
  cacheMisses = 0;
  upstreamQueries = 0;
  upstreamFailures = 0;
  upstreamTimeouts = 0;
  formErr = 0;
  dropped = 0;
  servFail = 0;
  sinkErrors = 0;
  tcpConnections = 0;
  tcpRejected = 0;

  snapshot(): Readonly<Record<string, number>> {
    const copy: Record<string, number> = {};
    for (const [name, value] of Object.entries(this)) if (typeof value === "number") copy[name] = value;
    return copy;
  }
}

/**
 * A parsed query. Fields are plain numbers read straight from the packet by `parseQuery` (wire.ts);
 * valid when `status` is OK (the question fields also when BADVERS).
 * Contract: `packet` is owned by this query and is not modified by anyone while it is in the chain.
 */
export class DnsQuery {
  status: ParseStatus = ParseStatus.DROP;
  id = 0;
  /** Offset just past the QNAME's terminating zero (QNAME itself starts at 12). */
  qnameEnd = 0;
  /** Offset just past QTYPE/QCLASS. */
  questionEnd = 0;
  qtype = 0;
  qclass = 0;
  hasEdns = false;
  /** Client's advertised UDP payload size (>= 512), 512 without EDNS. */
  ednsUdpSize = CLASSIC_UDP_SIZE;
  dnssecOk = false;
  /** Set by the stage that answered with a block response; such answers are never cached. */
  blocked = false;
  /**
   * `DnsCache.epoch` when the cache was consulted for this query (-1: not yet). An answer is stored
   * only if the cache was not cleared meanwhile (a list swap while the query was upstream).
   */
  cacheEpoch = -1;

  constructor(
    readonly packet: Uint8Array,
    readonly transport: Transport,
  ) {
    parseQuery(packet, this);
  }

  /** Largest response the client can take on this transport (RFC 1035 §4.2.1, RFC 6891 §6.2.5). */
  get maxResponseSize(): number {
    if (this.transport === "tcp") return 65535;
    if (!this.hasEdns) return CLASSIC_UDP_SIZE;
    return Math.min(this.ednsUdpSize, MAX_UDP_RESPONSE);
  }

  /** Query name, lower-case, no trailing dot (allocates: for events and logs only). */
  name(): string {
    return wireNameToString(this.packet, 12);
  }
}

/** Emits block events (only allocates one when a sink is set) and counts blocks. */
export class BlockReporter {
  constructor(
    private readonly counters: DnsCounters,
    private sink: BlockEventSink | null,
  ) {}

  setSink(sink: BlockEventSink | null): void {
    this.sink = sink;
  }

  report(query: DnsQuery, reason: BlockReason, category: string | null, via: string | null = null): void {
    this.counters.blocked++;
    query.blocked = true;
    const sink = this.sink;
    if (sink === null) return;
    try {
      sink({
        name: query.name(),
        qtype: query.qtype,
        reason,
        category,
        via,
        transport: query.transport,
        at: Date.now(),
      });
    } catch {
      this.counters.sinkErrors++;
    }
  }
}
