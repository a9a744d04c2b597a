/**
 * ensureAppRoleLogin gives the application role a login with a generated password kept 0600 under the data
 * directory, idempotently; assertRestrictedRole refuses pools that could bypass RLS. A throwaway role stands
 * in for betblocker_api, whose password the rest of the suite relies on.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { appSecretPath, assertRestrictedRole, ensureAppRoleLogin } from "./app-role";
import { createSql } from "./client";
import { createTestDatabase, type TestDatabase } from "./testing";

let db: TestDatabase;
let dataDir: string;
const role = `bb_test_role_${randomBytes(4).toString("hex")}`;

beforeAll(async () => {
  db = await createTestDatabase();
  dataDir = mkdtempSync(join(tmpdir(), "bb-app-role-"));
  await db.owner.unsafe(`create role ${role} nologin nosuperuser nobypassrls`);
});

afterAll(async () => {
  await db?.owner.unsafe(`drop role if exists ${role}`);
  await db?.drop();
  rmSync(dataDir, { recursive: true, force: true });
});

describe("ensureAppRoleLogin", () => {
  test("sets a generated password, keeps it 0600, returns a URL that logs in as the role; a second call changes nothing", async () => {
    const url = await ensureAppRoleLogin(db.url, dataDir, { role });
    const secret = appSecretPath(dataDir);
    expect(statSync(secret).mode & 0o777).toBe(0o600);
    const { password } = JSON.parse(readFileSync(secret, "utf8")) as { password: string };
    expect(password).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(new URL(url).username).toBe(role);
    expect(decodeURIComponent(new URL(url).password)).toBe(password);

    const sql = createSql(url, { max: 1 });
    try {
      const [row] = await sql`select current_user as me`;
      expect(row?.me).toBe(role);
    } finally {
      await sql.end({ timeout: 5 });
    }
    const [before] = await db.owner`select rolpassword from pg_authid where rolname = ${role}`;
    expect(await ensureAppRoleLogin(db.url, dataDir, { role })).toBe(url);
    const [after] = await db.owner`select rolpassword from pg_authid where rolname = ${role}`;
    expect(after?.rolpassword).toBe(before?.rolpassword);
  });

  test("rejects a role name that is not a plain identifier", async () => {
    await expect(ensureAppRoleLogin(db.url, dataDir, { role: "x; drop table accounts" })).rejects.toThrow(
      /invalid role name/,
    );
  });
});

describe("assertRestrictedRole", () => {
  test("accepts the application role and refuses the superuser owner", async () => {
    await expect(assertRestrictedRole(db.app)).resolves.toBeUndefined();
    await expect(assertRestrictedRole(db.owner)).rejects.toThrow(/can bypass row-level security/);
  });
});
