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
}

/** null when the addon was not built or cannot load here (see loadError). */
export declare const native: NativeUdpBinding | null;
export declare const loadError: unknown;
