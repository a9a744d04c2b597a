/**
 * The second wall of the enrollment lifecycle (migrations 0017-0020), tested directly as the application
 * role, bypassing every service: the WITH CHECK gaps of 0011 are closed, the transition triggers refuse what
 * no service should ever do, organizations are visible to members only, and the system role can do exactly
 * what the worker needs.
 */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { TransactionSql } from "../client";
import { createTestDatabase, type TestDatabase } from "../testing";
import {
  newAccount,
  newDevice,
  newEnrollment,
  newPartnerRelationship,
  one,
  RLS_VIOLATION,
  unique,
} from "./factories";

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase();
});

afterAll(async () => {
  await db?.drop();
});

const as = (accountId: number, role = "user") => ({ accountId, role, ip: "203.0.113.9" });
const SYSTEM = { accountId: null, role: "system" };

/** A refusal by a guard trigger (insufficient_privilege, with the trigger's own message). */
const GUARD_REFUSAL = { code: "42501" };

async function newOrganization(type: string, admin: number, members: number[] = []): Promise<number> {
  const [org] = await db.owner<{ id: number }[]>`
    insert into organizations (name, type) values (${unique("org")}, ${type}::org_type) returning id`;
  const id = (org as { id: number }).id;
  await db.owner`insert into organization_members (organization_id, account_id, role) values (${id}, ${admin}, 'admin')`;
  for (const member of members) {
    await db.owner`insert into organization_members (organization_id, account_id) values (${id}, ${member})`;
  }
  return id;
}

function insertEnrollment(
  sql: TransactionSql,
  row: { deviceId: number; enrolledBy: number; tier: string; org?: number },
) {
  return sql`insert into enrollments (device_id, enrolled_by_account_id, tier, organization_id)
             values (${row.deviceId}, ${row.enrolledBy}, ${row.tier}::enrollment_tier, ${row.org ?? null})
             returning id`;
}

