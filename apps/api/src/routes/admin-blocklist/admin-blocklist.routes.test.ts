/**
 * /api/v1/admin/blocklist/entries over real HTTP on 127.0.0.1, pool as the application role: admins only,
 * normalization through the list classifier, 409 on duplicates, audited changes with the admin as actor,
 * trigram search (substring and fuzzy), harmless injection-like search terms, stable cursor pages.
 */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { insertEntry, type SignedInAccount, signInAs, uniqueLabel } from "../../testing/tenant-factories";
import { RELAXED_RATE_LIMITS, startTestServer, type TestServer } from "../../testing/test-server";

let server: TestServer;
let admin: SignedInAccount;
let nonAdmins: SignedInAccount[];

beforeAll(async () => {
  server = await startTestServer({
    config: {
      exposeDevTokens: true,
      rateLimits: RELAXED_RATE_LIMITS,
    },
  });
  admin = await signInAs(server, "admin");
  nonAdmins = [
    await signInAs(server, "user"),
    await signInAs(server, "partner"),
    await signInAs(server, "authority"),
  ];
});

afterAll(async () => {
  await server?.close();
});

const BASE = "/api/v1/admin/blocklist/entries";
const list = (query = "", account: SignedInAccount = admin) =>
  server.request("GET", `${BASE}${query}`, { token: account.accessToken });
const create = (body: unknown, account: SignedInAccount = admin) =>
  server.request("POST", BASE, { token: account.accessToken, body });
const patch = (id: number | string, body: unknown, account: SignedInAccount = admin) =>
  server.request("PATCH", `${BASE}/${id}`, { token: account.accessToken, body });

function fieldPaths(body: { error: { details?: { fieldErrors?: { path: string }[] } } }): string[] {
  return (body.error.details?.fieldErrors ?? []).map((e) => e.path);
}

async function auditRows(rowId: number) {
  return server.db.owner<
    {
      action: string;
      actor_account_id: number | null;
      client_ip: string | null;
      new_values: Record<string, unknown>;
    }[]
  >`
    select action::text as action, actor_account_id, host(client_ip) as client_ip, new_values
    from audit_log where table_name = 'blocklist_entries' and row_id = ${rowId} order by id`;
}

describe("access", () => {
  test("401 without a token; 403 FORBIDDEN for user, partner and authority, even with a bad body", async () => {
    expect((await server.request("GET", BASE)).status).toBe(401);
    expect((await server.request("POST", BASE, { body: { domain: "x.example" } })).status).toBe(401);
    expect((await server.request("PATCH", `${BASE}/1`, { body: { status: "rejected" } })).status).toBe(401);
    const id = await insertEntry(server.db, { domain: `${uniqueLabel("guarded")}.example` });
    for (const account of nonAdmins) {
      for (const response of [
        await list("", account),
        await list("?limit=oops", account),
        await create({ domain: "new-casino.example" }, account),
        await create({ nonsense: true }, account),
        await patch(id, { status: "rejected" }, account),
        await patch("not-an-id", {}, account),
      ]) {
        expect({ role: account.role, status: response.status, code: response.body.error.code }).toEqual({
          role: account.role,
          status: 403,
          code: "FORBIDDEN",
        });
      }
    }
    const [row] = await server.db
      .owner`select status::text as status from blocklist_entries where id = ${id}`;
    expect(row?.status).toBe("active");
  });

  test("a token still claiming admin after the role was taken away is refused", async () => {
    const demoted = await signInAs(server, "admin");
    await server.db.owner`update accounts set role = 'user' where id = ${demoted.id}`;
    expect((await list("", demoted)).status).toBe(401);
  });
});

