/**
 * GET /api/v1/enrollments/{id}/events and /reports over real HTTP on 127.0.0.1, with the pool as the
 * application role: who may read (owner, enrolling partner; everyone else 404), what the enrolling partner
 * sees per report_to_authority switch and aggregation level, snapshots vs on-the-fly summaries, validation,
 * and stable cursor pagination.
 */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import {
  at,
  insertEvents,
  insertSnapshot,
  newDevice,
  newEnrollment,
  type SignedInAccount,
  signInAs,
  utcDate,
} from "../../testing/tenant-factories";
import { RELAXED_RATE_LIMITS, startTestServer, type TestServer } from "../../testing/test-server";

let server: TestServer;
let owner: SignedInAccount;
let partner: SignedInAccount;
let stranger: SignedInAccount;
let admin: SignedInAccount;

const YESTERDAY = utcDate(-1);
const TWO_DAYS_AGO = utcDate(-2);
const TODAY = utcDate(0);

/** Identifying strings in the standard day of events: none may reach an aggregated reader. */
const SECRETS = [
  "casino-alpha.example",
  "sportsbet-beta.example",
  "com.casino-alpha.app",
  "hidden-casino.example",
  "vpn.casino",
];

const CATEGORIES = [
  "blocks",
  "bypass_attempts",
  "tamper_events",
  "heartbeat_status",
  "config_changes",
] as const;
type Category = (typeof CATEGORIES)[number];

function config(level: "aggregated" | "detailed", off: Category[] = []) {
  return {
    aggregation_level: level,
    report_to_authority: Object.fromEntries(CATEGORIES.map((c) => [c, !off.includes(c)])),
  };
}

/** A device of `owner` enrolled by `partner` with this reporting_config, and the standard day of events. */
async function scenario(reportingConfig: unknown, options: { createdAt?: Date } = {}) {
  const device = await newDevice(server.db, owner.id);
  const enrollment = await newEnrollment(server.db, {
    deviceId: device.id,
    enrolledBy: partner.id,
    tier: "partner",
    reportingConfig,
    createdAt: options.createdAt ?? new Date(Date.now() - 10 * 86_400_000),
  });
  const target = { deviceId: device.id, enrollmentId: enrollment.id };
  await insertEvents(server.db, target, [
    {
      type: "block",
      metadata: { domain: "casino-alpha.example", category: "casino", layer: "dns", query_type: "A" },
      at: at(YESTERDAY, "08:00"),
    },
    {
      type: "block",
      metadata: { domain: "casino-alpha.example", category: "casino", layer: "dns" },
      at: at(YESTERDAY, "08:01"),
    },
    {
      type: "block",
      metadata: { domain: "casino-alpha.example", category: "casino", layer: "browser" },
      at: at(YESTERDAY, "08:02"),
    },
    {
      type: "block",
      metadata: { domain: "sportsbet-beta.example", category: "sports_betting", layer: "dns" },
      at: at(YESTERDAY, "09:00"),
    },
    {
      type: "app_block",
      metadata: { application_id: "com.casino-alpha.app", category: "casino" },
      at: at(YESTERDAY, "09:30"),
    },
    {
      type: "bypass_attempt",
      metadata: { method: "vpn_detected", details: "tunnel to vpn.casino" },
      at: at(YESTERDAY, "10:00"),
    },
    { type: "tamper", metadata: { type: "service_stopped", details: "stopped" }, at: at(YESTERDAY, "11:00") },
    {
      type: "heartbeat",
      metadata: {
        agent_version: "1.2.3",
        blocklist_version: 3,
        uptime_seconds: 60,
        blocked_count_since_last: 1,
      },
      at: at(YESTERDAY, "12:00"),
    },
    {
      type: "config_change",
      metadata: {
        field: "protection_config.dns.block_doh",
        old_value: true,
        new_value: false,
        changed_by_account_id: owner.id,
      },
      at: at(YESTERDAY, "13:00"),
    },
    // Recorded while blocks were not reported to the partner: the owner's only, forever.
    {
      type: "block",
      metadata: { domain: "hidden-casino.example", category: "lottery", layer: "dns" },
      at: at(YESTERDAY, "14:00"),
      visibleToAuthority: false,
    },
  ]);
  return { device, enrollment, target };
}

const events = (account: SignedInAccount | undefined, id: string, query = "") =>
  server.request(
    "GET",
    `/api/v1/enrollments/${id}/events${query}`,
    account ? { token: account.accessToken } : {},
  );
