/**
 * monitoring.heartbeat (every minute): devices whose last heartbeat is older than 3 x their enrollment's
 * heartbeat interval become 'stale' and their enrollment's people get one missed-heartbeat alert per
 * incident; devices that report again get one "recovered" notice and the incident closes.
 */
import { defineJob } from "@betblocker/core/jobs/job";
import { runHeartbeatMonitor } from "@betblocker/core/monitoring/heartbeat-monitor.service";
import { z } from "zod";

export const heartbeatMonitorJob = defineJob({
  id: "monitoring.heartbeat",
  schedule: "monitoring_heartbeat",
  payloadSchema: z.object({}),
  async handler(_payload, ctx) {
    const report = await runHeartbeatMonitor(ctx.app, {
      now: ctx.now(),
      batchSize: Math.min(ctx.config.worker.batchSize, 500),
      maxBatches: ctx.config.worker.maxBatchesPerRun,
      signal: ctx.signal,
      log: ctx.log,
    });
    if (report.more && !ctx.signal.aborted)
      await ctx.addJob("monitoring.heartbeat", {}, { jobKey: "more:monitoring.heartbeat" });
    return { ...report };
  },
});
