/**
 * /api/v1/admin/list-sources over real HTTP on 127.0.0.1, pool as the application role: admins only, input
 * validation with field errors, audited changes with the admin as actor, a format change that forces a full
 * re-read, fetch now against a local list server (ok, then 304 not modified, then an error that keeps the
 * entries), and removal deactivating the entries only that source listed.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type ListServer, startListServer, testConfig } from "@betblocker/core/jobs/testing";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { type SignedInAccount, signInAs, uniqueLabel } from "../../testing/tenant-factories";
import { RELAXED_RATE_LIMITS, startTestServer, type TestServer } from "../../testing/test-server";

let server: TestServer;
let lists: ListServer;
let admin: SignedInAccount;
let nonAdmins: SignedInAccount[];
const dir = mkdtempSync(join(tmpdir(), "bb-admin-sources-"));

beforeAll(async () => {
  const worker = testConfig({});
  lists = await startListServer();
  server = await startTestServer({
    config: {
      exposeDevTokens: true,
      rateLimits: RELAXED_RATE_LIMITS,
    },
    appOptions: { listSourceFetch: { listSources: worker.listSources, alerts: worker.alerts } },
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
  await lists?.close();
  rmSync(dir, { recursive: true, force: true });
});

const BASE = "/api/v1/admin/list-sources";
const call = (method: string, path: string, body?: unknown, account: SignedInAccount = admin) =>
  server.request(method, `${BASE}${path}`, {
    token: account.accessToken,
    ...(body !== undefined ? { body } : {}),
  });

function fieldPaths(body: { error: { details?: { fieldErrors?: { path: string }[] } } }): string[] {
  return (body.error.details?.fieldErrors ?? []).map((e) => e.path);
}

function newName(): string {
  return uniqueLabel("src").toLowerCase();
}

async function auditRows(name: string) {
  return server.db.owner<
    {
      action: string;
      actor_account_id: number | null;
      client_ip: string | null;
      new_values: Record<string, unknown> | null;
    }[]
  >`
    select action::text as action, actor_account_id, host(client_ip) as client_ip, new_values
    from audit_log where table_name = 'list_sources'
      and coalesce(new_values ->> 'name', old_values ->> 'name') = ${name} order by id`;
}

describe("access", () => {
  test("401 without a token and 403 for user, partner and authority on every route, even with bad input", async () => {
    const routes: [string, string, unknown?][] = [
      ["GET", ""],
      ["POST", "", { name: "x", location: "ftp://bad", format: "nope" }],
      ["GET", "/some-source"],
      ["PATCH", "/some-source", { enabled: false }],
      ["DELETE", "/some-source"],
      ["POST", "/some-source/fetch"],
      ["GET", "/NOT A NAME"],
    ];
    for (const [method, path, body] of routes) {
      const anonymous = await server.request(method, `${BASE}${path}`, body !== undefined ? { body } : {});
      expect({ method, path, status: anonymous.status }).toEqual({ method, path, status: 401 });
      for (const account of nonAdmins) {
        const response = await call(method, path, body, account);
        expect({
          method,
          path,
          role: account.role,
          status: response.status,
          code: response.body.error.code,
        }).toEqual({
          method,
          path,
          role: account.role,
          status: 403,
          code: "FORBIDDEN",
        });
      }
    }
  });
});

describe("create, read, update", () => {
  test("create: 201 with the stored source, audited with the admin as actor; 409 on a taken name", async () => {
    const name = newName();
    const created = await call("POST", "", {
      name: name.toUpperCase(),
      location: lists.url("/unused.txt"),
      format: "hosts",
      license: " MIT ",
      category: "Sports Betting",
      enabled: false,
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      name,
      location: lists.url("/unused.txt"),
      format: "hosts",
      license: "MIT",
      category: "sports_betting",
      enabled: false,
      last_fetch_at: null,
      last_status: null,
      etag: null,
      entries_count: 0,
      consecutive_failures: 0,
    });
    const audit = await auditRows(name);
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ action: "INSERT", actor_account_id: admin.id, client_ip: "127.0.0.1" });

    const again = await call("POST", "", { name, location: "/srv/lists/other.txt", format: "domains" });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe("CONFLICT");

    const one = await call("GET", `/${name}`);
    expect(one.status).toBe(200);
    expect(one.body).toEqual(created.body);
    const all = await call("GET", "");
    expect(all.status).toBe(200);
    expect(all.body.items.map((s: { name: string }) => s.name)).toContain(name);
  });

  test("400 with a field error: other URL schemes, relative paths, unknown formats, bad names, unknown fields", async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ name: newName(), location: "ftp://lists.example/a.txt", format: "domains" }, "location"],
      [{ name: newName(), location: "file:///etc/hosts", format: "hosts" }, "location"],
      [{ name: newName(), location: "lists/relative.txt", format: "domains" }, "location"],
      [{ name: newName(), location: "http://", format: "domains" }, "location"],
      [{ name: newName(), location: "https://lists.example/a.txt", format: "json" }, "format"],
      [{ name: "-starts-with-dash", location: "https://lists.example/a.txt", format: "csv" }, "name"],
      [{ name: newName(), location: "https://lists.example/a.txt", format: "csv", extra: 1 }, "extra"],
      [{ name: newName(), format: "csv" }, "location"],
    ];
    for (const [body, path] of cases) {
      const response = await call("POST", "", body);
      expect({ body, status: response.status, code: response.body.error.code }).toEqual({
        body,
        status: 400,
        code: "VALIDATION_FAILED",
      });
      expect(fieldPaths(response.body)).toContain(path);
    }
    expect((await call("GET", "/no-such-source")).status).toBe(404);
    expect((await call("PATCH", "/no-such-source", { enabled: true })).status).toBe(404);
    expect((await call("DELETE", "/no-such-source")).status).toBe(404);
    expect((await call("POST", "/no-such-source/fetch")).status).toBe(404);
  });

  test("update: enable/disable, license, category, format; a new format clears the validators; audited", async () => {
    const name = newName();
    lists.setList(`/${name}.txt`, "casino-a.example\ncasino-b.example\n");
    expect(
      (
        await call("POST", "", {
          name,
          location: lists.url(`/${name}.txt`),
          format: "domains",
          license: "MIT",
        })
      ).status,
    ).toBe(201);
    const fetched = await call("POST", `/${name}/fetch`);
    expect(fetched.body.source.etag).not.toBeNull();

    const disabled = await call("PATCH", `/${name}`, { enabled: false, license: null });
    expect(disabled.status).toBe(200);
    expect(disabled.body).toMatchObject({ enabled: false, license: null, format: "domains" });
    // Unrelated changes keep the validators of the accepted list.
    expect(disabled.body.etag).toBe(fetched.body.source.etag);

    const reformatted = await call("PATCH", `/${name}`, { format: "hosts", category: "Casino" });
    expect(reformatted.status).toBe(200);
    expect(reformatted.body).toMatchObject({
      format: "hosts",
      category: "casino",
      etag: null,
      last_modified: null,
      content_sha256: null,
      entries_count: 2,
    });

    expect((await call("PATCH", `/${name}`, {})).status).toBe(400);
    expect((await call("PATCH", `/${name}`, { format: "xml" })).status).toBe(400);
    expect((await call("PATCH", `/${name}`, { location: "/etc/passwd" })).status).toBe(400);

    const audit = await auditRows(name);
    const updates = audit.filter((row) => row.action === "UPDATE" && row.actor_account_id === admin.id);
    expect(updates.map((row) => [row.new_values?.enabled, row.new_values?.format])).toEqual(
      expect.arrayContaining([
        [false, "domains"],
        [false, "hosts"],
      ]),
    );
  });
});

describe("fetch now and delete", () => {
  test("fetch: ok with the diff, then not modified (ETag), then an upstream error that keeps the entries", async () => {
    const name = newName();
    const path = `/${name}.txt`;
    const domains = ["bet-one.example", "bet-two.example", "bet-three.example"].map((d) => `${name}-${d}`);
    lists.setList(path, domains.join("\n"));
    await call("POST", "", { name, location: lists.url(path), format: "domains", enabled: false });

    const first = await call("POST", `/${name}/fetch`);
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({
      name,
      status: "ok",
      error: null,
      entries: 3,
      diff: { inserted: 3, added: 3, removed: 0, deactivated: 0 },
      source: { name, last_status: "ok", entries_count: 3, etag: expect.stringMatching(/^"rev-\d+"$/) },
    });
    const [entries] = await server.db.owner<{ n: number }[]>`
      select count(*)::int as n from blocklist_entries where domain = any(${domains}::text[]) and status = 'active'`;
    expect(entries?.n).toBe(3);

    const second = await call("POST", `/${name}/fetch`);
    expect(second.body).toMatchObject({
      status: "not_modified",
      entries: 3,
      source: { last_status: "not_modified" },
    });
    expect(lists.requests.filter((r) => r.path === path).map((r) => r.status)).toEqual([200, 304]);

    lists.setFailure(path, 500);
    const failed = await call("POST", `/${name}/fetch`);
    expect(failed.status).toBe(200);
    expect(failed.body).toMatchObject({
      status: "error",
      diff: null,
      source: { last_status: "error", consecutive_failures: 1, entries_count: 3 },
    });
    expect(failed.body.error).toMatch(/500/);
    lists.setFailure(path, null);
    const [kept] = await server.db.owner<{ n: number }[]>`
      select count(*)::int as n from blocklist_entries where domain = any(${domains}::text[]) and status = 'active'`;
    expect(kept?.n).toBe(3);

    // The import's own updates of list_sources are audited with the admin as actor too.
    const audit = await auditRows(name);
    expect(
      audit.filter((row) => row.action === "UPDATE").every((row) => row.actor_account_id === admin.id),
    ).toBe(true);
    expect(audit.filter((row) => row.action === "UPDATE").length).toBeGreaterThanOrEqual(3);
  });

  test("fetch of a file source by absolute path; 409 while a worker holds the lease", async () => {
    const name = newName();
    const file = join(dir, `${name}.hosts`);
    writeFileSync(file, `0.0.0.0 ${name}-file.example\n`);
    expect((await call("POST", "", { name, location: file, format: "hosts" })).status).toBe(201);
    const fetched = await call("POST", `/${name}/fetch`);
    expect(fetched.body).toMatchObject({ status: "ok", entries: 1, source: { location: file } });

    await server.db.owner`
      update list_sources set lease_owner = 'some-worker', lease_until = now() + interval '5 minutes'
      where name = ${name}`;
    const busy = await call("POST", `/${name}/fetch`);
    expect(busy.status).toBe(409);
    expect(busy.body.error.code).toBe("CONFLICT");
  });

  test("delete: entries only this source listed become inactive; the source is gone; audited", async () => {
    const name = newName();
    const path = `/${name}.txt`;
    const domains = [`${name}-x.example`, `${name}-y.example`];
    lists.setList(path, domains.join("\n"));
    await call("POST", "", { name, location: lists.url(path), format: "domains" });
    expect((await call("POST", `/${name}/fetch`)).body.status).toBe("ok");

    const removed = await call("DELETE", `/${name}`);
    expect(removed.status).toBe(200);
    expect(removed.body).toEqual({ name, deactivated: 2 });
    expect((await call("GET", `/${name}`)).status).toBe(404);
    const rows = await server.db.owner<{ status: string }[]>`
      select status::text from blocklist_entries where domain = any(${domains}::text[])`;
    expect(rows.map((r) => r.status)).toEqual(["inactive", "inactive"]);
    const audit = await auditRows(name);
    expect(audit.at(-1)).toMatchObject({ action: "DELETE", actor_account_id: admin.id });
  });

  test("fetch answers 503 when the API process has no list-source settings", async () => {
    const bare = await startTestServer({ db: server.db });
    try {
      const name = newName();
      const token = (await signInAs(bare, "admin")).accessToken;
      await bare.request("POST", BASE, {
        token,
        body: { name, location: "https://lists.example/x.txt", format: "domains" },
      });
      const response = await bare.request("POST", `${BASE}/${name}/fetch`, { token });
      expect(response.status).toBe(503);
      expect(response.body.error.code).toBe("SERVICE_UNAVAILABLE");
    } finally {
      await bare.close();
    }
  });
});
