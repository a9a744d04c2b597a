/**
 * /api/v1/admin/review-queue over real HTTP on 127.0.0.1, pool as the application role: grouping of pending
 * federated reports by domain with discovery's review entries, the order (distinct devices, then oldest),
 * confirm/reject effects on entries and reports (with the admin recorded and audited), and access.
 */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import {
  insertEntry,
  insertFederatedReport,
  newAccountRow,
  newDevice,
  type SignedInAccount,
  signInAs,
  uniqueLabel,
} from "../../testing/tenant-factories";
import { RELAXED_RATE_LIMITS, startTestServer, type TestServer } from "../../testing/test-server";

let server: TestServer;
let admin: SignedInAccount;
let user: SignedInAccount;
let devices: number[];

const HOUR = 3_600_000;
const hoursAgo = (hours: number) => new Date(Date.now() - hours * HOUR);

beforeAll(async () => {
  server = await startTestServer({
    config: {
      exposeDevTokens: true,
      rateLimits: RELAXED_RATE_LIMITS,
    },
  });
  admin = await signInAs(server, "admin");
  user = await signInAs(server, "user");
  devices = [];
  for (let i = 0; i < 4; i++) {
    const owner = await newAccountRow(server.db);
    devices.push((await newDevice(server.db, owner.id)).id);
  }
});

afterAll(async () => {
  await server?.close();
});

const queue = (query = "", account: SignedInAccount = admin) =>
  server.request("GET", `/api/v1/admin/review-queue${query}`, { token: account.accessToken });
const decide = (
  domain: string,
  decision: "confirm" | "reject",
  body?: unknown,
  account: SignedInAccount = admin,
) =>
  server.request("POST", `/api/v1/admin/review-queue/${encodeURIComponent(domain)}/${decision}`, {
    token: account.accessToken,
    ...(body !== undefined ? { body } : {}),
  });

/** The queue with the given domains only (the database is shared by the tests of this file). */
async function queueOf(domains: string[]) {
  const response = await queue("?limit=200");
  expect(response.status).toBe(200);
  return response.body.items.filter((item: { domain: string }) => domains.includes(item.domain));
}

async function reportsOf(domain: string) {
  return server.db.owner<
    { review_status: string; reviewed_by_account_id: number | null; resolved_to_entry_id: number | null }[]
  >`
    select review_status::text as review_status, reviewed_by_account_id, resolved_to_entry_id
    from federated_reports where domain = ${domain} order by id`;
}