const reports = (account: SignedInAccount | undefined, id: string, query = "") =>
  server.request(
    "GET",
    `/api/v1/enrollments/${id}/reports${query}`,
    account ? { token: account.accessToken } : {},
  );

function fieldPaths(body: { error: { details?: { fieldErrors?: { path: string }[] } } }): string[] {
  return (body.error.details?.fieldErrors ?? []).map((e) => e.path);
}

beforeAll(async () => {
  server = await startTestServer({
    config: {
      exposeDevTokens: true,
      rateLimits: RELAXED_RATE_LIMITS,
    },
  });
  owner = await signInAs(server, "user");
  partner = await signInAs(server, "partner");
  stranger = await signInAs(server, "user");
  admin = await signInAs(server, "admin");
});

afterAll(async () => {
  await server?.close();
});

describe("who may read an enrollment's reports", () => {
  test("the owner sees every event, domains and hidden-from-authority events included", async () => {
    const { enrollment } = await scenario(config("aggregated"));
    const response = await events(owner, enrollment.publicId, `?from=${YESTERDAY}&to=${YESTERDAY}`);
    expect(response.status).toBe(200);
    expect(response.headers.get("cache-control")).toBe("private, no-store");
    expect(response.body).toMatchObject({
      enrollment_id: enrollment.publicId,
      from: YESTERDAY,
      to: YESTERDAY,
      visibility: { reader: "owner", domains_visible: true },
      next_cursor: null,
    });
    expect(response.body.items).toHaveLength(10);
    expect(response.body.items[0]).toEqual({
      event_type: "block",
      created_at: at(YESTERDAY, "14:00").toISOString(),
      metadata: { domain: "hidden-casino.example", category: "lottery", layer: "dns" },
    });
    for (const secret of SECRETS) expect(response.text).toContain(secret);
  });

  test("the enrolling partner with detailed reporting sees domains, but never events stored hidden from them", async () => {
    const { enrollment } = await scenario(config("detailed"));
    const response = await events(partner, enrollment.publicId, `?from=${YESTERDAY}&to=${YESTERDAY}`);
    expect(response.status).toBe(200);
    expect(response.body.visibility).toEqual({
      reader: "enrolling_account",
      domains_visible: true,
      shared: {
        blocks: true,
        bypass_attempts: true,
        tamper_events: true,
        heartbeat_status: true,
        config_changes: true,
      },
    });
    expect(response.body.items).toHaveLength(9);
    expect(response.text).toContain("casino-alpha.example");
    expect(response.text).not.toContain("hidden-casino.example");
  });

  test("aggregated: the partner gets counts and categories, never a domain name, app id or free text", async () => {
    const { enrollment } = await scenario(config("aggregated"));
    const list = await events(partner, enrollment.publicId, `?from=${YESTERDAY}&to=${YESTERDAY}`);
    const daily = await reports(partner, enrollment.publicId, `?from=${YESTERDAY}&to=${YESTERDAY}`);
    expect([list.status, daily.status]).toEqual([200, 200]);
    for (const secret of SECRETS) {
      expect(list.text).not.toContain(secret);
      expect(daily.text).not.toContain(secret);
    }
    expect(list.body.visibility.domains_visible).toBe(false);
    const blocks = list.body.items.filter((e: { event_type: string }) => e.event_type === "block");
    expect(blocks.map((e: { metadata: unknown }) => e.metadata)).toEqual([
      { category: "sports_betting", layer: "dns" },
      { category: "casino", layer: "browser" },
      { category: "casino", layer: "dns" },
      { category: "casino", layer: "dns", query_type: "A" },
    ]);
    expect(daily.body.items).toEqual([
      {
        date: YESTERDAY,
        source: "computed",
        complete: true,
        summary: expect.objectContaining({
          total_blocks: 5,
          top_blocked_domains: [],
          blocks_by_category: { casino: 4, sports_betting: 1 },
          blocks_by_layer: { dns: 3, application: 1, browser: 1 },
        }),
      },
    ]);
  });

  test.each(CATEGORIES)(
    "report_to_authority.%s = false hides that kind from the partner (events and summary), not from the owner",
    async (off) => {
      const { enrollment } = await scenario(config("detailed", [off]));
      const expectedHidden: Record<Category, string[]> = {
        blocks: ["block", "app_block"],
        bypass_attempts: ["bypass_attempt"],
        tamper_events: ["tamper"],
        heartbeat_status: ["heartbeat"],
        config_changes: ["config_change"],
      };
      const nullFields: Record<Category, string[]> = {
        blocks: ["total_blocks", "top_blocked_domains", "blocks_by_category", "blocks_by_layer"],
        bypass_attempts: ["total_bypass_attempts"],
        tamper_events: ["total_tamper_events"],
        heartbeat_status: ["total_heartbeats", "missed_heartbeats", "device_status_at_end_of_day"],
        config_changes: [],
      };
      const query = `?from=${YESTERDAY}&to=${YESTERDAY}`;
      const partnerTypes = new Set(
        (await events(partner, enrollment.publicId, query)).body.items.map(
          (e: { event_type: string }) => e.event_type,
        ),
      );
      const ownerTypes = new Set(
        (await events(owner, enrollment.publicId, query)).body.items.map(
          (e: { event_type: string }) => e.event_type,
        ),
      );
      for (const type of expectedHidden[off]) {
        expect(partnerTypes.has(type)).toBe(false);
        expect(ownerTypes.has(type)).toBe(true);
      }
      expect(partnerTypes.size).toBe(ownerTypes.size - expectedHidden[off].length);
      // Asking for a hidden type explicitly gives nothing either.
      const explicit = await events(partner, enrollment.publicId, `${query}&type=${expectedHidden[off][0]}`);
      expect(explicit.body.items).toEqual([]);

      const summary = (await reports(partner, enrollment.publicId, query)).body.items[0].summary;
      const nulls = Object.entries(summary)
        .filter(([, v]) => v === null)
        .map(([k]) => k);
      expect(nulls.sort()).toEqual([...nullFields[off]].sort());
      const ownerSummary = (await reports(owner, enrollment.publicId, query)).body.items[0].summary;
      expect(Object.values(ownerSummary).includes(null)).toBe(false);
    },
  );

  test("anyone else gets 404 exactly like an enrollment that does not exist: another user, an admin", async () => {
    const { enrollment } = await scenario(config("detailed"));
    const missing = await events(stranger, crypto.randomUUID());
    expect(missing.status).toBe(404);
    expect(missing.body).toEqual({ error: { code: "NOT_FOUND", message: "enrollment not found" } });
    for (const reader of [stranger, admin]) {
      for (const call of [events, reports]) {
        const response = await call(reader, enrollment.publicId);
        expect({ status: response.status, body: response.body }).toEqual({ status: 404, body: missing.body });
        for (const secret of SECRETS) expect(response.text).not.toContain(secret);
      }
    }
  });

  test("an invalid stored reporting_config fails closed for the partner; the owner is unaffected", async () => {
    const { enrollment } = await scenario({
      aggregation_level: "everything",
      report_to_authority: { blocks: "yes" },
    });
    const response = await events(partner, enrollment.publicId, `?from=${YESTERDAY}&to=${YESTERDAY}`);
    expect(response.status).toBe(200);
    expect(response.body.items).toEqual([]);
    expect(Object.values(response.body.visibility.shared)).toEqual([false, false, false, false, false]);
    expect(
      (await events(owner, enrollment.publicId, `?from=${YESTERDAY}&to=${YESTERDAY}`)).body.items,
    ).toHaveLength(10);
  });

  test("the partner keeps reading an enrollment that ended (device no longer visible to them under RLS)", async () => {
    const { enrollment } = await scenario(config("aggregated"));
    await server.db.owner`update enrollments set status = 'unenrolled' where id = ${enrollment.id}`;
    const response = await reports(partner, enrollment.publicId, `?from=${YESTERDAY}&to=${YESTERDAY}`);
    expect(response.status).toBe(200);
    expect(response.body.items[0].summary.device_status_at_end_of_day).toBe("active");
  });

  test("401 without a token (before any lookup)", async () => {
    const { enrollment } = await scenario(config("detailed"));
    for (const call of [events, reports]) {
      const response = await call(undefined, enrollment.publicId);
      expect(response.status).toBe(401);
      expect(response.body.error.code).toBe("UNAUTHENTICATED");
    }
  });
});

