/** A listening UDP socket owned by the addon; its buffers are shared with C (layout: src/dns_native.c). */
export interface NativeUdpHandle {
  readonly recvData: ArrayBuffer;
  readonly recvMeta: ArrayBuffer;
  readonly sendData: ArrayBuffer;
  readonly sendMeta: ArrayBuffer;
  readonly control: ArrayBuffer;
  readonly port: number;
  readonly recvSlots: number;
  readonly slotSize: number;
  readonly sendSlots: number;
  readonly sendBytes: number;
  readonly metaWords: number;
}

export interface NativeUdpBinding {
  /** Binds (throws an Error with an errno `code`, e.g. EADDRINUSE) and starts reading. */
  open(family: 4 | 6, address: string, port: number, onBatch: (count: number) => void): NativeUdpHandle;
  /** Sends the queued replies now; returns how many were dropped. */
  flush(handle: NativeUdpHandle): number;
  /** Idempotent; no batch callback runs afterwards. */
  close(handle: NativeUdpHandle): void;
  /**
   * Compiles the plain domain list open at `fd` (src/plain_list.c, same result as
   * packages/common/src/blocklist/plain-list.ts); lane1/lane2 from the seed (hash.ts); `scalar` turns
   * the SSE4.1 hashing off (for tests). null when the file cannot be mapped (not a regular file, empty,
   * over 4 GiB). Throws only when out of memory.
   */
  compilePlainList(
    fd: number,
    lane1: number,
    lane2: number,
    scalar?: boolean,
  ): {
    readonly entries: number;
    readonly rejected: number;
    readonly bucketBits: number;
    readonly offsets: Uint32Array;
    readonly fingerprints: Uint32Array;
  } | null;
}

/** null when the addon was not built or cannot load here (see loadError). */
export declare const native: NativeUdpBinding | null;
export declare const loadError: unknown;
