/**
 * Account webhooks end to end on a real PostgreSQL and a real receiver on 127.0.0.1: the heartbeat monitor
 * fans an alert out to the webhooks of the enrollment's people when alert_channels lists "webhook" (e-mail for
 * a person without one), the delivery job signs each request with that webhook's own secret (the receiver
 * checks the HMAC), a receiver failing twice gets the alert exactly once, and row-level security keeps every
 * account to its own webhooks and secrets.
 */
import type { TransactionSql } from "@betblocker/db/client";
import { withActor } from "@betblocker/db/context";
import {
  insertAccountWebhook,
  listAccountWebhooks,
} from "@betblocker/db/repositories/account-webhook.repository";
import { newAccount, newDevice, newEnrollment } from "@betblocker/db/schema/factories";
import { createTestDatabase, type TestDatabase } from "@betblocker/db/testing";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { SYSTEM_ACTOR } from "../jobs/job";
import { startWebhookReceiver, testConfig, type WebhookReceiver } from "../jobs/testing";
import { runHeartbeatMonitor } from "../monitoring/heartbeat-monitor.service";
import {
  createAccountWebhook,
  deleteAccountWebhook,
  findWebhookToTest,
  generateWebhookSecret,
  sendWebhookTest,
} from "../webhooks/account-webhook.service";
import { enqueueAlert } from "./alert.service";
import { type DeliverAlertsDeps, deliverDueAlerts } from "./delivery.service";
import { createAlertTransports } from "./transports";

let db: TestDatabase;
let receiver: WebhookReceiver;
const secret = generateWebhookSecret();

beforeAll(async () => {
  db = await createTestDatabase();
  // The receiver verifies signatures with the secret the account webhook below is registered with.
  receiver = await startWebhookReceiver(secret);
});

afterAll(async () => {
  await receiver?.close();
  await db?.drop();
});

const config = testConfig({});
const hours = (n: number) => new Date(Date.now() + n * 3_600_000);

function deps(overrides: Partial<DeliverAlertsDeps> = {}): DeliverAlertsDeps {
  return {
    sql: db.app,
    actor: SYSTEM_ACTOR,
    config: config.alerts,
    // No operator webhooks configured: account webhooks need none.
    // Receivers in these tests listen on 127.0.0.1: allowed here, refused by default (see outbound.test.ts).
    transports: createAlertTransports({
      smtp: config.smtp,
      webhooks: [],
      timeoutMs: 5000,
      accountWebhooksPrivateTargets: true,
    }),
    random: () => 0.5,
    ...overrides,
  };
}

/** Registers a webhook for the account, as that account (row-level security applies). */
async function registerWebhook(accountId: number, url: string, webhookSecret = secret) {
  const row = await db.asApp({ accountId, role: "partner" }, (tx) =>
    insertAccountWebhook(tx, { accountId, url, description: null, secret: webhookSecret }),
  );
  if (!row) throw new Error("webhook not created");
  return row;
}

/**
 * Settles every due delivery of earlier tests at `hour`: webhooks to the receiver are sent, e-mails (no SMTP
 * in this file) become dead letters at once, so later tests count only their own deliveries.
 */
async function drain(hour: number): Promise<void> {
  await deliverDueAlerts(deps({ now: () => hours(hour), config: { ...config.alerts, maxAttempts: 1 } }));
}

async function staleEnrollment(alertChannels: string[]) {
  const owner = await newAccount(db);
  const partner = await newAccount(db, { role: "partner" });
  const device = await newDevice(db, { accountId: owner.id });
  const enrollment = await newEnrollment(db, {
    deviceId: device.id,
    enrolledBy: partner.id,
    tier: "partner",
  });
  await db.owner`
    update enrollments set reporting_config = ${db.owner.json({ alerts: { alert_channels: alertChannels } })}
    where id = ${enrollment.id}`;
  await db.owner`update devices set status = 'active', last_heartbeat = now() - interval '2 hours' where id = ${device.id}`;
  return { owner, partner, device };
}

async function deliveriesOf(deviceId: number) {
  return db.owner<
    { id: number; channel: string; recipient: string; account_webhook_id: number | null; public_id: string }[]
  >`
    select id, channel, recipient, account_webhook_id, public_id from alert_deliveries
    where incident_key like ${`heartbeat:device:${deviceId}:%`} order by channel, recipient`;
}