describe("POST /entries", () => {
  test("normalizes the domain and category; curated, active, confidence 100, added by the admin; audited with the admin as actor", async () => {
    const label = uniqueLabel("royal");
    const response = await create({
      domain: `  ${label.toUpperCase()}-Casino.Example. `,
      category: "Sports Betting",
    });
    expect(response.status).toBe(201);
    expect(response.body).toEqual({
      id: expect.any(Number),
      domain: `${label}-casino.example`,
      rule_type: "domain",
      category: "sports_betting",
      source: "curated",
      status: "active",
      confidence_score: 100,
      added_by: admin.publicId,
      added_at: expect.stringMatching(/^\d{4}-/),
      updated_at: expect.stringMatching(/^\d{4}-/),
    });
    const audit = await auditRows(response.body.id);
    expect(audit.map((r) => [r.action, r.actor_account_id, r.client_ip])).toEqual([
      ["INSERT", admin.id, "127.0.0.1"],
    ]);
  });

  test("wildcards, patterns and IDNs go through the list classifier", async () => {
    const label = uniqueLabel("w");
    const wildcard = await create({ domain: `*.${label}.Example` });
    expect(wildcard.body).toMatchObject({
      domain: `*.${label}.example`,
      rule_type: "wildcard",
      category: null,
    });
    const pattern = await create({ domain: `${label}-casino*.example` });
    expect(pattern.body).toMatchObject({ domain: `${label}-casino*.example`, rule_type: "pattern" });
    const idn = await create({ domain: `bücher-${label}.example`, category: null });
    expect(idn.status).toBe(201);
    expect(idn.body.domain).toMatch(/^xn--/);
  });

  test("409 CONFLICT for a domain that is already an entry, in any status, naming it", async () => {
    const domain = `${uniqueLabel("dup")}.example`;
    const first = await create({ domain });
    const again = await create({ domain: domain.toUpperCase() });
    expect(again.status).toBe(409);
    expect(again.body.error).toMatchObject({
      code: "CONFLICT",
      details: { id: first.body.id, status: "active" },
    });
    await patch(first.body.id, { status: "rejected" });
    expect((await create({ domain })).body.error.details).toEqual({ id: first.body.id, status: "rejected" });
  });

  test("400 field errors for names that are not blockable and for unknown fields", async () => {
    for (const domain of ["not a domain", "localhost", "192.0.2.1", "com", "*.com", "", "a".repeat(300)]) {
      const response = await create({ domain });
      expect({ domain, status: response.status, paths: fieldPaths(response.body) }).toEqual({
        domain,
        status: 400,
        paths: ["domain"],
      });
    }
    expect(fieldPaths((await create({ domain: "ok-casino.example", category: "casino!" })).body)).toEqual([
      "category",
    ]);
    expect(fieldPaths((await create({ domain: "ok-casino.example", status: "active" })).body)).toEqual([
      "status",
    ]);
    expect(fieldPaths((await create({})).body)).toEqual(["domain"]);
    expect((await create([1])).status).toBe(400);
  });
});

describe("PATCH /entries/{id}", () => {
  test("changes category and status (reject = status rejected); each change is audited with the admin as actor", async () => {
    const id = await insertEntry(server.db, {
      domain: `${uniqueLabel("patch")}.example`,
      category: "casino",
    });
    const recategorized = await patch(id, { category: "Lottery" });
    expect(recategorized.status).toBe(200);
    expect(recategorized.body).toMatchObject({ id, category: "lottery", status: "active" });
    const rejected = await patch(id, { status: "rejected" });
    expect(rejected.body).toMatchObject({ id, category: "lottery", status: "rejected" });
    const cleared = await patch(id, { category: null, status: "review" });
    expect(cleared.body).toMatchObject({ category: null, status: "review" });
    const audit = await auditRows(id);
    expect(
      audit.map((r) => [
        r.action,
        r.actor_account_id,
        r.client_ip,
        r.new_values.status,
        r.new_values.category,
      ]),
    ).toEqual([
      ["INSERT", null, null, "active", "casino"],
      ["UPDATE", admin.id, "127.0.0.1", "active", "lottery"],
      ["UPDATE", admin.id, "127.0.0.1", "rejected", "lottery"],
      ["UPDATE", admin.id, "127.0.0.1", "review", null],
    ]);
  });

  test("404 for an unknown id; 400 for an empty change, a bad status, a bad id", async () => {
    expect((await patch(999_999_999, { status: "rejected" })).status).toBe(404);
    const id = await insertEntry(server.db, { domain: `${uniqueLabel("bad")}.example` });
    expect((await patch(id, {})).status).toBe(400);
    expect(fieldPaths((await patch(id, { status: "inactive" })).body)).toEqual(["status"]);
    expect(fieldPaths((await patch(id, { status: "deleted" })).body)).toEqual(["status"]);
    expect(fieldPaths((await patch(id, { domain: "x.example" })).body)).toContain("domain");
    expect(fieldPaths((await patch("abc", { status: "active" })).body)).toEqual(["params.id"]);
    expect(fieldPaths((await patch(-4, { status: "active" })).body)).toEqual(["params.id"]);
  });
});

