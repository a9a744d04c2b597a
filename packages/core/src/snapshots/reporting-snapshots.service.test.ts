/**
 * Reporting snapshots on a real PostgreSQL: yesterday's snapshots are upserted for enrollments active that
 * day (not for one created later), and a range recompute replaces them idempotently, across batches.
 */
import { newAccount, newDevice } from "@betblocker/db/schema/factories";
import { createTestDatabase, type TestDatabase } from "@betblocker/db/testing";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { addDays, utcDay } from "../reporting/date-range";
import { runReportingSnapshots, yesterdayUtc } from "./reporting-snapshots.service";

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase();
});

afterAll(async () => {
  await db?.drop();
});

async function enrollment(createdAt: Date): Promise<{ id: number; deviceId: number }> {
  const owner = await newAccount(db);
  const device = await newDevice(db, { accountId: owner.id });
  const [row] = await db.owner<{ id: number }[]>`
    insert into enrollments (device_id, enrolled_by_account_id, tier, created_at)
    values (${device.id}, ${owner.id}, 'self', ${createdAt}) returning id`;
  if (!row) throw new Error("enrollment not created");
  return { id: row.id, deviceId: device.id };
}

async function block(e: { id: number; deviceId: number }, at: Date): Promise<void> {
  await db.owner`select ensure_events_partition(${utcDay(at)}::date)`;
  await db.owner`
    insert into events (device_id, enrollment_id, event_type, metadata, created_at)
    values (${e.deviceId}, ${e.id}, 'block', ${db.owner.json({})}, ${at})`;
}

async function snapshots(enrollmentId: number) {
  return db.owner<{ date: string; total_blocks: number }[]>`
    select to_char(snapshot_date, 'YYYY-MM-DD') as date, (summary ->> 'total_blocks')::int as total_blocks
    from reporting_snapshots where enrollment_id = ${enrollmentId} order by snapshot_date`;
}

describe("reporting snapshots", () => {
  test("yesterday for active enrollments; a range recompute upserts", async () => {
    const now = new Date();
    const yesterday = yesterdayUtc(now);
    const dayBefore = addDays(yesterday, -1);
    const old = await enrollment(new Date(now.getTime() - 5 * 86_400_000));
    const others = await Promise.all(
      [1, 2, 3].map(() => enrollment(new Date(now.getTime() - 5 * 86_400_000))),
    );
    const fresh = await enrollment(now);
    await block(old, new Date(`${yesterday}T10:00:00.000Z`));
    await block(old, new Date(`${yesterday}T11:00:00.000Z`));
    await block(old, new Date(`${dayBefore}T11:00:00.000Z`));

    const first = await runReportingSnapshots(db.app, { from: yesterday, to: yesterday, now });
    expect(first.next).toBeNull();
    expect(await snapshots(old.id)).toEqual([{ date: yesterday, total_blocks: 2 }]);
    for (const other of others)
      expect(await snapshots(other.id)).toEqual([{ date: yesterday, total_blocks: 0 }]);
    expect(await snapshots(fresh.id)).toEqual([]);

    // A late event, then a recompute of two days in batches of 2 with a 1-batch limit (resumed by cursor).
    await block(old, new Date(`${yesterday}T12:00:00.000Z`));
    let cursor = null;
    let runs = 0;
    do {
      const report = await runReportingSnapshots(db.app, {
        from: dayBefore,
        to: yesterday,
        cursor,
        now,
        batchSize: 2,
        maxBatches: 1,
      });
      cursor = report.next;
      runs += 1;
    } while (cursor && runs < 20);
    expect(cursor).toBeNull();
    expect(runs).toBeGreaterThan(2);
    expect(await snapshots(old.id)).toEqual([
      { date: dayBefore, total_blocks: 1 },
      { date: yesterday, total_blocks: 3 },
    ]);
    const [count] = await db.owner<{ n: number }[]>`
      select count(*)::int as n from reporting_snapshots where enrollment_id = any(${[old.id, ...others.map((o) => o.id)]}::bigint[])`;
    expect(count?.n).toBe(8);

    await expect(runReportingSnapshots(db.app, { from: yesterday, to: dayBefore, now })).rejects.toThrow(
      /after/,
    );
  });
});
