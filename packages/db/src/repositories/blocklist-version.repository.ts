/**
 * Read-side queries of blocklist_versions for agents' sync and the public version list (the writes live in
 * blocklist.repository.ts). blocklist_versions is global (no row-level security).
 */
import type { Queryable } from "../client";

export interface VersionSummary {
  versionNumber: number;
  publishedAt: Date;
  entryCount: number;
  snapshotSha256: Buffer | null;
  formatVersion: number | null;
  signingKeyId: Buffer | null;
  snapshotBytes: number | null;
  /** Size of the delta from the previous version; null when there is none. */
  deltaBytes: number | null;
}

interface SummaryRow {
  version_number: number;
  published_at: Date;
  entry_count: number;
  snapshot_sha256: Buffer | null;
  format_version: number | null;
  signing_key_id: Buffer | null;
  snapshot_bytes: number | null;
  delta_bytes: number | null;
}

function toSummary(row: SummaryRow): VersionSummary {
  return {
    versionNumber: row.version_number,
    publishedAt: row.published_at,
    entryCount: row.entry_count,
    snapshotSha256: row.snapshot_sha256,
    formatVersion: row.format_version,
    signingKeyId: row.signing_key_id,
    snapshotBytes: row.snapshot_bytes,
    deltaBytes: row.delta_bytes,
  };
}

/** Versions newest first, `limit` of them below `beforeVersion` (null: from the newest). */
export async function listVersionsPage(
  sql: Queryable,
  options: { limit: number; beforeVersion: number | null },
): Promise<VersionSummary[]> {
  const rows = await sql<SummaryRow[]>`
    select version_number, published_at, entry_count, snapshot_sha256, format_version, signing_key_id,
           octet_length(snapshot_binary) as snapshot_bytes, octet_length(delta_binary) as delta_bytes
    from blocklist_versions
    where ${options.beforeVersion}::int is null or version_number < ${options.beforeVersion}::int
    order by version_number desc
    limit ${options.limit}`;
  return rows.map(toSummary);
}

/** The newest version's summary, or null before the first publication. */
export async function latestVersionSummary(sql: Queryable): Promise<VersionSummary | null> {
  const [row] = await listVersionsPage(sql, { limit: 1, beforeVersion: null });
  return row ?? null;
}

/** The signed file of a version (null when unknown or not built). */
export async function getVersionSnapshot(sql: Queryable, versionNumber: number): Promise<Uint8Array | null> {
  const [row] = await sql<{ snapshot_binary: Buffer | null }[]>`
    select snapshot_binary from blocklist_versions where version_number = ${versionNumber}`;
  return row?.snapshot_binary ? new Uint8Array(row.snapshot_binary) : null;
}

/** SHA-256 of a version's signed file (null when unknown). */
export async function getVersionSha256(sql: Queryable, versionNumber: number): Promise<Buffer | null> {
  const [row] = await sql<{ snapshot_sha256: Buffer | null }[]>`
    select snapshot_sha256 from blocklist_versions where version_number = ${versionNumber}`;
  return row?.snapshot_sha256 ?? null;
}

/**
 * The deltas of versions fromVersion+1 .. toVersion in order (the delta stored on version N goes N-1 -> N).
 * An entry is null where a version has no delta; a version missing altogether shortens the array.
 */
export async function getDeltaRange(
  sql: Queryable,
  fromVersion: number,
  toVersion: number,
): Promise<Array<{ versionNumber: number; delta: Uint8Array | null }>> {
  const rows = await sql<{ version_number: number; delta_binary: Buffer | null }[]>`
    select version_number, delta_binary from blocklist_versions
    where version_number > ${fromVersion} and version_number <= ${toVersion}
    order by version_number`;
  return rows.map((row) => ({
    versionNumber: row.version_number,
    delta: row.delta_binary ? new Uint8Array(row.delta_binary) : null,
  }));
}
