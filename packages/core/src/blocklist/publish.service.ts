/**
 * Publishing a blocklist version: compile the active entries and the allowlist into a signed list file,
 * chain it to the previous version (prev_hash), make the signed delta from the previous version, and store
 * both with the version's membership, all in one REPEATABLE READ transaction serialised by an advisory lock.
 *
 * Performance (npm run bench:compile, 1M entries, 1% churn, 2 cores): the membership is written as version
 * intervals (O(churn) rows, computed by the database while this process compiles) instead of 1M
 * blocklist_version_entries rows per version, snapshots are stored without pglz, and independent reads are
 * pipelined on the connection. The rules arrive as raw COPY text rows and are hashed straight from their
 * bytes as they stream in (RuleRowCompiler: no string or object per rule), and the same bytes feed the rules
 * digest, so reading, digesting and most of compiling overlap with the database's work.
 */
import { createHash, type Hash, type KeyObject } from "node:crypto";
import {
  applyDelta,
  BLOCKLIST_FORMAT_VERSION,
  BlocklistFormatError,
  type BlocklistRules,
  compileHintsFrom,
  type DomainRule,
  keyId,
  type LoadedBlocklist,
  loadBlocklist,
  type PatternRule,
  sha256,
} from "@betblocker/common";
import { RuleRowCompiler } from "@betblocker/common/blocklist/compile-rows";
import { createDeltaFromLists } from "@betblocker/common/blocklist/delta";
import type { Sql, TransactionSql } from "@betblocker/db/client";
import { type ActorContext, applyActorContext } from "@betblocker/db/context";
import {
  type ActiveEntry,
  copyActiveRuleRows,
  exportSnapshot,
  getRulesDigest,
  getSnapshot,
  insertVersionSnapshot,
  latestVersion,
  listAllowlist,
  lockPublishingSession,
  readInSnapshot,
  recordMembership,
  rulesDigestInDatabase,
  setVersionDelta,
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

/**
 * A digest of the rule set alone (no version, time or signature), to tell whether anything changed:
 * SHA-256 of one line `b<TAB>domain<TAB>category<LF>` per entry (domain order, NULL category = "other"),
 * then one line `a<TAB>domain<LF>` per allowlist entry. The publisher computes the same bytes from the COPY
 * rows (copyActiveRuleRows), and the database from its tables (rulesDigestInDatabase).
 */
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
  hash.update(chunk);
  hashAllowLines(hash, allow);
  return hash.digest("hex");
}

/** Adds the allowlist's lines to a digest that holds the entries' lines; returns it in hex. */
function finishRulesDigest(hash: Hash, allow: readonly string[]): string {
  hashAllowLines(hash, allow);
  return hash.digest("hex");
}

/** The allowlist's part of the rules digest. */
function hashAllowLines(hash: Hash, allow: readonly string[]): void {
  let chunk = "";
  for (const domain of allow) chunk += `a\t${domain}\n`;
  hash.update(chunk);
}

/**
 * The signed delta from the previous version (both lists already verified), proven to rebuild `snapshot`
 * byte for byte; null with the reason when the lists' seed or table sizes make a delta impossible.
 */
