/**
 * events.partitions (daily): events partitions for this month through maintenance.events_months_ahead;
 * partitions older than maintenance.events_retention_months detached (CONCURRENTLY) and dropped.
 */
import { defineJob, SYSTEM_ACTOR } from "@betblocker/core/jobs/job";
import { maintainEventsPartitions } from "@betblocker/core/maintenance/events-partitions.service";
import { z } from "zod";

export const eventsPartitionsJob = defineJob({
  id: "events.partitions",
  schedule: "events_partitions",
  payloadSchema: z.object({}),
  async handler(_payload, ctx) {
    const report = await maintainEventsPartitions({
      app: ctx.app,
      owner: ctx.owner,
      actor: SYSTEM_ACTOR,
      config: ctx.config.maintenance,
      now: ctx.now,
      signal: ctx.signal,
      log: ctx.log,
    });
    if (report.remaining > 0 && !ctx.signal.aborted)
      await ctx.addJob("events.partitions", {}, { jobKey: "more:events.partitions" });
    return { ensured: report.ensured.length, dropped: report.dropped, skipped: report.skipped };
  },
});