describe("daily reports", () => {
  test("stored snapshots are used; days without one are computed; days before the enrollment and after today are left out", async () => {
    const created = at(TWO_DAYS_AGO, "06:00");
    const { enrollment } = await scenario(config("detailed"), { createdAt: created });
    const stored = {
      total_blocks: 7,
      total_bypass_attempts: 0,
      total_tamper_events: 0,
      total_heartbeats: 280,
      missed_heartbeats: 8,
      top_blocked_domains: [{ domain: "stored-casino.example", count: 7 }],
      blocks_by_category: { casino: 7 },
      blocks_by_layer: { dns: 7, application: 0, browser: 0 },
      device_status_at_end_of_day: "active",
    };
    await insertSnapshot(server.db, enrollment.id, TWO_DAYS_AGO, stored);
    const from = utcDate(-5);
    const to = utcDate(3);
    const response = await reports(owner, enrollment.publicId, `?from=${from}&to=${to}`);
    expect(response.status).toBe(200);
    expect(response.body.from).toBe(from);
    expect(response.body.to).toBe(to);
    expect(
      response.body.items.map((i: { date: string; source: string; complete: boolean }) => [
        i.date,
        i.source,
        i.complete,
      ]),
    ).toEqual([
      [TWO_DAYS_AGO, "snapshot", true],
      [YESTERDAY, "computed", true],
      [TODAY, "computed", false],
    ]);
    expect(response.body.items[0].summary).toEqual(stored);
    expect(response.body.items[1].summary).toMatchObject({
      total_blocks: 6,
      total_bypass_attempts: 1,
      total_tamper_events: 1,
      total_heartbeats: 1,
      top_blocked_domains: [
        { domain: "casino-alpha.example", count: 3 },
        { domain: "hidden-casino.example", count: 1 },
        { domain: "sportsbet-beta.example", count: 1 },
      ],
      blocks_by_layer: { dns: 4, application: 1, browser: 1 },
    });
  });

  test("a stored snapshot with domains is shown without them to an aggregated partner", async () => {
    const { enrollment } = await scenario(config("aggregated"));
    await insertSnapshot(server.db, enrollment.id, TWO_DAYS_AGO, {
      total_blocks: 1,
      total_bypass_attempts: 0,
      total_tamper_events: 0,
      total_heartbeats: 0,
      missed_heartbeats: 288,
      top_blocked_domains: [{ domain: "stored-casino.example", count: 1 }],
      blocks_by_category: {},
      blocks_by_layer: { dns: 1, application: 0, browser: 0 },
      device_status_at_end_of_day: "active",
    });
    const response = await reports(partner, enrollment.publicId, `?from=${TWO_DAYS_AGO}&to=${TWO_DAYS_AGO}`);
    expect(response.body.items).toEqual([
      expect.objectContaining({
        source: "snapshot",
        summary: expect.objectContaining({ total_blocks: 1, top_blocked_domains: [] }),
      }),
    ]);
    expect(response.text).not.toContain("stored-casino");
  });

  test("a snapshot is not used for the partner on a day with events hidden from them: they get the visible count", async () => {
    const { enrollment } = await scenario(config("detailed"));
    await insertSnapshot(server.db, enrollment.id, YESTERDAY, {
      total_blocks: 6,
      total_bypass_attempts: 1,
      total_tamper_events: 1,
      total_heartbeats: 1,
      missed_heartbeats: 287,
      top_blocked_domains: [{ domain: "hidden-casino.example", count: 1 }],
      blocks_by_category: { lottery: 1 },
      blocks_by_layer: { dns: 6, application: 0, browser: 0 },
      device_status_at_end_of_day: "active",
    });
    const query = `?from=${YESTERDAY}&to=${YESTERDAY}`;
    const partnerView = await reports(partner, enrollment.publicId, query);
    expect(partnerView.body.items[0]).toMatchObject({ source: "computed", summary: { total_blocks: 5 } });
    expect(partnerView.text).not.toContain("hidden-casino");
    expect(partnerView.text).not.toContain("lottery");
    const ownerView = await reports(owner, enrollment.publicId, query);
    expect(ownerView.body.items[0]).toMatchObject({ source: "snapshot", summary: { total_blocks: 6 } });
  });

  test("an invalid stored snapshot is recomputed rather than shown", async () => {
    const { enrollment } = await scenario(config("detailed"));
    await insertSnapshot(server.db, enrollment.id, YESTERDAY, { total_blocks: 1 });
    const response = await reports(owner, enrollment.publicId, `?from=${YESTERDAY}&to=${YESTERDAY}`);
    expect(response.body.items[0]).toMatchObject({ source: "computed", summary: { total_blocks: 6 } });
  });

  test("defaults: the last seven days through today", async () => {
    const { enrollment } = await scenario(config("detailed"));
    const response = await reports(owner, enrollment.publicId);
    expect(response.body.from).toBe(utcDate(-6));
    expect(response.body.to).toBe(TODAY);
    expect(response.body.items).toHaveLength(7);
  });
});

