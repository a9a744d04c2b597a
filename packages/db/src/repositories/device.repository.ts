/**
 * devices (and the enrollment a device currently answers to): all SQL of the device features. Owner-side
 * queries run as the signed-in account, device-side ones as the device's owner (apps/api README "Device
 * side"); row-level security decides visibility in both. The heartbeat flush is the exception: one statement
 * for many owners' devices through the SECURITY DEFINER device_record_heartbeats (migration 0014).
 */
import type { Queryable, Sql, TransactionSql } from "../client";
import type { DeviceStatus } from "./device-certificate.repository";

/** app.current_role of device requests: matches no policy's admin branch. */
export const DEVICE_ACTOR_ROLE = "device";

export interface DeviceActor {
  /** devices.account_id: the owner the device acts for. */
  accountId: number;
  /** Null while the device row does not exist yet (registration). */
  deviceId: number | null;
}

/**
 * Makes the rest of the transaction act as a device: app.current_account_id = the device's OWNER (row-level
 * security then confines every query to that tenant), app.current_role = 'device', app.current_device_id =
 * the device, and the client IP for the audit trail. SET LOCAL semantics (set_config(..., true)): nothing
 * outlives the transaction.
 */
export async function applyDeviceActor(
  tx: TransactionSql,
  actor: DeviceActor,
  ip: string | null,
): Promise<void> {
  await tx`select set_config('app.current_account_id', ${String(actor.accountId)}, true),
                  set_config('app.current_role', ${DEVICE_ACTOR_ROLE}, true),
                  set_config('app.current_device_id', ${actor.deviceId === null ? "" : String(actor.deviceId)}, true),
                  set_config('app.current_ip', ${ip ?? ""}, true)`;
}

/** One transaction as a device (see applyDeviceActor). */
export async function withDeviceActor<T>(
  sql: Sql,
  actor: DeviceActor,
  ip: string | null,
  fn: (tx: TransactionSql) => Promise<T>,
): Promise<T> {
  return (await sql.begin(async (tx) => {
    await applyDeviceActor(tx, actor, ip);
    return fn(tx);
  })) as T;
}

export type DevicePlatform = "windows" | "macos" | "linux" | "android" | "ios";

export interface NewDevice {
  /** devices.public_id, chosen by the caller (it is the certificate's CN, issued before the insert). */
  publicId: string;
  accountId: number;
  platform: DevicePlatform;
  osVersion: string | null;
  agentVersion: string | null;
  hostname: string | null;
  hardwareId: string | null;
}

export async function insertDevice(tx: TransactionSql, device: NewDevice): Promise<{ id: number }> {
  const [row] = await tx<{ id: number }[]>`
    insert into devices (public_id, account_id, platform, os_version, agent_version, hostname, hardware_id)
    values (${device.publicId}, ${device.accountId}, ${device.platform}::device_platform, ${device.osVersion},
            ${device.agentVersion}, ${device.hostname}, ${device.hardwareId})
    returning id`;
  if (!row) throw new Error("insert into devices returned no row");
  return row;
}

/** What the owner-side API shows of a device (no hardware id, no internal id in responses). */
export interface DeviceRecord {
  id: number;
  publicId: string;
  /** The transaction's account owns the device (otherwise it sees it through an active enrollment). */
  owned: boolean;
  platform: DevicePlatform;
  osVersion: string | null;
  agentVersion: string | null;
  hostname: string | null;
  status: DeviceStatus;
  lastHeartbeat: Date | null;
  createdAt: Date;
  updatedAt: Date;
  /** Latest expiry among the device's unrevoked certificates; null when it has none. */
  certificateExpiresAt: Date | null;
  /** created_at as UTC ISO text with microseconds: the exact position for a list cursor. */
  cursorCreatedAt: string;
}

interface DeviceRow {
  id: number;
  public_id: string;
  owned: boolean;
  platform: DevicePlatform;
  os_version: string | null;
  agent_version: string | null;
  hostname: string | null;
  status: DeviceStatus;
  last_heartbeat: Date | null;
  created_at: Date;
  updated_at: Date;
  certificate_expires_at: Date | null;
  cursor_created_at: string;
}

function toRecord(row: DeviceRow): DeviceRecord {
  return {
    id: row.id,
    publicId: row.public_id,
    owned: row.owned,
    platform: row.platform,
    osVersion: row.os_version,
    agentVersion: row.agent_version,
    hostname: row.hostname,
    status: row.status,
    lastHeartbeat: row.last_heartbeat,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    certificateExpiresAt: row.certificate_expires_at,
    cursorCreatedAt: row.cursor_created_at,
  };
}

const DEVICE_COLUMNS = `
  d.id, d.public_id, (d.account_id = current_account_id()) as owned, d.platform::text as platform, d.os_version,
  d.agent_version, d.hostname, d.status::text as status, d.last_heartbeat, d.created_at, d.updated_at,
  (select max(c.expires_at) from device_certificates c where c.device_id = d.id and c.revoked_at is null)
    as certificate_expires_at,
  to_char(d.created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as cursor_created_at`;

export interface DevicePageCursor {
  createdAt: string;
  publicId: string;
}

