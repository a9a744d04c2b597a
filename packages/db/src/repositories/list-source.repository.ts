/**
 * list_sources and list_source_entries (migration 0026): scheduled list sources and their provenance mapping.
 * All SQL for them lives here. Functions that lock rows or must be atomic with others take a TransactionSql.
 */
import type { Queryable, TransactionSql } from "../client";

export type ListSourceFormat = "csv" | "domains" | "hosts" | "adblock";
export type ListSourceStatus = "ok" | "not_modified" | "error";

export interface ListSourceRow {
  id: number;
  name: string;
  location: string;
  format: ListSourceFormat;
  license: string | null;
  category: string | null;
  enabled: boolean;
  lastFetchAt: Date | null;
  lastStatus: ListSourceStatus | null;
  lastError: string | null;
  etag: string | null;
  lastModified: string | null;
  contentSha256: Buffer | null;
  entriesCount: number;
  consecutiveFailures: number;
  failingSince: Date | null;
  leaseOwner: string | null;
  leaseUntil: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

interface RawRow {
  id: number;
  name: string;
  location: string;
  format: ListSourceFormat;
  license: string | null;
  category: string | null;
  enabled: boolean;
  last_fetch_at: Date | null;
  last_status: ListSourceStatus | null;
  last_error: string | null;
  etag: string | null;
  last_modified: string | null;
  content_sha256: Buffer | null;
  entries_count: number;
  consecutive_failures: number;
  failing_since: Date | null;
  lease_owner: string | null;
  lease_until: Date | null;
  created_at: Date;
  updated_at: Date;
}

function toRow(r: RawRow): ListSourceRow {
  return {
    id: r.id,
    name: r.name,
    location: r.location,
    format: r.format,
    license: r.license,
    category: r.category,
    enabled: r.enabled,
    lastFetchAt: r.last_fetch_at,
    lastStatus: r.last_status,
    lastError: r.last_error,
    etag: r.etag,
    lastModified: r.last_modified,
    contentSha256: r.content_sha256,
    entriesCount: r.entries_count,
    consecutiveFailures: r.consecutive_failures,
    failingSince: r.failing_since,
    leaseOwner: r.lease_owner,
    leaseUntil: r.lease_until,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

export interface NewListSource {
  name: string;
  location: string;
  format: ListSourceFormat;
  license: string | null;
  category: string | null;
  enabled: boolean;
}

/** Inserts the source; returns null when the name is taken (the caller decides whether that is an error). */
export async function insertListSource(sql: Queryable, source: NewListSource): Promise<ListSourceRow | null> {
  const [row] = await sql<RawRow[]>`
    insert into list_sources (name, location, format, license, category, enabled)
    values (${source.name}, ${source.location}, ${source.format}, ${source.license}, ${source.category}, ${source.enabled})
    on conflict (name) do nothing
    returning *`;
  return row ? toRow(row) : null;
}

export async function listListSources(sql: Queryable): Promise<ListSourceRow[]> {
  return (await sql<RawRow[]>`select * from list_sources order by name`).map(toRow);
}

export async function getListSourceByName(sql: Queryable, name: string): Promise<ListSourceRow | null> {
  const [row] = await sql<RawRow[]>`select * from list_sources where name = ${name}`;
  return row ? toRow(row) : null;
}

export async function setListSourceEnabled(sql: Queryable, name: string, enabled: boolean): Promise<boolean> {
  const rows = await sql`update list_sources set enabled = ${enabled} where name = ${name} returning id`;
  return rows.length > 0;
}

export interface ListSourceChanges {
  enabled?: boolean;
  /** null clears it. */
  license?: string | null;
  /** null clears it. */
  category?: string | null;
  format?: ListSourceFormat;
}

/**
 * Applies the given changes (absent fields stay). A change of format or category also forgets the
 * validators and content hash of the last accepted list: the next fetch downloads and re-applies the whole
 * list (otherwise an unchanged body would be "not modified" and never parsed with the new format, nor get the
 * new default category). Returns the updated row, or null when there is no such source.
 */
export async function updateListSource(
  sql: Queryable,
  name: string,
  changes: ListSourceChanges,
): Promise<ListSourceRow | null> {
  const setLicense = changes.license !== undefined;
  const setCategory = changes.category !== undefined;
  const format = changes.format ?? null;
  const category = changes.category ?? null;
  const [row] = await sql<RawRow[]>`
    update list_sources set
      enabled  = coalesce(${changes.enabled ?? null}::boolean, enabled),
      license  = case when ${setLicense}::boolean then ${changes.license ?? null}::text else license end,
      category = case when ${setCategory}::boolean then ${category}::text else category end,
      format   = coalesce(${format}::text, format),
      etag = case when reread then null else etag end,
      last_modified = case when reread then null else last_modified end,
      content_sha256 = case when reread then null else content_sha256 end
    from (select (${format}::text is not null and ${format}::text <> s.format)
                 or (${setCategory}::boolean and ${category}::text is distinct from s.category) as reread
          from list_sources s where s.name = ${name}) as decision
    where list_sources.name = ${name}
    returning list_sources.*`;
  return row ? toRow(row) : null;
}

export interface ClaimOptions {
  /** Identifies the claiming worker (lease_owner). */
  owner: string;
  leaseSeconds: number;
  limit: number;
  /** Only sources not attempted within this many seconds (ignored when `names` is given). */
  minIntervalSeconds: number;
  /** Claim these sources (enabled or not) regardless of their last attempt. */
  names?: readonly string[];
}

/**
 * Claims up to `limit` due sources for this worker with a lease: rows locked by another claimer are skipped
 * (FOR UPDATE SKIP LOCKED) and rows whose lease has not expired are not due, so two replicas never fetch the
 * same source at once; a worker that dies mid-import leaves a lease that simply expires.
 */
export async function claimListSources(tx: TransactionSql, options: ClaimOptions): Promise<ListSourceRow[]> {
  const byName = options.names !== undefined;
  const names = [...(options.names ?? [])];
  const rows = await tx<RawRow[]>`
    with due as (
      select id from list_sources
      where (lease_until is null or lease_until < now())
        and (${byName}::boolean and name = any(${names}::text[])
             or not ${byName}::boolean and enabled
                and (last_fetch_at is null or last_fetch_at < now() - make_interval(secs => ${options.minIntervalSeconds})))
      order by last_fetch_at nulls first, id
      limit ${options.limit}
      for update skip locked
    )
    update list_sources s
       set lease_owner = ${options.owner}, lease_until = now() + make_interval(secs => ${options.leaseSeconds})
      from due where s.id = due.id
    returning s.*`;
  return rows.map(toRow);
}

/** Locks the source row for the rest of the transaction if `owner` still holds its lease; else null. */
export async function lockLeasedListSource(
  tx: TransactionSql,
  id: number,
  owner: string,
): Promise<ListSourceRow | null> {
  const [row] = await tx<RawRow[]>`
    select * from list_sources where id = ${id} and lease_owner = ${owner} for update`;
  return row ? toRow(row) : null;
}

/** Serialises diff application across sources (and replicas): "does another source list it?" must see a stable mapping. */
export async function lockListSourceDiffs(tx: TransactionSql): Promise<void> {
  await tx`select pg_advisory_xact_lock(${0x4242534f55524345n.toString()}::bigint)`;
}

export interface SourceSuccess {
  status: "ok" | "not_modified";
  etag: string | null;
  lastModified: string | null;
  contentSha256: Buffer | null;
  entriesCount: number;
}

export async function recordListSourceSuccess(
  tx: TransactionSql,
  id: number,
  result: SourceSuccess,
): Promise<void> {
  await tx`
    update list_sources
       set last_fetch_at = now(), last_status = ${result.status}, last_error = null,
           etag = ${result.etag}, last_modified = ${result.lastModified}, content_sha256 = ${result.contentSha256},
           entries_count = ${result.entriesCount}, consecutive_failures = 0, failing_since = null,
           lease_owner = null, lease_until = null
     where id = ${id}`;
}

/**
 * Records a failed attempt (fetch error, HTTP error, refused list): validators, content hash and entries_count
 * keep describing the last ACCEPTED list. Returns the row as updated (for the failure-streak alert).
 */
export async function recordListSourceFailure(
  tx: TransactionSql,
  id: number,
  error: string,
): Promise<ListSourceRow | null> {
  const [row] = await tx<RawRow[]>`
    update list_sources
       set last_fetch_at = now(), last_status = 'error', last_error = ${error.slice(0, 2000)},
           consecutive_failures = consecutive_failures + 1, failing_since = coalesce(failing_since, now()),
           lease_owner = null, lease_until = null
     where id = ${id}
    returning *`;
  return row ? toRow(row) : null;
}

export async function releaseListSourceLease(sql: Queryable, id: number, owner: string): Promise<void> {
  await sql`update list_sources set lease_owner = null, lease_until = null where id = ${id} and lease_owner = ${owner}`;
}

export interface IncomingEntry {
  domain: string;
  category: string | null;
}

export interface DiffCounts {
  /** New blocklist_entries rows. */
  inserted: number;
  /** Entries set active again because a source lists them again (status 'inactive' -> 'active'). */
  reactivated: number;
  /** Mapping rows added for this source (new to this source). */
  added: number;
  /** Mapping rows removed (the source no longer lists the entry). */
  removed: number;
  /** Entries set 'inactive' because no source lists them any more. */
  deactivated: number;
}

const STAGING_CHUNK = 10_000;

/**
 * Applies the complete current content of a source: stages it in a temporary table, inserts unknown domains
 * as active 'automated' entries, maps every listed entry to the source, removes the mappings of entries the
 * source no longer lists, and deactivates the removed entries that were added by sources ('automated') and
 * that no other source lists any more. Curated, federated, rejected and review entries are never changed by
 * a removal; a rejected entry is never reactivated. Call with lockListSourceDiffs held.
 */
export async function applyListSourceDiff(
  tx: TransactionSql,
  sourceId: number,
  entries: readonly IncomingEntry[],
  defaultCategory: string | null,
): Promise<DiffCounts> {
  await tx`create temporary table if not exists list_source_incoming (domain text primary key, category text) on commit drop`;
  await tx`truncate list_source_incoming`;
  for (let i = 0; i < entries.length; i += STAGING_CHUNK) {
    const chunk = entries.slice(i, i + STAGING_CHUNK);
    await tx`
      insert into list_source_incoming (domain, category)
      select d, c from unnest(${chunk.map((e) => e.domain)}::text[], ${chunk.map((e) => e.category)}::text[]) as t(d, c)
      on conflict (domain) do nothing`;
  }
  await tx`analyze list_source_incoming`;
  const inserted = await tx`
    insert into blocklist_entries (domain, category, source, status, confidence_score)
    select i.domain, coalesce(i.category, ${defaultCategory}), 'automated', 'active', 100
    from list_source_incoming i
    on conflict (domain) do update
      set category = excluded.category
      where blocklist_entries.category is null and excluded.category is not null
    returning (xmax = 0) as inserted`;
  const reactivated = await tx`
    update blocklist_entries e set status = 'active'
    from list_source_incoming i
    where e.domain = i.domain and e.status = 'inactive'`;
  const added = await tx`
    insert into list_source_entries (list_source_id, blocklist_entry_id)
    select ${sourceId}, e.id from list_source_incoming i join blocklist_entries e on e.domain = i.domain
    on conflict do nothing`;
  // The CTE's delete is invisible to the outer statement's snapshot, hence "another source" in NOT EXISTS.
  const [removal] = await tx<{ removed: number; deactivated: number }[]>`
    with removed as (
      delete from list_source_entries m
      using blocklist_entries e
      where m.list_source_id = ${sourceId} and e.id = m.blocklist_entry_id
        and not exists (select 1 from list_source_incoming i where i.domain = e.domain)
      returning m.blocklist_entry_id as id
    ), deactivated as (
      update blocklist_entries e set status = 'inactive'
      from removed r
      where e.id = r.id and e.source = 'automated' and e.status = 'active'
        and not exists (select 1 from list_source_entries o
                        where o.blocklist_entry_id = e.id and o.list_source_id <> ${sourceId})
      returning e.id
    )
    select (select count(*) from removed)::int as removed, (select count(*) from deactivated)::int as deactivated`;
  return {
    inserted: inserted.filter((r) => r.inserted).length,
    reactivated: reactivated.count,
    added: added.count,
    removed: removal?.removed ?? 0,
    deactivated: removal?.deactivated ?? 0,
  };
}

/**
 * Deletes a source (its mappings cascade) and deactivates the 'automated' entries that no other source lists.
 * Returns the number of deactivated entries, or null when there is no such source.
 */
export async function deleteListSource(tx: TransactionSql, name: string): Promise<number | null> {
  const [source] = await tx<{ id: number }[]>`select id from list_sources where name = ${name} for update`;
  if (!source) return null;
  const [row] = await tx<{ deactivated: number }[]>`
    with deactivated as (
      update blocklist_entries e set status = 'inactive'
      from list_source_entries m
      where m.list_source_id = ${source.id} and e.id = m.blocklist_entry_id
        and e.source = 'automated' and e.status = 'active'
        and not exists (select 1 from list_source_entries o
                        where o.blocklist_entry_id = e.id and o.list_source_id <> ${source.id})
      returning e.id
    )
    select count(*)::int as deactivated from deactivated`;
  await tx`delete from list_sources where id = ${source.id}`;
  return row?.deactivated ?? 0;
}

/** Number of entries currently mapped to the source. */
export async function countListSourceEntries(sql: Queryable, sourceId: number): Promise<number> {
  const [row] = await sql<{ n: number }[]>`
    select count(*)::int as n from list_source_entries where list_source_id = ${sourceId}`;
  return row?.n ?? 0;
}