describe("GET /api/v1/admin/review-queue", () => {
  test("one item per domain reported by at least k = 3 devices (or a discovery review entry): counts, first/last, heuristics; sorted by devices then oldest", async () => {
    const tag = uniqueLabel("q").replace(/-/g, "");
    const wide = `wide-${tag}.example`;
    const wideLater = `widelater-${tag}.example`;
    const single = `single-${tag}.example`;
    const discovered = `discovered-${tag}.example`;
    const blocked = `blocked-${tag}.example`;
    // wide: 3 devices, 4 reports (device 0 twice, on different days), two heuristics.
    await insertFederatedReport(server.db, {
      deviceId: devices[0] as number,
      domain: wide,
      heuristic: "keyword",
      at: hoursAgo(50),
    });
    await insertFederatedReport(server.db, {
      deviceId: devices[0] as number,
      domain: wide,
      heuristic: "keyword",
      at: hoursAgo(20),
    });
    await insertFederatedReport(server.db, {
      deviceId: devices[1] as number,
      domain: wide,
      heuristic: "dns_pattern",
      at: hoursAgo(10),
    });
    await insertFederatedReport(server.db, {
      deviceId: devices[2] as number,
      domain: wide,
      heuristic: null,
      at: hoursAgo(5),
    });
    // widelater: 3 devices too, but first reported later -> after wide.
    for (const [i, device] of devices.slice(0, 3).entries())
      await insertFederatedReport(server.db, {
        deviceId: device,
        domain: wideLater,
        heuristic: "keyword",
        at: hoursAgo(30 - i),
      });
    // single: one device, older than everything.
    await insertFederatedReport(server.db, {
      deviceId: devices[3] as number,
      domain: single,
      heuristic: "visual",
      at: hoursAgo(100),
    });
    // discovered: a review entry of the discovery pipeline, no reports.
    const discoveredId = await insertEntry(server.db, {
      domain: discovered,
      status: "review",
      source: "automated",
      category: "casino",
      addedAt: hoursAgo(200),
    });
    // blocked: already active, but reported anyway.
    const blockedId = await insertEntry(server.db, { domain: blocked, status: "active" });
    await insertFederatedReport(server.db, {
      deviceId: devices[3] as number,
      domain: blocked,
      at: hoursAgo(1),
    });
    // Reports already decided are not in the queue.
    const decidedId = await insertFederatedReport(server.db, {
      deviceId: devices[3] as number,
      domain: `decided-${tag}.example`,
    });
    await server.db.owner`update federated_reports set review_status = 'rejected' where id = ${decidedId}`;

    const items = await queueOf([wide, wideLater, single, discovered, blocked, `decided-${tag}.example`]);
    // single and blocked were reported by one device each: below k = 3, reviewers never see them.
    expect(items.map((i: { domain: string }) => i.domain)).toEqual([wide, wideLater, discovered]);
    expect(items[0]).toEqual({
      domain: wide,
      pending_reports: 4,
      distinct_devices: 3,
      first_reported_at: expect.any(String),
      last_reported_at: expect.any(String),
      heuristic_types: ["dns_pattern", "keyword"],
      waiting_since: items[0].first_reported_at,
      entry: null,
    });
    expect(Date.parse(items[0].last_reported_at) - Date.parse(items[0].first_reported_at)).toBeCloseTo(
      45 * HOUR,
      -3,
    );
    expect(items[2]).toMatchObject({
      domain: discovered,
      pending_reports: 0,
      distinct_devices: 0,
      first_reported_at: null,
      heuristic_types: [],
      entry: { id: discoveredId, status: "review", source: "automated", category: "casino" },
    });
    expect(items[2].waiting_since).toBe(items[2].entry.added_at);
    expect(blockedId).toBeGreaterThan(0);
  });

  test("cursor pages walk the whole queue once, in order", async () => {
    const tag = uniqueLabel("pg").replace(/-/g, "");
    for (let i = 0; i < 7; i++)
      await insertFederatedReport(server.db, {
        deviceId: devices[i % 4] as number,
        domain: `p${i}-${tag}.example`,
        at: hoursAgo(i),
      });
    const full = (await queue("?limit=200")).body.items.map((i: { domain: string }) => i.domain);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page = await queue(`?limit=3${cursor ? `&cursor=${cursor}` : ""}`);
      expect(page.status).toBe(200);
      seen.push(...page.body.items.map((i: { domain: string }) => i.domain));
      cursor = page.body.next_cursor;
    } while (cursor);
    expect(seen).toEqual(full);
    expect((await queue("?cursor=nope!")).status).toBe(400);
    expect((await queue("?limit=0")).status).toBe(400);
  });
});

