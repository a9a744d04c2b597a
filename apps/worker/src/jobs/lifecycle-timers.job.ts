/**
 * lifecycle.timers (every minute): completes due self-tier unenrollments and config changes, expires
 * partner and organization invitations, and turns the notifications outbox into alert e-mails.
 */
import { defineJob } from "@betblocker/core/jobs/job";
import { runLifecycleTimers } from "@betblocker/core/monitoring/lifecycle-timers.service";
import { z } from "zod";

export const lifecycleTimersJob = defineJob({
  id: "lifecycle.timers",
  schedule: "lifecycle_timers",
  payloadSchema: z.object({}),
  async handler(_payload, ctx) {
    const report = await runLifecycleTimers(ctx.app, {
      now: ctx.now(),
      batchSize: Math.min(ctx.config.worker.batchSize, 500),
      maxBatches: ctx.config.worker.maxBatchesPerRun,
      signal: ctx.signal,
      log: ctx.log,
    });
    if (report.notifications.more && !ctx.signal.aborted)
      await ctx.addJob("lifecycle.timers", {}, { jobKey: "more:lifecycle.timers" });
    return { ...report, notifications: { ...report.notifications } };
  },
});
