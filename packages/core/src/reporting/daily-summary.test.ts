/**
 * computeDailySummary against real PostgreSQL, as the application role: the 9.5 summary of one UTC day,
 * validated, reading one events partition, with the reader's row-level security.
 */
import { reportingSummarySchema } from "@betblocker/common/config/reporting-summary.schema";
import { isAppError } from "@betblocker/common/errors/app-error";
import type { Sql } from "@betblocker/db/client";
import {
  DAY_BLOCK_BREAKDOWN_SQL,
  DAY_EVENT_COUNTS_SQL,
  DAY_TOP_DOMAINS_SQL,
} from "@betblocker/db/repositories/reporting.repository";
import { createTestDatabase, type TestDatabase } from "@betblocker/db/testing";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { computeDailySummary, TOP_BLOCKED_DOMAINS_LIMIT } from "./daily-summary";

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase();
});

afterAll(async () => {
  await db?.drop();
});

const DAY = 86_400_000;
/** A fixed day in the past, so that "now" never cuts it short; its month gets a partition on demand. */
const DATE = new Date(Date.now() - 3 * DAY).toISOString().slice(0, 10);
const at = (time: string, date = DATE) => new Date(`${date}T${time}Z`);

let seq = 0;
async function account(role = "user"): Promise<number> {
  seq += 1;
  const [row] = await db.owner<{ id: number }[]>`
    insert into accounts (email, password_hash, role) values (${`sum-${process.pid}-${seq}@example.test`}, 'x', ${role}::account_role)
    returning id`;
  return row?.id as number;
}

async function enrollment(
  options: { reportingConfig?: unknown; protectionConfig?: unknown; createdAt?: Date } = {},
) {
  const owner = await account();
  const partner = await account("partner");
  const [device] = await db.owner<{ id: number }[]>`
    insert into devices (account_id, platform, status) values (${owner}, 'linux', 'active') returning id`;
  const [row] = await db.owner<{ id: number }[]>`
    insert into enrollments (device_id, enrolled_by_account_id, tier, reporting_config, protection_config, created_at)
    values (${device?.id as number}, ${partner}, 'partner', ${db.owner.json((options.reportingConfig ?? {}) as never)},
            ${db.owner.json((options.protectionConfig ?? {}) as never)}, ${(options.createdAt ?? new Date(Date.now() - 30 * DAY)).toISOString()})
    returning id`;
  return { id: row?.id as number, deviceId: device?.id as number, owner, partner };
}

async function events(
  target: { id: number; deviceId: number },
  rows: { type: string; metadata?: Record<string, unknown>; at: Date; visible?: boolean }[],
) {
  for (const row of rows) {
    await db.owner`select ensure_events_partition(${row.at.toISOString().slice(0, 10)}::date)`;
    await db.owner`
      insert into events (device_id, enrollment_id, event_type, metadata, created_at, visible_to_authority)
      values (${target.deviceId}, ${target.id}, ${row.type}::event_type, ${db.owner.json((row.metadata ?? {}) as never)},
              ${row.at.toISOString()}, ${row.visible ?? true})`;
  }
}

const asReader = <T>(accountId: number, fn: (sql: Sql) => Promise<T>) =>
  db.asApp({ accountId, role: "user" }, (tx) => fn(tx as unknown as Sql));

