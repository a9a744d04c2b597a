/**
 * Agents' blocklist sync: "I have version N with this SHA-256" -> up to date, a signed delta chain N -> latest,
 * or the full signed snapshot of the latest version.
 *
 * Rules (SyncRequest, agent.proto):
 * - protocol_version must be 1 (BBLIST 1 / BBDELT 1), else VALIDATION_FAILED;
 * - current = latest and its SHA-256 matches: up to date;
 * - 0 < current < latest, current's stored snapshot_sha256 equals current_sha256, every delta current+1 ..
 *   latest is stored, and the chain is smaller than the snapshot: the delta chain;
 * - anything else (no list yet on the device, unknown or future version, SHA mismatch, a missing delta, a chain
 *   bigger than the snapshot): the full snapshot.
 * The files are signed; the agent verifies them. Before serving a version, this service verifies the latest
 * snapshot with the signing key itself, so that a file that would fail on every device is never sent.
 *
 * Cache: the latest version (its bytes, metadata) and the chains computed from older versions stay in memory
 * until a newer version appears. The newest version number is re-read at most every `refreshIntervalMs`
 * (in the background: callers get the cached answer meanwhile), and at once after `invalidate()` (a publish in
 * this process). So a version published by another process reaches agents within refreshIntervalMs.
 */
import type { KeyObject } from "node:crypto";
import { loadBlocklist } from "@betblocker/common";
import { AppError } from "@betblocker/common/errors/app-error";
import type { Sql } from "@betblocker/db/client";
import { getSnapshot } from "@betblocker/db/repositories/blocklist.repository";
import {
  getDeltaRange,
  getVersionSha256,
  latestVersionSummary,
} from "@betblocker/db/repositories/blocklist-version.repository";

export const SYNC_PROTOCOL_VERSION = 1;
/** Longest delta chain served; older agents get the snapshot (which is smaller by then anyway). */
export const MAX_DELTA_CHAIN_LENGTH = 1000;
/** Chains kept in memory (each at most the snapshot's size): the starting versions agents actually hold are few. */
export const MAX_CACHED_CHAINS = 32;

export interface PublishedVersion {
  versionNumber: number;
  sha256: Buffer;
  sha256Hex: string;
  keyId: Buffer;
  entryCount: number;
  /** The file header's created_at. */
  createdAt: Date;
  /** The complete signed file. */
  snapshot: Uint8Array;
}

export type SyncPlan =
  | { kind: "up_to_date"; latest: PublishedVersion }
  | { kind: "delta_chain"; latest: PublishedVersion; fromVersion: number; deltas: readonly Uint8Array[] }
  | { kind: "full_snapshot"; latest: PublishedVersion };

export interface SyncRequestInput {
  protocolVersion: number;
  currentVersion: number;
  /** Empty when the agent holds no list. */
  currentSha256: Uint8Array;
}

export interface BlocklistSyncServiceOptions {
  sql: Sql;
  /** The blocklist signing public key agents pin. */
  publicKey: KeyObject;
  refreshIntervalMs?: number;
  onRefreshError?: (error: unknown) => void;
}

interface Chain {
  fromSha256: Buffer;
  /** Null: no chain possible (a delta missing, or bigger than the snapshot). */
  deltas: Uint8Array[] | null;
}

export class BlocklistSyncService {
  private latestVersion: PublishedVersion | null = null;
  private loaded = false;
  private checkedAtMs = 0;
  private mustRefresh = true;
  private refreshing: Promise<void> | null = null;
  private chains = new Map<number, Promise<Chain>>();
  private readonly refreshIntervalMs: number;

  constructor(private readonly options: BlocklistSyncServiceOptions) {
    this.refreshIntervalMs = options.refreshIntervalMs ?? 2000;
  }

  /** Re-read the newest version on the next call (after a publish). */
  invalidate(): void {
    this.mustRefresh = true;
  }

  /** The newest published version, or null before the first publication. */
  async latest(): Promise<PublishedVersion | null> {
    if (this.mustRefresh || !this.loaded) {
      await this.refresh();
    } else if (Date.now() - this.checkedAtMs >= this.refreshIntervalMs) {
      void this.refresh().catch(() => {});
    }
    return this.latestVersion;
  }

  /** The newest version number (0 before the first publication). */
  async latestVersionNumber(): Promise<number> {
    return (await this.latest())?.versionNumber ?? 0;
  }