describe("validation", () => {
  test("400 field errors: enrollment id, dates, range, type, limit, cursor", async () => {
    const { enrollment } = await scenario(config("detailed"));
    const cases: [string, string, string[]][] = [
      ["not-a-uuid", "", ["params.id"]],
      [enrollment.publicId, "?from=2026-02-30", ["query.from"]],
      [enrollment.publicId, "?from=yesterday&to=2026-13-01", ["query.from", "query.to"]],
      [enrollment.publicId, "?from=2026-03-02&to=2026-03-01", ["query.to"]],
      [enrollment.publicId, "?from=2024-01-01&to=2025-01-01", ["query.to"]],
      [enrollment.publicId, "?type=gambling", ["query.type"]],
      [enrollment.publicId, "?limit=0", ["query.limit"]],
      [enrollment.publicId, "?limit=201", ["query.limit"]],
      [enrollment.publicId, "?limit=ten", ["query.limit"]],
      [enrollment.publicId, "?cursor=garbage!", ["query.cursor"]],
      [
        enrollment.publicId,
        `?cursor=${Buffer.from('["2026-03-01\'; drop table events; --",1]').toString("base64url")}`,
        ["query.cursor"],
      ],
    ];
    for (const [id, query, paths] of cases) {
      const response = await events(owner, id, query);
      expect({
        query,
        status: response.status,
        code: response.body.error?.code,
        paths: fieldPaths(response.body),
      }).toEqual({
        query,
        status: 400,
        code: "VALIDATION_FAILED",
        paths,
      });
    }
    const range = await reports(owner, enrollment.publicId, "?from=2024-01-01&to=2025-01-01");
    expect(range.status).toBe(400);
    expect(range.body.error.details.fieldErrors).toEqual([
      { path: "query.to", message: "the range must be at most 366 days" },
    ]);
    expect((await reports(owner, enrollment.publicId, "?from=2024-01-01&to=2024-12-31")).status).toBe(200);
  });
});

