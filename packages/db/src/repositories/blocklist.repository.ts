/**
 * Blocklist tables: blocklist_entries, allowlist_entries, blocklist_versions, blocklist_version_entries.
 * All SQL for them lives here. Functions that must be atomic with others take a TransactionSql.
 */
import type { Readable } from "node:stream";
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

/**
 * What compiling needs of every active entry, in domain order (no id: 1M int8 parses cost 0.3 s). The
 * publisher streams copyActiveRuleRows() instead (no object per row); this is for callers that want objects.
 */
export async function listActiveRules(
  sql: Queryable,
): Promise<{ domain: string; category: string | null }[]> {
  return await sql<{ domain: string; category: string | null }[]>`
    select domain, category from blocklist_entries where status = 'active' order by domain`;
}

/** A running COPY ... TO STDOUT whose bytes are always drained, so its connection can never stall. */
export interface CopyRows {
  /**
   * Hands every chunk to `onRows` in order (those received before the call first) and resolves when the COPY
   * has ended. If `onRows` throws, the remaining rows are still drained (a COPY cannot be abandoned
   * mid-stream on a connection that must run further statements), then the promise rejects with that error.
   * Call at most once.
   */
  pipe(onRows: (chunk: Uint8Array) => void): Promise<void>;
}

/**
 * Every active entry as PostgreSQL COPY text rows `b<TAB>domain<TAB>category<LF>` in domain order, a NULL
 * category written as `defaultCategory`. For a valid rule (no backslash, TAB or line break, which COPY would
 * escape) each row is byte for byte the line rulesDigest() (publish.service.ts) and rulesDigestInDatabase()
 * hash for that entry, so a reader can hash the stream as it arrives. No JS object per row: at a million
 * rows, rows as objects cost the publisher about a second, which COPY's raw bytes do not.
 *
 * The COPY is sent at once, and its rows are drained from the start, held in memory until `pipe` is called;
 * so `sql` can always run its next statement (COMMIT or ROLLBACK) even if the caller fails before piping.
 * Contract: no other statement of `sql` may be in flight when this is called, nor be sent before the COPY
 * has ended (postgres.js can mix up the replies of statements pipelined with a COPY: seen as a hang).
 */
