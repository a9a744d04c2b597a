/**
 * Blocklist tables: blocklist_entries, allowlist_entries, blocklist_versions, blocklist_version_entries.
 * All SQL for them lives here. Functions that must be atomic with others take a TransactionSql.
 */
import type { Queryable, Sql, TransactionSql } from "../client";

export type BlocklistSource = "curated" | "automated" | "federated";
/** inactive (0025): delisted by every list source that listed it; reactivated when one lists it again. */
export type BlocklistEntryStatus = "active" | "review" | "rejected" | "inactive";

export interface EntryInput {
  domain: string;
  category: string | null;
}

export interface UpsertEntriesOptions {
  source: BlocklistSource;
  status: BlocklistEntryStatus;
  confidenceScore: number;
  addedByAccountId: number | null;
}

export interface UpsertCounts {
  inserted: number;
  updated: number;
  unchanged: number;
}

/**
 * Idempotent batch upsert keyed on domain. A new domain is inserted; an existing one only gains a category it
 * lacked. Status, source and reviews of existing rows are never overwritten, so re-importing a list cannot
 * resurrect an entry an admin rejected. Duplicate domains within the batch are collapsed (first wins), because
 * ON CONFLICT cannot touch one row twice in a statement.
 */
export async function upsertEntries(
  sql: Queryable,
  entries: readonly EntryInput[],
  options: UpsertEntriesOptions,
): Promise<UpsertCounts> {
  const unique = new Map<string, string | null>();
  for (const entry of entries) if (!unique.has(entry.domain)) unique.set(entry.domain, entry.category);
  if (unique.size === 0) return { inserted: 0, updated: 0, unchanged: 0 };
  const domains = [...unique.keys()];
  const categories = [...unique.values()];
  const rows = await sql<{ inserted: boolean }[]>`
    insert into blocklist_entries (domain, category, source, status, confidence_score, added_by_account_id)
    select d, c, ${options.source}::blocklist_source, ${options.status}::blocklist_entry_status,
           ${options.confidenceScore}, ${options.addedByAccountId}
    from unnest(${domains}::text[], ${categories}::text[]) as t(d, c)
    on conflict (domain) do update
      set category = excluded.category
      where blocklist_entries.category is null and excluded.category is not null
    returning (xmax = 0) as inserted`;
  const inserted = rows.filter((r) => r.inserted).length;
  const updated = rows.length - inserted;
  return { inserted, updated, unchanged: unique.size - rows.length };
}

export interface ActiveEntry {
  id: number;
  domain: string;
  category: string | null;
}

/** Every active entry, in domain order (compile input). */
export async function listActiveEntries(sql: Queryable): Promise<ActiveEntry[]> {
  return await sql<
    ActiveEntry[]
  >`select id, domain, category from blocklist_entries where status = 'active' order by domain`;
}

/** What compiling needs of every active entry, in domain order (no id: 1M int8 parses cost 0.3 s). */
export async function listActiveRules(
  sql: Queryable,
): Promise<{ domain: string; category: string | null }[]> {
  return await sql<{ domain: string; category: string | null }[]>`
    select domain, category from blocklist_entries where status = 'active' order by domain`;
}

/**
 * The rules digest computed by the database: byte for byte what rulesDigest() (publish.service.ts) computes
 * over listActiveRules() and listAllowlist(), without sending a million rows to the client first.
 * `defaultCategory` stands in for a NULL category, as in the compiled list.
 */
export async function rulesDigestInDatabase(sql: Queryable, defaultCategory: string): Promise<string> {
  const [row] = await sql<{ digest: string }[]>`
    select encode(sha256(convert_to(
             coalesce((select string_agg('b' || E'\t' || domain || E'\t' || coalesce(category, ${defaultCategory}) || E'\n', '' order by domain)
                       from blocklist_entries where status = 'active'), '')
             || coalesce((select string_agg('a' || E'\t' || domain || E'\n', '' order by domain) from allowlist_entries), ''),
           'UTF8')), 'hex') as digest`;
  if (!row) throw new Error("rules digest query returned no row");
  return row.digest;
}

export async function countEntriesByStatus(sql: Queryable): Promise<Record<string, number>> {
  const rows = await sql<
    { status: string; n: number }[]
  >`select status::text, count(*)::int as n from blocklist_entries group by status`;
  return Object.fromEntries(rows.map((r) => [r.status, r.n]));
}

