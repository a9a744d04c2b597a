/**
 * alerts.deliver (every minute): send due alert e-mails (SMTP) and signed webhooks from the alert_deliveries
 * outbox, batch after batch until none is due, the batch limit is reached or the worker shuts down.
 */
import { deliverDueAlerts } from "@betblocker/core/alerts/delivery.service";
import { createAlertTransports } from "@betblocker/core/alerts/transports";
import { defineJob, SYSTEM_ACTOR } from "@betblocker/core/jobs/job";
import { z } from "zod";

const MAX_BATCHES_PER_RUN = 20;

export const alertsDeliverJob = defineJob({
  id: "alerts.deliver",
  schedule: "alerts_deliver",
  payloadSchema: z.object({}),
  async handler(_payload, ctx) {
    const alerts = ctx.config.alerts;
    const transports = createAlertTransports({
      smtp: ctx.config.smtp,
      webhooks: alerts.operatorWebhooks,
      timeoutMs: alerts.requestTimeoutSeconds * 1000,
      now: ctx.now,
      accountWebhooksPrivateTargets: alerts.accountWebhooksPrivateTargets,
    });
    const totals = { sent: 0, retried: 0, dead: 0, batches: 0 };
    try {
      for (let batch = 0; batch < MAX_BATCHES_PER_RUN && !ctx.signal.aborted; batch++) {
        const report = await deliverDueAlerts({
          sql: ctx.app,
          actor: SYSTEM_ACTOR,
          config: alerts,
          transports,
          now: ctx.now,
          signal: ctx.signal,
          log: ctx.log,
        });
        totals.batches++;
        totals.sent += report.sent;
        totals.retried += report.retried;
        totals.dead += report.dead;
        if (report.claimed < alerts.batchSize) break;
      }
    } finally {
      await transports.close();
    }
    if (totals.sent > 0 || totals.dead > 0) ctx.log.info("alerts delivered", totals);
    return totals;
  },
});
