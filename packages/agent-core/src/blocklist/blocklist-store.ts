/**
 * Last known good blocklist (style.md items 11): the signed list on disk is verified with the pinned
 * key and loaded BEFORE any network; an update (full snapshot or delta chain) is verified completely
 * and turned into a matcher before an atomic swap (file written atomically, then `setMatcher`). On any
 * failure the list held stays. A bad signature, a broken chain or a rollback is tampering: it is
 * reported as list_signature_invalid, never silently ignored.
 */

import type { KeyObject } from "node:crypto";
import { existsSync, readFileSync, type Stats, statSync } from "node:fs";
import {
  applyDelta,
  BlocklistMatcher,
  type LoadedBlocklist,
  loadBlocklist,
  sha256,
} from "@betblocker/common";
import type { SyncResponse } from "@betblocker/proto";
import { quarantineFile, writeFileAtomic } from "../state/atomic-file";

/** Where a new matcher goes: the DNS forwarder (`DnsForwarder.setMatcher`). */
export interface MatcherTarget {
  setMatcher(matcher: BlocklistMatcher): void;
}

export interface ListTamperReport {
  /** What was wrong, for the tamper event's details (no domain names). */
  details: string;
  expectedSha256: string;
  actualSha256: string;
}

/**
 * Result of `verifyOnDisk`. Hashes are lower-case hex; `actualSha256` is "" when the file is gone.
 * `restored`: the file was rewritten from the verified bytes held in memory.
 */
export type VerifyResult =
  | { ok: true }
  | { ok: false; details: string; expectedSha256: string; actualSha256: string; restored: boolean };

/** Re-read an unchanged file (same stat) at least this often anyway: a stat can be faked (touch -d). */
const FULL_RECHECK_MS = 10 * 60_000;

export type SyncOutcome =
  | { kind: "up-to-date"; version: number }
  | { kind: "updated"; from: number; to: number; via: "snapshot" | "delta" }
  | { kind: "refused"; reason: string };

export interface BlocklistStoreOptions {
  path: string;
  pinnedPublicKey: KeyObject;
  target?: MatcherTarget;
  /** Tampering with the list: handed to the event collector (list_signature_invalid). */
  onTamper: (report: ListTamperReport) => void;
  /**
   * Lowest version acceptable even with no list held: the version recorded in the agent state, so a
   * deleted list cannot be replaced by an older signed one (rollback through deletion).
   */
  minimumVersion?: () => number;
  /** The file on disk did not verify: it was quarantined (reported as tamper too). */
  onQuarantine?: (path: string) => void;
}

/** Thrown inside an update when the list must be refused; always a tamper signal. */
class ListRefused extends Error {}

function hex(bytes: Uint8Array | undefined): string {
  return bytes ? Buffer.from(bytes).toString("hex") : "";
}

export class BlocklistStore {
  private list: LoadedBlocklist | null = null;
  private currentMatcher: BlocklistMatcher | null = null;
  private target: MatcherTarget | null;
  /** Stat of the file when it last matched the list held, to skip re-reading an unchanged file. */
  private verifiedStat: { key: string; at: number } | null = null;

  constructor(private readonly options: BlocklistStoreOptions) {
    this.target = options.target ?? null;
  }

  /** Version held (0: none). */
  get version(): number {
    return this.list?.header.version ?? 0;
  }

  /** SHA-256 of the complete file held (empty when none). */
  get sha256(): Uint8Array {
    return this.list ? sha256(this.list.bytes) : new Uint8Array();
  }

  get matcher(): BlocklistMatcher | null {
    return this.currentMatcher;
  }

  setTarget(target: MatcherTarget): void {
    this.target = target;
    if (this.currentMatcher) target.setMatcher(this.currentMatcher);
  }

  /**
   * Load the list on disk (no network). A file that does not verify is quarantined and reported as
   * tampering; the agent then has no list until the next sync (the forwarder waits for one).
   */
  loadFromDisk(): boolean {
    if (!existsSync(this.options.path)) return false;
    const bytes = new Uint8Array(readFileSync(this.options.path));
    try {
      const list = loadBlocklist(bytes, this.options.pinnedPublicKey);
      this.install(list, false);
      return true;
    } catch (error) {
      const moved = quarantineFile(this.options.path);
      this.options.onTamper({
        details: `blocklist on disk does not verify (${(error as Error).message}); quarantined to ${moved}`,
        expectedSha256: "",
        actualSha256: hex(sha256(bytes)),
      });
      this.options.onQuarantine?.(moved);
      return false;
    }
  }

