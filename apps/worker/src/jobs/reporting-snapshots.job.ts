/**
 * reporting.snapshots (daily at 00:30 UTC): upserts reporting_snapshots of yesterday for every enrollment
 * active that day. Queued with { from, to } (YYYY-MM-DD, inclusive, at most 366 days) it recomputes a range;
 * a run that reaches its batch limit queues the rest with a cursor.
 */
import { defineJob } from "@betblocker/core/jobs/job";
import { runReportingSnapshots, yesterdayUtc } from "@betblocker/core/snapshots/reporting-snapshots.service";
import { z } from "zod";

const day = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, "must be a date (YYYY-MM-DD)");

export const reportingSnapshotsJob = defineJob({
  id: "reporting.snapshots",
  schedule: "reporting_snapshots",
  payloadSchema: z
    .object({
      from: day.optional(),
      to: day.optional(),
      cursor: z.object({ date: day, afterId: z.number().int().min(0) }).optional(),
    })
    .refine((p) => (p.from === undefined) === (p.to === undefined), {
      error: "give both from and to, or neither",
    }),
  async handler(payload, ctx) {
    const now = ctx.now();
    const from = payload.from ?? yesterdayUtc(now);
    const to = payload.to ?? from;
    const report = await runReportingSnapshots(ctx.app, {
      from,
      to,
      cursor: payload.cursor ?? null,
      now,
      batchSize: Math.min(ctx.config.worker.batchSize, 200),
      maxBatches: ctx.config.worker.maxBatchesPerRun,
      signal: ctx.signal,
    });
    // Also on shutdown: the scheduled run of the next day would not come back to this range.
    if (report.next)
      await ctx.addJob(
        "reporting.snapshots",
        { from, to, cursor: report.next },
        { jobKey: `more:reporting.snapshots:${from}:${to}` },
      );
    return { from, to, snapshots: report.snapshots, next: report.next };
  },
});