/** Streams active entries in domain order, `batchSize` rows at a time (export without loading all rows). */
export async function* streamActiveEntries(sql: Queryable, batchSize = 5000): AsyncGenerator<ActiveEntry[]> {
  let after = "";
  for (;;) {
    const rows = await sql<ActiveEntry[]>`
      select id, domain, category from blocklist_entries
      where status = 'active' and domain > ${after} order by domain limit ${batchSize}`;
    if (rows.length === 0) return;
    yield rows;
    after = rows[rows.length - 1]?.domain ?? after;
  }
}

export interface AllowlistInput {
  domain: string;
  reason: string | null;
}

export async function upsertAllowlist(
  sql: Queryable,
  entries: readonly AllowlistInput[],
  addedByAccountId: number | null,
): Promise<number> {
  const unique = new Map<string, string | null>();
  for (const entry of entries) if (!unique.has(entry.domain)) unique.set(entry.domain, entry.reason);
  if (unique.size === 0) return 0;
  const rows = await sql<{ id: number }[]>`
    insert into allowlist_entries (domain, reason, added_by_account_id)
    select d, r, ${addedByAccountId} from unnest(${[...unique.keys()]}::text[], ${[...unique.values()]}::text[]) as t(d, r)
    on conflict (domain) do nothing
    returning id`;
  return rows.length;
}

export async function listAllowlist(sql: Queryable): Promise<{ domain: string; reason: string | null }[]> {
  return await sql<
    { domain: string; reason: string | null }[]
  >`select domain, reason from allowlist_entries order by domain`;
}

export interface BlocklistVersionRow {
  id: number;
  versionNumber: number;
  publishedAt: Date;
  entryCount: number;
  snapshotSha256: Buffer | null;
  formatVersion: number | null;
  signingKeyId: Buffer | null;
  deltaBytes: number | null;
  snapshotBytes: number | null;
}

export const VERSION_COLUMNS =
  "id, version_number, published_at, entry_count, snapshot_sha256, format_version, signing_key_id, octet_length(delta_binary) as delta_bytes, octet_length(snapshot_binary) as snapshot_bytes";

export interface RawVersionRow {
  id: number;
  version_number: number;
  published_at: Date;
  entry_count: number;
  snapshot_sha256: Buffer | null;
  format_version: number | null;
  signing_key_id: Buffer | null;
  delta_bytes: number | null;
  snapshot_bytes: number | null;
}

export function toVersion(row: RawVersionRow): BlocklistVersionRow {
  return {
    id: row.id,
    versionNumber: row.version_number,
    publishedAt: row.published_at,
    entryCount: row.entry_count,
    snapshotSha256: row.snapshot_sha256,
    formatVersion: row.format_version,
    signingKeyId: row.signing_key_id,
    deltaBytes: row.delta_bytes,
    snapshotBytes: row.snapshot_bytes,
  };
}

export async function latestVersion(sql: Queryable): Promise<BlocklistVersionRow | null> {
  const [row] = await sql.unsafe<RawVersionRow[]>(
    `select ${VERSION_COLUMNS} from blocklist_versions order by version_number desc limit 1`,
  );
  return row ? toVersion(row) : null;
}

export async function getSnapshot(sql: Queryable, versionNumber: number): Promise<Uint8Array | null> {
  const [row] = await sql<{ snapshot_binary: Buffer | null }[]>`
    select snapshot_binary from blocklist_versions where version_number = ${versionNumber}`;
  return row?.snapshot_binary ? new Uint8Array(row.snapshot_binary) : null;
}

export async function getDelta(sql: Queryable, versionNumber: number): Promise<Uint8Array | null> {
  const [row] = await sql<{ delta_binary: Buffer | null }[]>`
    select delta_binary from blocklist_versions where version_number = ${versionNumber}`;
  return row?.delta_binary ? new Uint8Array(row.delta_binary) : null;
}

export interface NewVersion {
  versionNumber: number;
  entryCount: number;
  snapshot: Uint8Array;
  snapshotSha256: Uint8Array;
  formatVersion: number;
  signingKeyId: Uint8Array;
  delta: Uint8Array | null;
  deltaMetadata: Record<string, unknown>;
}

/**
 * Inserts the version row in the caller's transaction. Which entries the version contains is recorded by
 * recordMembership (blocklist_membership, migration 0028) in the same transaction; blocklist_version_entries
 * (one row per entry per version: 11.8 s per publish at 1M entries) is no longer written.
 */
