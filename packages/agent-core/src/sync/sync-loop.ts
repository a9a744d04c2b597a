/**
 * Periodic blocklist sync every `intervalSeconds` with +/- `jitter` (fraction) so a fleet does not
 * hit the API at the same second; one sync at a time (a request while one runs joins it).
 */
import { create, SyncRequestSchema, type SyncResponse } from "@betblocker/proto";
import type { DeviceApiClient } from "../api-client/api-client";
import { DeviceApiError } from "../api-client/api-client";
import type { BlocklistStore, SyncOutcome } from "../blocklist/blocklist-store";

export const SYNC_PROTOCOL_VERSION = 1;

export type SyncResult =
  | SyncOutcome
  | { kind: "unreachable"; error: DeviceApiError }
  | { kind: "unregistered" };

export interface SyncLoopOptions {
  store: BlocklistStore;
  client: () => DeviceApiClient | null;
  intervalSeconds: number;
  /** 0..1: each wait is interval * (1 +/- jitter * random). */
  jitter?: number;
  onResult?: (result: SyncResult) => void;
  random?: () => number;
}

export function jitteredDelayMs(intervalSeconds: number, jitter: number, random: () => number): number {
  return Math.max(1000, intervalSeconds * 1000 * (1 + jitter * (2 * random() - 1)));
}

export class SyncLoop {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<SyncResult> | null = null;
  private stopped = true;

  constructor(private readonly options: SyncLoopOptions) {}

  /** Current retry delay after unreachable results (0: last attempt reached the API). */
  private retrySeconds = 0;

  start(): void {
    this.stopped = false;
    this.schedule(0);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  sync(): Promise<SyncResult> {
    if (!this.running) {
      this.running = this.syncNow().finally(() => {
        this.running = null;
      });
    }
    return this.running;
  }

  private async syncNow(): Promise<SyncResult> {
    const result = await this.attempt();
    this.options.onResult?.(result);
    return result;
  }

  private async attempt(): Promise<SyncResult> {
    const client = this.options.client();
    if (!client) return { kind: "unregistered" };
    const { store } = this.options;
    let response: SyncResponse;
    try {
      response = await client.sync(
        create(SyncRequestSchema, {
          protocolVersion: SYNC_PROTOCOL_VERSION,
          currentVersion: store.version,
          currentSha256: store.sha256,
        }),
      );
    } catch (error) {
      return {
        kind: "unreachable",
        error:
          error instanceof DeviceApiError ? error : new DeviceApiError("network", (error as Error).message),
      };
    }
    return store.apply(response);
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(async () => {
      const result = await this.sync();
      const { intervalSeconds, jitter = 0.1, random = Math.random } = this.options;
      // An unreachable API is retried sooner than the interval (5 s doubling to 5 min): a device that
      // has no list yet, or has just come back online, must not wait an hour for the next try.
      if (result.kind === "unreachable") {
        this.retrySeconds = Math.min(this.retrySeconds === 0 ? 5 : this.retrySeconds * 2, 300);
        this.schedule(jitteredDelayMs(Math.min(intervalSeconds, this.retrySeconds), jitter, random));
        return;
      }
      this.retrySeconds = 0;
      this.schedule(jitteredDelayMs(intervalSeconds, jitter, random));
    }, delayMs);
    this.timer.unref();
  }
}
