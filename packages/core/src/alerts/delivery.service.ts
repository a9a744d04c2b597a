/**
 * Delivering the alert outbox (job alerts.deliver): claim due deliveries (SKIP LOCKED + a lease, so replicas
 * never send the same delivery at once), send each, and record the outcome in its own transaction:
 * sent only after the receiver accepted it; otherwise retried with exponential backoff and jitter, and dead
 * after alerts.max_attempts attempts (visible in `betblocker health` and `betblocker alerts list --dead`).
 *
 * A worker that dies after sending and before recording leaves the delivery leased; it is sent again after
 * the lease with the same idempotency key, so the receiver still sees it once.
 *
 * Webhooks: an operator webhook's secret comes from the configuration (by URL); an account webhook's URL and
 * secret from account_webhooks (alert_deliveries.account_webhook_id), read at each attempt.
 */
import type { Sql } from "@betblocker/db/client";
import { type ActorContext, withActor } from "@betblocker/db/context";
import { findWebhookTargetById } from "@betblocker/db/repositories/account-webhook.repository";
import {
  claimDueAlertDeliveries,
  markAlertFailed,
  markAlertSent,
  releaseAlertClaim,
} from "@betblocker/db/repositories/alert.repository";
import { type JobLogger, noopLogger } from "../jobs/job";
import type { AlertsConfig } from "../jobs/worker.config";
import { type AlertTransports, DeliveryError } from "./transports";

/** A claimed delivery not recorded within this time (crashed worker) is attempted again. */
export const DELIVERY_LEASE_SECONDS = 300;

export interface DeliverAlertsDeps {
  sql: Sql;
  actor: ActorContext;
  config: Pick<AlertsConfig, "maxAttempts" | "backoffBaseSeconds" | "backoffMaxSeconds" | "batchSize">;
  transports: AlertTransports;
  now?: () => Date;
  /** [0, 1): jitter source (tests make it deterministic). */
  random?: () => number;
  signal?: AbortSignal;
  log?: JobLogger;
}

export interface DeliveryReport {
  claimed: number;
  sent: number;
  retried: number;
  dead: number;
  /** Claimed but handed back because the worker is shutting down. */
  released: number;
}

/**
 * Seconds until the next attempt after `attempts` failures: base * 2^(attempts-1), capped, with "equal
 * jitter" (half fixed, half random) so that retries of many deliveries spread out but never fire at once.
 */
export function backoffSeconds(
  attempts: number,
  config: Pick<AlertsConfig, "backoffBaseSeconds" | "backoffMaxSeconds">,
  random: () => number = Math.random,
): number {
  const exponential = Math.min(
    config.backoffMaxSeconds,
    config.backoffBaseSeconds * 2 ** Math.max(0, attempts - 1),
  );
  return exponential / 2 + random() * (exponential / 2);
}

/** One bounded batch: at most config.batchSize deliveries. */
export async function deliverDueAlerts(deps: DeliverAlertsDeps): Promise<DeliveryReport> {
  const now = deps.now ?? (() => new Date());
  const log = deps.log ?? noopLogger;
  const report: DeliveryReport = { claimed: 0, sent: 0, retried: 0, dead: 0, released: 0 };
  const claimed = await withActor(deps.sql, deps.actor, (tx) =>
    claimDueAlertDeliveries(tx, {
      now: now(),
      limit: deps.config.batchSize,
      leaseSeconds: DELIVERY_LEASE_SECONDS,
    }),
  );
  report.claimed = claimed.length;
  for (const delivery of claimed) {
    if (deps.signal?.aborted) {
      await withActor(deps.sql, deps.actor, (tx) => releaseAlertClaim(tx, delivery.id, now()));
      report.released++;
      continue;
    }
    let failure: DeliveryError | null = null;
    try {
      // Account webhooks: URL and secret from account_webhooks, read now (a webhook deleted meanwhile took its
      // deliveries with it; one deleted between claim and here is a dead letter, not a send).
      const accountWebhookId = delivery.accountWebhookId;
      const target =
        accountWebhookId === null
          ? undefined
          : ((await withActor(deps.sql, deps.actor, (tx) => findWebhookTargetById(tx, accountWebhookId))) ??
            undefined);
      await deps.transports.send(delivery, target);
    } catch (error) {
      failure =
        error instanceof DeliveryError ? error : new DeliveryError((error as Error).message ?? String(error));
    }
    if (!failure) {
      await withActor(deps.sql, deps.actor, (tx) => markAlertSent(tx, delivery.id, now()));
      report.sent++;
      continue;
    }
    const dead = !failure.retryable || delivery.attempts >= deps.config.maxAttempts;
    const retryAt = new Date(
      now().getTime() + backoffSeconds(delivery.attempts, deps.config, deps.random) * 1000,
    );
    await withActor(deps.sql, deps.actor, (tx) =>
      markAlertFailed(tx, delivery.id, {
        error: `attempt ${delivery.attempts}: ${failure.message}`,
        retryAt,
        dead,
      }),
    );
    if (dead) {
      report.dead++;
      log.error(`alert delivery ${delivery.publicId} to ${delivery.recipient} is dead: ${failure.message}`, {
        incident: delivery.incidentKey,
        attempts: delivery.attempts,
      });
    } else {
      report.retried++;
      log.warn(
        `alert delivery ${delivery.publicId} failed, retry at ${retryAt.toISOString()}: ${failure.message}`,
      );
    }
  }
  return report;
}
