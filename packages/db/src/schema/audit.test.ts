/**
 * Audit trail (migration 0009): the trigger records actor and client IP from the transaction's SET LOCAL
 * context, audit_log is append-only for the application role, and deleting an account keeps working despite
 * audit_log's foreign key to accounts.
 */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createTestDatabase, type TestDatabase } from "../testing";
import { newAccount, newDevice, newTenant, one } from "./factories";

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase();
});

afterAll(async () => {
  await db?.drop();
});

interface AuditRow {
  id: number;
  actor_account_id: number | null;
  table_name: string;
  row_id: number;
  action: "INSERT" | "UPDATE" | "DELETE";
  old_values: Record<string, unknown> | null;
  new_values: Record<string, unknown> | null;
  client_ip: string | null;
}

async function auditOf(table: string, rowId: number): Promise<AuditRow[]> {
  return db.owner<AuditRow[]>`
    select id, actor_account_id, table_name, row_id, action::text as action, old_values, new_values, client_ip::text as client_ip
    from audit_log where table_name = ${table} and row_id = ${rowId} order by id`;
}

describe("audit trigger", () => {
  test("INSERT, UPDATE and DELETE are logged with actor_account_id and client_ip from the SET LOCAL context", async () => {
    const user = await newAccount(db);
    const context = { accountId: user.id, role: "user", ip: "203.0.113.7" };
    const [device] = await db.asApp(
      context,
      (sql) =>
        sql<
          { id: number }[]
        >`insert into devices (account_id, platform, hostname) values (${user.id}, 'linux', 'before') returning id`,
    );
    const deviceId = device?.id as number;
    await db.asApp(
      { ...context, ip: "2001:db8::42" },
      (sql) => sql`update devices set hostname = 'after' where id = ${deviceId}`,
    );
    await db.asApp(
      { ...context, ip: "198.51.100.9" },
      (sql) => sql`delete from devices where id = ${deviceId}`,
    );

    const rows = await auditOf("devices", deviceId);
    expect(rows.map((r) => [r.action, r.actor_account_id, r.client_ip])).toEqual([
      ["INSERT", user.id, "203.0.113.7/32"],
      ["UPDATE", user.id, "2001:db8::42/128"],
      ["DELETE", user.id, "198.51.100.9/32"],
    ]);
    const [insert, update, remove] = rows;
    expect(insert?.old_values).toBeNull();
    expect(insert?.new_values).toMatchObject({ id: deviceId, hostname: "before", account_id: user.id });
    expect(update?.old_values).toMatchObject({ hostname: "before" });
    expect(update?.new_values).toMatchObject({ hostname: "after" });
    expect(remove?.old_values).toMatchObject({ hostname: "after" });
    expect(remove?.new_values).toBeNull();
  });

  test("every one of the audited tables writes audit rows", async () => {
    const tenant = await newTenant(db);
    const [org] = await db.owner<
      { id: number }[]
    >`insert into organizations (name, type) values ('Clinic', 'therapy') returning id`;
    const [member] = await db.owner<{ id: number }[]>`
      insert into organization_members (organization_id, account_id) values (${org?.id as number}, ${tenant.account.id}) returning id`;
    const [entry] = await db.owner<
      { id: number }[]
    >`insert into blocklist_entries (domain) values ('audited-casino.example') returning id`;
    const [allow] = await db.owner<
      { id: number }[]
    >`insert into allowlist_entries (domain, reason) values ('gamblersanonymous.example', 'help') returning id`;
    const expected: Array<[string, number]> = [
      ["accounts", tenant.account.id],
      ["devices", tenant.deviceId],
      ["enrollments", tenant.enrollmentId],
      ["enrollment_unenroll_requests", tenant.unenrollRequestId],
      ["device_certificates", tenant.certificateId],
      ["partner_relationships", tenant.partnershipId],
      ["organization_members", member?.id as number],
      ["blocklist_entries", entry?.id as number],
      ["subscriptions", tenant.subscriptionId],
      ["allowlist_entries", allow?.id as number],
    ];
    for (const [table, id] of expected) {
      const rows = await auditOf(table, id);
      expect({ table, actions: rows.map((r) => r.action) }).toEqual({ table, actions: ["INSERT"] });
    }
    // Not audited (spec): refresh tokens would only add secrets-adjacent noise.
    expect(await auditOf("refresh_tokens", tenant.refreshTokenId)).toEqual([]);
  });

  test("a missing, empty or malformed context is recorded as NULL instead of failing the write", async () => {
    const user = await newAccount(db);
    const [device] = await db.asApp(
      { accountId: user.id, role: "user", ip: "not-an-ip" },
      (sql) =>
        sql<
          { id: number }[]
        >`insert into devices (account_id, platform) values (${user.id}, 'android') returning id`,
    );
    const [fixture] = await db.owner<
      { id: number }[]
    >`insert into blocklist_entries (domain) values ('owner-made.example') returning id`;
    const [viaApp] = await auditOf("devices", device?.id as number);
    expect(viaApp).toMatchObject({ actor_account_id: user.id, client_ip: null });
    const [viaOwner] = await auditOf("blocklist_entries", fixture?.id as number);
    expect(viaOwner).toMatchObject({ actor_account_id: null, client_ip: null });
  });

  test("an actor that does not exist is recorded as NULL (the audit foreign key must not abort the write)", async () => {
    // blocklist_entries has no row-level security, so the write itself is allowed for any actor.
    const entry = one(
      await db.asApp(
        { accountId: 987_654_321, role: "admin", ip: "192.0.2.1" },
        (sql) =>
          sql<
            { id: number }[]
          >`insert into blocklist_entries (domain) values ('ghost-actor.example') returning id`,
      ),
    );
    const [row] = await auditOf("blocklist_entries", entry.id);
    expect(row).toMatchObject({ action: "INSERT", actor_account_id: null, client_ip: "192.0.2.1/32" });
  });

  test("password hashes never reach the audit log", async () => {
    const user = await newAccount(db);
    await db.asApp(
      { accountId: user.id, role: "user", ip: "192.0.2.2" },
      (sql) =>
        sql`update accounts set password_hash = 'new-argon2id-hash', display_name = 'Sam' where id = ${user.id}`,
    );
    const rows = await auditOf("accounts", user.id);
    expect(rows.map((r) => r.action)).toEqual(["INSERT", "UPDATE"]);
    expect(JSON.stringify(rows)).not.toContain("argon2id");
    expect(rows[1]?.old_values?.password_hash).toBe("[redacted]");
    expect(rows[1]?.new_values?.password_hash).toBe("[redacted:changed]");
    expect(rows[1]?.new_values?.display_name).toBe("Sam");
  });

  test("an account can delete itself: its audit rows lose the actor (ON DELETE SET NULL) and the deletion is logged", async () => {
    const user = await newAccount(db);
    const device = await newDevice(db, { accountId: user.id });
    const context = { accountId: user.id, role: "user", ip: "203.0.113.50" };
    await db.asApp(context, (sql) => sql`update devices set hostname = 'mine' where id = ${device.id}`);

    const deleted = await db.asApp(context, (sql) => sql`delete from accounts where id = ${user.id}`);
    expect(deleted.count).toBe(1);

    const [gone] = await db.owner`select count(*)::int as n from accounts where id = ${user.id}`;
    expect(gone?.n).toBe(0);
    const accountRows = await auditOf("accounts", user.id);
    expect(accountRows.map((r) => [r.action, r.actor_account_id, r.client_ip])).toEqual([
      ["INSERT", null, null],
      ["DELETE", null, "203.0.113.50/32"],
    ]);
    const deviceRows = await auditOf("devices", device.id);
    // The update made by the (now deleted) account, and the cascaded device deletion.
    expect(deviceRows.map((r) => [r.action, r.actor_account_id])).toEqual([
      ["INSERT", null],
      ["UPDATE", null],
      ["DELETE", null],
    ]);
  });

  test("an admin deleting another account keeps the admin as actor", async () => {
    const admin = await newAccount(db, { role: "admin" });
    const user = await newAccount(db);
    await db.asApp(
      { accountId: admin.id, role: "admin", ip: "192.0.2.77" },
      (sql) => sql`delete from accounts where id = ${user.id}`,
    );
    const rows = await auditOf("accounts", user.id);
    expect(rows.at(-1)).toMatchObject({
      action: "DELETE",
      actor_account_id: admin.id,
      client_ip: "192.0.2.77/32",
    });
  });
});

