/**
 * A UDP socket with batched sends, for the listener and the upstream client.
 *
 * Why batched: on loopback most of a reply's cost is waking the receiver. Sends queued while a burst
 * of datagrams is being read (libuv reads up to 32 per readiness event) go out back to back in one
 * `setImmediate`, so a busy peer is woken once per burst instead of once per reply. Latency cost: the
 * rest of the current event-loop turn.
 *
 * Fast path (default): after binding, the socket's libuv handle is driven directly: `onmessage` set on
 * the handle and `send`/`send6` called on it, skipping dgram's per-datagram event emit, address
 * lookup and nextTick. This uses Node internals (the dgram state symbol and
 * `process.binding("udp_wrap").SendWrap`, DEP0111) that are stable across Node 14..22 but not a
 * public API, so it is feature-checked at bind time and, on any mismatch or send exception, the socket
 * switches to the public dgram API for good. `fastPath: false` forces the public API.
 */
import dgram from "node:dgram";

export type UdpMessageHandler = (message: Buffer, port: number, address: string) => void;

export interface UdpSocketOptions {
  readonly type: "udp4" | "udp6";
  readonly address: string;
  readonly port: number;
  readonly onMessage: UdpMessageHandler;
  /** Drive the libuv handle directly when the running Node allows it (default true). */
  readonly fastPath?: boolean;
  /** Called when a send fails synchronously (e.g. ENOBUFS); the datagram is lost, as UDP allows. */
  readonly onSendError?: () => void;
}

interface UdpHandle {
  onmessage: (
    nread: number,
    handle: unknown,
    buffer: Buffer | undefined,
    rinfo: { address: string; port: number },
  ) => void;
  send(
    req: object,
    list: Buffer[],
    count: number,
    port: number,
    address: string,
    hasCallback: boolean,
  ): number;
  send6(
    req: object,
    list: Buffer[],
    count: number,
    port: number,
    address: string,
    hasCallback: boolean,
  ): number;
}

type SendWrapConstructor = new () => { list?: Buffer[]; oncomplete?: () => void };

function loadSendWrap(): SendWrapConstructor | null {
  try {
    const binding = (
      process as unknown as { binding(name: string): { SendWrap?: SendWrapConstructor } }
    ).binding("udp_wrap");
    return typeof binding.SendWrap === "function" ? binding.SendWrap : null;
  } catch {
    return null;
  }
}

/** Largest number of queued datagrams before a flush is forced inline (bounds memory under floods). */
const MAX_QUEUED = 1024;

export class BatchedUdpSocket {
  readonly socket: dgram.Socket;
  private handle: UdpHandle | null = null;
  private SendWrap: SendWrapConstructor | null = null;
  private sendRequest: { list?: Buffer[] } | null = null;
  private sendList: Buffer[] = [];
  private readonly queueBuffers: (Buffer | Uint8Array | null)[] = [];
  private readonly queuePorts: number[] = [];
  private readonly queueAddresses: (string | null)[] = [];
  private queued = 0;
  private flushScheduled = false;
  private closed = false;
  private readonly isV6: boolean;
  private readonly flushBound = (): void => this.flush();

  private constructor(private readonly options: UdpSocketOptions) {
    this.isV6 = options.type === "udp6";
    this.socket = dgram.createSocket({ type: options.type, ipv6Only: options.type === "udp6" });
    this.socket.on("error", () => {
      // Errors of a bound socket (ICMP unreachable echoes, ENOBUFS) must never crash the agent.
    });
  }

  static async open(options: UdpSocketOptions): Promise<BatchedUdpSocket> {
    const udp = new BatchedUdpSocket(options);
    await new Promise<void>((resolve, reject) => {
      const onError = (error: Error): void => reject(error);
      udp.socket.once("error", onError);
      udp.socket.bind({ port: options.port, address: options.address, exclusive: true }, () => {
        udp.socket.off("error", onError);
        resolve();
      });
    });
    try {
      udp.socket.setRecvBufferSize(4 << 20);
      udp.socket.setSendBufferSize(4 << 20);
    } catch {
      // The kernel caps these silently; a refusal only costs burst tolerance.
    }
    if (options.fastPath === false || !udp.installFastPath()) udp.installPublicPath();
    return udp;
  }