export function copyActiveRuleRows(sql: Queryable, defaultCategory: string): CopyRows {
  // COPY takes no bind parameters: the category is inlined, so it must be a plain name.
  if (!/^[a-z0-9_]{1,32}$/.test(defaultCategory))
    throw new Error(`invalid default category ${defaultCategory}`);
  const opened = sql
    .unsafe(
      `copy (select 'b', domain, coalesce(category, '${defaultCategory}') from blocklist_entries
             where status = 'active' order by domain) to stdout`,
    )
    .readable();
  const held: Uint8Array[] = [];
  let sink: ((chunk: Uint8Array) => void) | null = null;
  let failure: unknown = null;
  const deliver = (chunk: Uint8Array) => {
    if (failure !== null) return;
    try {
      sink!(chunk);
    } catch (error) {
      failure = error;
    }
  };
  const ended = opened.then(
    (stream: Readable) =>
      new Promise<void>((resolve, reject) => {
        stream.on("data", (chunk: Buffer) => (sink === null ? held.push(chunk) : deliver(chunk)));
        stream.once("end", () => {
          // postgres.js pauses its socket when this stream's buffer fills (rows that arrive before the 'data'
          // handler is attached) and resumes it only from the stream's read(), which Node no longer calls
          // once the stream has ended: if the last rows came in while paused, the replies after the COPY
          // (and those of the next statement, e.g. COMMIT) would never be read, a hang. read() resumes the
          // socket; when it is not paused this does nothing.
          (stream as unknown as { _read(size: number): void })._read(0);
          resolve();
        });
        stream.once("error", reject);
      }),
  );
  ended.catch(() => {}); // surfaces through pipe()
  return {
    async pipe(onRows) {
      if (sink !== null) throw new Error("copyActiveRuleRows: pipe() called twice");
      sink = onRows;
      for (const chunk of held.splice(0)) deliver(chunk);
      await ended;
      if (failure !== null) throw failure;
    },
  };
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

/** A version row's snapshot columns: what insertVersionSnapshot writes. */
export type NewVersionSnapshot = Omit<NewVersion, "delta" | "deltaMetadata">;

/**
 * Inserts version `versionNumber`'s row with its signed snapshot (delta NULL, metadata '{}', published_at
 * now()) in the caller's transaction; setVersionDelta completes it. Written with a binary COPY: a bytea
 * parameter travels as hex text twice its size that both sides convert (~100 ms for a 6 MB snapshot),
 * binary COPY sends the raw bytes (~30 ms). Constraints apply as for INSERT (a duplicate version_number
 * fails). Contract: no other statement of `tx` may be in flight when this is called, nor be sent before it
 * resolves (as for copyActiveRuleRows).
 */
export async function insertVersionSnapshot(tx: TransactionSql, version: NewVersionSnapshot): Promise<void> {
  const int32 = (value: number) => {
    const bytes = Buffer.alloc(4);
    bytes.writeInt32BE(value);
    return bytes;
  };
  const int16 = Buffer.alloc(2);
  int16.writeInt16BE(version.formatVersion);
  // Binary COPY: signature, flags, header extension length, one tuple (field count, then length + bytes per
  // field, in the column list's order), trailer -1.
  const fields: Uint8Array[] = [
    int32(version.versionNumber),
    int32(version.entryCount),
    version.snapshot,
    version.snapshotSha256,
    int16,
    version.signingKeyId,
  ];
  const head: Buffer[] = [
    Buffer.from("PGCOPY\n\xff\r\n\0", "latin1"),
    Buffer.alloc(8),
    Buffer.from([0, fields.length]),
  ];
  const stream = await tx`
    copy blocklist_versions
      (version_number, entry_count, snapshot_binary, snapshot_sha256, format_version, signing_key_id)
    from stdin (format binary)`.writable();
  await new Promise<void>((resolve, reject) => {
    stream.once("finish", resolve); // after the server's CommandComplete
    stream.once("error", reject);
    stream.write(Buffer.concat(head));
    for (const field of fields) {
      stream.write(int32(field.length));
      stream.write(field);
    }
    stream.end(Buffer.from([0xff, 0xff]));
  });
}

/**
 * Sets the delta and the metadata of version `versionNumber`, inserted in the same transaction by
 * insertVersionSnapshot. Lets a publisher store the 6 MB snapshot while it still computes the delta; the
 * unchanged snapshot value is not rewritten by this update (PostgreSQL keeps an unchanged out-of-line value).
 */
export async function setVersionDelta(
  tx: TransactionSql,
  versionNumber: number,
  delta: Uint8Array | null,
  deltaMetadata: Record<string, unknown>,
): Promise<void> {
  const rows = await tx`
    update blocklist_versions
    set delta_binary = ${delta ? Buffer.from(delta) : null},
        delta_metadata = ${tx.json(deltaMetadata as Parameters<typeof tx.json>[0])}
    where version_number = ${versionNumber}
    returning id`;
  if (rows.length !== 1) throw new Error(`blocklist version ${versionNumber} not found`);
}

/**
 * Records that version `versionNumber` contains exactly the active entries: closes the open interval of
 * every entry that is no longer active, opens one for every active entry without one. O(churn) writes.
 * Must run in the REPEATABLE READ transaction that read the entries compiled into the snapshot (every part
 * of the statement sees the same snapshot). The statements are sent at once and the returned promise is
 * not awaited here, so the caller can compile while the database works; it resolves after the last of them
 * (the caller must not start a COPY on `tx` before that).
 *
 * Performance (1M entries, 1% churn): the changes are found by ONE full join of the active entries with
 * the open intervals (rows present on one side only), merged from two index scans that are already in id
 * order (primary key; the partial unique index of open intervals): ~0.9 s of database CPU, against ~1.8 s
 * for two anti-joins that each build a million-entry hash table. Hash joins are disabled for this statement
 * only (a planner cost penalty: a hash plan is still used if no other is possible); the previous setting is
 * restored right after it.
 */
export function recordMembership(
  tx: TransactionSql,
  versionNumber: number,
): Promise<{ added: number; removed: number }> {
  // Pipelined on the transaction's connection, in order: read the setting, disable, the statement; the
  // restore is queued once the old value is known (still behind the statement, so it applies to it only).
  const previous = tx<{ value: string }[]>`select current_setting('enable_hashjoin') as value`;
  const disable = tx`select set_config('enable_hashjoin', 'off', true)`;
  const changes = tx<{ added: number; removed: number }[]>`
    with diff as materialized (
      select e.id as add_id, m.blocklist_entry_id as remove_id
      from (select id from blocklist_entries where status = 'active') e
      full join (select blocklist_entry_id from blocklist_membership where to_version is null) m
        on m.blocklist_entry_id = e.id
      where e.id is null or m.blocklist_entry_id is null
    ), removed as (
      update blocklist_membership m set to_version = ${versionNumber}
      from diff
      where m.blocklist_entry_id = diff.remove_id and m.to_version is null
      returning 1
    ), added as (
      insert into blocklist_membership (blocklist_entry_id, from_version)
      select add_id, ${versionNumber} from diff where add_id is not null
      returning 1
    )
    select (select count(*) from added)::int as added, (select count(*) from removed)::int as removed`;
  // Each is awaited below; these handlers only keep an early failure from being reported as unhandled.
  for (const query of [previous, disable, changes]) query.catch(() => {});
  return (async () => {
    const [setting] = await previous;
    await disable;
    const restore = tx`select set_config('enable_hashjoin', ${setting?.value ?? "on"}, true)`;
    restore.catch(() => {});
    const [row] = await changes;
    await restore;
    if (!row) throw new Error("membership statement returned no row");
    return row;
  })();
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
