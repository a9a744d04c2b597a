/**
 * The alert outbox against a real PostgreSQL and real peers on 127.0.0.1: a webhook receiver that checks the
 * HMAC signature and fails on demand, an SMTP server (smtp-server), idempotent enqueueing, retries with
 * backoff, dead letters, two deliverers at once, and a deliverer killed mid-batch.
 */
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { withActor } from "@betblocker/db/context";
import {
  countAlertDeliveriesByStatus,
  listAlertDeliveries,
} from "@betblocker/db/repositories/alert.repository";
import { createTestDatabase, type TestDatabase } from "@betblocker/db/testing";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { SYSTEM_ACTOR } from "../jobs/job";
import {
  startSmtpServer,
  startWebhookReceiver,
  type TestSmtpServer,
  testConfig,
  type WebhookReceiver,
} from "../jobs/testing";
import { type AlertInput, enqueueAlert } from "./alert.service";
import { backoffSeconds, type DeliverAlertsDeps, deliverDueAlerts } from "./delivery.service";
import { createAlertTransports, signWebhook } from "./transports";

let db: TestDatabase;
let webhook: WebhookReceiver;
let smtp: TestSmtpServer;

beforeAll(async () => {
  db = await createTestDatabase();
  webhook = await startWebhookReceiver();
  smtp = await startSmtpServer();
});

afterAll(async () => {
  await webhook?.close();
  await smtp?.close();
  await db?.drop();
});

const config = testConfig({});

function deps(overrides: Partial<DeliverAlertsDeps> & { maxAttempts?: number } = {}): DeliverAlertsDeps {
  return {
    sql: db.app,
    actor: SYSTEM_ACTOR,
    config: { ...config.alerts, maxAttempts: overrides.maxAttempts ?? config.alerts.maxAttempts },
    transports: createAlertTransports({
      smtp: { ...config.smtp, host: "127.0.0.1", port: smtp.port, secure: false },
      webhooks: [{ url: webhook.url, secret: webhook.secret }],
      timeoutMs: 5000,
    }),
    random: () => 0.5,
    ...overrides,
  };
}

let incident = 0;
async function enqueue(partial: Partial<AlertInput> = {}) {
  incident++;
  const input: AlertInput = {
    incidentKey: `test-incident-${incident}`,
    channel: "webhook",
    recipient: webhook.url,
    subject: `Test alert ${incident}`,
    payload: { kind: "test", n: incident },
    ...partial,
  };
  return await withActor(db.app, SYSTEM_ACTOR, (tx) => enqueueAlert(tx, input));
}

async function delivery(id: number) {
  const [row] =
    await db.owner`select status, attempts, last_error, sent_at, public_id from alert_deliveries where id = ${id}`;
  return row as {
    status: string;
    attempts: number;
    last_error: string | null;
    sent_at: Date | null;
    public_id: string;
  };
}

const hours = (n: number) => new Date(Date.now() + n * 3_600_000);