/** The account's own devices, newest first, `limit` after `cursor`. */
export async function listOwnedDevices(
  sql: Queryable,
  accountId: number,
  options: { limit: number; after?: DevicePageCursor | null },
): Promise<DeviceRecord[]> {
  const after = options.after ?? null;
  const rows = await sql.unsafe<DeviceRow[]>(
    `select ${DEVICE_COLUMNS} from devices d
     where d.account_id = $1
       and ($2::timestamptz is null or (d.created_at, d.public_id) < ($2::timestamptz, $3::uuid))
     order by d.created_at desc, d.public_id desc
     limit $4`,
    [accountId, after?.createdAt ?? null, after?.publicId ?? null, options.limit],
  );
  return rows.map(toRecord);
}

/** A device by public id, as far as row-level security shows it to the transaction's actor; else null. */
export async function findVisibleDevice(sql: Queryable, publicId: string): Promise<DeviceRecord | null> {
  const [row] = await sql.unsafe<DeviceRow[]>(
    `select ${DEVICE_COLUMNS} from devices d where d.public_id = $1`,
    [publicId],
  );
  return row ? toRecord(row) : null;
}

/** Enrollments of the device that still bind it (active, suspended, unenrolling). */
export async function countOpenEnrollments(sql: Queryable, deviceId: number): Promise<number> {
  const [row] = await sql<{ n: number }[]>`
    select count(*)::int as n from enrollments
    where device_id = ${deviceId} and status in ('active', 'suspended', 'unenrolling')`;
  return row?.n ?? 0;
}

/** Sets the device disabled (a decommissioned device stays so); returns the status it has now, null if not visible. */
export async function disableDevice(tx: TransactionSql, deviceId: number): Promise<DeviceStatus | null> {
  const [row] = await tx<{ status: DeviceStatus }[]>`
    update devices set status = case when status = 'decommissioned' then status else 'disabled'::device_status end
    where id = ${deviceId}
    returning status::text as status`;
  return row?.status ?? null;
}

/**
 * pending/stale -> active on a heartbeat, with last_heartbeat (never moved backwards). Returns the status
 * after the statement: null when the device is not visible or was not pending/stale.
 */
export async function activateDevice(
  tx: TransactionSql,
  deviceId: number,
  seenAt: Date,
): Promise<DeviceStatus | null> {
  const [row] = await tx<{ status: DeviceStatus }[]>`
    update devices
       set status = 'active', last_heartbeat = greatest(coalesce(last_heartbeat, ${seenAt}), ${seenAt})
     where id = ${deviceId} and status in ('pending', 'stale')
    returning status::text as status`;
  return row?.status ?? null;
}

export interface HeartbeatWrite {
  deviceId: number;
  seenAt: Date;
  /** Empty: keep the stored value. */
  agentVersion: string;
  osVersion: string;
}

/** One statement for a flush of coalesced heartbeats (device_record_heartbeats); returns rows updated. */
export async function recordHeartbeats(sql: Queryable, writes: readonly HeartbeatWrite[]): Promise<number> {
  if (writes.length === 0) return 0;
  const [row] = await sql<{ n: number }[]>`
    select device_record_heartbeats(
      ${writes.map((w) => w.deviceId)}::bigint[],
      ${writes.map((w) => w.seenAt.toISOString())}::timestamptz[],
      ${writes.map((w) => w.agentVersion)}::text[],
      ${writes.map((w) => w.osVersion)}::text[]) as n`;
  return row?.n ?? 0;
}

export type EnrollmentTier = "self" | "partner" | "authority";
export type EnrollmentStatus = "active" | "suspended" | "unenrolling" | "unenrolled";

/** The enrollment a device currently answers to, with its stored (not yet validated) JSONB configs. */
export interface CurrentEnrollment {
  id: number;
  publicId: string;
  tier: EnrollmentTier;
  status: EnrollmentStatus;
  protectionConfig: unknown;
  reportingConfig: unknown;
  /** delay_until of the pending unenroll request, when there is one the actor can see. */
  unenrollEffectiveAt: Date | null;
}

/**
 * The device's current enrollment: the newest one that still binds it (active, suspended, unenrolling), else
 * the newest one at all (unenrolled), else null.
 */
export async function findCurrentEnrollment(
  sql: Queryable,
  deviceId: number,
): Promise<CurrentEnrollment | null> {
  const [row] = await sql<
    {
      id: number;
      public_id: string;
      tier: EnrollmentTier;
      status: EnrollmentStatus;
      protection_config: unknown;
      reporting_config: unknown;
      unenroll_effective_at: Date | null;
    }[]
  >`
    select e.id, e.public_id, e.tier::text as tier, e.status::text as status, e.protection_config, e.reporting_config,
           (select r.delay_until from enrollment_unenroll_requests r
             where r.enrollment_id = e.id and r.status = 'pending') as unenroll_effective_at
    from enrollments e
    where e.device_id = ${deviceId}
    order by (e.status <> 'unenrolled') desc, e.created_at desc, e.id desc
    limit 1`;
  return row
    ? {
        id: row.id,
        publicId: row.public_id,
        tier: row.tier,
        status: row.status,
        protectionConfig: row.protection_config,
        reportingConfig: row.reporting_config,
        unenrollEffectiveAt: row.unenroll_effective_at,
      }
    : null;
}
