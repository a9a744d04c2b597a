/**
 * Read-side queries of blocklist_versions for agents' sync and the public version list (the writes live in
 * blocklist.repository.ts). blocklist_versions is global (no row-level security).
 */
import type { Queryable } from "../client";
import {
  type BlocklistVersionRow,
  latestVersion,
  type RawVersionRow,
  toVersion,
  VERSION_COLUMNS,
} from "./blocklist.repository";

/** One version's metadata (the same row shape the publishing side reads). */
export type VersionSummary = BlocklistVersionRow;

/** Versions newest first, `limit` of them below `beforeVersion` (null: from the newest). */
export async function listVersionsPage(
  sql: Queryable,
  options: { limit: number; beforeVersion: number | null },
): Promise<VersionSummary[]> {
  const rows = await sql.unsafe<RawVersionRow[]>(
    `select ${VERSION_COLUMNS} from blocklist_versions
      where $1::int is null or version_number < $1::int
      order by version_number desc
      limit $2`,
    [options.beforeVersion, options.limit],
  );
  return rows.map(toVersion);
}

/** The newest version's summary, or null before the first publication. */
export const latestVersionSummary = latestVersion;

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
