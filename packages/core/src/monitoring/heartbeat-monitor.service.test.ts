/**
 * The heartbeat monitor on a real PostgreSQL: stale detection against 3 x the enrollment's interval, exactly
 * one alert per incident and recipient, recovery notice once, two monitors at once, alert settings honoured.
 */
import { newAccount, newDevice, newEnrollment } from "@betblocker/db/schema/factories";
import { createTestDatabase, type TestDatabase } from "@betblocker/db/testing";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { heartbeatIncidentKey, runHeartbeatMonitor } from "./heartbeat-monitor.service";

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase();
});

afterAll(async () => {
  await db?.drop();
});

const MIN = 60_000;

interface Fixture {
  deviceId: number;
  enrollmentId: number;
  ownerEmail: string;
  partnerEmail: string;
}

async function fixture(options: {
  lastHeartbeat: Date | null;
  intervalSeconds?: number;
  reportingConfig?: Record<string, unknown>;
  enrollmentStatus?: string;
}): Promise<Fixture> {
  const owner = await newAccount(db);
  const partner = await newAccount(db, { role: "partner" });
  const device = await newDevice(db, { accountId: owner.id });
  const enrollment = await newEnrollment(db, {
    deviceId: device.id,
    enrolledBy: partner.id,
    tier: "partner",
    status: options.enrollmentStatus ?? "active",
  });
  await db.owner`
    update enrollments
    set protection_config = ${db.owner.json(
      options.intervalSeconds === undefined ? {} : { heartbeat_interval_seconds: options.intervalSeconds },
    )},
        reporting_config = ${db.owner.json((options.reportingConfig ?? {}) as never)}
    where id = ${enrollment.id}`;
  await db.owner`update devices set status = 'active', last_heartbeat = ${options.lastHeartbeat} where id = ${device.id}`;
  return {
    deviceId: device.id,
    enrollmentId: enrollment.id,
    ownerEmail: owner.email,
    partnerEmail: partner.email,
  };
}

async function alertsFor(deviceId: number) {
  return db.owner<
    { incident_key: string; recipient: string; channel: string; payload: Record<string, unknown> }[]
  >`
    select incident_key, recipient, channel, payload from alert_deliveries
    where incident_key like ${`heartbeat:device:${deviceId}:%`} order by id`;
}

async function deviceStatus(deviceId: number): Promise<string> {
  const [row] = await db.owner<{ status: string }[]>`select status::text from devices where id = ${deviceId}`;
  return row?.status ?? "missing";
}

