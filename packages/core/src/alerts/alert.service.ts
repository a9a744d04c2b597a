/**
 * Raising alerts: rows in the alert_deliveries outbox, written in the caller's transaction (so an alert exists
 * exactly when the thing that raised it was committed) and delivered by the worker's alerts.deliver job.
 *
 * Idempotent: one delivery per incident per recipient per channel. A job that runs twice, two replicas that
 * see the same incident, or a retry after a crash all end with one row, hence one message.
 */
import type { TransactionSql } from "@betblocker/db/client";
import { type AlertChannel, insertAlertDelivery } from "@betblocker/db/repositories/alert.repository";
import type { AlertsConfig } from "../jobs/worker.config";

export interface AlertInput {
  /** Names the incident, stable across retries: e.g. "list-source:3:failing-since:2026-05-01T10:00:00.000Z". */
  incidentKey: string;
  channel: AlertChannel;
  /** E-mail address, or webhook URL. */
  recipient: string;
  /** The account the alert is about, if any. */
  accountId?: number | null;
  /** For channel "webhook" to an account's own webhook (recipient is then that webhook's URL). */
  accountWebhookId?: number | null;
  subject: string;
  payload: Record<string, unknown>;
}

export interface EnqueueResult {
  id: number;
  /** false: this incident was already queued for this recipient and channel (nothing new is sent). */
  created: boolean;
}

/** Queues one delivery. `tx` must run as the system/admin actor (the table's row-level security). */
export async function enqueueAlert(tx: TransactionSql, alert: AlertInput): Promise<EnqueueResult> {
  if (alert.incidentKey.length === 0 || alert.incidentKey.length > 200)
    throw new Error("incidentKey must be 1-200 characters");
  const { row, created } = await insertAlertDelivery(tx, {
    incidentKey: alert.incidentKey,
    channel: alert.channel,
    recipient: alert.recipient,
    accountId: alert.accountId ?? null,
    accountWebhookId: alert.accountWebhookId ?? null,
    subject: alert.subject.slice(0, 300),
    payload: alert.payload,
  });
  return { id: row.id, created };
}

/**
 * Queues an operator alert to every configured operator address and webhook. Returns the number of
 * recipients; 0 means nobody is configured to hear it (the caller logs that loudly).
 */
export async function enqueueOperatorAlert(
  tx: TransactionSql,
  config: Pick<AlertsConfig, "operatorEmails" | "operatorWebhooks">,
  alert: { incidentKey: string; subject: string; payload: Record<string, unknown> },
): Promise<number> {
  let recipients = 0;
  for (const email of config.operatorEmails) {
    await enqueueAlert(tx, { ...alert, channel: "email", recipient: email });
    recipients++;
  }
  for (const webhook of config.operatorWebhooks) {
    await enqueueAlert(tx, { ...alert, channel: "webhook", recipient: webhook.url });
    recipients++;
  }
  return recipients;
}
