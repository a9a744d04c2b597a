/**
 * The monitoring, lifecycle, snapshot and intake jobs as the runner calls them: registered with their cron
 * schedules, payloads validated, handlers run against a real PostgreSQL, continuation queued when a run stops
 * at its batch limit. (The services have their own tests in packages/core.)
 */

import type { JobContext } from "@betblocker/core/jobs/job";
import { noopLogger } from "@betblocker/core/jobs/job";
import { testConfig } from "@betblocker/core/jobs/testing";
import { newAccount, newDevice, newEnrollment } from "@betblocker/db/schema/factories";
import { createTestDatabase, type TestDatabase } from "@betblocker/db/testing";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { JOBS } from "../registry";
import { federatedIntakeJob } from "./federated-intake.job";
import { heartbeatMonitorJob } from "./heartbeat-monitor.job";
import { lifecycleTimersJob } from "./lifecycle-timers.job";
import { reportingSnapshotsJob } from "./reporting-snapshots.job";

let db: TestDatabase;
const queued: { id: string; payload: Record<string, unknown>; jobKey?: string }[] = [];

beforeAll(async () => {
  db = await createTestDatabase();
});

afterAll(async () => {
  await db?.drop();
});

function context(now: Date, overrides: { maxBatchesPerRun?: number; batchSize?: number } = {}): JobContext {
  const base = testConfig();
  return {
    app: db.app,
    owner: db.owner,
    config: {
      ...base,
      worker: {
        ...base.worker,
        maxBatchesPerRun: overrides.maxBatchesPerRun ?? base.worker.maxBatchesPerRun,
        batchSize: overrides.batchSize ?? base.worker.batchSize,
      },
    },
    log: noopLogger,
    signal: new AbortController().signal,
    now: () => now,
    workerId: "test",
    async addJob(id, payload, options) {
      queued.push({ id, payload, jobKey: options?.jobKey });
    },
  };
}

describe("monitoring jobs", () => {
  test("registered with their schedules", () => {
    const ids = JOBS.map((job) => `${job.id}:${job.schedule}`);
    expect(ids).toEqual(
      expect.arrayContaining([
        "monitoring.heartbeat:monitoring_heartbeat",
        "lifecycle.timers:lifecycle_timers",
        "reporting.snapshots:reporting_snapshots",
        "discovery.federated-intake:federated_intake",
      ]),
    );
    const config = testConfig();
    expect(config.worker.schedules.reporting_snapshots).toBe("30 0 * * *");
    expect(config.worker.schedules.federated_intake).toBe("*/10 * * * *");
    expect(config.discovery.minDistinctDevices).toBe(3);
  });

  test("handlers run; the heartbeat job marks a silent device stale and alerts", async () => {
    const now = new Date();
    const owner = await newAccount(db);
    const device = await newDevice(db, { accountId: owner.id });
    await newEnrollment(db, { deviceId: device.id, enrolledBy: owner.id });
    await db.owner`update devices set status = 'active', last_heartbeat = ${new Date(now.getTime() - 3_600_000)} where id = ${device.id}`;

    const heartbeat = await heartbeatMonitorJob.handler({}, context(now));
    expect(heartbeat).toMatchObject({ stale: 1, alerts: 1, more: false });
    expect(await lifecycleTimersJob.handler({}, context(now))).toMatchObject({ unenrollmentsCompleted: 0 });
    expect(await federatedIntakeJob.handler({}, context(now))).toMatchObject({ auto_added: 0, more: false });
    const snapshots = await reportingSnapshotsJob.handler(
      reportingSnapshotsJob.payloadSchema.parse({}),
      context(now),
    );
    expect(snapshots).toMatchObject({ next: null });
    expect(snapshots?.snapshots).toBe(0); // the only enrollment was created today, after yesterday
  });

  test("reporting.snapshots: range payloads validated; a run at its batch limit queues the rest", async () => {
    expect(reportingSnapshotsJob.payloadSchema.safeParse({ from: "2026-01-01" }).success).toBe(false);
    expect(reportingSnapshotsJob.payloadSchema.safeParse({ from: "2026-01-01", to: "x" }).success).toBe(
      false,
    );
    const owner = await newAccount(db);
    const device = await newDevice(db, { accountId: owner.id });
    await newEnrollment(db, { deviceId: device.id, enrolledBy: owner.id });
    const now = new Date();
    const today = now.toISOString().slice(0, 10);
    queued.length = 0;
    const payload = reportingSnapshotsJob.payloadSchema.parse({ from: today, to: today });
    const result = await reportingSnapshotsJob.handler(
      payload,
      context(now, { maxBatchesPerRun: 1, batchSize: 1 }),
    );
    expect(result).toMatchObject({ from: today, to: today, snapshots: 1 });
    expect(result?.next).not.toBeNull();
    expect(queued).toEqual([
      {
        id: "reporting.snapshots",
        payload: { from: today, to: today, cursor: result?.next },
        jobKey: `more:reporting.snapshots:${today}:${today}`,
      },
    ]);
    // Resumed from the cursor, the day completes.
    const rest = await reportingSnapshotsJob.handler(
      reportingSnapshotsJob.payloadSchema.parse(queued[0]?.payload),
      context(now),
    );
    expect(rest).toMatchObject({ snapshots: 1, next: null });
    const [count] = await db.owner<{ n: number }[]>`
      select count(*)::int as n from reporting_snapshots where snapshot_date = ${today}::date`;
    expect(count?.n).toBe(2);
  });
});