export async function insertVersion(tx: TransactionSql, version: NewVersion): Promise<number> {
  const [row] = await tx<{ id: number }[]>`
    insert into blocklist_versions
      (version_number, entry_count, delta_binary, delta_metadata, snapshot_binary, snapshot_sha256, format_version, signing_key_id)
    values (${version.versionNumber}, ${version.entryCount}, ${version.delta ? Buffer.from(version.delta) : null},
            ${tx.json(version.deltaMetadata as Parameters<typeof tx.json>[0])}, ${Buffer.from(version.snapshot)},
            ${Buffer.from(version.snapshotSha256)}, ${version.formatVersion}, ${Buffer.from(version.signingKeyId)})
    returning id`;
  if (!row) throw new Error("insert into blocklist_versions returned no row");
  return row.id;
}

/**
 * Records that version `versionNumber` contains exactly the active entries: closes the open interval of
 * every entry that is no longer active, opens one for every active entry without one. O(churn) writes.
 * Must run in the REPEATABLE READ transaction that read the entries compiled into the snapshot (both CTEs
 * see the same snapshot). Returned un-awaited so the caller can compile while the database works.
 */
export function recordMembership(tx: TransactionSql, versionNumber: number) {
  return tx<{ added: number; removed: number }[]>`
    with removed as (
      update blocklist_membership m set to_version = ${versionNumber}
      where m.to_version is null
        and not exists (select 1 from blocklist_entries e where e.id = m.blocklist_entry_id and e.status = 'active')
      returning 1
    ), added as (
      insert into blocklist_membership (blocklist_entry_id, from_version)
      select e.id, ${versionNumber} from blocklist_entries e
      where e.status = 'active'
        and not exists (select 1 from blocklist_membership m where m.blocklist_entry_id = e.id and m.to_version is null)
      returning 1
    )
    select (select count(*) from added)::int as added, (select count(*) from removed)::int as removed`;
}

/** Exports the transaction's snapshot (REPEATABLE READ) so another connection can read exactly what it sees. */
export async function exportSnapshot(tx: TransactionSql): Promise<string> {
  const [row] = await tx<{ id: string }[]>`select pg_export_snapshot() as id`;
  if (!row) throw new Error("pg_export_snapshot returned no row");
  return row.id;
}

/**
 * Runs read-only `fn` on another pooled connection inside the exported snapshot `snapshotId` (the exporting
 * transaction must stay open meanwhile): the reads see exactly what the exporter sees, while the exporter's
 * connection does other work in parallel.
 */
export async function readInSnapshot<T>(
  sql: Sql,
  snapshotId: string,
  fn: (tx: TransactionSql) => Promise<T>,
): Promise<T> {
  if (!/^[0-9A-F-]+$/i.test(snapshotId)) throw new Error(`unexpected snapshot id ${snapshotId}`);
  return (await sql.begin("isolation level repeatable read read only", async (tx) => {
    await tx.unsafe(`set transaction snapshot '${snapshotId}'`);
    return await fn(tx);
  })) as T;
}

const PUBLISH_LOCK_KEY = 0x424250554231n;

/**
 * Session-level publishing lock, taken on a reserved connection BEFORE the publishing transaction starts, so
 * that the transaction's REPEATABLE READ snapshot already includes what the previous publisher committed.
 */
export async function lockPublishingSession(conn: Queryable): Promise<void> {
  await conn`select pg_advisory_lock(${PUBLISH_LOCK_KEY.toString()}::bigint)`;
}

export async function unlockPublishingSession(conn: Queryable): Promise<void> {
  await conn`select pg_advisory_unlock(${PUBLISH_LOCK_KEY.toString()}::bigint)`;
}

/** Serialises publishers across processes for the rest of the transaction. */
export async function lockPublishing(tx: TransactionSql): Promise<void> {
  await tx`select pg_advisory_xact_lock(${PUBLISH_LOCK_KEY.toString()}::bigint)`;
}

/** The rules digest recorded when `versionNumber` was published (null for versions without one). */
export async function getRulesDigest(sql: Queryable, versionNumber: number): Promise<string | null> {
  const [row] = await sql<{ digest: string | null }[]>`
    select delta_metadata->>'rules_sha256' as digest from blocklist_versions where version_number = ${versionNumber}`;
  return row?.digest ?? null;
}