describe("alerts to account webhooks", () => {
  test('alert_channels ["webhook"]: the partner\'s webhook gets it, the owner without one gets e-mail', async () => {
    const { owner, partner, device } = await staleEnrollment(["webhook"]);
    const webhook = await registerWebhook(partner.id, receiver.url);
    await runHeartbeatMonitor(db.app, { now: new Date() });
    const rows = await deliveriesOf(device.id);
    expect(rows.map((r) => [r.channel, r.recipient, r.account_webhook_id])).toEqual([
      ["email", owner.email, null],
      ["webhook", receiver.url, webhook.id],
    ]);
    // A second run (or replica) queues nothing more.
    await runHeartbeatMonitor(db.app, { now: new Date() });
    expect(await deliveriesOf(device.id)).toHaveLength(2);
  });

  test('alert_channels ["email", "webhook"]: both for a person with a webhook; ["email"]: webhooks unused', async () => {
    const both = await staleEnrollment(["email", "webhook"]);
    await registerWebhook(both.partner.id, receiver.url);
    const emailOnly = await staleEnrollment(["email"]);
    await registerWebhook(emailOnly.partner.id, receiver.url);
    await runHeartbeatMonitor(db.app, { now: new Date() });
    expect((await deliveriesOf(both.device.id)).map((r) => [r.channel, r.recipient])).toEqual([
      ["email", both.owner.email],
      ["email", both.partner.email],
      ["webhook", receiver.url],
    ]);
    expect((await deliveriesOf(emailOnly.device.id)).map((r) => r.channel)).toEqual(["email", "email"]);
  });

  test("a webhook failing twice then succeeding gets the alert exactly once, signed with its own secret", async () => {
    await drain(1000);
    const partner = await newAccount(db, { role: "partner" });
    const webhook = await registerWebhook(partner.id, receiver.url);
    const { id } = await withActor(db.app, SYSTEM_ACTOR, (tx) =>
      enqueueAlert(tx, {
        incidentKey: `tamper:test:${partner.id}`,
        channel: "webhook",
        recipient: webhook.url,
        accountWebhookId: webhook.id,
        accountId: partner.id,
        subject: "Protection was tampered with",
        payload: { kind: "tamper" },
      }),
    );
    receiver.failNext(500, 503);
    const before = receiver.requests.length;
    expect(await deliverDueAlerts(deps({ now: () => hours(1001) }))).toMatchObject({
      claimed: 1,
      retried: 1,
    });
    expect(await deliverDueAlerts(deps({ now: () => hours(1002) }))).toMatchObject({
      claimed: 1,
      retried: 1,
    });
    expect(await deliverDueAlerts(deps({ now: () => hours(1003) }))).toMatchObject({ claimed: 1, sent: 1 });
    expect(await deliverDueAlerts(deps({ now: () => hours(1004) }))).toMatchObject({ claimed: 0 });
    const attempts = receiver.requests.slice(before);
    const [row] = await db.owner<{ status: string; attempts: number; public_id: string }[]>`
      select status, attempts, public_id from alert_deliveries where id = ${id}`;
    expect(attempts.map((a) => a.status)).toEqual([500, 503, 200]);
    expect(attempts.every((a) => a.signatureValid)).toBe(true);
    expect(new Set(attempts.map((a) => a.idempotencyKey))).toEqual(new Set([row?.public_id]));
    expect(attempts[0]?.body).toMatchObject({ id: row?.public_id, payload: { kind: "tamper" } });
    expect(receiver.accepted().filter((key) => key === row?.public_id)).toHaveLength(1);
    expect(row).toMatchObject({ status: "sent", attempts: 3 });
  });

  test("a webhook registered with another secret fails the receiver's check: the secret is the webhook's own", async () => {
    const partner = await newAccount(db, { role: "partner" });
    const webhook = await registerWebhook(partner.id, receiver.url, generateWebhookSecret());
    await withActor(db.app, SYSTEM_ACTOR, (tx) =>
      enqueueAlert(tx, {
        incidentKey: `wrong-secret:${partner.id}`,
        channel: "webhook",
        recipient: webhook.url,
        accountWebhookId: webhook.id,
        subject: "x",
        payload: {},
      }),
    );
    const before = receiver.requests.length;
    await deliverDueAlerts(deps({ now: () => hours(2000), config: { ...config.alerts, maxAttempts: 1 } }));
    const attempts = receiver.requests.slice(before);
    expect(attempts).toHaveLength(1);
    expect(attempts[0]?.signatureValid).toBe(false);
  });

  test("two accounts with the same URL get one delivery each per incident", async () => {
    const a = await newAccount(db, { role: "partner" });
    const b = await newAccount(db, { role: "authority" });
    const hookA = await registerWebhook(a.id, receiver.url);
    const hookB = await registerWebhook(b.id, receiver.url);
    const created = await withActor(db.app, SYSTEM_ACTOR, async (tx) => {
      const results = [];
      for (const hook of [hookA, hookB, hookA]) {
        results.push(
          await enqueueAlert(tx, {
            incidentKey: "shared-url-incident",
            channel: "webhook",
            recipient: hook.url,
            accountWebhookId: hook.id,
            subject: "x",
            payload: {},
          }),
        );
      }
      return results.map((r) => r.created);
    });
    expect(created).toEqual([true, true, false]);
  });

  test("deleting a webhook drops its pending deliveries; nothing is sent to it afterwards", async () => {
    await drain(3000);
    const partner = await newAccount(db, { role: "partner" });
    const { webhook } = await db.asApp({ accountId: partner.id, role: "partner" }, (tx) =>
      createAccountWebhook(tx, { id: partner.id }, { url: receiver.url, description: null }),
    );
    const { id } = await withActor(db.app, SYSTEM_ACTOR, (tx) =>
      enqueueAlert(tx, {
        incidentKey: `deleted-hook:${partner.id}`,
        channel: "webhook",
        recipient: webhook.url,
        accountWebhookId: webhook.id,
        subject: "x",
        payload: {},
      }),
    );
    await db.asApp({ accountId: partner.id, role: "partner" }, (tx) =>
      deleteAccountWebhook(tx, { id: partner.id }, webhook.publicId),
    );
    const [row] = await db.owner<
      { n: number }[]
    >`select count(*)::int as n from alert_deliveries where id = ${id}`;
    expect(row?.n).toBe(0);
    const before = receiver.requests.length;
    expect(await deliverDueAlerts(deps({ now: () => hours(3001) }))).toMatchObject({ claimed: 0 });
    expect(receiver.requests.length).toBe(before);
  });

  test("the test request is signed with the webhook's generated secret", async () => {
    const partner = await newAccount(db, { role: "partner" });
    const ownReceiver = await startWebhookReceiver("placeholder-secret-0123456789abcdef");
    try {
      const created = await db.asApp({ accountId: partner.id, role: "partner" }, (tx) =>
        createAccountWebhook(tx, { id: partner.id }, { url: ownReceiver.url, description: "mine" }),
      );
      expect(created.secret).toMatch(/^bbwhsec_[A-Za-z0-9_-]{43}$/);
      const target = await db.asApp({ accountId: partner.id, role: "partner" }, (tx) =>
        findWebhookToTest(tx, { id: partner.id }, created.webhook.publicId),
      );
      const result = await sendWebhookTest(target, { privateTargets: true });
      // The placeholder receiver does not know the generated secret: 401, as for a forged request.
      expect(result).toMatchObject({ delivered: false, status: 401 });
      const [request] = ownReceiver.requests;
      expect(request?.body).toMatchObject({ payload: { kind: "test", webhook: created.webhook.publicId } });
    } finally {
      await ownReceiver.close();
    }
    const verified = await startWebhookReceiver(secret);
    try {
      const partner2 = await newAccount(db, { role: "partner" });
      const hook = await registerWebhook(partner2.id, verified.url);
      const target = await db.asApp({ accountId: partner2.id, role: "partner" }, (tx) =>
        findWebhookToTest(tx, { id: partner2.id }, hook.publicId),
      );
      expect(await sendWebhookTest(target, { privateTargets: true })).toMatchObject({
        delivered: true,
        status: 200,
        error: null,
      });
      expect(verified.requests[0]?.signatureValid).toBe(true);
    } finally {
      await verified.close();
    }
  });
});