describe("heartbeat monitor", () => {
  test("stale after 3 intervals: one alert per recipient, once per incident; recovery notice once", async () => {
    const now = new Date();
    const last = new Date(now.getTime() - 16 * MIN); // interval 300 s: stale after 15 min
    const stale = await fixture({ lastHeartbeat: last });
    const fresh = await fixture({ lastHeartbeat: new Date(now.getTime() - 10 * MIN) });
    const customInterval = await fixture({ lastHeartbeat: last, intervalSeconds: 600 }); // stale after 30 min

    const first = await runHeartbeatMonitor(db.app, { now });
    expect(first.stale).toBeGreaterThanOrEqual(1);
    expect(await deviceStatus(stale.deviceId)).toBe("stale");
    expect(await deviceStatus(fresh.deviceId)).toBe("active");
    expect(await deviceStatus(customInterval.deviceId)).toBe("active");

    const key = heartbeatIncidentKey(stale.deviceId, last);
    let alerts = await alertsFor(stale.deviceId);
    expect(alerts.map((a) => [a.incident_key, a.channel, a.recipient]).sort()).toEqual(
      [
        [key, "email", stale.ownerEmail],
        [key, "email", stale.partnerEmail],
      ].sort(),
    );
    expect(alerts[0]?.payload.kind).toBe("missed_heartbeat");

    // Later runs while still stale: nothing new.
    await runHeartbeatMonitor(db.app, { now: new Date(now.getTime() + MIN) });
    await runHeartbeatMonitor(db.app, { now: new Date(now.getTime() + 2 * MIN) });
    expect(await alertsFor(stale.deviceId)).toHaveLength(2);
    expect(await alertsFor(fresh.deviceId)).toHaveLength(0);

    // A heartbeat arrives (the API sets the device active).
    const beat = new Date(now.getTime() + 3 * MIN);
    await db.owner`update devices set status = 'active', last_heartbeat = ${beat} where id = ${stale.deviceId}`;
    const recovery = await runHeartbeatMonitor(db.app, { now: new Date(now.getTime() + 4 * MIN) });
    expect(recovery.recovered).toBeGreaterThanOrEqual(1);
    await runHeartbeatMonitor(db.app, { now: new Date(now.getTime() + 5 * MIN) });
    alerts = await alertsFor(stale.deviceId);
    expect(alerts).toHaveLength(4);
    expect(
      alerts
        .filter((a) => a.incident_key === `${key}:recovered`)
        .map((a) => a.recipient)
        .sort(),
    ).toEqual([stale.ownerEmail, stale.partnerEmail].sort());
    const incidents = await db.owner<{ closed_at: Date | null; recovered_at: Date | null }[]>`
      select closed_at, recovered_at from device_heartbeat_incidents where device_id = ${stale.deviceId}`;
    expect(incidents).toHaveLength(1);
    expect(incidents[0]?.closed_at).not.toBeNull();
    expect(incidents[0]?.recovered_at?.toISOString()).toBe(beat.toISOString());

    // It goes silent again: a new incident, a new alert.
    const later = new Date(beat.getTime() + 16 * MIN);
    await runHeartbeatMonitor(db.app, { now: later });
    alerts = await alertsFor(stale.deviceId);
    expect(alerts.filter((a) => a.incident_key === heartbeatIncidentKey(stale.deviceId, beat))).toHaveLength(
      2,
    );
    expect(await deviceStatus(stale.deviceId)).toBe("stale");
  });

  test("two monitors at once: one alert per recipient", async () => {
    const now = new Date();
    const devices = await Promise.all(
      Array.from({ length: 6 }, () => fixture({ lastHeartbeat: new Date(now.getTime() - 60 * MIN) })),
    );
    const reports = await Promise.all([
      runHeartbeatMonitor(db.app, { now, batchSize: 2 }),
      runHeartbeatMonitor(db.app, { now, batchSize: 2 }),
      runHeartbeatMonitor(db.app, { now, batchSize: 3 }),
    ]);
    expect(reports.reduce((n, r) => n + r.stale, 0)).toBeGreaterThanOrEqual(6);
    for (const device of devices) {
      expect(await alertsFor(device.deviceId)).toHaveLength(2);
      expect(await deviceStatus(device.deviceId)).toBe("stale");
      const [open] = await db.owner<{ n: number }[]>`
        select count(*)::int as n from device_heartbeat_incidents where device_id = ${device.deviceId}`;
      expect(open?.n).toBe(1);
    }
  });

  test("alert settings: alerts off or no channel -> stale but unheard; push falls back to e-mail; ended enrollments ignored", async () => {
    const now = new Date();
    const last = new Date(now.getTime() - 60 * MIN);
    const off = await fixture({
      lastHeartbeat: last,
      reportingConfig: { alerts: { on_missed_heartbeat: false } },
    });
    const noEmail = await fixture({
      lastHeartbeat: last,
      reportingConfig: { alerts: { alert_channels: [] } },
    });
    const pushOnly = await fixture({
      lastHeartbeat: last,
      reportingConfig: { alerts: { alert_channels: ["push"] } },
    });
    const ended = await fixture({ lastHeartbeat: last, enrollmentStatus: "unenrolled" });
    const report = await runHeartbeatMonitor(db.app, { now });
    expect(report.unheard).toBeGreaterThanOrEqual(2);
    expect(await deviceStatus(off.deviceId)).toBe("stale");
    expect(await deviceStatus(noEmail.deviceId)).toBe("stale");
    expect(await alertsFor(off.deviceId)).toHaveLength(0);
    expect(await alertsFor(noEmail.deviceId)).toHaveLength(0);
    // No push/webhook target exists yet: e-mail rather than nothing.
    expect((await alertsFor(pushOnly.deviceId)).map((a) => a.channel)).toEqual(["email", "email"]);
    expect(await deviceStatus(ended.deviceId)).toBe("active");
    expect(await alertsFor(ended.deviceId)).toHaveLength(0);
  });
});
