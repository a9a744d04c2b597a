/**
 * Row-level security (migration 0011): as the application role, one account can neither read nor change
 * another account's rows in any of the nine tenant-scoped tables; admins see everything; nobody else does.
 */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { TransactionSql } from "../client";
import { createTestDatabase, type TestDatabase } from "../testing";
import {
  newAccount,
  newDevice,
  newDeviceCertificate,
  newEnrollment,
  newReportingSnapshot,
  newTenant,
  RLS_VIOLATION,
  type Tenant,
  unique,
} from "./factories";

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase();
});

afterAll(async () => {
  await db?.drop();
});

const IP = "203.0.113.7";

function as(tenant: Tenant) {
  return { accountId: tenant.account.id, role: "user", ip: IP };
}

async function ids(sql: TransactionSql, table: string): Promise<number[]> {
  const rows = await sql<{ id: number }[]>`select id from ${sql(table)} order by id`;
  return rows.map((r) => r.id);
}

/**
 * The common shape of every isolation test: A sees its own row and not B's, UPDATE and DELETE aimed at B's
 * row affect nothing, INSERT of a row naming B is refused by the policy, and B's row is intact afterwards.
 */
async function expectIsolation(options: {
  table: string;
  own: (t: Tenant) => number;
  update: (sql: TransactionSql, id: number) => Promise<{ count: number }>;
  insertForB: (sql: TransactionSql, b: Tenant) => Promise<unknown>;
}): Promise<{ a: Tenant; b: Tenant }> {
  const a = await newTenant(db);
  const b = await newTenant(db);
  const ownId = options.own(a);
  const otherId = options.own(b);
  const [before] =
    await db.owner`select to_jsonb(t) as row from ${db.owner(options.table)} t where id = ${otherId}`;

  await db.asApp(as(a), async (sql) => {
    const visible = await ids(sql, options.table);
    expect(visible).toContain(ownId);
    expect(visible).not.toContain(otherId);
    const [direct] = await sql`select count(*)::int as n from ${sql(options.table)} where id = ${otherId}`;
    expect(direct?.n).toBe(0);
    expect((await options.update(sql, otherId)).count).toBe(0);
    expect((await sql`delete from ${sql(options.table)} where id = ${otherId}`).count).toBe(0);
  });

  await expect(db.asApp(as(a), (sql) => options.insertForB(sql, b))).rejects.toMatchObject(RLS_VIOLATION);

  const [after] =
    await db.owner`select to_jsonb(t) as row from ${db.owner(options.table)} t where id = ${otherId}`;
  expect(after?.row).toEqual(before?.row);
  return { a, b };
}

