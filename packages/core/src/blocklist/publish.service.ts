/**
 * Publishing a blocklist version: compile the active entries and the allowlist into a signed list file,
 * chain it to the previous version (prev_hash), make the signed delta from the previous version, and store
 * both with the version's membership, all in one REPEATABLE READ transaction serialised by an advisory lock.
 *
 * Performance (npm run bench:compile, 1M entries, 1% churn, 2 cores): the membership is written as version
 * intervals (O(churn) rows, computed by the database while this process compiles) instead of 1M
 * blocklist_version_entries rows per version, snapshots are stored without pglz, and independent reads are
 * pipelined on the connection.
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
import type { Sql, TransactionSql } from "@betblocker/db/client";
import { type ActorContext, applyActorContext } from "@betblocker/db/context";
import {
  type ActiveEntry,
  exportSnapshot,
  getRulesDigest,
  getSnapshot,
  insertVersion,
  latestVersion,
  listActiveRules,
  listAllowlist,
  lockPublishingSession,
  readInSnapshot,
  recordMembership,
  rulesDigestInDatabase,
  unlockPublishingSession,
} from "@betblocker/db/repositories/blocklist.repository";

export const DEFAULT_CATEGORY = "other";

/** An active entry as compiling sees it. */
export type RuleEntry = Pick<ActiveEntry, "domain" | "category">;

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
export function rulesFromEntries(entries: readonly RuleEntry[], allow: readonly string[]): BlocklistRules {
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
export function rulesDigest(entries: readonly RuleEntry[], allow: readonly string[]): string {
  const hash = createHash("sha256");
  // The same bytes as one update per line, fed in ~1 MB chunks (a native call per entry costs 0.2 s at 1M).
  let chunk = "";
  for (const entry of entries) {
    chunk += `b\t${entry.domain}\t${entry.category ?? DEFAULT_CATEGORY}\n`;
    if (chunk.length > 1 << 20) {
      hash.update(chunk);
      chunk = "";
    }
  }
  for (const domain of allow) chunk += `a\t${domain}\n`;
  hash.update(chunk);
  return hash.digest("hex");
}

/** Uses two connections of `sql` at once (the transaction and a reader in its snapshot): a pool of max 1 deadlocks. */
export async function publishBlocklist(sql: Sql, options: PublishOptions): Promise<PublishResult> {
  // The lock is taken before the transaction's snapshot, so a publisher that waited sees its predecessor's
  // version (and, with onlyIfChanged, publishes nothing when that one already holds these rules).
  const conn = await sql.reserve();
  try {
    await lockPublishingSession(conn);
    try {
      // A reserved connection has no begin(): the transaction is driven by hand, on this one connection.
      const tx = conn as unknown as TransactionSql;
      await conn.unsafe("begin isolation level repeatable read");
      try {
        await applyActorContext(tx, options.actor);
        const result = await publishInTransaction(sql, tx, options);
        await conn.unsafe("commit");
        return result;
      } catch (error) {
        await conn.unsafe("rollback").catch(() => {});
        throw error;
      }
    } finally {
      await unlockPublishingSession(conn);
    }
  } finally {
    conn.release();
  }
}

async function publishInTransaction(
  sql: Sql,
  tx: TransactionSql,
  options: PublishOptions,
): Promise<PublishResult> {
  const now = options.now ?? Date.now;
  const previous = await latestVersion(tx);
  // onlyIfChanged (the scheduled job): the database hashes the rules first, so an unchanged list never ships a
  // million rows to this process. Otherwise the rows are needed anyway and hashing them here is cheaper.
  let digest: string | null = null;
  if (options.onlyIfChanged && previous) {
    const [current, published] = await Promise.all([
      rulesDigestInDatabase(tx, DEFAULT_CATEGORY),
      getRulesDigest(tx, previous.versionNumber),
    ]);
    if (current === published) {
      return {
        published: false,
        version: previous.versionNumber,
        entryCount: previous.entryCount,
        snapshotBytes: previous.snapshotBytes ?? 0,
        deltaBytes: previous.deltaBytes,
        contentSha256: current,
        compileMs: 0,
      };
    }
    digest = current;
  }
  const version = (previous?.versionNumber ?? 0) + 1;
  // Two connections in one snapshot: this transaction's connection updates the membership (two hash
  // anti-joins over the list, in memory with 64 MB) while a second one streams the rules and the previous
  // snapshot to this process, and both run while it compiles. The membership is awaited before storing.
  const snapshotId = await exportSnapshot(tx);
  await tx`set local work_mem = '64MB'`;
  const membership = recordMembership(tx, version).execute();
  membership.catch(() => {}); // a failure surfaces at its await below
  const [entries, allowRows, previousSnapshot] = await readInSnapshot(sql, snapshotId, (reader) =>
    Promise.all([
      listActiveRules(reader),
      listAllowlist(reader),
      previous ? getSnapshot(reader, previous.versionNumber) : null,
    ]),
  );
  const allow = allowRows.map((a) => a.domain);
  digest ??= rulesDigest(entries, allow);
  const previousList = previousSnapshot ? loadBlocklist(previousSnapshot, options.publicKey) : null;
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
      if (!Buffer.from(rebuilt).equals(snapshot)) throw new Error("delta does not reproduce the new version");
    } catch (error) {
      if (error instanceof BlocklistFormatError && error.code === "BLOCKLIST_DELTA_IMPOSSIBLE") {
        delta = null;
        deltaNote = error.message;
      } else throw error;
    }
  }
  const compileMs = Date.now() - compileStarted;
  const [changes] = await membership;
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
      entries_added: changes?.added ?? null,
      entries_removed: changes?.removed ?? null,
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
}
