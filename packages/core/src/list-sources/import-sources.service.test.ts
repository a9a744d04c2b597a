/**
 * List source imports against a real PostgreSQL (application role, system actor) and a list server on
 * 127.0.0.1: conditional GET, the failure rules (a failed fetch or a shrunken list never removes an entry),
 * provenance-based deactivation, a crash mid-import, and two importers at once.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createTestDatabase, type TestDatabase } from "@betblocker/db/testing";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { SYSTEM_ACTOR } from "../jobs/job";
import { type ListServer, startListServer, testConfig } from "../jobs/testing";
import { type ImportSourcesDeps, importListSources } from "./import-sources.service";
import { addListSource, listSources, removeListSource } from "./list-source.service";

let db: TestDatabase;
let server: ListServer;
const dir = mkdtempSync(join(tmpdir(), "bb-sources-"));

beforeAll(async () => {
  db = await createTestDatabase();
  server = await startListServer();
});

afterAll(async () => {
  await server?.close();
  await db?.drop();
  rmSync(dir, { recursive: true, force: true });
});

const config = testConfig({ BETBLOCKER_ALERT_EMAILS: "ops@example.test" });

function deps(overrides: Partial<ImportSourcesDeps> = {}): ImportSourcesDeps {
  return { sql: db.app, actor: SYSTEM_ACTOR, config, owner: "test-worker", ...overrides };
}

let sequence = 0;
function names(prefix: string, count: number): string[] {
  return Array.from({ length: count }, (_, i) => `${prefix}${i}.example-bet.test`);
}

async function newHttpSource(domains: string[], format: "domains" | "hosts" = "domains") {
  sequence++;
  const path = `/list-${sequence}.txt`;
  server.setList(path, domains.map((d) => (format === "hosts" ? `0.0.0.0 ${d}` : d)).join("\n"));
  const source = await addListSource(db.app, SYSTEM_ACTOR, {
    name: `source-${sequence}`,
    location: server.url(path),
    format,
    license: "MIT",
    category: "casino",
  });
  return { source, path };
}

async function statusOf(domains: string[]): Promise<Record<string, string>> {
  const rows = await db.owner<{ domain: string; status: string }[]>`
    select domain, status::text from blocklist_entries where domain = any(${domains}::text[])`;
  return Object.fromEntries(rows.map((r) => [r.domain, r.status]));
}

async function sourceRow(name: string) {
  const [row] = (await listSources(db.app, SYSTEM_ACTOR)).filter((s) => s.name === name);
  if (!row) throw new Error(`no source ${name}`);
  return row;
}

async function mappedCount(sourceId: number): Promise<number> {
  const [row] = await db.owner<{ n: number }[]>`
    select count(*)::int as n from list_source_entries where list_source_id = ${sourceId}`;
  return row?.n ?? 0;
}

describe("list source import", () => {
  test("first fetch imports with 200, the next one sends If-None-Match and a 304 is recorded as not_modified", async () => {
    const domains = names("cond", 20);
    const { source, path } = await newHttpSource(domains);
    const first = await importListSources(deps(), { names: [source.name] });
    expect(first.results).toMatchObject([{ name: source.name, status: "ok", entries: 20 }]);
    expect(first.results[0]?.diff).toMatchObject({ inserted: 20, added: 20, removed: 0, deactivated: 0 });
    const [entry] =
      await db.owner`select source::text, status::text, category from blocklist_entries where domain = ${domains[0] as string}`;
    expect(entry).toEqual({ source: "automated", status: "active", category: "casino" });

    const second = await importListSources(deps(), { names: [source.name] });
    expect(second.results).toMatchObject([{ status: "not_modified", entries: 20 }]);
    const served = server.requests.filter((r) => r.path === path);
    expect(served.map((r) => r.status)).toEqual([200, 304]);
    expect(served[1]?.ifNoneMatch).toMatch(/^"rev-\d+"$/);
    const row = await sourceRow(source.name);
    expect(row).toMatchObject({
      lastStatus: "not_modified",
      lastError: null,
      entriesCount: 20,
      consecutiveFailures: 0,
    });
    expect(row.etag).toBe(served[1]?.ifNoneMatch);
  });

  test("a failing fetch never removes entries; the failure is recorded and alerts operators once per streak at the threshold", async () => {
    const domains = names("fail", 10);
    const { source, path } = await newHttpSource(domains);
    await importListSources(deps(), { names: [source.name] });
    server.setFailure(path, 503);
    for (let attempt = 1; attempt <= 4; attempt++) {
      const report = await importListSources(deps(), { names: [source.name] });
      expect(report.results[0]).toMatchObject({ status: "error", error: "HTTP 503 Service Unavailable" });
      expect(report.results[0]?.alerted).toBe(attempt >= config.listSources.failureAlertThreshold);
    }
    expect(Object.values(await statusOf(domains))).toEqual(Array(10).fill("active"));
    expect(await mappedCount(source.id)).toBe(10);
    const row = await sourceRow(source.name);
    expect(row).toMatchObject({
      lastStatus: "error",
      lastError: "HTTP 503 Service Unavailable",
      consecutiveFailures: 4,
      entriesCount: 10,
    });
    const alerts = await db.owner`
      select channel, recipient, subject from alert_deliveries where incident_key like ${`list-source:${source.id}:%`}`;
    expect(alerts).toEqual([
      {
        channel: "email",
        recipient: "ops@example.test",
        subject: expect.stringContaining(`list source ${source.name} is failing`),
      },
    ]);

    server.setFailure(path, null);
    const recovered = await importListSources(deps(), { names: [source.name] });
    // Validators are only trusted for an accepted list; this one still is, so the server answers 304.
    expect(recovered.results[0]?.status).toBe("not_modified");
    expect(await sourceRow(source.name)).toMatchObject({
      consecutiveFailures: 0,
      failingSince: null,
      lastError: null,
    });
  });

  test("an unreachable source is an error, not an empty list", async () => {
    const source = await addListSource(db.app, SYSTEM_ACTOR, {
      name: "unreachable",
      location: "http://127.0.0.1:9/list.txt",
      format: "domains",
    });
    const report = await importListSources(deps(), { names: [source.name] });
    expect(report.results[0]).toMatchObject({
      status: "error",
      error: expect.stringMatching(/^fetch failed/),
    });
  });

  test("a list that shrank below half of the last accepted one is refused and changes nothing; a moderate shrink is applied", async () => {
    const domains = names("shrink", 100);
    const { source, path } = await newHttpSource(domains);
    await importListSources(deps(), { names: [source.name] });

    server.setList(path, domains.slice(0, 40).join("\n"));
    const refused = await importListSources(deps(), { names: [source.name] });
    expect(refused.results[0]).toMatchObject({
      status: "error",
      error: expect.stringContaining("shrank from 100 to 40"),
    });
    expect(Object.values(await statusOf(domains)).filter((s) => s === "active")).toHaveLength(100);
    expect(await mappedCount(source.id)).toBe(100);

    server.setList(path, "<html><body>maintenance</body></html>\n");
    const garbage = await importListSources(deps(), { names: [source.name] });
    expect(garbage.results[0]).toMatchObject({
      status: "error",
      error: expect.stringContaining("no valid domains entries"),
    });
    expect(await mappedCount(source.id)).toBe(100);

    server.setList(path, domains.slice(0, 60).join("\n"));
    const applied = await importListSources(deps(), { names: [source.name] });
    expect(applied.results[0]).toMatchObject({ status: "ok", entries: 60 });
    expect(applied.results[0]?.diff).toMatchObject({ inserted: 0, removed: 40, deactivated: 40 });
    const statuses = await statusOf(domains);
    expect(domains.slice(60).every((d) => statuses[d] === "inactive")).toBe(true);
    expect(domains.slice(0, 60).every((d) => statuses[d] === "active")).toBe(true);
  });

  test("a domain dropped by a source is deactivated only when no source lists it and it was not curated; it comes back when listed again", async () => {
    const only = "only-a.example-bet.test";
    const shared = "shared.example-bet.test";
    const curated = "curated.example-bet.test";
    const rejected = "rejected.example-bet.test";
    const filler = names("filler", 10);
    await db.owner`insert into blocklist_entries (domain, source) values (${curated}, 'curated')`;
    await db.owner`insert into blocklist_entries (domain, source, status) values (${rejected}, 'automated', 'rejected')`;
    const a = await newHttpSource([only, shared, curated, rejected, ...filler]);
    const b = await newHttpSource([shared, ...filler]);
    await importListSources(deps(), { names: [a.source.name, b.source.name] });
    expect(await statusOf([only, shared, curated, rejected])).toEqual({
      [only]: "active",
      [shared]: "active",
      [curated]: "active",
      [rejected]: "rejected",
    });

    server.setList(a.path, filler.join("\n"));
    const dropped = await importListSources(deps(), { names: [a.source.name] });
    expect(dropped.results[0]?.diff).toMatchObject({ removed: 4, deactivated: 1 });
    expect(await statusOf([only, shared, curated, rejected])).toEqual({
      [only]: "inactive",
      [shared]: "active",
      [curated]: "active",
      [rejected]: "rejected",
    });

    server.setList(b.path, filler.join("\n"));
    await importListSources(deps(), { names: [b.source.name] });
    expect((await statusOf([shared]))[shared]).toBe("inactive");

    server.setList(a.path, [only, rejected, ...filler].join("\n"));
    const back = await importListSources(deps(), { names: [a.source.name] });
    expect(back.results[0]?.diff).toMatchObject({ reactivated: 1, added: 2 });
    expect(await statusOf([only, rejected])).toEqual({ [only]: "active", [rejected]: "rejected" });

    // Removing a source deactivates what only it listed.
    const removed = await removeListSource(db.app, SYSTEM_ACTOR, a.source.name);
    expect(removed.deactivated).toBe(1);
    expect((await statusOf([only]))[only]).toBe("inactive");
    expect(Object.values(await statusOf(filler))).toEqual(Array(10).fill("active"));
  });

  test("a crash inside the apply transaction changes nothing; the next run applies the whole list once", async () => {
    const before = names("crash-old", 10);
    const after = [...before.slice(0, 8), ...names("crash-new", 6)];
    const { source, path } = await newHttpSource(before);
    await importListSources(deps(), { names: [source.name] });
    server.setList(path, after.join("\n"));
    const crashed = await importListSources(
      deps({
        beforeCommit: () => {
          throw new Error("simulated crash after the diff was written");
        },
      }),
      { names: [source.name] },
    );
    expect(crashed.results[0]?.status).toBe("error");
    expect(await statusOf([...before, ...after])).toEqual(
      Object.fromEntries(before.map((d) => [d, "active"])),
    );
    expect(await mappedCount(source.id)).toBe(10);

    const resumed = await importListSources(deps(), { names: [source.name] });
    expect(resumed.results[0]).toMatchObject({ status: "ok", entries: 14 });
    expect(resumed.results[0]?.diff).toMatchObject({ inserted: 6, added: 6, removed: 2, deactivated: 2 });
    const [counts] = await db.owner<{ n: number; distinct: number }[]>`
      select count(*)::int as n, count(distinct blocklist_entry_id)::int as distinct
      from list_source_entries where list_source_id = ${source.id}`;
    expect(counts).toEqual({ n: 14, distinct: 14 });
  });

  test("two importers at once fetch each due source once (leases with SKIP LOCKED)", async () => {
    const sources = await Promise.all([1, 2, 3, 4].map((i) => newHttpSource(names(`pair${i}-`, 5))));
    const paths = new Set(sources.map((s) => s.path));
    const served = () => server.requests.filter((r) => paths.has(r.path)).length;
    const [left, right] = await Promise.all([
      importListSources(deps({ owner: "worker-left" }), { force: true }),
      importListSources(deps({ owner: "worker-right" }), { force: true }),
    ]);
    const touched = [...left.results, ...right.results]
      .map((r) => r.name)
      .filter((n) => sources.some((s) => s.source.name === n));
    expect(touched.sort()).toEqual(sources.map((s) => s.source.name).sort());
    expect(served()).toBe(4);
    for (const s of sources) expect(await mappedCount(s.source.id)).toBe(5);
  });

  test("a file source is read again only when its modification time or size changed", async () => {
    const file = join(dir, "list.hosts");
    writeFileSync(
      file,
      names("file", 5)
        .map((d) => `0.0.0.0 ${d}`)
        .join("\n"),
    );
    const source = await addListSource(db.app, SYSTEM_ACTOR, {
      name: "local-file",
      location: file,
      format: "hosts",
    });
    expect((await importListSources(deps(), { names: [source.name] })).results[0]).toMatchObject({
      status: "ok",
      entries: 5,
    });
    expect((await importListSources(deps(), { names: [source.name] })).results[0]?.status).toBe(
      "not_modified",
    );
    writeFileSync(
      file,
      names("file", 7)
        .map((d) => `0.0.0.0 ${d}`)
        .join("\n"),
    );
    expect((await importListSources(deps(), { names: [source.name] })).results[0]).toMatchObject({
      status: "ok",
      entries: 7,
    });
  });

  test("scheduled runs skip sources fetched within min_interval_minutes and disabled sources", async () => {
    const report = await importListSources(deps());
    // Every enabled source was attempted by an earlier test just now.
    expect(report.results).toEqual([]);
  });
});