describe("audit_log is append-only for the application role", () => {
  test("UPDATE on audit_log as the application role fails with permission denied", async () => {
    const user = await newAccount(db);
    await expect(
      db.asApp(
        { accountId: user.id, role: "admin" },
        (sql) => sql`update audit_log set actor_account_id = null`,
      ),
    ).rejects.toMatchObject({
      code: "42501",
      message: expect.stringMatching(/permission denied for table audit_log/),
    });
  });

  test("DELETE on audit_log as the application role fails with permission denied", async () => {
    const user = await newAccount(db);
    await expect(
      db.asApp({ accountId: user.id, role: "admin" }, (sql) => sql`delete from audit_log`),
    ).rejects.toMatchObject({
      code: "42501",
      message: expect.stringMatching(/permission denied for table audit_log/),
    });
    await expect(
      db.asApp({ accountId: user.id, role: "admin" }, (sql) => sql`truncate audit_log`),
    ).rejects.toMatchObject({
      code: "42501",
    });
    const [count] = await db.owner`select count(*)::int as n from audit_log`;
    expect(count?.n).toBeGreaterThan(0);
  });

  test("the application role can read and append to audit_log", async () => {
    const user = await newAccount(db);
    const inserted = await db.asApp({ accountId: user.id, role: "user" }, async (sql) => {
      await sql`insert into audit_log (actor_account_id, table_name, row_id, action) values (${user.id}, 'manual', 1, 'INSERT')`;
      return sql`select count(*)::int as n from audit_log where table_name = 'manual'`;
    });
    expect(inserted[0]?.n).toBe(1);
  });
});
