/**
 * UDP and TCP listeners in front of the chain.
 *
 * - One address and port for both (default 127.0.0.1:53). A non-loopback address is refused unless
 *   `allowNonLoopback: true`: a filtering forwarder reachable from the network is an open resolver
 *   (amplification, and other people's lookups in the device's reports).
 * - UDP: one datagram, one query; replies are batched per event-loop turn (udp-socket.ts). On Linux the
 *   native listener (packages/dns-native: recvmmsg/sendmmsg, one JS call per batch) is used when the
 *   addon was built, else Node's UDP path.
 * - TCP (RFC 1035 §4.2.2, RFC 7766): two-byte length-prefixed messages, several per connection and
 *   pipelined (answers may come back out of order, matched by ID), an idle timeout, a bound on
 *   connections and on queries in flight per connection (the socket is paused at the bound).
 * - Nothing thrown by a stage escapes: the query is answered SERVFAIL (fail closed) and counted.
 */
import net from "node:net";
import type { DnsAnswer, DnsCounters, DnsStage } from "./query";
import { DnsQuery } from "./query";
import { BatchedUdpSocket, type NativePeer, NativeUdpListener } from "./udp-socket";
import { buildHeaderOnlyResponse, HEADER_LENGTH, Rcode } from "./wire";

export interface DnsListenOptions {
  /** IP literal to bind (default 127.0.0.1). */
  readonly address?: string;
  /** Port (default 53; 0 picks a free port, TCP then binds the same one). */
  readonly port?: number;
  /** Required to bind anything but loopback (127.0.0.0/8, ::1). */
  readonly allowNonLoopback?: boolean;
  readonly udp?: boolean;
  readonly tcp?: boolean;
  /** Open TCP connections at most (default 64); more are closed at accept. */
  readonly maxTcpConnections?: number;
  /** A TCP connection with no traffic for this long is closed (default 10 s, RFC 7766 §6.2.3). */
  readonly tcpIdleTimeoutMs?: number;
  /** Queries in flight per TCP connection before reading pauses (default 32). */
  readonly maxTcpInFlight?: number;
  /** See udp-socket.ts (default true); false also turns the native listener off. */
  readonly fastPath?: boolean;
  /** Use the native UDP listener when the addon loaded (default true; Linux only). */
  readonly nativeUdp?: boolean;
}

export class DnsListenError extends Error {
  constructor(
    readonly code: "DNS_NON_LOOPBACK_BIND" | "DNS_BAD_ADDRESS",
    message: string,
  ) {
    super(message);
    this.name = "DnsListenError";
  }
}

export function isLoopbackAddress(address: string): boolean {
  const family = net.isIP(address);
  if (family === 4) return address.startsWith("127.");
  if (family !== 6) return false;
  const lower = address.toLowerCase();
  if (lower.startsWith("::ffff:")) return isLoopbackAddress(lower.slice(7));
  return new URL(`http://[${lower}]/`).hostname === "[::1]";
}

export class DnsServer {
  private udp: BatchedUdpSocket | null = null;
  private nativeUdp: NativeUdpListener | null = null;
  private tcp: net.Server | null = null;
  private readonly connections = new Set<net.Socket>();
  private boundPort = 0;
  private readonly address: string;

  constructor(
    private readonly head: DnsStage,
    private readonly counters: DnsCounters,
    private readonly options: DnsListenOptions = {},
  ) {
    this.address = options.address ?? "127.0.0.1";
  }

  get port(): number {
    return this.boundPort;
  }

  /** Which UDP listener is serving (null when none is open). */
  get udpPath(): "native" | "fast" | "dgram" | null {
    if (this.nativeUdp !== null) return "native";
    if (this.udp === null) return null;
    return this.udp.usesFastPath ? "fast" : "dgram";
  }

