/**
 * Alerts to the people of an enrollment (reporting_config.alerts), on the channels they chose:
 *
 * - "webhook": one delivery per webhook the recipient account registered (account_webhooks), signed with that
 *   webhook's own secret by the delivery job;
 * - "email": one e-mail per distinct address;
 * - a recipient who would otherwise get nothing ("push" has no per-account target yet, "webhook" without a
 *   registered webhook) gets the e-mail instead: an alert about removed protection must not vanish silently.
 * An empty channel list means "dashboard only": nothing is queued.
 *
 * Runs in the caller's transaction as the system/admin actor (alert_deliveries' row-level security), so
 * the deliveries exist exactly when what raised them was committed; enqueueAlert is idempotent per incident,
 * channel, recipient and webhook.
 */
import type { AlertChannel } from "@betblocker/common/config/reporting-config.schema";
import type { TransactionSql } from "@betblocker/db/client";
import { listWebhooksOfAccounts } from "@betblocker/db/repositories/account-webhook.repository";
import { findAccountEmails } from "@betblocker/db/repositories/monitoring.repository";
import { enqueueAlert } from "./alert.service";

export interface AudienceAlert {
  incidentKey: string;
  subject: string;
  payload: Record<string, unknown>;
  /** The account the alert is about. */
  accountId: number;
}

/** Queues the alert for every recipient account; returns the number of deliveries (0: nobody hears it). */
export async function enqueueAudienceAlert(
  tx: TransactionSql,
  recipientAccountIds: readonly number[],
  channels: readonly AlertChannel[],
  alert: AudienceAlert,
): Promise<number> {
  if (channels.length === 0) return 0;
  const ids = [...new Set(recipientAccountIds)];
  const emails = await findAccountEmails(tx, ids);
  const webhooks = channels.includes("webhook") ? await listWebhooksOfAccounts(tx, ids) : [];
  const emailed = new Set<string>();
  let deliveries = 0;
  for (const accountId of ids) {
    let reached = false;
    for (const webhook of webhooks) {
      if (webhook.accountId !== accountId) continue;
      await enqueueAlert(tx, {
        incidentKey: alert.incidentKey,
        channel: "webhook",
        recipient: webhook.url,
        accountWebhookId: webhook.id,
        accountId: alert.accountId,
        subject: alert.subject,
        payload: alert.payload,
      });
      deliveries++;
      reached = true;
    }
    const email = emails.get(accountId);
    if (!email || (reached && !channels.includes("email")) || emailed.has(email)) continue;
    emailed.add(email);
    await enqueueAlert(tx, {
      incidentKey: alert.incidentKey,
      channel: "email",
      recipient: email,
      accountId: alert.accountId,
      subject: alert.subject,
      payload: alert.payload,
    });
    deliveries++;
  }
  return deliveries;
}
