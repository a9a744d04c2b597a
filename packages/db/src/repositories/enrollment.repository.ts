/**
 * enrollments: all SQL for the enrollment table and the cross-tenant lookups around it (migration 0020).
 * Every query runs as the acting account under row-level security: an enrollment the actor may not see is
 * simply absent. Writes that must be atomic with others take a TransactionSql.
 */
import type { Queryable, TransactionSql } from "../client";

export type EnrollmentTier = "self" | "partner" | "authority";
export type EnrollmentStatus = "active" | "suspended" | "unenrolling" | "unenrolled";
export type DeviceStatus = "pending" | "active" | "stale" | "disabled" | "decommissioned";

export interface EnrollmentRow {
  id: number;
  publicId: string;
  deviceId: number;
  enrolledByAccountId: number;
  organizationId: number | null;
  tier: EnrollmentTier;
  protectionConfig: unknown;
  reportingConfig: unknown;
  unenrollmentPolicy: unknown;
  status: EnrollmentStatus;
  createdAt: Date;
  updatedAt: Date;
}

interface Row {
  id: number;
  public_id: string;
  device_id: number;
  enrolled_by_account_id: number;
  organization_id: number | null;
  tier: EnrollmentTier;
  protection_config: unknown;
  reporting_config: unknown;
  unenrollment_policy: unknown;
  status: EnrollmentStatus;
  created_at: Date;
  updated_at: Date;
}