describe("enrollments INSERT: no enrolling of someone else's device without consent", () => {
  test("naming oneself enrolled_by on another account's device is refused (the 0011 gap)", async () => {
    const owner = await newAccount(db);
    const intruder = await newAccount(db);
    const device = await newDevice(db, { accountId: owner.id });
    for (const tier of ["self", "partner", "authority"]) {
      await expect(
        db.asApp(as(intruder.id), (sql) =>
          insertEnrollment(sql, { deviceId: device.id, enrolledBy: intruder.id, tier }),
        ),
      ).rejects.toMatchObject(RLS_VIOLATION);
    }
    // And the device stays out of the intruder's sight.
    const seen = await db.asApp(
      as(intruder.id),
      (sql) => sql`select id from devices where id = ${device.id}`,
    );
    expect(seen).toHaveLength(0);
  });

  test("partner tier needs an ACTIVE partnership that the owner initiated; either party may insert", async () => {
    const owner = await newAccount(db);
    const partner = await newAccount(db);
    const device = await newDevice(db, { accountId: owner.id });
    // Reverse direction (the partner is the protected user): refused.
    const reverse = await newPartnerRelationship(db, { accountId: partner.id, partnerId: owner.id });
    await expect(
      db.asApp(as(partner.id), (sql) =>
        insertEnrollment(sql, { deviceId: device.id, enrolledBy: partner.id, tier: "partner" }),
      ),
    ).rejects.toMatchObject(RLS_VIOLATION);
    await db.owner`delete from partner_relationships where id = ${reverse.id}`;
    // Invited but not accepted: refused.
    const rel = await newPartnerRelationship(db, {
      accountId: owner.id,
      partnerId: partner.id,
      status: "invited",
    });
    await expect(
      db.asApp(as(owner.id), (sql) =>
        insertEnrollment(sql, { deviceId: device.id, enrolledBy: partner.id, tier: "partner" }),
      ),
    ).rejects.toMatchObject(RLS_VIOLATION);
    await db.owner`update partner_relationships set status = 'active' where id = ${rel.id}`;
    const inserted = await db.asApp(as(partner.id), (sql) =>
      insertEnrollment(sql, { deviceId: device.id, enrolledBy: partner.id, tier: "partner" }),
    );
    expect(inserted).toHaveLength(1);
    // Self tier by someone who is not the owner stays refused even for the partner.
    const other = await newDevice(db, { accountId: owner.id });
    await expect(
      db.asApp(as(partner.id), (sql) =>
        insertEnrollment(sql, { deviceId: other.id, enrolledBy: partner.id, tier: "self" }),
      ),
    ).rejects.toMatchObject(RLS_VIOLATION);
  });

  test("authority tier needs an admin of a court/therapy organization whose member owns the device", async () => {
    const owner = await newAccount(db);
    const admin = await newAccount(db, { role: "authority" });
    const device = await newDevice(db, { accountId: owner.id });
    const family = await newOrganization("family", admin.id, [owner.id]);
    const court = await newOrganization("court", admin.id, []);
    for (const org of [family, court]) {
      await expect(
        db.asApp(as(admin.id, "authority"), (sql) =>
          insertEnrollment(sql, { deviceId: device.id, enrolledBy: admin.id, tier: "authority", org }),
        ),
      ).rejects.toMatchObject(RLS_VIOLATION);
    }
    await db.owner`insert into organization_members (organization_id, account_id) values (${court}, ${owner.id})`;
    const inserted = await db.asApp(as(admin.id, "authority"), (sql) =>
      insertEnrollment(sql, { deviceId: device.id, enrolledBy: admin.id, tier: "authority", org: court }),
    );
    expect(inserted).toHaveLength(1);
  });

  test("a new enrollment must start 'active'; the organization belongs to the authority tier only", async () => {
    const owner = await newAccount(db);
    const device = await newDevice(db, { accountId: owner.id });
    await expect(
      db.asApp(
        as(owner.id),
        (sql) => sql`insert into enrollments (device_id, enrolled_by_account_id, tier, status)
                     values (${device.id}, ${owner.id}, 'self', 'unenrolled')`,
      ),
    ).rejects.toMatchObject(RLS_VIOLATION);
    const org = await newOrganization("court", owner.id, []);
    await expect(
      db.owner`insert into enrollments (device_id, enrolled_by_account_id, tier, organization_id)
               values (${device.id}, ${owner.id}, 'self', ${org})`,
    ).rejects.toMatchObject({ code: "23514", constraint_name: "chk_enrollments_organization_tier" });
    await expect(
      db.owner`insert into enrollments (device_id, enrolled_by_account_id, tier, unenrollment_policy)
               values (${device.id}, ${owner.id}, 'partner', '{"approval_required_by": "self"}')`,
    ).rejects.toMatchObject({ code: "23514", constraint_name: "chk_enrollments_policy_tier" });
  });
});

describe("enrollments UPDATE: the lifecycle goes through unenroll requests", () => {
  test("the owner cannot end, move or re-assign an enrollment directly", async () => {
    const owner = await newAccount(db);
    const other = await newAccount(db);
    const device = await newDevice(db, { accountId: owner.id });
    const enrollment = await newEnrollment(db, { deviceId: device.id, enrolledBy: owner.id });
    for (const statement of [
      (sql: TransactionSql) => sql`update enrollments set status = 'unenrolled' where id = ${enrollment.id}`,
      (sql: TransactionSql) => sql`update enrollments set status = 'unenrolling' where id = ${enrollment.id}`,
      (sql: TransactionSql) => sql`update enrollments set tier = 'partner' where id = ${enrollment.id}`,
      (sql: TransactionSql) =>
        sql`update enrollments set enrolled_by_account_id = ${other.id} where id = ${enrollment.id}`,
    ]) {
      await expect(db.asApp(as(owner.id), statement)).rejects.toMatchObject(GUARD_REFUSAL);
    }
    const [row] =
      await db.owner`select status::text as status, tier::text as tier from enrollments where id = ${enrollment.id}`;
    expect(row).toEqual({ status: "active", tier: "self" });
  });

  test("'unenrolled' is final, even with an approved request on file", async () => {
    const owner = await newAccount(db);
    const device = await newDevice(db, { accountId: owner.id });
    const enrollment = await newEnrollment(db, {
      deviceId: device.id,
      enrolledBy: owner.id,
      status: "unenrolled",
    });
    await db.owner`insert into enrollment_unenroll_requests (enrollment_id, requested_by_account_id, status)
                   values (${enrollment.id}, ${owner.id}, 'approved')`;
    await expect(
      db.asApp(
        as(owner.id),
        (sql) => sql`update enrollments set status = 'active' where id = ${enrollment.id}`,
      ),
    ).rejects.toMatchObject(GUARD_REFUSAL);
  });
});