  async start(): Promise<{ address: string; port: number }> {
    const address = this.address;
    if (net.isIP(address) === 0)
      throw new DnsListenError(
        "DNS_BAD_ADDRESS",
        `listen address ${JSON.stringify(address)} must be an IP literal`,
      );
    if (!isLoopbackAddress(address) && this.options.allowNonLoopback !== true) {
      throw new DnsListenError(
        "DNS_NON_LOOPBACK_BIND",
        `refusing to listen on non-loopback ${address}: that would be an open resolver; set allowNonLoopback: true if it is meant`,
      );
    }
    const requested = this.options.port ?? 53;
    // With port 0 the kernel picks the UDP port and TCP must take the same number, which another process may
    // hold already: then pick again (a fixed port is never retried: its conflict is a real error).
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.bindBoth(address, requested);
      } catch (error) {
        const inUse = (error as NodeJS.ErrnoException).code === "EADDRINUSE";
        if (requested !== 0 || !inUse || attempt >= 9) throw error;
        const udp = this.udp;
        const nativeUdp = this.nativeUdp;
        this.udp = null;
        this.nativeUdp = null;
        await Promise.all([udp?.close(), nativeUdp?.close()]);
      }
    }
  }

  private async bindBoth(address: string, requestedPort: number): Promise<{ address: string; port: number }> {
    let port = requestedPort;
    if (this.options.udp !== false) {
      const type = net.isIP(address) === 6 ? "udp6" : "udp4";
      if (this.options.fastPath !== false && this.options.nativeUdp !== false) {
        this.nativeUdp = await NativeUdpListener.open({
          type,
          address,
          port,
          onMessage: this.onNativeMessage,
        });
      }
      if (this.nativeUdp !== null) {
        port = this.nativeUdp.port;
      } else {
        this.udp = await BatchedUdpSocket.open({
          type,
          address,
          port,
          fastPath: this.options.fastPath,
          onMessage: this.onUdpMessage,
        });
        port = this.udp.port;
      }
    }
    if (this.options.tcp !== false) {
      const server = net.createServer({ noDelay: true }, (socket) => this.onTcpConnection(socket));
      server.maxConnections = this.options.maxTcpConnections ?? 64;
      server.on("drop", () => this.counters.tcpRejected++);
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen({ host: address, port, exclusive: true }, () => {
          server.off("error", reject);
          resolve();
        });
      });
      server.on("error", () => {});
      this.tcp = server;
      port = (server.address() as net.AddressInfo).port;
    }
    this.boundPort = port;
    return { address, port };
  }

  async stop(): Promise<void> {
    const udp = this.udp;
    const nativeUdp = this.nativeUdp;
    this.udp = null;
    this.nativeUdp = null;
    for (const socket of this.connections) socket.destroy();
    this.connections.clear();
    const tcp = this.tcp;
    this.tcp = null;
    await Promise.all([
      udp?.close(),
      nativeUdp?.close(),
      tcp ? new Promise<void>((resolve) => tcp.close(() => resolve())) : undefined,
    ]);
  }

  private resolveUdp(message: Buffer): DnsAnswer | Promise<DnsAnswer> {
    this.counters.queries++;
    try {
      return this.head.resolve(new DnsQuery(message, "udp"));
    } catch {
      return this.internalError(message);
    }
  }

  private readonly onNativeMessage = (message: Buffer, peer: NativePeer): void => {
    const answer = this.resolveUdp(message);
    if (answer === null) return;
    if (answer instanceof Uint8Array) {
      this.nativeUdp?.send(answer, peer);
      return;
    }
    answer.then(
      (resolved) => {
        if (resolved !== null) this.nativeUdp?.send(resolved, peer);
      },
      () => {
        const fallback = this.internalError(message);
        if (fallback !== null) this.nativeUdp?.send(fallback, peer);
      },
    );
  };

  private readonly onUdpMessage = (message: Buffer, port: number, address: string): void => {
    const answer = this.resolveUdp(message);
    if (answer === null) return;
    if (answer instanceof Uint8Array) {
      this.udp?.send(answer, port, address);
      return;
    }
    answer.then(
      (resolved) => {
        if (resolved !== null) this.udp?.send(resolved, port, address);
      },
      () => {
        const fallback = this.internalError(message);
        if (fallback !== null) this.udp?.send(fallback, port, address);
      },
    );
  };

  /** A stage broke its contract: SERVFAIL (never forward unchecked), or drop without a header. */
  private internalError(message: Uint8Array): DnsAnswer {
    this.counters.servFail++;
    if (message.length < HEADER_LENGTH || (message[2]! & 0x80) !== 0) return null;
    return buildHeaderOnlyResponse(message, Rcode.SERVFAIL);
  }

  private onTcpConnection(socket: net.Socket): void {
    this.counters.tcpConnections++;
    this.connections.add(socket);
    const maxInFlight = this.options.maxTcpInFlight ?? 32;
    let buffered: Buffer = Buffer.alloc(0);
    let inFlight = 0;
    let closed = false;
    socket.setTimeout(this.options.tcpIdleTimeoutMs ?? 10_000, () => socket.destroy());
    socket.on("error", () => {});
    socket.on("close", () => {
      closed = true;
      this.connections.delete(socket);
    });
    const reply = (answer: DnsAnswer): void => {
      inFlight--;
      if (closed) return;
      if (answer !== null) {
        const frame = Buffer.allocUnsafe(answer.length + 2);
        frame[0] = answer.length >>> 8;
        frame[1] = answer.length & 0xff;
        frame.set(answer, 2);
        socket.write(frame);
      }
      if (inFlight < maxInFlight) {
        drain();
        if (socket.isPaused() && inFlight < maxInFlight) socket.resume();
      }
    };
    // Start every complete frame while fewer than maxInFlight queries are open; the rest waits.
    let draining = false;
    const drain = (): void => {
      if (draining) return; // a synchronous answer inside the loop below: the loop goes on by itself
      draining = true;
      while (buffered.length >= 2 && inFlight < maxInFlight && !closed) {
        const length = (buffered[0]! << 8) | buffered[1]!;
        if (buffered.length < length + 2) break;
        // Copy: the query must own its bytes while it is in the chain.
        const message = Buffer.from(buffered.subarray(2, length + 2));
        buffered = buffered.subarray(length + 2);
        this.counters.queries++;
        inFlight++;
        let answer: DnsAnswer | Promise<DnsAnswer>;
        try {
          answer = this.head.resolve(new DnsQuery(message, "tcp"));
        } catch {
          answer = this.internalError(message);
        }
        if (answer === null || answer instanceof Uint8Array) reply(answer);
        else answer.then(reply, () => reply(this.internalError(message)));
      }
      if (buffered.length === 0) buffered = Buffer.alloc(0);
      draining = false;
    };
    socket.on("data", (chunk: Buffer) => {
      buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
      drain();
      // Stop reading while the bound is reached or a whole frame (<= 64 KiB) is already waiting.
      if (inFlight >= maxInFlight || buffered.length > 65_537) socket.pause();
    });
  }
}
