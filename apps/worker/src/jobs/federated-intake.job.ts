/**
 * discovery.federated-intake (every 10 minutes): domains of pending federated reports that k distinct
 * devices reported (discovery.min_distinct_devices, default 3) become review candidates and are classified
 * by name: high scores become active automated blocklist entries (never allowlisted domains), middle scores
 * 'review' entries. Below k nothing happens.
 */
import { runFederatedIntake } from "@betblocker/core/discovery-intake/federated-intake.service";
import { defineJob } from "@betblocker/core/jobs/job";
import { z } from "zod";

export const federatedIntakeJob = defineJob({
  id: "discovery.federated-intake",
  schedule: "federated_intake",
  payloadSchema: z.object({}),
  async handler(_payload, ctx) {
    const report = await runFederatedIntake(ctx.app, {
      now: ctx.now(),
      minDistinctDevices: ctx.config.discovery.minDistinctDevices,
      batchSize: ctx.config.discovery.batchSize,
      maxBatches: ctx.config.worker.maxBatchesPerRun,
      signal: ctx.signal,
    });
    if (report.more && !ctx.signal.aborted)
      await ctx.addJob("discovery.federated-intake", {}, { jobKey: "more:discovery.federated-intake" });
    return { ...report };
  },
});