describe("unenroll requests: filed by the owner on a visible enrollment, decided by the prescribed party", () => {
  async function partnerEnrollment() {
    const owner = await newAccount(db);
    const partner = await newAccount(db);
    await newPartnerRelationship(db, { accountId: owner.id, partnerId: partner.id });
    const device = await newDevice(db, { accountId: owner.id });
    const enrollment = await newEnrollment(db, {
      deviceId: device.id,
      enrolledBy: partner.id,
      tier: "partner",
    });
    return { owner, partner, enrollment };
  }

  test("filing on an enrollment one cannot see is refused (the 0011 gap)", async () => {
    const { enrollment } = await partnerEnrollment();
    const intruder = await newAccount(db);
    await expect(
      db.asApp(
        as(intruder.id),
        (
          sql,
        ) => sql`insert into enrollment_unenroll_requests (enrollment_id, requested_by_account_id, required_approver_account_id)
                     values (${enrollment.id}, ${intruder.id}, ${intruder.id})`,
      ),
    ).rejects.toMatchObject(RLS_VIOLATION);
    for (const table of ["enrollment_unenroll_requests", "enrollment_config_change_requests"]) {
      const columns = table === "enrollment_config_change_requests" ? ", changes" : "";
      const values = table === "enrollment_config_change_requests" ? `, '[{"field":"x"}]'` : "";
      await expect(
        db.asApp(as(intruder.id), (sql) =>
          sql.unsafe(
            `insert into ${table} (enrollment_id, requested_by_account_id${columns}) values ($1, $2${values})`,
            [enrollment.id, intruder.id],
          ),
        ),
      ).rejects.toMatchObject(RLS_VIOLATION);
    }
  });

  test("the owner cannot name itself approver, file a decided request, or approve its own request", async () => {
    const { owner, partner, enrollment } = await partnerEnrollment();
    const file = (approver: number | null, status = "pending") =>
      db.asApp(
        as(owner.id),
        (
          sql,
        ) => sql`insert into enrollment_unenroll_requests (enrollment_id, requested_by_account_id, required_approver_account_id, status)
                     values (${enrollment.id}, ${owner.id}, ${approver}, ${status}::unenroll_request_status) returning id`,
      );
    await expect(file(owner.id)).rejects.toMatchObject(RLS_VIOLATION);
    await expect(file(null)).rejects.toMatchObject(RLS_VIOLATION);
    await expect(file(partner.id, "approved")).rejects.toMatchObject(RLS_VIOLATION);
    const request = one(await file(partner.id)) as { id: number };
    await expect(
      db.asApp(
        as(owner.id),
        (
          sql,
        ) => sql`update enrollment_unenroll_requests set status = 'approved', approved_by_account_id = ${owner.id},
                     approved_at = now() where id = ${request.id}`,
      ),
    ).rejects.toMatchObject(GUARD_REFUSAL);
    // Nor pretend the partner approved it.
    await expect(
      db.asApp(
        as(owner.id),
        (
          sql,
        ) => sql`update enrollment_unenroll_requests set status = 'approved', approved_by_account_id = ${partner.id},
                     approved_at = now() where id = ${request.id}`,
      ),
    ).rejects.toMatchObject(GUARD_REFUSAL);
    // The partner approves (recording itself), then the enrollment may end; the decision is final.
    await db.asApp(
      as(partner.id),
      (
        sql,
      ) => sql`update enrollment_unenroll_requests set status = 'approved', approved_by_account_id = ${partner.id},
                   approved_at = now() where id = ${request.id}`,
    );
    await db.asApp(
      as(partner.id),
      (sql) => sql`update enrollments set status = 'unenrolled' where id = ${enrollment.id}`,
    );
    await expect(
      db.asApp(
        as(partner.id),
        (sql) => sql`update enrollment_unenroll_requests set status = 'denied' where id = ${request.id}`,
      ),
    ).rejects.toMatchObject(GUARD_REFUSAL);
  });

  test("only the requester cancels; a self-tier request is only ever 'expired' by its requester or the system", async () => {
    const owner = await newAccount(db);
    const device = await newDevice(db, { accountId: owner.id });
    const enrollment = await newEnrollment(db, { deviceId: device.id, enrolledBy: owner.id });
    const request = one(
      await db.asApp(
        as(owner.id),
        (
          sql,
        ) => sql`insert into enrollment_unenroll_requests (enrollment_id, requested_by_account_id, delay_until)
                     values (${enrollment.id}, ${owner.id}, now() + interval '48 hours') returning id`,
      ),
    ) as { id: number };
    await expect(
      db.asApp(
        as(owner.id),
        (
          sql,
        ) => sql`update enrollment_unenroll_requests set status = 'approved', approved_by_account_id = ${owner.id},
                     approved_at = now() where id = ${request.id}`,
      ),
    ).rejects.toMatchObject(GUARD_REFUSAL);
    await expect(
      db.asApp(
        as(owner.id),
        (sql) => sql`update enrollment_unenroll_requests set delay_until = now() where id = ${request.id}`,
      ),
    ).rejects.toMatchObject(GUARD_REFUSAL);
    // The system (worker) expires it and ends the enrollment; nothing else.
    const done = await db.asApp(SYSTEM, async (sql) => {
      await sql`update enrollment_unenroll_requests set status = 'expired', approved_at = now() where id = ${request.id}`;
      return sql`update enrollments set status = 'unenrolled' where id = ${enrollment.id}`;
    });
    expect(done.count).toBe(1);
  });

  test("the system role sees enrollments and requests but writes nothing else: no new enrollments, no notifications read by users", async () => {
    const owner = await newAccount(db);
    const device = await newDevice(db, { accountId: owner.id });
    await expect(
      db.asApp(SYSTEM, (sql) =>
        insertEnrollment(sql, { deviceId: device.id, enrolledBy: owner.id, tier: "self" }),
      ),
    ).rejects.toMatchObject(RLS_VIOLATION);
    const other = await newAccount(db);
    await db.owner`insert into notifications (account_id, kind, payload) values (${owner.id}, 'x', '{"secret": 1}')`;
    const seen = await db.asApp(
      as(other.id),
      (sql) => sql`select id from notifications where account_id = ${owner.id}`,
    );
    expect(seen).toHaveLength(0);
    const own = await db.asApp(
      as(owner.id),
      (sql) => sql`select id from notifications where account_id = ${owner.id}`,
    );
    expect(own).toHaveLength(1);
  });
});