  async plan(request: SyncRequestInput): Promise<SyncPlan> {
    if (request.protocolVersion !== SYNC_PROTOCOL_VERSION) {
      const message = `must be ${SYNC_PROTOCOL_VERSION} (this server serves BBLIST 1 / BBDELT 1)`;
      throw new AppError("VALIDATION_FAILED", `invalid sync request: protocol_version ${message}`, {
        fieldErrors: [{ path: "protocol_version", message }],
      });
    }
    const latest = await this.latest();
    if (!latest) throw new AppError("SERVICE_UNAVAILABLE", "no blocklist version has been published yet");
    const current = request.currentVersion;
    const sha = Buffer.from(
      request.currentSha256.buffer,
      request.currentSha256.byteOffset,
      request.currentSha256.length,
    );
    if (current === latest.versionNumber) {
      return sha.equals(latest.sha256) ? { kind: "up_to_date", latest } : { kind: "full_snapshot", latest };
    }
    if (current <= 0 || current > latest.versionNumber || sha.length !== 32)
      return { kind: "full_snapshot", latest };
    if (latest.versionNumber - current > MAX_DELTA_CHAIN_LENGTH) return { kind: "full_snapshot", latest };
    const chain = await this.chainFrom(current, latest);
    if (!chain.deltas || !chain.fromSha256.equals(sha)) return { kind: "full_snapshot", latest };
    return { kind: "delta_chain", latest, fromVersion: current, deltas: chain.deltas };
  }

  private chainFrom(fromVersion: number, latest: PublishedVersion): Promise<Chain> {
    let chain = this.chains.get(fromVersion);
    if (!chain) {
      chain = this.loadChain(fromVersion, latest);
      if (this.chains.size >= MAX_CACHED_CHAINS) {
        const oldest = this.chains.keys().next().value;
        if (oldest !== undefined) this.chains.delete(oldest);
      }
      this.chains.set(fromVersion, chain);
      // A failed load is not remembered.
      chain.catch(() => this.chains.delete(fromVersion));
    }
    return chain;
  }

  private async loadChain(fromVersion: number, latest: PublishedVersion): Promise<Chain> {
    const fromSha256 = await getVersionSha256(this.options.sql, fromVersion);
    if (!fromSha256) return { fromSha256: Buffer.alloc(0), deltas: null };
    const steps = await getDeltaRange(this.options.sql, fromVersion, latest.versionNumber);
    const deltas: Uint8Array[] = [];
    let expected = fromVersion + 1;
    let bytes = 0;
    for (const step of steps) {
      if (step.versionNumber !== expected || !step.delta) return { fromSha256, deltas: null };
      deltas.push(step.delta);
      bytes += step.delta.length;
      expected++;
    }
    if (expected !== latest.versionNumber + 1 || bytes >= latest.snapshot.length)
      return { fromSha256, deltas: null };
    return { fromSha256, deltas };
  }

  private refresh(): Promise<void> {
    if (!this.refreshing) {
      this.mustRefresh = false;
      this.refreshing = this.load()
        .catch((error: unknown) => {
          this.mustRefresh = true;
          this.options.onRefreshError?.(error);
          throw error;
        })
        .finally(() => {
          this.refreshing = null;
        });
    }
    return this.refreshing;
  }

  private async load(): Promise<void> {
    const summary = await latestVersionSummary(this.options.sql);
    this.checkedAtMs = Date.now();
    if (!summary) {
      this.latestVersion = null;
      this.loaded = true;
      return;
    }
    if (this.latestVersion?.versionNumber === summary.versionNumber) {
      this.loaded = true;
      return;
    }
    const snapshot = await getSnapshot(this.options.sql, summary.versionNumber);
    if (!snapshot || !summary.snapshotSha256) {
      throw new AppError("INTERNAL", `blocklist version ${summary.versionNumber} has no stored snapshot`);
    }
    // Throws BlocklistFormatError when the file does not verify with the key agents pin: never served.
    const list = loadBlocklist(snapshot, this.options.publicKey);
    this.latestVersion = {
      versionNumber: summary.versionNumber,
      sha256: summary.snapshotSha256,
      sha256Hex: summary.snapshotSha256.toString("hex"),
      keyId: Buffer.from(list.header.keyId),
      entryCount: list.header.entryCount,
      createdAt: new Date(list.header.createdAt),
      snapshot,
    };
    this.loaded = true;
    this.chains = new Map();
  }
}
