/**
 * Test-local fixture factories for the schema tests. They insert through the owner (superuser) client, which
 * bypasses row-level security, so fixtures for any tenant can be created regardless of the RLS under test.
 */
import { expect } from "vitest";
import type { TestDatabase } from "../testing";

let counter = 0;
/** Unique per process and call: test files share nothing, but a file may create many rows. */
export function unique(label: string): string {
  counter += 1;
  return `${label}-${process.pid}-${counter}-${Math.random().toString(36).slice(2, 8)}`;
}

export type AccountRole = "user" | "partner" | "authority" | "admin";

export interface AccountRow {
  id: number;
  email: string;
  role: AccountRole;
}

export async function newAccount(
  db: TestDatabase,
  options: { role?: AccountRole; email?: string } = {},
): Promise<AccountRow> {
  const email = options.email ?? `${unique("acct")}@example.test`;
  const role = options.role ?? "user";
  const [row] = await db.owner<AccountRow[]>`
    insert into accounts (email, password_hash, role)
    values (${email}, ${"$argon2id$v=19$m=19456,t=2,p=1$fixture$fixture"}, ${role}::account_role)
    returning id, email, role`;
  if (!row) throw new Error("account fixture not created");
  return row;
}

export async function newDevice(
  db: TestDatabase,
  options: { accountId: number; platform?: string },
): Promise<{ id: number }> {
  const [row] = await db.owner<{ id: number }[]>`
    insert into devices (account_id, platform, hostname)
    values (${options.accountId}, ${options.platform ?? "linux"}::device_platform, ${unique("host")})
    returning id`;
  if (!row) throw new Error("device fixture not created");
  return row;
}

export async function newEnrollment(
  db: TestDatabase,
  options: { deviceId: number; enrolledBy: number; tier?: "self" | "partner" | "authority"; status?: string },
): Promise<{ id: number }> {
  const [row] = await db.owner<{ id: number }[]>`
    insert into enrollments (device_id, enrolled_by_account_id, tier, status)
    values (${options.deviceId}, ${options.enrolledBy}, ${options.tier ?? "self"}::enrollment_tier,
            ${options.status ?? "active"}::enrollment_status)
    returning id`;
  if (!row) throw new Error("enrollment fixture not created");
  return row;
}

export async function newUnenrollRequest(
  db: TestDatabase,
  options: { enrollmentId: number; requestedBy: number; approver?: number | null },
): Promise<{ id: number }> {
  const [row] = await db.owner<{ id: number }[]>`
    insert into enrollment_unenroll_requests (enrollment_id, requested_by_account_id, required_approver_account_id, delay_until)
    values (${options.enrollmentId}, ${options.requestedBy}, ${options.approver ?? null}, now() + interval '48 hours')
    returning id`;
  if (!row) throw new Error("unenroll request fixture not created");
  return row;
}

export async function newPartnerRelationship(
  db: TestDatabase,
  options: { accountId: number; partnerId: number; status?: string },
): Promise<{ id: number }> {
  const [row] = await db.owner<{ id: number }[]>`
    insert into partner_relationships (account_id, partner_account_id, status)
    values (${options.accountId}, ${options.partnerId}, ${options.status ?? "active"}::partner_status)
    returning id`;
  if (!row) throw new Error("partner relationship fixture not created");
  return row;
}

export async function newRefreshToken(
  db: TestDatabase,
  options: { accountId: number },
): Promise<{ id: number }> {
  const [row] = await db.owner<{ id: number }[]>`
    insert into refresh_tokens (account_id, token_hash, expires_at)
    values (${options.accountId}, digest(${unique("token")}, 'sha256'), now() + interval '30 days')
    returning id`;
  if (!row) throw new Error("refresh token fixture not created");
  return row;
}

export async function newDeviceCertificate(
  db: TestDatabase,
  options: { deviceId: number },
): Promise<{ id: number }> {
  const [row] = await db.owner<{ id: number }[]>`
    insert into device_certificates (device_id, certificate_fingerprint, expires_at)
    values (${options.deviceId}, encode(digest(${unique("cert")}, 'sha256'), 'hex'), now() + interval '1 year')
    returning id`;
  if (!row) throw new Error("device certificate fixture not created");
  return row;
}

export async function newSubscription(
  db: TestDatabase,
  options: { accountId: number },
): Promise<{ id: number }> {
  const [row] = await db.owner<{ id: number }[]>`
    insert into subscriptions (account_id, stripe_customer_id, stripe_subscription_id, current_period_start, current_period_end)
    values (${options.accountId}, ${unique("cus")}, ${unique("sub")}, now(), now() + interval '1 month')
    returning id`;
  if (!row) throw new Error("subscription fixture not created");
  return row;
}

export async function newReportingSnapshot(
  db: TestDatabase,
  options: { enrollmentId: number; date?: string },
): Promise<{ id: number }> {
  const [row] = await db.owner<{ id: number }[]>`
    insert into reporting_snapshots (enrollment_id, snapshot_date, summary)
    values (${options.enrollmentId}, ${options.date ?? "2026-01-15"}, ${db.owner.json({ total_blocks: 1 })})
    returning id`;
  if (!row) throw new Error("reporting snapshot fixture not created");
  return row;
}

/**
 * One tenant with one row in every row-level-security table: an account owning a device under an active
 * self enrollment, with a certificate, a refresh token, a subscription, a reporting snapshot, a pending
 * unenroll request (approver: `approver`) and a partnership with `partner`.
 */
export interface Tenant {
  account: AccountRow;
  partner: AccountRow;
  deviceId: number;
  enrollmentId: number;
  certificateId: number;
  refreshTokenId: number;
  subscriptionId: number;
  snapshotId: number;
  unenrollRequestId: number;
  partnershipId: number;
}

export async function newTenant(db: TestDatabase): Promise<Tenant> {
  const account = await newAccount(db);
  const partner = await newAccount(db, { role: "partner" });
  const device = await newDevice(db, { accountId: account.id });
  const enrollment = await newEnrollment(db, { deviceId: device.id, enrolledBy: account.id, tier: "self" });
  return {
    account,
    partner,
    deviceId: device.id,
    enrollmentId: enrollment.id,
    certificateId: (await newDeviceCertificate(db, { deviceId: device.id })).id,
    refreshTokenId: (await newRefreshToken(db, { accountId: account.id })).id,
    subscriptionId: (await newSubscription(db, { accountId: account.id })).id,
    snapshotId: (await newReportingSnapshot(db, { enrollmentId: enrollment.id })).id,
    unenrollRequestId: (
      await newUnenrollRequest(db, {
        enrollmentId: enrollment.id,
        requestedBy: account.id,
        approver: partner.id,
      })
    ).id,
    partnershipId: (await newPartnerRelationship(db, { accountId: account.id, partnerId: partner.id })).id,
  };
}

/** The single row of a result, or a clear failure. */
export function one<T>(rows: readonly T[]): T {
  const [row] = rows;
  if (row === undefined) throw new Error("expected one row, got none");
  return row;
}

/** The error PostgreSQL raises when a row fails a policy's WITH CHECK (insufficient_privilege). */
export const RLS_VIOLATION = {
  code: "42501",
  message: expect.stringMatching(/violates row-level security policy/),
};