describe("partner_relationships: nobody makes itself somebody's partner", () => {
  test("inserting a relationship naming oneself as the partner, or an active one, is refused (the 0011 gap)", async () => {
    const victim = await newAccount(db);
    const intruder = await newAccount(db);
    for (const [accountId, partnerId, status] of [
      [victim.id, intruder.id, "invited"],
      [victim.id, intruder.id, "active"],
      [intruder.id, victim.id, "active"],
    ] as const) {
      await expect(
        db.asApp(
          as(intruder.id),
          (sql) => sql`insert into partner_relationships (account_id, partner_account_id, status)
                       values (${accountId}, ${partnerId}, ${status}::partner_status)`,
        ),
      ).rejects.toMatchObject(RLS_VIOLATION);
    }
  });

  test("the inviter cannot accept for the invitee; parties cannot be swapped; rows are not deleted", async () => {
    const user = await newAccount(db);
    const partner = await newAccount(db);
    const rel = one(
      await db.asApp(
        as(user.id),
        (sql) =>
          sql`insert into partner_relationships (account_id, partner_account_id) values (${user.id}, ${partner.id}) returning id`,
      ),
    ) as { id: number };
    await expect(
      db.asApp(
        as(user.id),
        (sql) =>
          sql`update partner_relationships set status = 'active', accepted_at = now() where id = ${rel.id}`,
      ),
    ).rejects.toMatchObject(GUARD_REFUSAL);
    await expect(
      db.asApp(
        as(user.id),
        (sql) =>
          sql`update partner_relationships set account_id = ${partner.id}, partner_account_id = ${user.id} where id = ${rel.id}`,
      ),
    ).rejects.toMatchObject(GUARD_REFUSAL);
    const deleted = await db.asApp(
      as(user.id),
      (sql) => sql`delete from partner_relationships where id = ${rel.id}`,
    );
    expect(deleted.count).toBe(0);
    await db.asApp(
      as(partner.id),
      (sql) =>
        sql`update partner_relationships set status = 'active', accepted_at = now() where id = ${rel.id}`,
    );
    await db.asApp(
      as(user.id),
      (sql) => sql`update partner_relationships set status = 'revoked' where id = ${rel.id}`,
    );
    await expect(
      db.asApp(
        as(partner.id),
        (sql) => sql`update partner_relationships set status = 'active' where id = ${rel.id}`,
      ),
    ).rejects.toMatchObject(GUARD_REFUSAL);
  });
});