describe("row-level security isolates tenants (application role)", () => {
  test("accounts: account A cannot read, update, delete or create another account's row", async () => {
    await expectIsolation({
      table: "accounts",
      own: (t) => t.account.id,
      update: (sql, id) =>
        sql`update accounts set display_name = 'hijacked', role = 'admin' where id = ${id}`,
      insertForB: (sql) =>
        sql`insert into accounts (email, password_hash) values (${`${unique("intruder")}@example.test`}, 'x')`,
    });
  });

  test("devices: account A cannot read, update, delete or create account B's devices", async () => {
    await expectIsolation({
      table: "devices",
      own: (t) => t.deviceId,
      update: (sql, id) => sql`update devices set status = 'disabled' where id = ${id}`,
      insertForB: (sql, b) =>
        sql`insert into devices (account_id, platform) values (${b.account.id}, 'linux')`,
    });
  });

  test("enrollments: account A cannot read, update, delete or create enrollments of account B's devices", async () => {
    await expectIsolation({
      table: "enrollments",
      own: (t) => t.enrollmentId,
      update: (sql, id) => sql`update enrollments set status = 'unenrolled' where id = ${id}`,
      insertForB: (sql, b) =>
        sql`insert into enrollments (device_id, enrolled_by_account_id, tier, status)
            values (${b.deviceId}, ${b.account.id}, 'self', 'suspended')`,
    });
  });

  test("enrollment_unenroll_requests: account A cannot read, approve, delete or file account B's unenroll requests", async () => {
    await expectIsolation({
      table: "enrollment_unenroll_requests",
      own: (t) => t.unenrollRequestId,
      update: (sql, id) =>
        sql`update enrollment_unenroll_requests set status = 'approved', approved_at = now() where id = ${id}`,
      insertForB: (sql, b) =>
        sql`insert into enrollment_unenroll_requests (enrollment_id, requested_by_account_id, status)
            values (${b.enrollmentId}, ${b.account.id}, 'cancelled')`,
    });
  });

  test("partner_relationships: account A cannot read, update, delete or create account B's partnerships", async () => {
    const { a, b } = await expectIsolation({
      table: "partner_relationships",
      own: (t) => t.partnershipId,
      update: (sql, id) => sql`update partner_relationships set status = 'revoked' where id = ${id}`,
      insertForB: (sql, b) =>
        sql`insert into partner_relationships (account_id, partner_account_id) values (${b.account.id}, ${b.partner.id})`,
    });
    // WITH CHECK: A cannot hand its own partnership over to B's accounts either.
    await expect(
      db.asApp(
        as(a),
        (sql) =>
          sql`update partner_relationships set account_id = ${b.account.id}, partner_account_id = ${b.partner.id}
            where id = ${a.partnershipId}`,
      ),
    ).rejects.toMatchObject(RLS_VIOLATION);
  });

  test("refresh_tokens: account A cannot read, revoke, delete or create account B's refresh tokens", async () => {
    const { a, b } = await expectIsolation({
      table: "refresh_tokens",
      own: (t) => t.refreshTokenId,
      update: (sql, id) => sql`update refresh_tokens set revoked_at = now() where id = ${id}`,
      insertForB: (sql, b) =>
        sql`insert into refresh_tokens (account_id, token_hash, expires_at)
            values (${b.account.id}, digest(${unique("t")}, 'sha256'), now() + interval '1 day')`,
    });
    await expect(
      db.asApp(
        as(a),
        (sql) => sql`update refresh_tokens set account_id = ${b.account.id} where id = ${a.refreshTokenId}`,
      ),
    ).rejects.toMatchObject(RLS_VIOLATION);
  });

  test("device_certificates: account A cannot read, revoke, delete or issue certificates of account B's devices", async () => {
    await expectIsolation({
      table: "device_certificates",
      own: (t) => t.certificateId,
      update: (sql, id) => sql`update device_certificates set revoked_at = now() where id = ${id}`,
      insertForB: (sql, b) =>
        sql`insert into device_certificates (device_id, certificate_fingerprint, expires_at)
            values (${b.deviceId}, ${unique("fp")}, now() + interval '1 year')`,
    });
  });

  test("subscriptions: account A cannot read, update, delete or create account B's subscriptions", async () => {
    const { a, b } = await expectIsolation({
      table: "subscriptions",
      own: (t) => t.subscriptionId,
      update: (sql, id) => sql`update subscriptions set status = 'canceled' where id = ${id}`,
      insertForB: (sql, b) =>
        sql`insert into subscriptions (account_id, stripe_customer_id, stripe_subscription_id, status,
                                       current_period_start, current_period_end)
            values (${b.account.id}, ${unique("cus")}, ${unique("sub")}, 'canceled', now(), now() + interval '1 month')`,
    });
    await expect(
      db.asApp(
        as(a),
        (sql) => sql`update subscriptions set account_id = ${b.account.id} where id = ${a.subscriptionId}`,
      ),
    ).rejects.toMatchObject(RLS_VIOLATION);
  });

  test("reporting_snapshots: account A cannot read, update, delete or create snapshots of account B's enrollments", async () => {
    await expectIsolation({
      table: "reporting_snapshots",
      own: (t) => t.snapshotId,
      update: (sql, id) =>
        sql`update reporting_snapshots set summary = '{"total_blocks": 0}' where id = ${id}`,
      insertForB: (sql, b) =>
        sql`insert into reporting_snapshots (enrollment_id, snapshot_date) values (${b.enrollmentId}, '2020-02-02')`,
    });
  });
});

const RLS_TABLES = [
  "accounts",
  "devices",
  "enrollments",
  "enrollment_unenroll_requests",
  "partner_relationships",
  "refresh_tokens",
  "device_certificates",
  "subscriptions",
  "reporting_snapshots",
] as const;