describe("computeDailySummary", () => {
  test("aggregates one UTC day into a valid 9.5 summary (blocks by layer and category, top domains, totals)", async () => {
    const e = await enrollment({ reportingConfig: { aggregation_level: "detailed" } });
    await events(e, [
      {
        type: "block",
        metadata: { domain: "casino.example", category: "casino", layer: "dns" },
        at: at("00:00:00"),
      },
      {
        type: "block",
        metadata: { domain: "casino.example", category: "casino", layer: "dns" },
        at: at("08:00:00"),
      },
      {
        type: "block",
        metadata: { domain: "casino.example", category: "casino", layer: "browser" },
        at: at("09:00:00"),
      },
      {
        type: "block",
        metadata: { domain: "bet.example", category: "sports_betting", layer: "dns" },
        at: at("10:00:00"),
      },
      { type: "block", metadata: { layer: "dns" }, at: at("11:00:00") },
      // Not valid as stored (bad layer, bad category, bad domain): still a block, counted in dns, nothing else.
      {
        type: "block",
        metadata: { domain: "NOT A DOMAIN", category: "Bad Category!", layer: "satellite" },
        at: at("11:30:00"),
      },
      {
        type: "app_block",
        metadata: { application_id: "com.casino.app", category: "casino" },
        at: at("12:00:00"),
      },
      { type: "install_block", metadata: { application_id: "com.bet.app" }, at: at("12:30:00") },
      { type: "bypass_attempt", metadata: { method: "vpn_detected" }, at: at("13:00:00") },
      { type: "vpn_detected", metadata: { action_taken: "alert" }, at: at("13:30:00") },
      { type: "tamper", metadata: { type: "service_stopped" }, at: at("14:00:00") },
      { type: "extension_removed", metadata: { browser: "firefox", extension_id: "x" }, at: at("14:30:00") },
      { type: "config_change", metadata: {}, at: at("15:00:00") },
      { type: "heartbeat", at: at("16:00:00") },
      { type: "heartbeat", at: at("23:59:59.999") },
      // Neighbouring days are not part of it.
      {
        type: "block",
        metadata: { domain: "casino.example", layer: "dns" },
        at: new Date(at("00:00:00").getTime() - 1),
      },
      {
        type: "block",
        metadata: { domain: "casino.example", layer: "dns" },
        at: new Date(at("00:00:00").getTime() + DAY),
      },
    ]);
    const summary = await asReader(e.owner, (sql) => computeDailySummary(sql, e.id, DATE));
    expect(reportingSummarySchema.parse(summary)).toEqual(summary);
    expect(summary).toEqual({
      total_blocks: 8,
      total_bypass_attempts: 2,
      total_tamper_events: 2,
      total_heartbeats: 2,
      missed_heartbeats: 288 - 2,
      top_blocked_domains: [
        { domain: "casino.example", count: 3 },
        { domain: "bet.example", count: 1 },
      ],
      blocks_by_category: { casino: 4, sports_betting: 1 },
      blocks_by_layer: { dns: 5, application: 2, browser: 1 },
      device_status_at_end_of_day: "active",
    });
  });

  test("aggregated enrollments (and invalid reporting configs) never get domain names", async () => {
    for (const reportingConfig of [{}, { aggregation_level: "aggregated" }, { aggregation_level: 7 }]) {
      const e = await enrollment({ reportingConfig });
      await events(e, [
        { type: "block", metadata: { domain: "casino.example", layer: "dns" }, at: at("10:00:00") },
      ]);
      const summary = await asReader(e.partner, (sql) => computeDailySummary(sql, e.id, DATE));
      expect(summary.total_blocks).toBe(1);
      expect(summary.top_blocked_domains).toEqual([]);
    }
  });

  test(`top_blocked_domains keeps the ${TOP_BLOCKED_DOMAINS_LIMIT} most blocked, ties by name`, async () => {
    const e = await enrollment({ reportingConfig: { aggregation_level: "detailed" } });
    const rows = [];
    for (let i = 0; i < TOP_BLOCKED_DOMAINS_LIMIT + 5; i++) {
      const times = i < 3 ? 3 - i + 1 : 1;
      for (let t = 0; t < times; t++)
        rows.push({
          type: "block",
          metadata: { domain: `d${String(i).padStart(2, "0")}.example`, layer: "dns" },
          at: at("10:00:00"),
        });
    }
    await events(e, rows);
    const summary = await asReader(e.owner, (sql) => computeDailySummary(sql, e.id, DATE));
    expect(summary.top_blocked_domains).toHaveLength(TOP_BLOCKED_DOMAINS_LIMIT);
    expect(summary.top_blocked_domains.slice(0, 5)).toEqual([
      { domain: "d00.example", count: 4 },
      { domain: "d01.example", count: 3 },
      { domain: "d02.example", count: 2 },
      { domain: "d03.example", count: 1 },
      { domain: "d04.example", count: 1 },
    ]);
  });

  test("missed heartbeats: per the enrollment's interval, only since the enrollment existed, only up to now", async () => {
    const hourly = { heartbeat_interval_seconds: 3600 };
    const full = await enrollment({ protectionConfig: hourly });
    await events(full, [
      { type: "heartbeat", at: at("01:00:00") },
      { type: "heartbeat", at: at("02:00:00") },
    ]);
    expect(
      (await asReader(full.owner, (sql) => computeDailySummary(sql, full.id, DATE))).missed_heartbeats,
    ).toBe(22);

    const lateStart = await enrollment({ protectionConfig: hourly, createdAt: at("18:00:00") });
    expect(
      (await asReader(lateStart.owner, (sql) => computeDailySummary(sql, lateStart.id, DATE)))
        .missed_heartbeats,
    ).toBe(6);

    const partial = await asReader(full.owner, (sql) =>
      computeDailySummary(sql, full.id, DATE, { now: at("06:30:00") }),
    );
    expect(partial.missed_heartbeats).toBe(4);
    // More heartbeats than expected is not a negative miss.
    const chatty = await enrollment({ protectionConfig: { heartbeat_interval_seconds: 86_400 } });
    await events(chatty, [
      { type: "heartbeat", at: at("01:00:00") },
      { type: "heartbeat", at: at("02:00:00") },
    ]);
    expect(
      (await asReader(chatty.owner, (sql) => computeDailySummary(sql, chatty.id, DATE))).missed_heartbeats,
    ).toBe(0);
  });

  test("device_status_at_end_of_day comes from the devices audit trail as of the end of that day", async () => {
    const e = await enrollment();
    const before = new Date(at("00:00:00").getTime() - DAY).toISOString().slice(0, 10);
    await db.owner`update devices set status = 'decommissioned' where id = ${e.deviceId}`;
    // History: active two days before, disabled at noon of DATE (the real audit rows are from now).
    await db.owner`
      insert into audit_log (table_name, row_id, action, new_values, created_at) values
        ('devices', ${e.deviceId}, 'UPDATE', '{"status": "active"}', ${at("12:00:00", before).toISOString()}),
        ('devices', ${e.deviceId}, 'UPDATE', '{"status": "disabled"}', ${at("12:00:00").toISOString()})`;
    const statusOn = async (date: string) =>
      (await asReader(e.owner, (sql) => computeDailySummary(sql, e.id, date))).device_status_at_end_of_day;
    expect(await statusOn(before)).toBe("active");
    expect(await statusOn(DATE)).toBe("disabled");
    // Today: as of now, which is after the real 'decommissioned' update.
    expect(await statusOn(new Date().toISOString().slice(0, 10))).toBe("decommissioned");
  });

  test("the partner of an unenrolled device (no longer visible under the devices policy) still gets the status", async () => {
    const e = await enrollment();
    await db.owner`update enrollments set status = 'unenrolled' where id = ${e.id}`;
    const visibleDevices = await asReader(
      e.partner,
      (sql) => sql`select id from devices where id = ${e.deviceId}`,
    );
    expect(visibleDevices).toHaveLength(0);
    const summary = await asReader(e.partner, (sql) => computeDailySummary(sql, e.id, DATE));
    expect(summary.device_status_at_end_of_day).toBe("active");
  });

  test("audience enrolling_account counts only events stored visible to the authority", async () => {
    const e = await enrollment({ reportingConfig: { aggregation_level: "detailed" } });
    await events(e, [
      {
        type: "block",
        metadata: { domain: "seen.example", category: "casino", layer: "dns" },
        at: at("10:00:00"),
      },
      {
        type: "block",
        metadata: { domain: "hidden.example", category: "lottery", layer: "dns" },
        at: at("11:00:00"),
        visible: false,
      },
    ]);
    const all = await asReader(e.owner, (sql) => computeDailySummary(sql, e.id, DATE));
    const visible = await asReader(e.partner, (sql) =>
      computeDailySummary(sql, e.id, DATE, { audience: "enrolling_account" }),
    );
    expect(all.total_blocks).toBe(2);
    expect(visible.total_blocks).toBe(1);
    expect(visible.blocks_by_category).toEqual({ casino: 1 });
    expect(JSON.stringify(visible)).not.toContain("hidden.example");
  });

  test("NOT_FOUND for a reader who may not see the enrollment; VALIDATION_FAILED for a date that does not exist", async () => {
    const e = await enrollment();
    const stranger = await account();
    await expect(asReader(stranger, (sql) => computeDailySummary(sql, e.id, DATE))).rejects.toSatisfy(
      (error) => isAppError(error, "NOT_FOUND"),
    );
    for (const bad of ["2026-02-30", "yesterday", "2026-3-1", "2026-03-01'; --"]) {
      await expect(asReader(e.owner, (sql) => computeDailySummary(sql, e.id, bad))).rejects.toSatisfy(
        (error) => isAppError(error, "VALIDATION_FAILED"),
      );
    }
  });

  test("works for the worker too: its system context, an admin context, a connection that bypasses RLS", async () => {
    const e = await enrollment();
    await events(e, [{ type: "tamper", metadata: { type: "service_stopped" }, at: at("10:00:00") }]);
    const admin = await db.asApp({ accountId: null, role: "admin" }, (tx) =>
      computeDailySummary(tx, e.id, DATE),
    );
    // The worker's context (no account, role 'system'; enrollments are readable to it since 0020).
    const system = await db.asApp({ accountId: null, role: "system" }, (tx) =>
      computeDailySummary(tx, e.id, DATE),
    );
    const owner = await computeDailySummary(db.owner, e.id, DATE);
    expect(admin.total_tamper_events).toBe(1);
    expect(owner).toEqual(admin);
    expect(system).toEqual(admin);
    expect(system.device_status_at_end_of_day).toBe("active");
  });

  test("each day aggregate reads exactly one events partition (pruning on the UTC day range)", async () => {
    const start = at("00:00:00").toISOString();
    const end = new Date(at("00:00:00").getTime() + DAY).toISOString();
    const partitionsOf = async (text: string, params: unknown[]) => {
      const [plan] = await db.owner.unsafe(`explain (format json) ${text}`, params as never[]);
      const names = new Set<string>();
      const walk = (node: Record<string, unknown>) => {
        if (typeof node["Relation Name"] === "string") names.add(node["Relation Name"]);
        for (const child of (node.Plans as Record<string, unknown>[] | undefined) ?? []) walk(child);
      };
      const explained = (plan?.["QUERY PLAN"] ?? []) as { Plan: Record<string, unknown> }[];
      walk(explained[0]?.Plan ?? {});
      return [...names];
    };
    const [partitionCount] =
      await db.owner`select count(*)::int as n from pg_inherits where inhparent = 'events'::regclass`;
    expect(partitionCount?.n).toBeGreaterThan(2);
    const partition = `events_y${DATE.slice(0, 4)}m${DATE.slice(5, 7)}`;
    expect(await partitionsOf(DAY_EVENT_COUNTS_SQL, [1, start, end, false])).toEqual([partition]);
    expect(await partitionsOf(DAY_BLOCK_BREAKDOWN_SQL, [1, start, end, true])).toEqual([partition]);
    expect(await partitionsOf(DAY_TOP_DOMAINS_SQL, [1, start, end, false, 20])).toEqual([partition]);
  });
});