describe("alert deliveries", () => {
  test("enqueueing is idempotent per incident, recipient and channel", async () => {
    const first = await enqueue({ incidentKey: "same-incident" });
    const again = await enqueue({ incidentKey: "same-incident" });
    const email = await enqueue({
      incidentKey: "same-incident",
      channel: "email",
      recipient: "partner@example.test",
    });
    expect(again).toEqual({ id: first.id, created: false });
    expect(email.created).toBe(true);
    const [row] =
      await db.owner`select count(*)::int as n from alert_deliveries where incident_key = 'same-incident'`;
    expect(row?.n).toBe(2);
    // Drain them so later tests start from an empty queue.
    await deliverDueAlerts(deps());
  });

  test("a webhook that fails twice then succeeds is delivered exactly once: 3 signed attempts, one 2xx, same idempotency key", async () => {
    const { id } = await enqueue();
    webhook.failNext(500, 503);
    const before = webhook.requests.length;
    expect(await deliverDueAlerts(deps({ now: () => new Date() }))).toMatchObject({ claimed: 1, retried: 1 });
    // Not due yet: the backoff holds it back.
    expect(await deliverDueAlerts(deps({ now: () => new Date() }))).toMatchObject({ claimed: 0 });
    expect(await deliverDueAlerts(deps({ now: () => hours(1) }))).toMatchObject({ claimed: 1, retried: 1 });
    expect(await deliverDueAlerts(deps({ now: () => hours(2) }))).toMatchObject({ claimed: 1, sent: 1 });
    expect(await deliverDueAlerts(deps({ now: () => hours(3) }))).toMatchObject({ claimed: 0 });
    const attempts = webhook.requests.slice(before);
    const row = await delivery(id);
    expect(attempts.map((a) => a.status)).toEqual([500, 503, 200]);
    expect(new Set(attempts.map((a) => a.idempotencyKey))).toEqual(new Set([row.public_id]));
    expect(attempts.every((a) => a.signatureValid)).toBe(true);
    expect(attempts[0]?.body).toMatchObject({
      id: row.public_id,
      incident: `test-incident-${incident}`,
      payload: { kind: "test" },
    });
    expect(webhook.accepted().filter((k) => k === row.public_id)).toHaveLength(1);
    expect(row).toMatchObject({ status: "sent", attempts: 3, last_error: null });
  });

  test("an e-mail alert reaches the SMTP server once", async () => {
    const { id } = await enqueue({
      channel: "email",
      recipient: "partner@example.test",
      subject: "Protection removed",
    });
    const before = smtp.messages.length;
    smtp.rejectNext(1);
    expect(await deliverDueAlerts(deps())).toMatchObject({ claimed: 1, retried: 1 });
    expect(await deliverDueAlerts(deps({ now: () => hours(1) }))).toMatchObject({ claimed: 1, sent: 1 });
    expect(await deliverDueAlerts(deps({ now: () => hours(2) }))).toMatchObject({ claimed: 0 });
    const messages = smtp.messages.slice(before);
    const row = await delivery(id);
    expect(messages).toHaveLength(1);
    expect(messages[0]?.to).toEqual(["partner@example.test"]);
    expect(messages[0]?.data).toContain("Subject: Protection removed");
    expect(messages[0]?.data).toContain(`Message-ID: <${row.public_id}@betblocker.alerts>`);
    expect(row.status).toBe("sent");
  });

  test("after max_attempts failures a delivery is a dead letter and is not attempted again", async () => {
    const { id } = await enqueue();
    webhook.failNext(500, 500, 500, 500, 500);
    const before = webhook.requests.length;
    for (let hour = 0; hour < 5; hour++)
      await deliverDueAlerts(deps({ maxAttempts: 3, now: () => hours(hour * 24) }));
    expect(webhook.requests.length - before).toBe(3);
    expect(await delivery(id)).toMatchObject({
      status: "dead",
      attempts: 3,
      last_error: "attempt 3: webhook: HTTP 500",
    });
    const dead = await withActor(db.app, SYSTEM_ACTOR, (tx) =>
      listAlertDeliveries(tx, { status: "dead", limit: 10 }),
    );
    expect(dead.map((d) => d.id)).toContain(id);
    webhook.clearFailures();
  });

  test("a webhook without a configured secret is dead at once (retrying cannot help)", async () => {
    const { id } = await enqueue({ recipient: "http://127.0.0.1:9/unknown-hook" });
    await deliverDueAlerts(deps());
    expect(await delivery(id)).toMatchObject({ status: "dead", attempts: 1 });
  });

  test("the application role without the admin/system context sees no alert rows (row-level security)", async () => {
    const rows = await db.asApp({ accountId: 1, role: "user" }, (tx) => tx`select id from alert_deliveries`);
    expect(rows).toHaveLength(0);
    const counts = await withActor(db.app, SYSTEM_ACTOR, (tx) => countAlertDeliveriesByStatus(tx));
    expect(counts.sent).toBeGreaterThan(0);
  });

  test("two deliverers at once send every delivery once", async () => {
    const ids = [];
    for (let i = 0; i < 20; i++) ids.push((await enqueue()).id);
    const before = webhook.requests.length;
    const future = () => hours(200);
    await Promise.all([
      deliverDueAlerts(deps({ now: future, config: { ...config.alerts, batchSize: 15 } })),
      deliverDueAlerts(deps({ now: future, config: { ...config.alerts, batchSize: 15 } })),
    ]);
    await deliverDueAlerts(deps({ now: future }));
    const keys = webhook.requests.slice(before).map((r) => r.idempotencyKey);
    expect(keys).toHaveLength(20);
    expect(new Set(keys).size).toBe(20);
    for (const id of ids) expect((await delivery(id)).status).toBe("sent");
  });

  test("a deliverer killed mid-batch (SIGKILL) loses and duplicates nothing the receiver acts on", async () => {
    const ids = [];
    for (let i = 0; i < 10; i++) ids.push((await enqueue()).id);
    const before = webhook.requests.length;
    const child = spawn(
      process.execPath,
      ["--import", "tsx", fileURLToPath(new URL("./deliver-child.fixture.ts", import.meta.url))],
      {
        env: {
          ...process.env,
          APP_URL: db.appUrl,
          WEBHOOK_URL: webhook.url,
          WEBHOOK_SECRET: webhook.secret,
          BATCH_SIZE: "10",
        },
        stdio: "ignore",
      },
    );
    const exited = new Promise<NodeJS.Signals | null>((resolve) =>
      child.on("exit", (_code, signal) => resolve(signal)),
    );
    let seen = 0;
    webhook.onRequest = () => {
      seen++;
      // The 5th request arrives; the sender dies before it hears the answer or records anything.
      if (seen === 5) child.kill("SIGKILL");
    };
    expect(await exited).toBe("SIGKILL");
    webhook.onRequest = undefined;
    const counts = await db.owner<{ status: string; n: number }[]>`
      select status, count(*)::int as n from alert_deliveries where id = any(${ids}::bigint[]) group by status order by status`;
    expect(counts).toEqual([
      { status: "pending", n: 6 },
      { status: "sent", n: 4 },
    ]);
    // The claimed-but-unrecorded deliveries are leased; after the lease another worker finishes them.
    await deliverDueAlerts(deps({ now: () => hours(1) }));
    const requests = webhook.requests.slice(before);
    const keys = requests.map((r) => r.idempotencyKey);
    const publicIds = await db.owner<
      { public_id: string }[]
    >`select public_id from alert_deliveries where id = any(${ids}::bigint[])`;
    expect(new Set(keys)).toEqual(new Set(publicIds.map((r) => r.public_id)));
    // The in-flight one was sent twice with the same key; the receiver acted on every delivery once.
    expect(keys.length).toBe(11);
    const accepted = webhook.accepted().filter((k) => publicIds.some((p) => p.public_id === k));
    expect(accepted.sort()).toEqual(publicIds.map((p) => p.public_id).sort());
    for (const id of ids) expect((await delivery(id)).status).toBe("sent");
  }, 60_000);

  test("backoff grows exponentially with equal jitter and is capped", () => {
    const cfg = { backoffBaseSeconds: 30, backoffMaxSeconds: 3600 };
    expect(backoffSeconds(1, cfg, () => 0)).toBe(15);
    expect(backoffSeconds(1, cfg, () => 0.999)).toBeCloseTo(30, 0);
    expect(backoffSeconds(3, cfg, () => 0)).toBe(60);
    expect(backoffSeconds(20, cfg, () => 1)).toBe(3600);
  });

  test("the signature is HMAC-SHA256 over timestamp.body", () => {
    expect(signWebhook("k", 1700000000, "{}")).toMatch(/^sha256=[0-9a-f]{64}$/);
    expect(signWebhook("k", 1700000000, "{}")).not.toBe(signWebhook("k", 1700000001, "{}"));
  });
});