describe("row-level security: who sees what", () => {
  test("an admin sees every row of every tenant-scoped table", async () => {
    await newTenant(db);
    await newTenant(db);
    const admin = await newAccount(db, { role: "admin" });
    for (const table of RLS_TABLES) {
      const [total] = await db.owner`select count(*)::int as n from ${db.owner(table)}`;
      const [seen] = await db.asApp(
        { accountId: admin.id, role: "admin", ip: IP },
        (sql) => sql`select count(*)::int as n from ${sql(table)}`,
      );
      expect({ table, n: seen?.n }).toEqual({ table, n: total?.n });
      expect(total?.n).toBeGreaterThan(0);
    }
  });

  test("a session without an account (or with an empty/garbage account id) sees no tenant-scoped row", async () => {
    await newTenant(db);
    for (const table of RLS_TABLES) {
      const [seen] = await db.asApp(
        { accountId: null, role: "user" },
        (sql) => sql`select count(*)::int as n from ${sql(table)}`,
      );
      expect({ table, n: seen?.n }).toEqual({ table, n: 0 });
    }
    const [garbage] = await db.asApp({ accountId: null, role: "user" }, async (sql) => {
      await sql`select set_config('app.current_account_id', '1 or 1=1', true)`;
      return sql`select count(*)::int as n, current_account_id() as id from accounts`;
    });
    expect(garbage).toEqual({ n: 0, id: null });
  });

  test("an authority sees a device, its certificates and snapshots only while its enrollment is active; the owner sees the authority's enrollment", async () => {
    const owner = await newAccount(db);
    const authority = await newAccount(db, { role: "authority" });
    const device = await newDevice(db, { accountId: owner.id });
    const certificate = await newDeviceCertificate(db, { deviceId: device.id });
    const enrollment = await newEnrollment(db, {
      deviceId: device.id,
      enrolledBy: authority.id,
      tier: "authority",
    });
    const snapshot = await newReportingSnapshot(db, { enrollmentId: enrollment.id });
    const asAuthority = { accountId: authority.id, role: "authority", ip: IP };

    const active = await db.asApp(asAuthority, async (sql) => ({
      // A join across devices and enrollments: the spec's mutually-referencing policies would fail here with
      // "infinite recursion detected in policy".
      joined:
        await sql`select d.id from devices d join enrollments e on e.device_id = d.id where e.id = ${enrollment.id}`,
      certificates: await ids(sql, "device_certificates"),
      snapshots: await ids(sql, "reporting_snapshots"),
    }));
    expect(active.joined.map((r) => r.id)).toEqual([device.id]);
    expect(active.certificates).toEqual([certificate.id]);
    expect(active.snapshots).toEqual([snapshot.id]);

    const asOwner = { accountId: owner.id, role: "user", ip: IP };
    expect(await db.asApp(asOwner, (sql) => ids(sql, "enrollments"))).toEqual([enrollment.id]);

    await db.owner`update enrollments set status = 'unenrolled' where id = ${enrollment.id}`;
    const ended = await db.asApp(asAuthority, async (sql) => ({
      devices: await ids(sql, "devices"),
      certificates: await ids(sql, "device_certificates"),
      enrollments: await ids(sql, "enrollments"),
      snapshots: await ids(sql, "reporting_snapshots"),
    }));
    // The device itself is out of reach once the enrollment is no longer active; the enrollment it made and
    // its history stay visible to the authority.
    expect(ended).toEqual({
      devices: [],
      certificates: [],
      enrollments: [enrollment.id],
      snapshots: [snapshot.id],
    });
  });

  test("the required approver of an unenroll request and the partner see the request and the partnership", async () => {
    const tenant = await newTenant(db);
    const asPartner = { accountId: tenant.partner.id, role: "partner", ip: IP };
    const seen = await db.asApp(asPartner, async (sql) => ({
      requests: await ids(sql, "enrollment_unenroll_requests"),
      partnerships: await ids(sql, "partner_relationships"),
      devices: await ids(sql, "devices"),
    }));
    expect(seen).toEqual({
      requests: [tenant.unenrollRequestId],
      partnerships: [tenant.partnershipId],
      devices: [],
    });
    const approved = await db.asApp(
      asPartner,
      (
        sql,
      ) => sql`update enrollment_unenroll_requests set status = 'approved', approved_by_account_id = ${tenant.partner.id},
                   approved_at = now() where id = ${tenant.unenrollRequestId}`,
    );
    expect(approved.count).toBe(1);
  });
});
