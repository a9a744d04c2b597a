/**
 * list-sources.import (hourly): fetch due list sources with conditional GET and diff them into the blocklist.
 * A run claims at most list_sources.batch_size sources; when it was full it queues itself again.
 */
import { defineJob, SYSTEM_ACTOR } from "@betblocker/core/jobs/job";
import { importListSources } from "@betblocker/core/list-sources/import-sources.service";
import { z } from "zod";

export const listSourcesImportJob = defineJob({
  id: "list-sources.import",
  schedule: "list_sources_import",
  payloadSchema: z.object({
    /** Only these sources (due or not). */
    names: z.array(z.string().min(1).max(100)).max(1000).optional(),
    /** Ignore list_sources.min_interval_minutes. */
    force: z.boolean().optional(),
  }),
  async handler(payload, ctx) {
    const report = await importListSources(
      {
        sql: ctx.app,
        actor: SYSTEM_ACTOR,
        config: ctx.config,
        owner: ctx.workerId,
        signal: ctx.signal,
        log: ctx.log,
      },
      { ...(payload.names ? { names: payload.names } : {}), ...(payload.force ? { force: true } : {}) },
    );
    if (report.more && !ctx.signal.aborted)
      await ctx.addJob("list-sources.import", {}, { jobKey: "more:list-sources.import" });
    return {
      sources: report.results.length,
      ok: report.results.filter((r) => r.status === "ok").length,
      not_modified: report.results.filter((r) => r.status === "not_modified").length,
      failed: report.results.filter((r) => r.status === "error").map((r) => `${r.name}: ${r.error}`),
      more: report.more,
    };
  },
});