  get port(): number {
    return this.socket.address().port;
  }

  get usesFastPath(): boolean {
    return this.handle !== null;
  }

  private installFastPath(): boolean {
    const SendWrap = loadSendWrap();
    if (SendWrap === null) return false;
    const stateSymbol = Object.getOwnPropertySymbols(this.socket).find(
      (symbol) => symbol.description === "state symbol",
    );
    if (stateSymbol === undefined) return false;
    const state = (this.socket as unknown as Record<symbol, { handle?: UdpHandle }>)[stateSymbol];
    const handle = state?.handle;
    if (
      handle === undefined ||
      typeof handle.send !== "function" ||
      typeof handle.send6 !== "function" ||
      typeof handle.onmessage !== "function"
    ) {
      return false;
    }
    const onMessage = this.options.onMessage;
    handle.onmessage = (nread, _handle, buffer, rinfo) => {
      if (nread < 0 || buffer === undefined) return;
      onMessage(buffer, rinfo.port, rinfo.address);
    };
    this.SendWrap = SendWrap;
    this.sendRequest = new SendWrap();
    this.sendList = [Buffer.alloc(0)];
    this.handle = handle;
    return true;
  }

  private installPublicPath(): void {
    this.handle = null;
    const onMessage = this.options.onMessage;
    this.socket.removeAllListeners("message");
    this.socket.on("message", (message, rinfo) => onMessage(message, rinfo.port, rinfo.address));
  }

  /** Queue a datagram; it leaves at the end of this event-loop turn. */
  send(buffer: Uint8Array, port: number, address: string): void {
    if (this.closed) return;
    const index = this.queued++;
    this.queueBuffers[index] = buffer;
    this.queuePorts[index] = port;
    this.queueAddresses[index] = address;
    if (this.queued >= MAX_QUEUED) {
      this.flush();
      return;
    }
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(this.flushBound);
    }
  }

  private flush(): void {
    this.flushScheduled = false;
    const count = this.queued;
    this.queued = 0;
    for (let i = 0; i < count; i++) {
      const buffer = this.queueBuffers[i]!;
      const port = this.queuePorts[i]!;
      const address = this.queueAddresses[i]!;
      this.queueBuffers[i] = null;
      this.queueAddresses[i] = null;
      if (this.closed) continue;
      if (this.handle !== null) this.sendFast(buffer, port, address);
      else this.sendPublic(buffer, port, address);
    }
  }

  private sendFast(buffer: Uint8Array, port: number, address: string): void {
    const list = this.sendList;
    list[0] = buffer as Buffer;
    const request = this.sendRequest!;
    let result: number;
    try {
      result = this.isV6
        ? this.handle!.send6(request, list, 1, port, address, false)
        : this.handle!.send(request, list, 1, port, address, false);
    } catch {
      // Internals changed under us: use the public API from now on.
      this.installPublicPath();
      this.sendPublic(buffer, port, address);
      return;
    }
    if (result > 0) return; // sent synchronously: request and list can be reused
    if (result === 0) {
      // Queued in libuv: the request object (kept alive by libuv) must keep the buffer alive too.
      request.list = list;
      this.sendRequest = new this.SendWrap!();
      this.sendList = [Buffer.alloc(0)];
      return;
    }
    this.options.onSendError?.();
  }

  private sendPublic(buffer: Uint8Array, port: number, address: string): void {
    try {
      this.socket.send(buffer, port, address);
    } catch {
      this.options.onSendError?.();
    }
  }

  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.flush();
    this.closed = true;
    return new Promise((resolve) => {
      try {
        this.socket.close(() => resolve());
      } catch {
        resolve();
      }
    });
  }
}
