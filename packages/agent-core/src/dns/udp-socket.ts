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
 *
 * Native path (listener only, Linux): NativeUdpListener below, over the optional packages/dns-native
 * addon; server.ts prefers it when the addon loaded.
 */
import dgram from "node:dgram";
import { createRequire } from "node:module";
import type { NativeUdpBinding, NativeUdpHandle } from "@betblocker/dns-native";

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

/**
 * Peer of a datagram read by the native listener, kept as numbers rather than strings: IPv4 is
 * `rawAddress * 65536 + port` (the address word as the kernel stored it, < 2^48); IPv6 is
 * [port, address words 0..3, scope id]. Only meaningful to the listener that produced it.
 */
export type NativePeer = number | Uint32Array;

export type NativeMessageHandler = (message: Buffer, peer: NativePeer) => void;

export interface NativeUdpOptions {
  readonly type: "udp4" | "udp6";
  readonly address: string;
  readonly port: number;
  readonly onMessage: NativeMessageHandler;
  /** Called once per reply that could not be sent (send buffer full, ENOBUFS); UDP allows the loss. */
  readonly onSendError?: () => void;
}

/** Largest UDP payload (IPv6 without jumbograms); the C side checks it again. */
const MAX_UDP_PAYLOAD = 65_527;

let nativeBinding: Promise<NativeUdpBinding | null> | null = null;
let nativeWarned = false;
let nativeAddonFile: string | null = null;

/**
 * Load the addon from this compiled file (`dns_native.node`) instead of the `@betblocker/dns-native`
 * package: a release ships it beside the agent, where no node_modules exist. The caller vouches for the
 * file (the Linux agent checks it against its signed manifest first). Call before the first listener
 * starts; null goes back to the package.
 */
export function useNativeAddonFile(path: string | null): void {
  nativeAddonFile = path;
  nativeBinding = null;
}

/** The addon (packages/dns-native) when it was built and loads here, else null (logged once). */
function loadNativeBinding(): Promise<NativeUdpBinding | null> {
  if (nativeBinding !== null) return nativeBinding;
  const addonFile = nativeAddonFile;
  nativeBinding = (async () => {
    if (process.platform !== "linux") return null;
    let reason: unknown;
    if (addonFile !== null) {
      try {
        const binding = createRequire(addonFile)(addonFile) as Partial<NativeUdpBinding> | null;
        if (binding && typeof binding.open === "function") return binding as NativeUdpBinding;
        reason = new Error(`${addonFile} has no open()`);
      } catch (error) {
        reason = error;
      }
      warnNativeUnavailable(reason);
      return null;
    }
    try {
      // In a CommonJS bundle (the agent's release build, the benchmark forwarder) `require` loads it
      // without starting Node's ESM loader (~4 ms at start-up); from ES modules it is imported.
      const loaded: unknown =
        typeof require === "function"
          ? require("@betblocker/dns-native")
          : await import("@betblocker/dns-native");
      // A CommonJS module: Node puts module.exports on `default`, bundlers may flatten it.
      type Exports = { native: NativeUdpBinding | null; loadError: unknown };
      const module = ((loaded as { default?: Exports }).default ?? loaded) as Exports;
      if (module.native !== null && typeof module.native.open === "function") return module.native;
      reason = module.loadError;
    } catch (error) {
      reason = error;
    }
    warnNativeUnavailable(reason);
    return null;
  })();
  return nativeBinding;
}

function warnNativeUnavailable(reason: unknown): void {
  if (nativeWarned) return;
  nativeWarned = true;
  const message = (reason instanceof Error ? reason.message : String(reason)).split("\n")[0];
  process.stderr.write(`dns: native UDP listener unavailable (${message}); using Node's UDP path\n`);
}

/**
 * The listener over packages/dns-native (Linux): the addon reads up to 64 datagrams per recvmmsg(2)
 * and makes ONE call per batch; replies are copied into its send buffer and leave with sendmmsg(2)
 * right after that call (synchronous answers, and promise answers settled within it) or at the end of
 * the event-loop turn (later asynchronous answers). Saves, per datagram, the rinfo object, the address
 * string and Node's 64 KiB receive allocation.
 */
export class NativeUdpListener {
  private readonly recvData: Buffer;
  private readonly recvMeta: Uint32Array;
  private readonly sendData: Uint8Array;
  private readonly sendMeta: Uint32Array;
  private readonly control: Int32Array;
  private readonly slotSize: number;
  private readonly recvSlots: number;
  private readonly sendSlots: number;
  private readonly sendBytes: number;
  private readonly words: number;
  private readonly isV6: boolean;
  private inBatch = false;
  private flushScheduled = false;
  private closed = false;
  private readonly flushBound = (): void => this.flush();