describe("POST /{domain}/confirm and /reject", () => {
  test("confirm of a reported domain creates an active federated entry and confirms its reports, recording the admin", async () => {
    const domain = `${uniqueLabel("confirm")}.example`;
    await insertFederatedReport(server.db, { deviceId: devices[0] as number, domain, heuristic: "keyword" });
    await insertFederatedReport(server.db, { deviceId: devices[1] as number, domain, heuristic: "keyword" });
    // Path spelling does not matter: it is normalized.
    const response = await decide(`${domain.toUpperCase()}.`, "confirm", { category: "Sports Betting" });
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({
      domain,
      outcome: "confirmed",
      reports_resolved: 2,
      entry: {
        domain,
        source: "federated",
        status: "active",
        category: "sports_betting",
        confidence_score: 100,
        added_by: admin.publicId,
      },
    });
    const entryId = response.body.entry.id;
    expect(await reportsOf(domain)).toEqual([
      { review_status: "confirmed", reviewed_by_account_id: admin.id, resolved_to_entry_id: entryId },
      { review_status: "confirmed", reviewed_by_account_id: admin.id, resolved_to_entry_id: entryId },
    ]);
    expect(await queueOf([domain])).toEqual([]);
    // Audited with the admin as actor: the entry's insert and each report's decision.
    const audit = await server.db.owner<{ table_name: string; action: string; actor_account_id: number }[]>`
      select table_name, action::text as action, actor_account_id from audit_log
      where (table_name = 'blocklist_entries' and row_id = ${entryId})
         or (table_name = 'federated_reports' and row_id in (select id from federated_reports where domain = ${domain}))
      order by id`;
    expect(audit.map((r) => [r.table_name, r.action, r.actor_account_id])).toEqual([
      ["blocklist_entries", "INSERT", admin.id],
      ["federated_reports", "UPDATE", admin.id],
      ["federated_reports", "UPDATE", admin.id],
    ]);
    // Decided: a second confirm finds nothing left in the queue.
    expect((await decide(domain, "confirm", {})).status).toBe(404);
  });

  test("confirm of a discovery entry in review activates it (source kept); of an already active domain marks reports duplicate", async () => {
    const discovered = `${uniqueLabel("disc")}.example`;
    const discoveredId = await insertEntry(server.db, {
      domain: discovered,
      status: "review",
      source: "automated",
      category: "casino",
    });
    const confirmed = await decide(discovered, "confirm", {});
    expect(confirmed.body).toMatchObject({
      outcome: "confirmed",
      reports_resolved: 0,
      entry: { id: discoveredId, status: "active", source: "automated", category: "casino" },
    });

    const active = `${uniqueLabel("active")}.example`;
    const activeId = await insertEntry(server.db, { domain: active, status: "active", category: "lottery" });
    await insertFederatedReport(server.db, { deviceId: devices[2] as number, domain: active });
    const duplicate = await decide(active, "confirm", { category: "casino" });
    expect(duplicate.body).toMatchObject({
      outcome: "duplicate",
      reports_resolved: 1,
      entry: { id: activeId, status: "active", category: "lottery" },
    });
    expect(await reportsOf(active)).toEqual([
      { review_status: "duplicate", reviewed_by_account_id: admin.id, resolved_to_entry_id: activeId },
    ]);

    // A previously rejected entry that agents keep reporting can be confirmed after all.
    const rejected = `${uniqueLabel("rej")}.example`;
    const rejectedId = await insertEntry(server.db, { domain: rejected, status: "rejected" });
    await insertFederatedReport(server.db, { deviceId: devices[0] as number, domain: rejected });
    expect((await decide(rejected, "confirm", { category: "casino" })).body).toMatchObject({
      outcome: "confirmed",
      entry: { id: rejectedId, status: "active", category: "casino" },
    });
  });

  test("reject: reports rejected (no entry), a review entry becomes rejected, an active entry stays active", async () => {
    const reported = `${uniqueLabel("nope")}.example`;
    await insertFederatedReport(server.db, { deviceId: devices[0] as number, domain: reported });
    const first = await decide(reported, "reject");
    expect(first.status).toBe(200);
    expect(first.body).toEqual({ domain: reported, outcome: "rejected", reports_resolved: 1, entry: null });
    expect(await reportsOf(reported)).toEqual([
      { review_status: "rejected", reviewed_by_account_id: admin.id, resolved_to_entry_id: null },
    ]);
    const [entryCount] = await server.db
      .owner`select count(*)::int as n from blocklist_entries where domain = ${reported}`;
    expect(entryCount?.n).toBe(0);

    const review = `${uniqueLabel("review")}.example`;
    const reviewId = await insertEntry(server.db, { domain: review, status: "review", source: "automated" });
    await insertFederatedReport(server.db, { deviceId: devices[1] as number, domain: review });
    expect((await decide(review, "reject", {})).body).toMatchObject({
      reports_resolved: 1,
      entry: { id: reviewId, status: "rejected" },
    });

    const active = `${uniqueLabel("keep")}.example`;
    await insertEntry(server.db, { domain: active, status: "active" });
    await insertFederatedReport(server.db, { deviceId: devices[1] as number, domain: active });
    expect((await decide(active, "reject")).body).toMatchObject({
      reports_resolved: 1,
      entry: { status: "active" },
    });
  });

  test("404 for a domain not in the queue, 400 for a path that is not a domain or a bad body", async () => {
    expect((await decide(`${uniqueLabel("unknown")}.example`, "confirm", {})).status).toBe(404);
    expect((await decide(`${uniqueLabel("unknown")}.example`, "reject")).status).toBe(404);
    const active = `${uniqueLabel("quiet")}.example`;
    await insertEntry(server.db, { domain: active, status: "active" });
    expect((await decide(active, "confirm", {})).status).toBe(404);
    for (const domain of ["not a domain", "localhost", "10.0.0.1"]) {
      const response = await decide(domain, "confirm", {});
      expect({
        domain,
        status: response.status,
        path: response.body.error.details?.fieldErrors?.[0]?.path,
      }).toEqual({
        domain,
        status: 400,
        path: "params.domain",
      });
    }
    const reported = `${uniqueLabel("body")}.example`;
    await insertFederatedReport(server.db, { deviceId: devices[0] as number, domain: reported });
    expect((await decide(reported, "confirm", { category: "bad category!" })).status).toBe(400);
    expect((await decide(reported, "confirm", { extra: 1 })).status).toBe(400);
    expect((await decide(reported, "reject", { extra: 1 })).status).toBe(400);
    expect((await reportsOf(reported))[0]?.review_status).toBe("pending");
  });

  test("401 without a token, 403 for a non-admin (nothing decided)", async () => {
    const reported = `${uniqueLabel("guard")}.example`;
    await insertFederatedReport(server.db, { deviceId: devices[0] as number, domain: reported });
    expect((await server.request("GET", "/api/v1/admin/review-queue")).status).toBe(401);
    expect(
      (await server.request("POST", `/api/v1/admin/review-queue/${reported}/confirm`, { body: {} })).status,
    ).toBe(401);
    expect((await queue("", user)).status).toBe(403);
    expect((await decide(reported, "confirm", {}, user)).status).toBe(403);
    expect((await decide(reported, "reject", undefined, user)).status).toBe(403);
    expect((await reportsOf(reported))[0]?.review_status).toBe("pending");
  });
});