describe("row-level security on account webhooks", () => {
  test("another tenant sees, reads the secret of, and deletes none of an account's webhooks", async () => {
    const owner = await newAccount(db, { role: "partner" });
    const stranger = await newAccount(db);
    const webhook = await registerWebhook(owner.id, "https://owner.example/hook");
    const asStranger = <T>(fn: (tx: TransactionSql) => Promise<T>) =>
      db.asApp({ accountId: stranger.id, role: "user" }, fn);
    expect(
      await asStranger((tx) => tx`select id from account_webhooks where id = ${webhook.id}`),
    ).toHaveLength(0);
    expect(
      await asStranger(
        (tx) => tx`select secret from account_webhook_secrets where webhook_id = ${webhook.id}`,
      ),
    ).toHaveLength(0);
    expect(await asStranger((tx) => listAccountWebhooks(tx, owner.id))).toEqual([]);
    const deleted = await asStranger(
      (tx) => tx`delete from account_webhooks where id = ${webhook.id} returning id`,
    );
    expect(deleted).toHaveLength(0);
    await expect(
      asStranger((tx) => deleteAccountWebhook(tx, { id: stranger.id }, webhook.publicId)),
    ).rejects.toMatchObject({ code: "NOT_FOUND" });
    // Nor can it register a webhook in the owner's name.
    await expect(
      asStranger((tx) =>
        insertAccountWebhook(tx, {
          accountId: owner.id,
          url: "https://attacker.example/",
          description: null,
          secret: generateWebhookSecret(),
        }),
      ),
    ).rejects.toThrow(/row-level security/);
    const [still] = await db.owner<{ n: number }[]>`
      select count(*)::int as n from account_webhooks where id = ${webhook.id}`;
    expect(still?.n).toBe(1);
    // The owner sees it; the audit trail has the row but never the secret.
    expect(
      (
        await db.asApp({ accountId: owner.id, role: "partner" }, (tx) => listAccountWebhooks(tx, owner.id))
      ).map((w) => w.id),
    ).toEqual([webhook.id]);
    const audit = await db.owner<{ text: string }[]>`
      select coalesce(new_values::text, '') || coalesce(old_values::text, '') as text from audit_log
      where table_name = 'account_webhooks' and row_id = ${webhook.id}`;
    expect(audit).toHaveLength(1);
    expect(audit[0]?.text).not.toContain(secret);
  });
});