function deltaFrom(
  previousSnapshot: Uint8Array,
  previousList: LoadedBlocklist,
  snapshot: Uint8Array,
  loaded: LoadedBlocklist,
  options: PublishOptions,
): { delta: Uint8Array | null; deltaNote: string | null } {
  try {
    const delta = createDeltaFromLists(previousList, loaded, options.privateKey);
    // Prove the delta reproduces the new version byte for byte before agents ever see it.
    const rebuilt = applyDelta(previousSnapshot, delta, options.publicKey);
    if (!Buffer.from(rebuilt).equals(snapshot)) throw new Error("delta does not reproduce the new version");
    return { delta, deltaNote: null };
  } catch (error) {
    if (error instanceof BlocklistFormatError && error.code === "BLOCKLIST_DELTA_IMPOSSIBLE") {
      return { delta: null, deltaNote: error.message };
    }
    throw error;
  }
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
  // Two connections in one snapshot. A second connection streams the rules (COPY rows) to this process, which
  // hashes them as they arrive once it has the previous file (its seed); this transaction's connection reads
  // that file, then updates the membership (one merge join over the list). The rules stream is the longest
  // part, so it starts first; the membership is awaited before storing.
  const snapshotId = await exportSnapshot(tx);
  const previousRead = previous ? getSnapshot(tx, previous.versionNumber) : Promise.resolve(null);
  previousRead.catch(() => {}); // awaited below
  // Without the database's digest (see above), the rules are digested from the rows as they stream in.
  const rulesHash = createHash("sha256");
  const hashRows = digest === null;
  const reading = readInSnapshot(sql, snapshotId, async (reader) => {
    // Awaited before the COPY is sent: a statement pipelined with a COPY can get its replies mixed up.
    const allow = (await listAllowlist(reader)).map((a) => a.domain);
    // Collected (and digested) from the first byte; hashed once the previous list gave the seed.
    const compiler = new RuleRowCompiler({
      expectedRows: previous?.entryCount ?? 0,
      ...(hashRows ? { onBatch: (batch: Uint8Array) => rulesHash.update(batch) } : {}),
    });
    const piped = copyActiveRuleRows(reader, DEFAULT_CATEGORY).pipe((chunk) => compiler.push(chunk));
    piped.catch(() => {}); // awaited below; drains the COPY even if this function fails first
    const previousSnapshot = await previousRead;
    const previousList = previousSnapshot ? loadBlocklist(previousSnapshot, options.publicKey) : null;
    const hints = previousList ? compileHintsFrom(previousList) : null;
    if (hints) compiler.setSeed(hints.seed);
    await piped;
    compiler.end();
    return { allow, previousSnapshot, previousList, hints, compiler };
  });
  reading.catch(() => {}); // awaited below
  // The membership statements are sent only once the previous file has arrived: queued behind its query
  // they could overtake it (a statement's first use waits for its description), delaying the rules' hashing
  // by the whole membership update. A read failure surfaces through `reading`.
  await previousRead.catch(() => null);
  await tx`set local work_mem = '64MB'`;
  const membership = recordMembership(tx, version);
  membership.catch(() => {}); // a failure surfaces at its await below
  const read = await reading;
  const { allow, previousSnapshot, previousList, hints, compiler } = read;
  const rulesSha256 = digest ?? finishRulesDigest(rulesHash, allow);
  const previousHash = previousSnapshot ? sha256(previousSnapshot) : null;
  const compileStarted = Date.now();
  const snapshot = compiler.compile({
    version,
    createdAt: now(),
    prevHash: previousHash,
    allow,
    privateKey: options.privateKey,
    ...(hints ? { previousBucketBits: hints.previousBucketBits } : {}),
  });
  // The list must verify with the key agents pin before anything is stored.
  const loaded = loadBlocklist(
    snapshot,
    options.publicKey,
    previousHash ? { expectedPrevHash: previousHash } : {},
  );
  // Stored now, so the database writes the 6 MB snapshot while this process makes and proves the delta; the
  // delta and the metadata complete the row below, in this transaction (nobody sees the row before commit).
  // Issued once the membership statements are done: they run first on this connection anyway, and a
  // connection copying data refuses other statements.
  let deltaFailed = false;
  const stored = membership.then(() =>
    deltaFailed
      ? undefined
      : insertVersionSnapshot(tx, {
          versionNumber: version,
          entryCount: loaded.header.entryCount,
          snapshot,
          snapshotSha256: sha256(snapshot),
          formatVersion: BLOCKLIST_FORMAT_VERSION,
          signingKeyId: keyId(options.publicKey),
        }),
  );
  stored.catch(() => {}); // a failure surfaces at its await below
  let delta: Uint8Array | null;
  let deltaNote: string | null;
  try {
    ({ delta, deltaNote } =
      previousSnapshot && previousList
        ? deltaFrom(previousSnapshot, previousList, snapshot, loaded, options)
        : { delta: null, deltaNote: null });
  } catch (error) {
    deltaFailed = true;
    // Never leave with the snapshot COPY still running: the caller's ROLLBACK needs the connection idle.
    await stored.catch(() => {});
    throw error;
  }
  const compileMs = Date.now() - compileStarted;
  const changes = await membership;
  await stored;
  await setVersionDelta(tx, version, delta, {
    rules_sha256: rulesSha256,
    from_version: previous?.versionNumber ?? null,
    entries: compiler.rowCount,
    allow: allow.length,
    snapshot_bytes: snapshot.length,
    delta_bytes: delta?.length ?? null,
    entries_added: changes.added,
    entries_removed: changes.removed,
    ...(deltaNote ? { delta_unavailable: deltaNote } : {}),
  });
  return {
    published: true,
    version,
    entryCount: loaded.header.entryCount,
    snapshotBytes: snapshot.length,
    deltaBytes: delta?.length ?? null,
    contentSha256: rulesSha256,
    compileMs,
  };
}