describe("k comes from the loaded config ([discovery] min_distinct_devices)", () => {
  test("an app built with k = 2 lists a domain two devices reported; the default k = 3 does not", async () => {
    // A second app over the same database, configured as main.ts does with `[discovery] min_distinct_devices = 2`.
    const k2 = await startTestServer({
      db: server.db,
      config: server.config,
      appOptions: { discovery: { minDistinctDevices: 2 } },
    });
    try {
      const k2Admin = await signInAs(k2, "admin");
      const tag = uniqueLabel("k").replace(/-/g, "");
      const pair = `pair-${tag}.example`;
      const lone = `lone-${tag}.example`;
      for (const device of devices.slice(0, 2))
        await insertFederatedReport(server.db, { deviceId: device, domain: pair, at: hoursAgo(3) });
      await insertFederatedReport(server.db, {
        deviceId: devices[2] as number,
        domain: lone,
        at: hoursAgo(3),
      });

      const listed = await k2.request("GET", "/api/v1/admin/review-queue?limit=200", {
        token: k2Admin.accessToken,
      });
      expect(listed.status).toBe(200);
      const k2Items = listed.body.items.filter((item: { domain: string }) =>
        [pair, lone].includes(item.domain),
      );
      expect(k2Items).toEqual([
        expect.objectContaining({ domain: pair, distinct_devices: 2, pending_reports: 2 }),
      ]);
      // The default app (no [discovery] section passed: k = 3) still hides it.
      expect(await queueOf([pair, lone])).toEqual([]);
    } finally {
      await k2.close(); // the database was passed in, so it stays (the first server owns it)
    }
  });
});