  /**
   * Check that the list file is still byte-identical (SHA-256) to the list held in memory, i.e. the
   * file this store last installed or loaded. Never touches the matcher: the in-memory list is the
   * good one. On a mismatch or a deleted file the file is rewritten atomically from memory unless
   * `restore` is false (otherwise the next start would quarantine it and run without a list). The
   * caller reports the result (list_signature_invalid); this method does not call `onTamper`.
   * With no list held there is nothing to compare against: ok.
   */
  verifyOnDisk(options: { restore?: boolean; now?: number } = {}): VerifyResult {
    const list = this.list;
    if (!list) return { ok: true };
    const now = options.now ?? Date.now();
    const path = this.options.path;
    const stat = statOrNull(path);
    const key = stat ? statKey(stat) : null;
    if (key && this.verifiedStat?.key === key && now - this.verifiedStat.at < FULL_RECHECK_MS) {
      return { ok: true };
    }
    const expectedSha256 = hex(sha256(list.bytes));
    let actualSha256 = "";
    let details: string;
    if (!stat) {
      details = `blocklist file ${path} was deleted`;
    } else {
      const bytes = readFileOrNull(path);
      actualSha256 = bytes ? hex(sha256(bytes)) : "";
      if (bytes && actualSha256 === expectedSha256) {
        this.verifiedStat = { key: statKey(stat), at: now };
        return { ok: true };
      }
      details = bytes
        ? `blocklist file ${path} was altered on disk (${bytes.length} bytes, expected ${list.bytes.length})`
        : `blocklist file ${path} is unreadable`;
    }
    this.verifiedStat = null;
    let restored = false;
    if (options.restore ?? true) {
      try {
        writeFileAtomic(path, list.bytes);
        restored = true;
        const written = statOrNull(path);
        if (written) this.verifiedStat = { key: statKey(written), at: now };
      } catch (error) {
        details += `; rewriting it failed: ${(error as Error).message}`;
      }
    }
    if (restored) details += "; rewritten from the verified list in memory";
    return { ok: false, details, expectedSha256, actualSha256, restored };
  }

  /** Apply a SyncResponse; the list held stays unless the new one verifies completely. */
  apply(response: SyncResponse): SyncOutcome {
    const from = this.version;
    try {
      switch (response.result.case) {
        case "upToDate":
          return { kind: "up-to-date", version: from };
        case "fullSnapshot": {
          const snapshot = response.result.value;
          const list = this.verify(() => loadBlocklist(snapshot.snapshot, this.options.pinnedPublicKey));
          if (this.list && list.header.version <= from) {
            throw new ListRefused(
              `snapshot version ${list.header.version} is not newer than ${from} (rollback)`,
            );
          }
          const minimum = this.options.minimumVersion?.() ?? 0;
          if (list.header.version < minimum) {
            throw new ListRefused(
              `snapshot version ${list.header.version} is older than installed version ${minimum} (rollback)`,
            );
          }
          this.checkManifest(response, list);
          this.install(list, true);
          return { kind: "updated", from, to: list.header.version, via: "snapshot" };
        }
        case "deltaChain": {
          if (!this.list) throw new ListRefused("delta chain received but no base list is held");
          const chain = response.result.value;
          let previous = this.list;
          for (const delta of chain.deltas) {
            const nextBytes = this.verify(() =>
              applyDelta(previous.bytes, delta, this.options.pinnedPublicKey),
            );
            const next = this.verify(() =>
              loadBlocklist(nextBytes, this.options.pinnedPublicKey, {
                expectedPrevHash: sha256(previous.bytes),
              }),
            );
            if (next.header.version <= previous.header.version) {
              throw new ListRefused(
                `delta goes from version ${previous.header.version} to ${next.header.version} (rollback)`,
              );
            }
            previous = next;
          }
          if (chain.toVersion !== 0 && previous.header.version !== chain.toVersion) {
            throw new ListRefused(
              `delta chain ends at ${previous.header.version}, announced ${chain.toVersion}`,
            );
          }
          this.checkManifest(response, previous);
          if (previous === this.list) return { kind: "up-to-date", version: from };
          this.install(previous, true);
          return { kind: "updated", from, to: previous.header.version, via: "delta" };
        }
        default:
          return { kind: "refused", reason: "empty sync response" };
      }
    } catch (error) {
      const reason = (error as Error).message;
      if (error instanceof ListRefused) {
        this.options.onTamper({
          details: `blocklist update refused: ${reason}`,
          expectedSha256: hex(response.latest?.sha256),
          actualSha256: hex(this.list ? sha256(this.list.bytes) : undefined),
        });
      }
      return { kind: "refused", reason };
    }
  }

  private verify<T>(step: () => T): T {
    try {
      return step();
    } catch (error) {
      throw new ListRefused((error as Error).message);
    }
  }

  /** When the server announces the latest manifest, the result must be exactly that file. */
  private checkManifest(response: SyncResponse, list: LoadedBlocklist): void {
    const latest = response.latest;
    if (!latest || latest.sha256.length === 0 || latest.version !== list.header.version) return;
    if (!Buffer.from(sha256(list.bytes)).equals(latest.sha256)) {
      throw new ListRefused(`version ${list.header.version} does not hash to the announced SHA-256`);
    }
  }

  /** Build the matcher first (it can throw); only then write the file and swap. */
  private install(list: LoadedBlocklist, persist: boolean): void {
    const matcher = new BlocklistMatcher(list);
    if (persist) writeFileAtomic(this.options.path, list.bytes);
    this.list = list;
    this.verifiedStat = null;
    this.currentMatcher = matcher;
    this.target?.setMatcher(matcher);
  }
}

function statOrNull(path: string): Stats | null {
  try {
    return statSync(path);
  } catch {
    return null;
  }
}

function readFileOrNull(path: string): Uint8Array | null {
  try {
    return new Uint8Array(readFileSync(path));
  } catch {
    return null;
  }
}

/** Identity + content stamp of a file: any write, replace or chmod changes one of these. */
function statKey(stat: Stats): string {
  return `${stat.dev}:${stat.ino}:${stat.size}:${stat.mtimeMs}:${stat.ctimeMs}`;
}