describe("organizations: members see, admins manage, nobody joins without accepting", () => {
  test("a non-member sees neither the organization nor its members; a member sees both", async () => {
    const admin = await newAccount(db);
    const member = await newAccount(db);
    const outsider = await newAccount(db);
    const org = await newOrganization("therapy", admin.id, [member.id]);
    const count = (accountId: number) =>
      db.asApp(as(accountId), async (sql) => ({
        orgs: (await sql`select id from organizations where id = ${org}`).length,
        members: (await sql`select id from organization_members where organization_id = ${org}`).length,
      }));
    expect(await count(outsider.id)).toEqual({ orgs: 0, members: 0 });
    expect(await count(member.id)).toEqual({ orgs: 1, members: 2 });
  });

  test("an organization admin cannot add an account directly, nor move a membership to another account", async () => {
    const admin = await newAccount(db);
    const member = await newAccount(db);
    const victim = await newAccount(db);
    const org = await newOrganization("court", admin.id, [member.id]);
    await expect(
      db.asApp(
        as(admin.id),
        (sql) =>
          sql`insert into organization_members (organization_id, account_id) values (${org}, ${victim.id})`,
      ),
    ).rejects.toMatchObject(RLS_VIOLATION);
    await expect(
      db.asApp(
        as(admin.id),
        (sql) => sql`update organization_members set account_id = ${victim.id}
                     where organization_id = ${org} and account_id = ${member.id}`,
      ),
    ).rejects.toMatchObject(GUARD_REFUSAL);
    // A member cannot promote itself; the admin can.
    const promoted = await db.asApp(
      as(member.id),
      (sql) =>
        sql`update organization_members set role = 'admin' where organization_id = ${org} and account_id = ${member.id}`,
    );
    expect(promoted.count).toBe(0);
    const byAdmin = await db.asApp(
      as(admin.id),
      (sql) =>
        sql`update organization_members set role = 'admin' where organization_id = ${org} and account_id = ${member.id}`,
    );
    expect(byAdmin.count).toBe(1);
  });

  test("org_create makes the creator admin; court and therapy need the authority role from the accounts table", async () => {
    const user = await newAccount(db);
    const authority = await newAccount(db, { role: "authority" });
    const refused = await db.asApp(
      as(user.id, "authority"),
      (sql) => sql`select * from org_create('Court', 'court', now())`,
    );
    expect(refused).toHaveLength(0);
    const created = await db.asApp(
      as(authority.id, "authority"),
      (sql) => sql`select * from org_create('Court', 'court', now())`,
    );
    expect(created).toHaveLength(1);
    await expect(
      db.asApp(as(user.id), (sql) => sql`insert into organizations (name, type) values ('Direct', 'family')`),
    ).rejects.toMatchObject(RLS_VIOLATION);
  });
});