describe("GET /entries", () => {
  // A namespace of its own (a shared database file): every domain here ends with the suffix.
  const suffix = uniqueLabel("srch").replace(/-/g, "");
  const domains = [
    `pokerstars-${suffix}.example`,
    `pokerstarz-${suffix}.example`,
    `royalcasino-${suffix}.example`,
    `casinoroyal-${suffix}.example`,
    `sportsbet-${suffix}.example`,
    `bingo-hall-${suffix}.example`,
    `under_score-${suffix}.example`,
  ];

  beforeAll(async () => {
    for (const [index, domain] of domains.entries()) {
      await insertEntry(server.db, {
        domain,
        category: index < 4 ? "casino" : "sports_betting",
        status: index === 5 ? "review" : "active",
        source: index === 6 ? "automated" : "curated",
      });
    }
  });

  const domainsOf = (response: { body: { items: { domain: string }[] } }) =>
    response.body.items.map((e) => e.domain);

  test("q finds substrings, best matches first", async () => {
    const response = await list(`?q=${encodeURIComponent(`CASINO`)}&limit=200`);
    expect(response.status).toBe(200);
    const found = domainsOf(response).filter((d) => d.endsWith(`${suffix}.example`));
    expect(found.sort()).toEqual([`casinoroyal-${suffix}.example`, `royalcasino-${suffix}.example`].sort());
  });

  test("q finds fuzzy matches (a typo) through trigram similarity", async () => {
    // "pokerstras": neither domain contains it; both are one transposition away.
    const response = await list("?q=pokerstras&limit=200");
    const found = domainsOf(response).filter((d) => d.endsWith(`${suffix}.example`));
    expect(found).toContain(`pokerstars-${suffix}.example`);
    expect(found).toContain(`pokerstarz-${suffix}.example`);
    expect(found).not.toContain(`sportsbet-${suffix}.example`);
    expect(found).not.toContain(`royalcasino-${suffix}.example`);
  });

  test("filters: status, category, source (combined with q)", async () => {
    const q = `?q=${suffix}&limit=200`;
    expect(domainsOf(await list(`${q}&status=review`))).toEqual([`bingo-hall-${suffix}.example`]);
    expect(domainsOf(await list(`${q}&source=automated`))).toEqual([`under_score-${suffix}.example`]);
    expect(domainsOf(await list(`${q}&category=Sports%20Betting&status=active`)).sort()).toEqual(
      [`sportsbet-${suffix}.example`, `under_score-${suffix}.example`].sort(),
    );
    expect((await list("?status=bogus")).status).toBe(400);
    expect(fieldPaths((await list("?category=no%21")).body)).toEqual(["query.category"]);
    expect(fieldPaths((await list("?limit=201")).body)).toEqual(["query.limit"]);
  });

  test.each([
    ["'; drop table blocklist_entries; --"],
    ["' or '1'='1"],
    ["%"],
    ["_"],
    ["\\"],
    ["%' union select password_hash from accounts --"],
    ["$1"],
    ["\u0000"],
  ])("the injection-like term %j is just a search term", async (q) => {
    const response = await list(`?q=${encodeURIComponent(q)}&limit=200`);
    expect([200, 400]).toContain(response.status);
    if (response.status === 200) {
      for (const entry of response.body.items as { domain: string }[]) {
        // LIKE wildcards in the term are literal: '%' and '_' only match domains containing them.
        if (q === "%") expect(entry.domain).toContain("%");
        if (q === "_") expect(entry.domain).toContain("_");
      }
      expect(response.text).not.toContain("argon2");
    }
    const [count] = await server.db.owner`select count(*)::int as n from blocklist_entries`;
    expect(count?.n).toBeGreaterThan(0);
  });

  test("'_' matches only the domain with a literal underscore", async () => {
    const response = await list(`?q=_&limit=200`);
    expect(domainsOf(response).filter((d) => d.endsWith(`${suffix}.example`))).toEqual([
      `under_score-${suffix}.example`,
    ]);
  });

  test("cursor pages are stable and complete, for listings and for searches; a cursor cannot switch modes", async () => {
    for (let i = 0; i < 17; i++)
      await insertEntry(server.db, { domain: `page${String(i).padStart(2, "0")}-${suffix}.example` });
    for (const base of [`?status=active&category=`, `?q=${suffix}`]) {
      const full = domainsOf(await list(`${base}&limit=200`));
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const page = await list(`${base}&limit=5${cursor ? `&cursor=${cursor}` : ""}`);
        expect(page.status).toBe(200);
        seen.push(...domainsOf(page));
        cursor = page.body.next_cursor;
        if (pages === 0)
          await insertEntry(server.db, { domain: `aaa-late-${uniqueLabel("x")}-${suffix}.example` });
        pages++;
      } while (cursor && pages < 100);
      // The entry added after page 1 sorts before it in domain order, and ranks equal to others in the search:
      // either way no row of the original result is skipped or repeated.
      expect(seen.filter((d) => !d.startsWith("aaa-late-"))).toEqual(
        full.filter((d) => !d.startsWith("aaa-late-")),
      );
      expect(new Set(seen).size).toBe(seen.length);
    }
    const listingCursor = (await list("?limit=1")).body.next_cursor;
    expect(fieldPaths((await list(`?q=casino&cursor=${listingCursor}`)).body)).toEqual(["query.cursor"]);
    expect(fieldPaths((await list("?cursor=%%%")).body)).toEqual(["query.cursor"]);
  });
});
