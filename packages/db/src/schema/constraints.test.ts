/**
 * Behaviour of triggers and constraints that are not about tenants: updated_at maintenance (appendix A),
 * canonical blocklist/allowlist domains, and the spec's uniqueness rules.
 */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createTestDatabase, type TestDatabase } from "../testing";
import { newAccount, newDevice, newEnrollment, newPartnerRelationship, one, unique } from "./factories";

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase();
});

afterAll(async () => {
  await db?.drop();
});

describe("updated_at trigger", () => {
  test("an UPDATE bumps updated_at to the transaction time and leaves created_at alone", async () => {
    const user = await newAccount(db);
    type Stamps = { created_at: Date; updated_at: Date; tx_now: Date };
    // Even an explicit value is overridden: updated_at always records the time of *this* update.
    const fixture = one(
      await db.owner<Stamps[]>`update accounts set created_at = '2020-01-01Z', updated_at = '2020-01-01Z'
                               where id = ${user.id} returning created_at, updated_at, now() as tx_now`,
    );
    expect(fixture.updated_at.getTime()).toBe(fixture.tx_now.getTime());

    const row = one(
      await db.asApp(
        { accountId: user.id, role: "user" },
        (sql) =>
          sql<
            Stamps[]
          >`update accounts set display_name = 'Robin' where id = ${user.id} returning created_at, updated_at, now() as tx_now`,
      ),
    );
    expect(row.created_at.toISOString()).toBe("2020-01-01T00:00:00.000Z");
    expect(row.updated_at.getTime()).toBe(row.tx_now.getTime());
    expect(row.updated_at.getTime()).toBeGreaterThan(fixture.updated_at.getTime());
  });

  test("every table with updated_at has it bumped on UPDATE", async () => {
    const user = await newAccount(db);
    const device = await newDevice(db, { accountId: user.id });
    const enrollment = await newEnrollment(db, { deviceId: device.id, enrolledBy: user.id });
    const [org] = await db.owner<
      { id: number }[]
    >`insert into organizations (name, type) values ('Family', 'family') returning id`;
    const [entry] = await db.owner<
      { id: number }[]
    >`insert into blocklist_entries (domain) values (${`${unique("bump")}.example`}) returning id`;
    const [allow] = await db.owner<
      { id: number }[]
    >`insert into allowlist_entries (domain) values (${`${unique("help")}.example`}) returning id`;
    const [sub] = await db.owner<{ id: number }[]>`
      insert into subscriptions (account_id, stripe_customer_id, stripe_subscription_id, current_period_start, current_period_end)
      values (${user.id}, ${unique("cus")}, ${unique("sub")}, now(), now() + interval '1 month') returning id`;
    const targets: Array<[string, number, string]> = [
      ["accounts", user.id, "display_name = 'x'"],
      ["devices", device.id, "hostname = 'x'"],
      ["enrollments", enrollment.id, "status = 'suspended'"],
      ["organizations", org?.id as number, "name = 'x'"],
      ["blocklist_entries", entry?.id as number, "category = 'casino'"],
      ["allowlist_entries", allow?.id as number, "reason = 'helpline'"],
      ["subscriptions", sub?.id as number, "status = 'past_due'"],
    ];
    for (const [table, id, set] of targets) {
      // The fixture's timestamp is pushed into the past with the trigger disabled for this transaction.
      const [row] = await db.owner.begin(async (tx) => {
        await tx`set local session_replication_role = replica`;
        await tx.unsafe(`update ${table} set updated_at = '2001-01-01Z' where id = $1`, [id]);
        await tx`set local session_replication_role = origin`;
        return tx.unsafe(
          `update ${table} set ${set} where id = $1 returning updated_at > '2001-01-01Z' as bumped`,
          [id],
        );
      });
      expect({ table, bumped: row?.bumped }).toEqual({ table, bumped: true });
    }
  });
});

describe("constraints", () => {
  test("blocklist and allowlist domains must be lower-case, non-empty and free of whitespace", async () => {
    for (const table of ["blocklist_entries", "allowlist_entries"]) {
      for (const bad of ["Casino.example", " casino.example", "casino.example\n", "casi no.example", ""]) {
        await expect(
          db.owner.unsafe(`insert into ${table} (domain) values ($1)`, [bad]),
        ).rejects.toMatchObject({
          code: "23514",
          constraint_name:
            table === "blocklist_entries"
              ? "chk_blocklist_domain_normalized"
              : "chk_allowlist_domain_normalized",
        });
      }
      const good = `${unique("ok")}.example`;
      await db.owner.unsafe(`insert into ${table} (domain) values ($1)`, [good]);
      await expect(
        db.owner.unsafe(`insert into ${table} (domain) values ($1)`, [good]),
      ).rejects.toMatchObject({ code: "23505" });
    }
  });

  test("e-mail addresses are unique case-insensitively", async () => {
    const email = `${unique("Case")}@Example.test`;
    await newAccount(db, { email });
    await expect(newAccount(db, { email: email.toLowerCase() })).rejects.toMatchObject({
      code: "23505",
      constraint_name: "uq_accounts_email_lower",
    });
  });

  test("a device has at most one active enrollment", async () => {
    const user = await newAccount(db);
    const device = await newDevice(db, { accountId: user.id });
    await newEnrollment(db, { deviceId: device.id, enrolledBy: user.id });
    await expect(newEnrollment(db, { deviceId: device.id, enrolledBy: user.id })).rejects.toMatchObject({
      code: "23505",
      constraint_name: "uq_enrollments_device_active",
    });
    await newEnrollment(db, { deviceId: device.id, enrolledBy: user.id, status: "unenrolled" });
  });

  test("a partnership is unique per unordered pair and never with oneself", async () => {
    const a = await newAccount(db);
    const b = await newAccount(db, { role: "partner" });
    await newPartnerRelationship(db, { accountId: a.id, partnerId: b.id });
    await expect(newPartnerRelationship(db, { accountId: b.id, partnerId: a.id })).rejects.toMatchObject({
      code: "23505",
      constraint_name: "uq_partner_pair",
    });
    await expect(newPartnerRelationship(db, { accountId: a.id, partnerId: a.id })).rejects.toMatchObject({
      code: "23514",
      constraint_name: "chk_partner_not_self",
    });
  });

  test("an account that enrolled devices cannot be deleted while the enrollments exist (ON DELETE RESTRICT)", async () => {
    const authority = await newAccount(db, { role: "authority" });
    const user = await newAccount(db);
    const device = await newDevice(db, { accountId: user.id });
    await newEnrollment(db, { deviceId: device.id, enrolledBy: authority.id, tier: "authority" });
    // restrict_violation (23001) since PostgreSQL 18, foreign_key_violation (23503) before.
    await expect(db.owner`delete from accounts where id = ${authority.id}`).rejects.toMatchObject({
      code: expect.stringMatching(/^(23001|23503)$/),
      constraint_name: "enrollments_enrolled_by_account_id_fkey",
    });
  });

  test("blocklist_versions.snapshot_sha256 must be 32 bytes when present", async () => {
    await db.owner`insert into blocklist_versions (version_number, snapshot_sha256, format_version) values (1, digest('x', 'sha256'), 1)`;
    await expect(
      db.owner`insert into blocklist_versions (version_number, snapshot_sha256) values (2, '\\x00ff'::bytea)`,
    ).rejects.toMatchObject({ code: "23514", constraint_name: "chk_blocklist_versions_snapshot_sha256" });
  });
});
