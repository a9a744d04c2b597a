/**
 * Test fixture (not a test): a separate process that delivers one batch of due alerts, so a test can kill it
 * with SIGKILL mid-batch (a real crash: no finally blocks, no rollback hooks).
 * Env: APP_URL (application role), WEBHOOK_URL, WEBHOOK_SECRET, BATCH_SIZE.
 */
import { createSql } from "@betblocker/db/client";
import { SYSTEM_ACTOR } from "../jobs/job";
import { testConfig } from "../jobs/testing";
import { deliverDueAlerts } from "./delivery.service";
import { createAlertTransports } from "./transports";

const config = testConfig({});
const sql = createSql(process.env.APP_URL as string, { max: 2 });
const transports = createAlertTransports({
  smtp: config.smtp,
  webhooks: [{ url: process.env.WEBHOOK_URL as string, secret: process.env.WEBHOOK_SECRET as string }],
  timeoutMs: 10_000,
});
const report = await deliverDueAlerts({
  sql,
  actor: SYSTEM_ACTOR,
  config: { ...config.alerts, batchSize: Number(process.env.BATCH_SIZE ?? 10) },
  transports,
});
process.stdout.write(`${JSON.stringify(report)}\n`);
await sql.end({ timeout: 5 });
