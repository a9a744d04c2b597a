/**
 * Lifecycle timers (worker job lifecycle.timers, every minute): the time-driven steps of the enrollment,
 * partner and organization lifecycles, then delivery of the notifications outbox.
 *
 * 1. completeDueSelfUnenrollments / applyDueSelfConfigChanges: self-tier requests whose delay has passed;
 * 2. expirePartnerInvitations / expireOrganizationInvitations: invitations past their expiry;
 * 3. the notifications outbox (what the API and step 1 enqueued, e.g. "unenroll_requested" to the
 *    enrollment's notify accounts): each unsent notification becomes one alert e-mail in alert_deliveries
 *    (incident key "notification:<id>", so a retry queues nothing twice) and is marked sent in the same
 *    transaction; alerts.deliver sends it with retries and dead letters.
 *
 * Every step is idempotent and bounded (SKIP LOCKED batches), so two workers at once do each thing once.
 */
import type { Sql, TransactionSql } from "@betblocker/db/client";
import { withActor } from "@betblocker/db/context";
import { findAccountEmails } from "@betblocker/db/repositories/monitoring.repository";
import {
  lockUnsentNotifications,
  markNotificationsSent,
} from "@betblocker/db/repositories/notification.repository";
import { enqueueAlert } from "../alerts/alert.service";
import { applyDueSelfConfigChanges, completeDueSelfUnenrollments } from "../enrollments/unenroll.service";
import { type JobLogger, noopLogger, SYSTEM_ACTOR } from "../jobs/job";
import { expireOrganizationInvitations } from "../organizations/organization.service";
import { expirePartnerInvitations } from "../partners/partner.service";

export interface LifecycleTimersOptions {
  now: Date;
  batchSize?: number;
  maxBatches?: number;
  signal?: AbortSignal;
  log?: JobLogger;
}

export interface NotificationDeliveryReport {
  /** Notifications turned into alert e-mails. */
  queued: number;
  /** Notifications without any address (account gone, no payload.email): marked sent, logged as errors. */
  undeliverable: number;
  more: boolean;
}

export interface LifecycleTimersReport {
  unenrollmentsCompleted: number;
  configChangesApplied: number;
  partnerInvitationsExpired: number;
  partnerRelationshipsExpired: number;
  organizationInvitationsExpired: number;
  notifications: NotificationDeliveryReport;
}

function subjectOf(kind: string): string {
  const words = kind.replaceAll("_", " ");
  return `BetBlocker: ${words.charAt(0).toUpperCase()}${words.slice(1)}`;
}

async function notificationBatch(
  tx: TransactionSql,
  now: Date,
  batchSize: number,
  log: JobLogger,
): Promise<{ seen: number; queued: number; undeliverable: number }> {
  const rows = await lockUnsentNotifications(tx, batchSize);
  if (rows.length === 0) return { seen: 0, queued: 0, undeliverable: 0 };
  const emails = await findAccountEmails(
    tx,
    rows.flatMap((row) => (row.accountId === null ? [] : [row.accountId])),
  );
  let queued = 0;
  let undeliverable = 0;
  for (const row of rows) {
    const payloadEmail = typeof row.payload.email === "string" ? row.payload.email : null;
    const recipient = (row.accountId !== null ? emails.get(row.accountId) : undefined) ?? payloadEmail;
    if (!recipient) {
      undeliverable += 1;
      log.error("notification has no recipient address; marked sent without delivery", {
        notification: row.id,
        kind: row.kind,
        account: row.accountId,
      });
      continue;
    }
    await enqueueAlert(tx, {
      incidentKey: `notification:${row.id}`,
      channel: "email",
      recipient,
      accountId: row.accountId,
      subject: subjectOf(row.kind),
      payload: { kind: row.kind, ...row.payload, created_at: row.createdAt.toISOString() },
    });
    queued += 1;
  }
  await markNotificationsSent(
    tx,
    rows.map((row) => row.id),
    now,
  );
  return { seen: rows.length, queued, undeliverable };
}

/** Turns unsent notifications into alert e-mails, in bounded SKIP LOCKED batches. */
export async function deliverNotificationsOutbox(
  sql: Sql,
  options: LifecycleTimersOptions,
): Promise<NotificationDeliveryReport> {
  const batchSize = options.batchSize ?? 200;
  const maxBatches = options.maxBatches ?? 20;
  const log = options.log ?? noopLogger;
  const report: NotificationDeliveryReport = { queued: 0, undeliverable: 0, more: false };
  for (let batch = 0; ; batch += 1) {
    if (batch >= maxBatches) {
      report.more = true;
      break;
    }
    if (options.signal?.aborted) break;
    const done = await withActor(sql, SYSTEM_ACTOR, (tx) =>
      notificationBatch(tx, options.now, batchSize, log),
    );
    report.queued += done.queued;
    report.undeliverable += done.undeliverable;
    if (done.seen < batchSize) break;
  }
  return report;
}

/**
 * One run of the timers. A failing step does not stop the others (each is logged and rethrown at the end,
 * so the queue retries the run): the outbox must go out even when, say, one invitation cannot expire.
 */
export async function runLifecycleTimers(
  sql: Sql,
  options: LifecycleTimersOptions,
): Promise<LifecycleTimersReport> {
  const log = options.log ?? noopLogger;
  const bounds = { batchSize: options.batchSize ?? 100, maxBatches: options.maxBatches ?? 10 };
  const report: LifecycleTimersReport = {
    unenrollmentsCompleted: 0,
    configChangesApplied: 0,
    partnerInvitationsExpired: 0,
    partnerRelationshipsExpired: 0,
    organizationInvitationsExpired: 0,
    notifications: { queued: 0, undeliverable: 0, more: false },
  };
  const errors: unknown[] = [];
  async function step(name: string, fn: () => Promise<void>): Promise<void> {
    if (options.signal?.aborted) return;
    try {
      await fn();
    } catch (error) {
      errors.push(error);
      log.error(`lifecycle timer step failed: ${name}`, {
        error: error instanceof Error ? error.message : String(error),
      });
    }
  }
  await step("self unenrollments", async () => {
    report.unenrollmentsCompleted = (await completeDueSelfUnenrollments(sql, options.now, bounds)).completed;
  });
  await step("self config changes", async () => {
    report.configChangesApplied = (await applyDueSelfConfigChanges(sql, options.now, bounds)).applied;
  });
  await step("partner invitations", async () => {
    const done = await expirePartnerInvitations(sql, options.now, bounds);
    report.partnerInvitationsExpired = done.invitations;
    report.partnerRelationshipsExpired = done.relationships;
  });
  await step("organization invitations", async () => {
    report.organizationInvitationsExpired = (
      await expireOrganizationInvitations(sql, options.now, bounds)
    ).invitations;
  });
  await step("notifications outbox", async () => {
    report.notifications = await deliverNotificationsOutbox(sql, options);
  });
  if (errors.length > 0)
    throw new AggregateError(errors, `${errors.length} lifecycle timer step(s) failed; the others completed`);
  return report;
}
