/**
 * blocklist.prune-versions (daily): versions older than blocklist.delta_retention_days lose their delta,
 * snapshot and entry mappings (the latest always keeps them), in bounded batches.
 */
import { defineJob, SYSTEM_ACTOR } from "@betblocker/core/jobs/job";
import { pruneOldVersions } from "@betblocker/core/maintenance/version-retention.service";
import { z } from "zod";

export const blocklistPruneVersionsJob = defineJob({
  id: "blocklist.prune-versions",
  schedule: "blocklist_prune_versions",
  payloadSchema: z.object({}),
  async handler(_payload, ctx) {
    const report = await pruneOldVersions({
      sql: ctx.app,
      actor: SYSTEM_ACTOR,
      retentionDays: ctx.config.blocklist.deltaRetentionDays,
      batchSize: ctx.config.worker.batchSize,
      maxBatches: ctx.config.worker.maxBatchesPerRun,
      now: ctx.now,
      signal: ctx.signal,
    });
    if (report.more && !ctx.signal.aborted)
      await ctx.addJob("blocklist.prune-versions", {}, { jobKey: "more:blocklist.prune-versions" });
    return { versions: report.versionsPruned, mappings_deleted: report.mappingsDeleted, more: report.more };
  },
});
