/**
 * Delta retention (job blocklist.prune-versions): versions published more than blocklist.delta_retention_days
 * ago lose their delta, their snapshot and their entry mappings; the latest version always keeps everything
 * (it is what agents download). Agents older than the retention window get the latest full snapshot instead
 * of a delta chain. Bounded: at most `batchSize` mapping rows per statement and `maxBatches` statements per
 * run, each its own transaction; an interrupted run is finished by the next one.
 */
import type { Sql } from "@betblocker/db/client";
import { type ActorContext, withActor } from "@betblocker/db/context";
import {
  clearVersionArtifacts,
  deleteVersionEntriesBatch,
  listPrunableVersions,
} from "@betblocker/db/repositories/maintenance.repository";

export interface VersionRetentionDeps {
  sql: Sql;
  actor: ActorContext;
  retentionDays: number;
  batchSize: number;
  maxBatches: number;
  now?: () => Date;
  signal?: AbortSignal;
}

export interface VersionRetentionReport {
  /** Versions whose delta and snapshot were dropped by this run. */
  versionsPruned: number[];
  mappingsDeleted: number;
  batches: number;
  more: boolean;
}

export async function pruneOldVersions(deps: VersionRetentionDeps): Promise<VersionRetentionReport> {
  const now = (deps.now ?? (() => new Date()))();
  const cutoff = new Date(now.getTime() - deps.retentionDays * 86_400_000);
  const report: VersionRetentionReport = { versionsPruned: [], mappingsDeleted: 0, batches: 0, more: false };
  const versions = await withActor(deps.sql, deps.actor, (tx) => listPrunableVersions(tx, cutoff, 100));
  for (const version of versions) {
    if (version.hasArtifacts) {
      await withActor(deps.sql, deps.actor, (tx) => clearVersionArtifacts(tx, version.id));
      report.versionsPruned.push(version.versionNumber);
    }
    for (;;) {
      if (report.batches >= deps.maxBatches || deps.signal?.aborted) {
        report.more = true;
        return report;
      }
      const deleted = await withActor(deps.sql, deps.actor, (tx) =>
        deleteVersionEntriesBatch(tx, version.id, deps.batchSize),
      );
      report.batches++;
      report.mappingsDeleted += deleted;
      if (deleted < deps.batchSize) break;
    }
  }
  report.more ||= versions.length === 100;
  return report;
}