describe("cursor pagination", () => {
  test("pages are stable: every event exactly once, newest first, also with equal timestamps and rows arriving meanwhile", async () => {
    const device = await newDevice(server.db, owner.id);
    const enrollment = await newEnrollment(server.db, { deviceId: device.id, enrolledBy: owner.id });
    const target = { deviceId: device.id, enrollmentId: enrollment.id };
    const fixtures = [];
    for (let i = 0; i < 23; i++) {
      // Groups of three share a timestamp (microsecond precision), so the id must break ties.
      const time = new Date(at(YESTERDAY, "06:00").getTime() + Math.floor(i / 3) * 60_000);
      fixtures.push({ type: "heartbeat", metadata: { n: i }, at: time });
    }
    await insertEvents(server.db, target, fixtures);
    // A microsecond timestamp the JS Date cannot represent: the cursor must keep it exactly.
    await server.db.owner`
      insert into events (device_id, enrollment_id, event_type, metadata, created_at)
      values (${device.id}, ${enrollment.id}, 'heartbeat', '{"n": 99}', ${`${YESTERDAY}T06:03:00.000001Z`}::timestamptz),
             (${device.id}, ${enrollment.id}, 'heartbeat', '{"n": 98}', ${`${YESTERDAY}T06:03:00.000002Z`}::timestamptz)`;
    const all = await events(owner, enrollment.publicId, `?from=${YESTERDAY}&to=${YESTERDAY}&limit=200`);
    expect(all.body.items).toHaveLength(25);
    const expected = all.body.items.map((e: { metadata: { n: number } }) => e.metadata.n);

    const seen: number[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const query: string = `?from=${YESTERDAY}&to=${YESTERDAY}&limit=4${cursor ? `&cursor=${cursor}` : ""}`;
      const page = await events(owner, enrollment.publicId, query);
      expect(page.status).toBe(200);
      expect(page.body.items.length).toBeLessThanOrEqual(4);
      seen.push(...page.body.items.map((e: { metadata: { n: number } }) => e.metadata.n));
      cursor = page.body.next_cursor;
      if (pages === 0) {
        // A newer event arrives after the first page: it must not shift the pages that follow.
        await insertEvents(server.db, target, [
          { type: "heartbeat", metadata: { n: 1000 }, at: at(YESTERDAY, "23:00") },
        ]);
      }
      pages++;
    } while (cursor && pages < 20);
    expect(seen).toEqual(expected);
    expect(new Set(seen).size).toBe(25);
    expect(pages).toBe(7);
    // Newest first; within one timestamp the higher id first.
    const times = all.body.items.map((e: { created_at: string }) => e.created_at);
    expect([...times].sort().reverse()).toEqual(times);
  });
});