  private constructor(
    private readonly binding: NativeUdpBinding,
    private readonly handle: NativeUdpHandle,
    private readonly options: NativeUdpOptions,
  ) {
    this.isV6 = options.type === "udp6";
    this.recvData = Buffer.from(handle.recvData);
    this.recvMeta = new Uint32Array(handle.recvMeta);
    this.sendData = new Uint8Array(handle.sendData);
    this.sendMeta = new Uint32Array(handle.sendMeta);
    this.control = new Int32Array(handle.control);
    this.slotSize = handle.slotSize;
    this.recvSlots = handle.recvSlots;
    this.sendSlots = handle.sendSlots;
    this.sendBytes = handle.sendBytes;
    this.words = handle.metaWords;
  }

  /** Null when the addon is unavailable; bind errors (EADDRINUSE, ...) are thrown as by dgram. */
  static async open(options: NativeUdpOptions): Promise<NativeUdpListener | null> {
    const binding = await loadNativeBinding();
    if (binding === null) return null;
    let listener: NativeUdpListener | null = null;
    const handle = binding.open(options.type === "udp6" ? 6 : 4, options.address, options.port, (count) =>
      listener?.onBatch(count),
    );
    listener = new NativeUdpListener(binding, handle, options);
    return listener;
  }

  get port(): number {
    return this.handle.port;
  }

  /** Datagrams dropped by the addon because they were larger than a receive slot (4 KiB). */
  get truncated(): number {
    return this.control[2]!;
  }

  private onBatch(count: number): void {
    if (this.closed) return;
    const meta = this.recvMeta;
    const words = this.words;
    const slotSize = this.slotSize;
    const onMessage = this.options.onMessage;
    // Never trust the count or lengths blindly, even from our own C.
    const n = Math.min(count, this.recvSlots);
    this.inBatch = true;
    try {
      for (let i = 0; i < n; i++) {
        const m = i * words;
        const length = meta[m]!;
        if (meta[m + 7] !== 0 || length > slotSize) continue; // truncated, or no peer to answer
        const start = i * slotSize;
        // Copy: the slot is reused by the next batch while the query may wait for upstream.
        const message = Buffer.allocUnsafe(length);
        this.recvData.copy(message, 0, start, start + length);
        const peer: NativePeer = this.isV6 ? meta.slice(m + 1, m + 7) : meta[m + 2]! * 65_536 + meta[m + 1]!;
        try {
          onMessage(message, peer);
        } catch {
          // The server answers its own failures; nothing thrown may stop the rest of the batch.
        }
      }
    } finally {
      this.inBatch = false;
    }
  }

  /** Queue a reply; it leaves after the current batch, or at the end of this event-loop turn. */
  send(buffer: Uint8Array, peer: NativePeer): void {
    if (this.closed) return;
    const length = buffer.length;
    if (length > MAX_UDP_PAYLOAD) {
      this.options.onSendError?.();
      return;
    }
    const control = this.control;
    if (control[0]! >= this.sendSlots || control[1]! + length > this.sendBytes) this.flush();
    const index = control[0]!;
    const offset = control[1]!;
    this.sendData.set(buffer, offset);
    const m = index * this.words;
    const meta = this.sendMeta;
    meta[m] = offset;
    meta[m + 1] = length;
    if (typeof peer === "number") {
      const port = peer % 65_536;
      meta[m + 2] = port;
      meta[m + 3] = (peer - port) / 65_536;
    } else {
      meta.set(peer.subarray(0, 6), m + 2);
    }
    control[0] = index + 1;
    control[1] = offset + length;
    // Inside a batch the addon flushes when the JS call returns; otherwise flush this turn.
    if (!this.inBatch && !this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(this.flushBound);
    }
  }

  private flush(): void {
    this.flushScheduled = false;
    if (this.closed || this.control[0] === 0) return;
    let failed = 0;
    try {
      failed = this.binding.flush(this.handle);
    } catch {
      failed = 1;
    }
    const onSendError = this.options.onSendError;
    if (onSendError !== undefined) for (let i = 0; i < failed; i++) onSendError();
  }

  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.flush();
    this.closed = true;
    this.binding.close(this.handle);
    return Promise.resolve();
  }
}