function toEnrollment(row: Row): EnrollmentRow {
  return {
    id: row.id,
    publicId: row.public_id,
    deviceId: row.device_id,
    enrolledByAccountId: row.enrolled_by_account_id,
    organizationId: row.organization_id,
    tier: row.tier,
    protectionConfig: row.protection_config,
    reportingConfig: row.reporting_config,
    unenrollmentPolicy: row.unenrollment_policy,
    status: row.status,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

const COLUMNS = `id, public_id, device_id, enrolled_by_account_id, organization_id, tier::text as tier,
  protection_config, reporting_config, unenrollment_policy, status::text as status, created_at, updated_at`;

export interface TargetDevice {
  deviceId: number;
  ownerAccountId: number;
  status: DeviceStatus;
}

/**
 * A device the actor may enroll (own device; a device of an account that made the actor its active partner;
 * a device of a member of a court/therapy organization the actor administers). Null otherwise.
 */
export async function findEnrollableDevice(
  sql: Queryable,
  devicePublicId: string,
): Promise<TargetDevice | null> {
  const [row] = await sql<{ device_id: number; owner_account_id: number; device_status: DeviceStatus }[]>`
    select device_id, owner_account_id, device_status::text as device_status
    from enrollment_target_device(${devicePublicId}::uuid)`;
  return row
    ? { deviceId: row.device_id, ownerAccountId: row.owner_account_id, status: row.device_status }
    : null;
}

export interface InsertEnrollmentInput {
  deviceId: number;
  enrolledByAccountId: number;
  organizationId: number | null;
  tier: EnrollmentTier;
  protectionConfig: unknown;
  reportingConfig: unknown;
  unenrollmentPolicy: unknown;
  /** The server clock's now (created_at drives minimum_enrollment_days). */
  createdAt: Date;
}

/**
 * Inserts an active enrollment. Throws the database error on a second current enrollment of the device
 * (23505 uq_enrollments_device_active / uq_enrollments_device_current) or a refused insert (42501).
 */
export async function insertEnrollment(
  tx: TransactionSql,
  input: InsertEnrollmentInput,
): Promise<EnrollmentRow> {
  const [row] = await tx<Row[]>`
    insert into enrollments (device_id, enrolled_by_account_id, organization_id, tier, protection_config,
                             reporting_config, unenrollment_policy, status, created_at, updated_at)
    values (${input.deviceId}, ${input.enrolledByAccountId}, ${input.organizationId},
            ${input.tier}::enrollment_tier, ${JSON.stringify(input.protectionConfig)}::text::jsonb,
            ${JSON.stringify(input.reportingConfig)}::text::jsonb, ${JSON.stringify(input.unenrollmentPolicy)}::text::jsonb,
            'active', ${input.createdAt}, ${input.createdAt})
    returning ${tx.unsafe(COLUMNS)}`;
  if (!row) throw new Error("enrollment not inserted");
  return toEnrollment(row);
}

export async function findEnrollmentByPublicId(
  tx: TransactionSql,
  publicId: string,
  options: { forUpdate?: boolean } = {},
): Promise<EnrollmentRow | null> {
  const [row] = options.forUpdate
    ? await tx<
        Row[]
      >`select ${tx.unsafe(COLUMNS)} from enrollments where public_id = ${publicId}::uuid for update`
    : await tx<Row[]>`select ${tx.unsafe(COLUMNS)} from enrollments where public_id = ${publicId}::uuid`;
  return row ? toEnrollment(row) : null;
}

export async function findEnrollmentById(
  tx: TransactionSql,
  id: number,
  options: { forUpdate?: boolean } = {},
): Promise<EnrollmentRow | null> {
  const [row] = options.forUpdate
    ? await tx<Row[]>`select ${tx.unsafe(COLUMNS)} from enrollments where id = ${id} for update`
    : await tx<Row[]>`select ${tx.unsafe(COLUMNS)} from enrollments where id = ${id}`;
  return row ? toEnrollment(row) : null;
}

export interface EnrollmentPage {
  /** Keyset position: strictly after (createdAt, publicId) in the listing order (newest first). */
  after?: { createdAt: Date; publicId: string } | null;
  limit: number;
}

/**
 * Enrollments the actor takes part in (device owner, enrolled_by, admin of the enrollment's organization),
 * newest first. Platform admins are not listed everything: this is the actor's own view.
 */
export async function listEnrollmentsOf(
  sql: Queryable,
  accountId: number,
  page: EnrollmentPage,
): Promise<EnrollmentRow[]> {
  const after = page.after ?? null;
  const rows = await sql<Row[]>`
    select ${sql.unsafe(COLUMNS)} from enrollments e
    where (e.enrolled_by_account_id = ${accountId}
           or exists (select 1 from devices d where d.id = e.device_id and d.account_id = ${accountId})
           or (e.organization_id is not null and rls_is_org_admin(e.organization_id)))
      and (${after === null} or (e.created_at, e.public_id) < (${after?.createdAt ?? null}::timestamptz, ${after?.publicId ?? null}::uuid))
    order by e.created_at desc, e.public_id desc
    limit ${page.limit}`;
  return rows.map(toEnrollment);
}

export interface EnrollmentParties {
  enrollmentId: number;
  devicePublicId: string;
  ownerAccountId: number;
  ownerPublicId: string;
  enrolledByPublicId: string;
  organizationPublicId: string | null;
  organizationType: "family" | "therapy" | "court" | "enterprise" | null;
}

/** Public ids of device, owner, enrolled_by and organization, for enrollments the actor can see. */
export async function findEnrollmentParties(
  sql: Queryable,
  enrollmentIds: readonly number[],
): Promise<Map<number, EnrollmentParties>> {
  if (enrollmentIds.length === 0) return new Map();
  const rows = await sql<
    {
      enrollment_id: number;
      device_public_id: string;
      owner_account_id: number;
      owner_public_id: string;
      enrolled_by_public_id: string;
      organization_public_id: string | null;
      organization_type: EnrollmentParties["organizationType"];
    }[]
  >`
    select enrollment_id, device_public_id, owner_account_id, owner_public_id, enrolled_by_public_id,
           organization_public_id, organization_type::text as organization_type
    from enrollment_parties(${enrollmentIds as number[]}::bigint[])`;
  return new Map(
    rows.map((row) => [
      row.enrollment_id,
      {
        enrollmentId: row.enrollment_id,
        devicePublicId: row.device_public_id,
        ownerAccountId: row.owner_account_id,
        ownerPublicId: row.owner_public_id,
        enrolledByPublicId: row.enrolled_by_public_id,
        organizationPublicId: row.organization_public_id,
        organizationType: row.organization_type,
      },
    ]),
  );
}

export interface EnrollmentConfigs {
  protectionConfig: unknown;
  reportingConfig: unknown;
  unenrollmentPolicy: unknown;
}

export async function updateEnrollmentConfigs(
  tx: TransactionSql,
  enrollmentId: number,
  configs: EnrollmentConfigs,
  now: Date,
): Promise<EnrollmentRow> {
  const [row] = await tx<Row[]>`
    update enrollments
       set protection_config = ${JSON.stringify(configs.protectionConfig)}::text::jsonb,
           reporting_config = ${JSON.stringify(configs.reportingConfig)}::text::jsonb,
           unenrollment_policy = ${JSON.stringify(configs.unenrollmentPolicy)}::text::jsonb,
           updated_at = ${now}
     where id = ${enrollmentId}
    returning ${tx.unsafe(COLUMNS)}`;
  if (!row) throw new Error("enrollment not updated (row-level security?)");
  return toEnrollment(row);
}

export async function updateEnrollmentStatus(
  tx: TransactionSql,
  enrollmentId: number,
  status: EnrollmentStatus,
): Promise<void> {
  const result =
    await tx`update enrollments set status = ${status}::enrollment_status where id = ${enrollmentId}`;
  if (result.count !== 1) throw new Error("enrollment status not updated (row-level security?)");
}

/**
 * The accounts among `publicIds` that may be named in notify_accounts of an enrollment of `ownerAccountId`
 * (the owner, the owner's active partners, members of `organizationId`), as public id -> account id.
 */
export async function findRelatedAccounts(
  sql: Queryable,
  ownerAccountId: number,
  organizationId: number | null,
  publicIds: readonly string[],
): Promise<Map<string, number>> {
  if (publicIds.length === 0) return new Map();
  const rows = await sql<{ account_id: number; public_id: string }[]>`
    select account_id, public_id
    from enrollment_related_accounts(${ownerAccountId}, ${organizationId}, ${publicIds as string[]}::uuid[])`;
  return new Map(rows.map((row) => [row.public_id, row.account_id]));
}

/** Account id -> public id (no profile data; migration 0020 account_public_ids). */
export async function findAccountPublicIds(
  sql: Queryable,
  accountIds: readonly number[],
): Promise<Map<number, string>> {
  const unique = [...new Set(accountIds)];
  if (unique.length === 0) return new Map();
  const rows = await sql<{ account_id: number; public_id: string }[]>`
    select account_id, public_id from account_public_ids(${unique}::bigint[])`;
  return new Map(rows.map((row) => [row.account_id, row.public_id]));
}

/** Admins of the enrollment's organization (empty for enrollments without one). */
export async function findEnrollmentOrgAdminIds(sql: Queryable, enrollmentId: number): Promise<number[]> {
  const rows = await sql<
    { account_id: number }[]
  >`select account_id from enrollment_org_admin_ids(${enrollmentId})`;
  return rows.map((row) => row.account_id);
}

/** Enrollments by id, as far as the actor may see them. */
export async function findEnrollmentsByIds(
  sql: Queryable,
  ids: readonly number[],
): Promise<Map<number, EnrollmentRow>> {
  const unique = [...new Set(ids)];
  if (unique.length === 0) return new Map();
  const rows = await sql<
    Row[]
  >`select ${sql.unsafe(COLUMNS)} from enrollments where id = any(${unique}::bigint[])`;
  return new Map(rows.map((row) => [row.id, toEnrollment(row)]));
}
