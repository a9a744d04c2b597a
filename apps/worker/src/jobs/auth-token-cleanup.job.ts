/**
 * auth.token-cleanup (daily): delete refresh tokens and e-mail verification tokens that can never be used
 * again, maintenance.token_retention_days after they expired or were used/revoked, in bounded batches.
 */
import { defineJob, SYSTEM_ACTOR } from "@betblocker/core/jobs/job";
import { cleanupAuthTokens } from "@betblocker/core/maintenance/token-cleanup.service";
import { z } from "zod";

export const authTokenCleanupJob = defineJob({
  id: "auth.token-cleanup",
  schedule: "auth_token_cleanup",
  payloadSchema: z.object({}),
  async handler(_payload, ctx) {
    const report = await cleanupAuthTokens({
      sql: ctx.app,
      actor: SYSTEM_ACTOR,
      retentionDays: ctx.config.maintenance.tokenRetentionDays,
      batchSize: ctx.config.worker.batchSize,
      maxBatches: ctx.config.worker.maxBatchesPerRun,
      now: ctx.now,
      signal: ctx.signal,
    });
    if (report.more && !ctx.signal.aborted)
      await ctx.addJob("auth.token-cleanup", {}, { jobKey: "more:auth.token-cleanup" });
    return {
      refresh_tokens: report.refreshTokens,
      email_verification_tokens: report.emailVerificationTokens,
      more: report.more,
    };
  },
});
