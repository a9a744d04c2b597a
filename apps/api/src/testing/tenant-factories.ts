/**
 * Factories for API tests that need tenants with data: signed-in accounts of any role, devices, enrollments
 * with JSONB configs, events (in the right monthly partition), snapshots and federated reports. Rows are
 * inserted through the owner client (no RLS), so fixtures for any tenant can be made; the code under test
 * still runs as the application role.
 */
import type { TestDatabase } from "@betblocker/db/testing";
import { signUp, type TestServer, uniqueEmail } from "./test-server";

export type Role = "user" | "partner" | "authority" | "admin";

export interface SignedInAccount {
  /** accounts.id (internal). */
  id: number;
  publicId: string;
  email: string;
  role: Role;
  accessToken: string;
}

let counter = 0;
export function uniqueLabel(label: string): string {
  counter += 1;
  return `${label}-${process.pid}-${counter}-${Math.random().toString(36).slice(2, 8)}`;
}

/** A verified, signed-in account; for other roles than user the role is set in the database, then refreshed. */
export async function signInAs(
  server: TestServer,
  role: Role = "user",
  email = uniqueEmail(role),
): Promise<SignedInAccount> {
  const session = await signUp(server, email);
  const [row] = await server.db.owner<{ id: number }[]>`
    update accounts set role = ${role}::account_role where public_id = ${session.accountId} returning id`;
  if (!row) throw new Error("account not found after sign-up");
  let accessToken = session.accessToken;
  if (role !== "user") {
    // The token's role must match the database (auth re-reads it): get one issued with the new role.
    const refreshed = await server.request("POST", "/api/v1/auth/refresh", {
      body: { refresh_token: session.refreshToken },
    });
    if (refreshed.status !== 200) throw new Error(`refresh failed: ${refreshed.status} ${refreshed.text}`);
    accessToken = refreshed.body.access_token;
  }
  return { id: row.id, publicId: session.accountId, email, role, accessToken };
}

/** An account row only (nobody signs in as it): the "other tenant" of isolation tests. */
export async function newAccountRow(
  db: TestDatabase,
  role: Role = "user",
): Promise<{ id: number; publicId: string; email: string }> {
  const email = uniqueEmail(`row-${role}`);
  const [row] = await db.owner<{ id: number; public_id: string }[]>`
    insert into accounts (email, password_hash, role, email_verified)
    values (${email}, ${"$argon2id$v=19$m=19456,t=2,p=1$fixture$fixture"}, ${role}::account_role, true)
    returning id, public_id`;
  if (!row) throw new Error("account not created");
  return { id: row.id, publicId: row.public_id, email };
}

export async function newDevice(
  db: TestDatabase,
  accountId: number,
  options: { status?: string } = {},
): Promise<{ id: number; publicId: string; hostname: string }> {
  const hostname = uniqueLabel("host");
  const [row] = await db.owner<{ id: number; public_id: string }[]>`
    insert into devices (account_id, platform, hostname, status)
    values (${accountId}, 'linux', ${hostname}, ${options.status ?? "active"}::device_status)
    returning id, public_id`;
  if (!row) throw new Error("device not created");
  return { id: row.id, publicId: row.public_id, hostname };
}

export interface EnrollmentOptions {
  deviceId: number;
  enrolledBy: number;
  tier?: "self" | "partner" | "authority";
  reportingConfig?: unknown;
  protectionConfig?: unknown;
  createdAt?: Date;
  status?: string;
}

export async function newEnrollment(
  db: TestDatabase,
  options: EnrollmentOptions,
): Promise<{ id: number; publicId: string }> {
  const [row] = await db.owner<{ id: number; public_id: string }[]>`
    insert into enrollments (device_id, enrolled_by_account_id, tier, reporting_config, protection_config, status, created_at)
    values (${options.deviceId}, ${options.enrolledBy}, ${options.tier ?? "self"}::enrollment_tier,
            ${db.owner.json((options.reportingConfig ?? {}) as never)},
            ${db.owner.json((options.protectionConfig ?? {}) as never)},
            ${options.status ?? "active"}::enrollment_status, ${(options.createdAt ?? new Date()).toISOString()})
    returning id, public_id`;
  if (!row) throw new Error("enrollment not created");
  return { id: row.id, publicId: row.public_id };
}

export interface EventFixture {
  type: string;
  metadata?: Record<string, unknown>;
  at: Date;
  visibleToAuthority?: boolean;
}

/** Inserts events (creating their month's partition when missing); returns their ids in order. */
export async function insertEvents(
  db: TestDatabase,
  target: { deviceId: number; enrollmentId: number },
  events: readonly EventFixture[],
): Promise<number[]> {
  const ids: number[] = [];
  for (const event of events) {
    await db.owner`select ensure_events_partition(${event.at.toISOString().slice(0, 10)}::date)`;
    const [row] = await db.owner<{ id: number }[]>`
      insert into events (device_id, enrollment_id, event_type, metadata, created_at, visible_to_authority)
      values (${target.deviceId}, ${target.enrollmentId}, ${event.type}::event_type,
              ${db.owner.json((event.metadata ?? {}) as never)}, ${event.at.toISOString()},
              ${event.visibleToAuthority ?? true})
      returning id`;
    if (!row) throw new Error("event not created");
    ids.push(row.id);
  }
  return ids;
}

export async function insertSnapshot(
  db: TestDatabase,
  enrollmentId: number,
  date: string,
  summary: unknown,
): Promise<void> {
  await db.owner`
    insert into reporting_snapshots (enrollment_id, snapshot_date, summary)
    values (${enrollmentId}, ${date}::date, ${db.owner.json(summary as never)})`;
}

export async function insertFederatedReport(
  db: TestDatabase,
  report: { deviceId: number; domain: string; heuristic?: string | null; at?: Date },
): Promise<number> {
  const [row] = await db.owner<{ id: number }[]>`
    insert into federated_reports (device_id, domain, heuristic_match_type, reported_at)
    values (${report.deviceId}, ${report.domain}, ${report.heuristic ?? null}, ${(report.at ?? new Date()).toISOString()})
    returning id`;
  if (!row) throw new Error("federated report not created");
  return row.id;
}

export async function insertEntry(
  db: TestDatabase,
  entry: { domain: string; status?: string; source?: string; category?: string | null; addedAt?: Date },
): Promise<number> {
  const [row] = await db.owner<{ id: number }[]>`
    insert into blocklist_entries (domain, status, source, category, added_at)
    values (${entry.domain}, ${entry.status ?? "active"}::blocklist_entry_status,
            ${entry.source ?? "curated"}::blocklist_source, ${entry.category ?? null},
            ${(entry.addedAt ?? new Date()).toISOString()})
    returning id`;
  if (!row) throw new Error("entry not created");
  return row.id;
}

/** A UTC date (YYYY-MM-DD) `days` days from today (negative: in the past). */
export function utcDate(days = 0, now = new Date()): string {
  return new Date(now.getTime() + days * 86_400_000).toISOString().slice(0, 10);
}

/** An instant on a UTC date: `at("2026-03-01", "10:00")`. */
export function at(date: string, time = "12:00:00"): Date {
  return new Date(`${date}T${time.length === 5 ? `${time}:00` : time}Z`);
}
