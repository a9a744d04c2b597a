/**
 * Publishing a blocklist version: compile the active entries and the allowlist into a signed list file,
 * chain it to the previous version (prev_hash), make the signed delta from the previous version, and store
 * both with the version's entry mapping, all in one transaction serialised by an advisory lock.
 */
import { createHash, type KeyObject } from "node:crypto";
import {
  applyDelta,
  BLOCKLIST_FORMAT_VERSION,
  BlocklistFormatError,
  type BlocklistRules,
  compileBlocklist,
  compileHintsFrom,
  createDelta,
  type DomainRule,
  keyId,
  loadBlocklist,
  type PatternRule,
  sha256,
} from "@betblocker/common";
import type { Sql } from "@betblocker/db/client";
import { type ActorContext, withActor } from "@betblocker/db/context";
import {
  type ActiveEntry,
  getRulesDigest,
  getSnapshot,
  insertVersion,
  latestVersion,
  listActiveEntries,
  listAllowlist,
  lockPublishing,
} from "@betblocker/db/repositories/blocklist.repository";

export const DEFAULT_CATEGORY = "other";

export interface PublishOptions {
  privateKey: KeyObject;
  publicKey: KeyObject;
  actor: ActorContext;
  /** Skip publishing when the compiled rule set equals the latest version's. */
  onlyIfChanged?: boolean;
  now?: () => number;
}

export interface PublishResult {
  published: boolean;
  version: number;
  entryCount: number;
  snapshotBytes: number;
  /** Size of the delta from the previous version; null for version 1 or when no delta is possible. */
  deltaBytes: number | null;
  contentSha256: string;
  compileMs: number;
}

/** Splits stored rule values into the list's sections: `*.x.com` wildcards, globs, plain domains. */
export function rulesFromEntries(entries: readonly ActiveEntry[], allow: readonly string[]): BlocklistRules {
  const block: DomainRule[] = [];
  const wildcard: DomainRule[] = [];
  const pattern: PatternRule[] = [];
  for (const entry of entries) {
    const category = entry.category ?? DEFAULT_CATEGORY;
    if (entry.domain.startsWith("*.")) wildcard.push({ domain: entry.domain, category });
    else if (entry.domain.includes("*") || entry.domain.includes("?"))
      pattern.push({ pattern: entry.domain, category });
    else block.push({ domain: entry.domain, category });
  }
  return { block, wildcard, allow, pattern };
}

/** A digest of the rule set alone (no version, time or signature), to tell whether anything changed. */
export function rulesDigest(entries: readonly ActiveEntry[], allow: readonly string[]): string {
  const hash = createHash("sha256");
  for (const entry of entries) hash.update(`b\t${entry.domain}\t${entry.category ?? DEFAULT_CATEGORY}\n`);
  for (const domain of allow) hash.update(`a\t${domain}\n`);
  return hash.digest("hex");
}

export async function publishBlocklist(sql: Sql, options: PublishOptions): Promise<PublishResult> {
  const now = options.now ?? Date.now;
  return await withActor(sql, options.actor, async (tx) => {
    await lockPublishing(tx);
    const previous = await latestVersion(tx);
    const entries = await listActiveEntries(tx);
    const allow = (await listAllowlist(tx)).map((a) => a.domain);
    const digest = rulesDigest(entries, allow);
    const previousDigest = previous ? await getRulesDigest(tx, previous.versionNumber) : null;
    if (options.onlyIfChanged && previous && previousDigest === digest) {
      return {
        published: false,
        version: previous.versionNumber,
        entryCount: previous.entryCount,
        snapshotBytes: previous.snapshotBytes ?? 0,
        deltaBytes: previous.deltaBytes,
        contentSha256: digest,
        compileMs: 0,
      };
    }

    const previousSnapshot = previous ? await getSnapshot(tx, previous.versionNumber) : null;
    const previousList = previousSnapshot ? loadBlocklist(previousSnapshot, options.publicKey) : null;
    const version = (previous?.versionNumber ?? 0) + 1;
    const compileStarted = Date.now();
    const snapshot = compileBlocklist({
      version,
      createdAt: now(),
      prevHash: previousSnapshot ? sha256(previousSnapshot) : null,
      rules: rulesFromEntries(entries, allow),
      privateKey: options.privateKey,
      ...(previousList ? compileHintsFrom(previousList) : {}),
    });
    // The list must verify with the key agents pin before anything is stored.
    const loaded = loadBlocklist(
      snapshot,
      options.publicKey,
      previousSnapshot ? { expectedPrevHash: sha256(previousSnapshot) } : {},
    );

    let delta: Uint8Array | null = null;
    let deltaNote: string | null = null;
    if (previousSnapshot) {
      try {
        delta = createDelta(previousSnapshot, snapshot, options.privateKey);
        // Prove the delta reproduces the new version byte for byte before agents ever see it.
        const rebuilt = applyDelta(previousSnapshot, delta, options.publicKey);
        if (!Buffer.from(rebuilt).equals(snapshot))
          throw new Error("delta does not reproduce the new version");
      } catch (error) {
        if (error instanceof BlocklistFormatError && error.code === "BLOCKLIST_DELTA_IMPOSSIBLE") {
          delta = null;
          deltaNote = error.message;
        } else throw error;
      }
    }
    const compileMs = Date.now() - compileStarted;
    await insertVersion(tx, {
      versionNumber: version,
      entryCount: loaded.header.entryCount,
      snapshot,
      snapshotSha256: sha256(snapshot),
      formatVersion: BLOCKLIST_FORMAT_VERSION,
      signingKeyId: keyId(options.publicKey),
      delta,
      deltaMetadata: {
        rules_sha256: digest,
        from_version: previous?.versionNumber ?? null,
        entries: entries.length,
        allow: allow.length,
        snapshot_bytes: snapshot.length,
        delta_bytes: delta?.length ?? null,
        ...(deltaNote ? { delta_unavailable: deltaNote } : {}),
      },
    });
    return {
      published: true,
      version,
      entryCount: loaded.header.entryCount,
      snapshotBytes: snapshot.length,
      deltaBytes: delta?.length ?? null,
      contentSha256: digest,
      compileMs,
    };
  });
}
