/**
 * The worker end to end on a real PostgreSQL: two job runners (two "replicas") on one database process the
 * same queue without double effects, cron schedules are registered, a running job stops after its current
 * batch on shutdown, and `npm run start:worker` starts and stops cleanly on SIGTERM.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { enqueueAlert } from "@betblocker/core/alerts/alert.service";
import { ensureSigningKeyPair } from "@betblocker/core/blocklist/signing-key";
import type { ServerConfig } from "@betblocker/core/config/config";
import { defineJob, SYSTEM_ACTOR } from "@betblocker/core/jobs/job";
import {
  type ListServer,
  startListServer,
  startWebhookReceiver,
  testConfig,
  type WebhookReceiver,
} from "@betblocker/core/jobs/testing";
import { addListSource } from "@betblocker/core/list-sources/list-source.service";
import { withActor } from "@betblocker/db/context";
import { repoRoot } from "@betblocker/db/paths";
import { jobQueueStatus } from "@betblocker/db/repositories/job.repository";
import { createTestDatabase, type TestDatabase } from "@betblocker/db/testing";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { z } from "zod";
import { createWorkerLogger } from "./logger";
import { JOBS } from "./registry";
import { type RunningWorker, startWorker } from "./worker";

let db: TestDatabase;
let webhook: WebhookReceiver;
let lists: ListServer;
let config: ServerConfig;
const dir = mkdtempSync(join(tmpdir(), "bb-worker-"));
const lines: string[] = [];
const log = createWorkerLogger({ level: "info", format: "pretty", write: (line) => lines.push(line) });

beforeAll(async () => {
  db = await createTestDatabase();
  webhook = await startWebhookReceiver();
  lists = await startListServer();
  const keyPath = join(dir, "keys", "signing.key");
  ensureSigningKeyPair({ signingKeyPath: keyPath, publicKeyPath: `${keyPath}.pub` });
  const base = testConfig({
    BETBLOCKER_DATA_DIR: dir,
    BETBLOCKER_APP_DATABASE_URL: db.appUrl,
    BETBLOCKER_SIGNING_KEY_PATH: keyPath,
  });
  config = {
    ...base,
    worker: { ...base.worker, pollIntervalMs: 200 },
    alerts: {
      ...base.alerts,
      operatorWebhooks: [{ url: webhook.url, secret: webhook.secret }],
      batchSize: 7,
    },
  };
});

afterAll(async () => {
  await webhook?.close();
  await lists?.close();
  await db?.drop();
  rmSync(dir, { recursive: true, force: true });
});

async function waitFor(condition: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline)
      throw new Error(`condition not met in ${timeoutMs} ms; log:\n${lines.slice(-30).join("\n")}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe("job runner", () => {
  test("two runners on one database: every alert delivered once, each source fetched once, one version published", async () => {
    const workers: RunningWorker[] = [];
    try {
      for (const id of ["replica-a", "replica-b"])
        workers.push(
          await startWorker({ config, ownerUrl: db.url, log: log.child(id), schedules: false, workerId: id }),
        );
      const [a, b] = workers as [RunningWorker, RunningWorker];

      for (let i = 0; i < 3; i++) {
        lists.setList(
          `/r${i}.txt`,
          Array.from({ length: 30 }, (_, n) => `r${i}-${n}.runner-bet.test`).join("\n"),
        );
        await addListSource(db.app, SYSTEM_ACTOR, {
          name: `runner-${i}`,
          location: lists.url(`/r${i}.txt`),
          format: "domains",
        });
      }
      for (let i = 0; i < 30; i++)
        await withActor(db.app, SYSTEM_ACTOR, (tx) =>
          enqueueAlert(tx, {
            incidentKey: `runner-incident-${i}`,
            channel: "webhook",
            recipient: webhook.url,
            subject: `incident ${i}`,
            payload: { i },
          }),
        );
      // Both replicas are asked to do every job, several times, at once.
      await Promise.all([
        a.runner.addJob("list-sources.import"),
        b.runner.addJob("list-sources.import"),
        a.runner.addJob("alerts.deliver"),
        b.runner.addJob("alerts.deliver"),
        a.runner.addJob("alerts.deliver"),
        b.runner.addJob("alerts.deliver"),
      ]);
      await waitFor(async () => {
        const [row] = await db.owner`select count(*)::int as n from alert_deliveries where status = 'sent'`;
        return row?.n === 30;
      });
      await waitFor(async () => {
        const [row] = await db.owner`select count(*)::int as n from list_sources where last_status = 'ok'`;
        return row?.n === 3;
      });
      await Promise.all([a.runner.addJob("blocklist.compile"), b.runner.addJob("blocklist.compile")]);
      await waitFor(async () => {
        const status = await jobQueueStatus(db.owner);
        return status !== null && status.queued === 0 && status.running === 0;
      });

      const keys = webhook.requests.map((r) => r.idempotencyKey);
      expect(keys).toHaveLength(30);
      expect(new Set(keys).size).toBe(30);
      expect(lists.requests.filter((r) => r.path.startsWith("/r")).length).toBe(3);
      const [entries] =
        await db.owner`select count(*)::int as n from blocklist_entries where domain like '%.runner-bet.test'`;
      expect(entries?.n).toBe(90);
      const versions = await db.owner`select version_number from blocklist_versions`;
      expect(versions).toHaveLength(1);
      const status = await jobQueueStatus(db.owner);
      expect(status?.failed).toBe(0);
    } finally {
      await Promise.all(workers.map((w) => w.stop()));
    }
  }, 60_000);

  test("cron schedules of every scheduled job are registered with the queue", async () => {
    const worker = await startWorker({ config, ownerUrl: db.url, log, workerId: "cron-check" });
    try {
      await waitFor(async () => ((await jobQueueStatus(db.owner))?.cron.length ?? 0) >= JOBS.length);
      const status = await jobQueueStatus(db.owner);
      expect(status?.cron.map((c) => c.identifier).sort()).toEqual(JOBS.map((j) => j.id).sort());
    } finally {
      await worker.stop();
    }
  });

  test("on stop, a running job sees its AbortSignal, finishes the batch in hand and is awaited", async () => {
    const finished: number[] = [];
    let started!: () => void;
    const running = new Promise<void>((resolve) => {
      started = resolve;
    });
    const batchedJob = defineJob({
      id: "test.batches",
      payloadSchema: z.object({ batches: z.number() }),
      async handler(payload, ctx) {
        for (let batch = 0; batch < payload.batches; batch++) {
          if (ctx.signal.aborted) break;
          started();
          await new Promise((resolve) => setTimeout(resolve, 100));
          finished.push(batch);
        }
        return { finished: finished.length };
      },
    });
    const worker = await startWorker({ config, ownerUrl: db.url, log, jobs: [batchedJob], schedules: false });
    await worker.runner.addJob("test.batches", { batches: 100 });
    await running;
    await worker.stop();
    expect(finished.length).toBeGreaterThan(0);
    expect(finished.length).toBeLessThan(100);
    // The batch in hand when stop() was called completed: batches are whole, in order.
    expect(finished).toEqual(finished.map((_, i) => i));
  });
});

describe("npm run start:worker", () => {
  test("starts (migrations, queue, jobs), and a SIGTERM stops it cleanly with exit code 0", async () => {
    const child = spawn(
      process.execPath,
      ["--import", "tsx", join(repoRoot(), "apps", "worker", "src", "main.ts")],
      {
        env: {
          ...process.env,
          DATABASE_URL: db.url,
          BETBLOCKER_APP_DATABASE_URL: db.appUrl,
          BETBLOCKER_DATA_DIR: dir,
          BETBLOCKER_SIGNING_KEY_PATH: config.blocklist.signingKeyPath,
        },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let output = "";
    child.stdout.on("data", (chunk) => {
      output += String(chunk);
    });
    child.stderr.on("data", (chunk) => {
      output += String(chunk);
    });
    const exit = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    await waitFor(async () => /worker \S+ running: /.test(output) || child.exitCode !== null, 60_000);
    expect(output).toMatch(/running: list-sources\.import \(7 \* \* \* \*\), blocklist\.compile/);
    child.kill("SIGTERM");
    expect(await exit).toBe(0);
    expect(output).toMatch(/SIGTERM: finishing running jobs/);
    expect(output).toMatch(/stopped/);
  }, 90_000);
});
