/**
 * Housekeeping SQL for the worker's maintenance jobs: events partitions (migration 0007), expired auth tokens
 * (0002, 0012) and the artifacts of old blocklist versions (0005).
 *
 * Partition DDL (DETACH, DROP) needs the tables' owner: those functions take the owner's pool and say so.
 * Everything else runs as the application role in a transaction with the system actor (role 'admin', which
 * the refresh_tokens and email_verification_tokens policies admit).
 */
import type { Queryable, Sql, TransactionSql } from "../client";

/** events_yYYYYmMM, as created by ensure_events_partition(). */
export const EVENTS_PARTITION_PATTERN = /^events_y(\d{4})m(\d{2})$/;

export interface EventsPartition {
  name: string;
  /** First day (UTC) of the partition's month. */
  month: Date;
  /** attached: a partition of events; detach_pending: an interrupted DETACH ... CONCURRENTLY; detached: a plain table. */
  state: "attached" | "detach_pending" | "detached";
}

export function partitionMonth(name: string): Date | null {
  const match = EVENTS_PARTITION_PATTERN.exec(name);
  if (!match) return null;
  return new Date(Date.UTC(Number(match[1]), Number(match[2]) - 1, 1));
}

/** Every events_yYYYYmMM table: attached partitions and tables left detached by an earlier run. */
export async function listEventsPartitions(sql: Queryable): Promise<EventsPartition[]> {
  const rows = await sql<{ name: string; parent: boolean; pending: boolean | null }[]>`
    select c.relname as name, i.inhrelid is not null as parent, i.inhdetachpending as pending
    from pg_class c
    left join pg_inherits i on i.inhrelid = c.oid and i.inhparent = 'public.events'::regclass
    where c.relnamespace = 'public'::regnamespace and c.relkind = 'r' and c.relname ~ '^events_y[0-9]{4}m[0-9]{2}$'
    order by c.relname`;
  const partitions: EventsPartition[] = [];
  for (const row of rows) {
    const month = partitionMonth(row.name);
    if (!month) continue;
    partitions.push({
      name: row.name,
      month,
      state: !row.parent ? "detached" : row.pending ? "detach_pending" : "attached",
    });
  }
  return partitions;
}

/** Creates (idempotently) the partitions of every UTC month from `from` through `to`; returns their names. */
export async function ensureEventsPartitions(sql: Queryable, from: Date, to: Date): Promise<string[]> {
  const day = (d: Date) => d.toISOString().slice(0, 10);
  const rows = await sql<{ name: string }[]>`
    select ensure_events_partitions(${day(from)}::date, ${day(to)}::date) as name`;
  return rows.map((r) => r.name);
}

function checkedName(name: string): string {
  if (!EVENTS_PARTITION_PATTERN.test(name)) throw new Error(`not an events partition name: ${name}`);
  return name;
}

/**
 * Detaches a partition. CONCURRENTLY (PostgreSQL 14+) takes only a SHARE UPDATE EXCLUSIVE lock on events, so
 * inserts and dashboards keep running; it cannot run inside a transaction block, hence the pool (owner).
 * A partition left "detach pending" by an interrupted concurrent detach is finished with FINALIZE.
 */
export async function detachEventsPartition(
  owner: Sql,
  name: string,
  mode: "concurrently" | "finalize" | "plain",
): Promise<void> {
  const suffix = mode === "concurrently" ? " concurrently" : mode === "finalize" ? " finalize" : "";
  await owner.unsafe(`alter table public.events detach partition public."${checkedName(name)}"${suffix}`);
}

/** Drops a detached events_yYYYYmMM table (owner). */
export async function dropDetachedEventsPartition(owner: Sql, name: string): Promise<void> {
  await owner.unsafe(`drop table if exists public."${checkedName(name)}"`);
}

/**
 * Deletes up to `limit` refresh tokens that can never be used again: expired before `cutoff`, or revoked
 * before `cutoff` in a family that has no usable token left (a rotated token of a live family is kept, so
 * that its reuse is still detected and revokes the family).
 */
export async function deleteStaleRefreshTokens(
  tx: TransactionSql,
  cutoff: Date,
  limit: number,
): Promise<number> {
  const rows = await tx`
    delete from refresh_tokens t
    where t.id in (
      select s.id from refresh_tokens s
      where s.expires_at < ${cutoff}
         or (s.revoked_at < ${cutoff}
             and not exists (select 1 from refresh_tokens f
                             where f.family_id = s.family_id and f.revoked_at is null and f.expires_at > now()))
      order by s.id
      limit ${limit}
    )
    returning t.id`;
  return rows.length;
}

/** Deletes up to `limit` e-mail verification tokens used or expired before `cutoff`. */
export async function deleteStaleEmailVerificationTokens(
  tx: TransactionSql,
  cutoff: Date,
  limit: number,
): Promise<number> {
  const rows = await tx`
    delete from email_verification_tokens t
    where t.id in (
      select s.id from email_verification_tokens s
      where s.used_at < ${cutoff} or s.expires_at < ${cutoff}
      order by s.id
      limit ${limit}
    )
    returning t.id`;
  return rows.length;
}

export interface PrunableVersion {
  id: number;
  versionNumber: number;
  hasArtifacts: boolean;
}

/**
 * Versions published before `cutoff`, except the latest, that still hold a delta, a snapshot or entry
 * mappings, oldest first.
 */
export async function listPrunableVersions(
  sql: Queryable,
  cutoff: Date,
  limit: number,
): Promise<PrunableVersion[]> {
  return await sql<PrunableVersion[]>`
    select v.id, v.version_number as "versionNumber",
           (v.delta_binary is not null or v.snapshot_binary is not null) as "hasArtifacts"
    from blocklist_versions v
    where v.published_at < ${cutoff}
      and v.version_number < (select max(version_number) from blocklist_versions)
      and (v.delta_binary is not null or v.snapshot_binary is not null
           or exists (select 1 from blocklist_version_entries e where e.blocklist_version_id = v.id))
    order by v.version_number
    limit ${limit}`;
}

export async function clearVersionArtifacts(sql: Queryable, versionId: number): Promise<void> {
  await sql`update blocklist_versions set delta_binary = null, snapshot_binary = null where id = ${versionId}`;
}

/** Deletes up to `limit` entry mappings of one version; returns how many were deleted. */
export async function deleteVersionEntriesBatch(
  sql: Queryable,
  versionId: number,
  limit: number,
): Promise<number> {
  const result = await sql`
    delete from blocklist_version_entries
    where ctid = any(array(select ctid from blocklist_version_entries where blocklist_version_id = ${versionId} limit ${limit}))`;
  return result.count;
}
