/**
 * Heartbeat monitoring (migration 0029): devices whose heartbeat is overdue, the missed-heartbeat incidents
 * the worker opens and closes, and the alert recipients of an enrollment. Callers pass a transaction opened
 * as the worker (SYSTEM_ACTOR, role 'admin'): devices, enrollments, accounts and device_heartbeat_incidents
 * are all readable to it under row-level security.
 */
import type { TransactionSql } from "../client";

/** Default of protection_config.heartbeat_interval_seconds when the stored config has none. */
export const DEFAULT_HEARTBEAT_INTERVAL_SECONDS = 300;

export interface StaleDeviceRow {
  deviceId: number;
  devicePublicId: string;
  hostname: string | null;
  ownerAccountId: number;
  lastHeartbeat: Date | null;
  enrollmentId: number;
  enrollmentPublicId: string;
  enrolledByAccountId: number;
  tier: string;
  reportingConfig: unknown;
  heartbeatIntervalSeconds: number;
}

interface RawStaleRow {
  device_id: number;
  device_public_id: string;
  hostname: string | null;
  owner_account_id: number;
  last_heartbeat: Date | null;
  enrollment_id: number;
  enrollment_public_id: string;
  enrolled_by_account_id: number;
  tier: string;
  reporting_config: unknown;
  heartbeat_interval_seconds: number;
}

function toStale(row: RawStaleRow): StaleDeviceRow {
  return {
    deviceId: Number(row.device_id),
    devicePublicId: row.device_public_id,
    hostname: row.hostname,
    ownerAccountId: Number(row.owner_account_id),
    lastHeartbeat: row.last_heartbeat,
    enrollmentId: Number(row.enrollment_id),
    enrollmentPublicId: row.enrollment_public_id,
    enrolledByAccountId: Number(row.enrolled_by_account_id),
    tier: row.tier,
    reportingConfig: row.reporting_config,
    heartbeatIntervalSeconds: Number(row.heartbeat_interval_seconds),
  };
}

/**
 * Active devices with an active enrollment whose last heartbeat is older than `multiplier` x the
 * enrollment's heartbeat interval at `now`, oldest first, locked (FOR UPDATE SKIP LOCKED: a second worker
 * skips them; once this transaction commits they are 'stale' and no longer match).
 */
export async function lockOverdueDevices(
  tx: TransactionSql,
  now: Date,
  multiplier: number,
  limit: number,
): Promise<StaleDeviceRow[]> {
  const rows = await tx<RawStaleRow[]>`
    select d.id as device_id, d.public_id as device_public_id, d.hostname, d.account_id as owner_account_id,
           d.last_heartbeat, e.id as enrollment_id, e.public_id as enrollment_public_id,
           e.enrolled_by_account_id, e.tier::text as tier, e.reporting_config, hb.seconds as heartbeat_interval_seconds
    from devices d
    join enrollments e on e.device_id = d.id and e.status = 'active'
    cross join lateral (
      select case when jsonb_typeof(e.protection_config -> 'heartbeat_interval_seconds') = 'number'
                  then (e.protection_config ->> 'heartbeat_interval_seconds')::numeric
                  else ${DEFAULT_HEARTBEAT_INTERVAL_SECONDS}::numeric end as seconds
    ) hb
    where d.status = 'active'
      and (d.last_heartbeat is null
           or d.last_heartbeat < ${now}::timestamptz
                                 - make_interval(secs => (hb.seconds * ${multiplier})::double precision))
    order by d.last_heartbeat asc nulls first, d.id
    limit ${limit}
    for update of d skip locked`;
  return rows.map(toStale);
}

export async function markDevicesStale(tx: TransactionSql, deviceIds: readonly number[]): Promise<number> {
  if (deviceIds.length === 0) return 0;
  const result = await tx`
    update devices set status = 'stale'
    where id = any(${deviceIds as number[]}::bigint[]) and status = 'active'`;
  return result.count;
}

/**
 * Opens the device's missed-heartbeat incident. An incident still open (the device went stale again before
 * the recovery of the previous one was processed) is re-pointed at the new stale heartbeat.
 */
export async function openHeartbeatIncident(
  tx: TransactionSql,
  incident: {
    deviceId: number;
    enrollmentId: number;
    staleHeartbeatAt: Date | null;
    openedAt: Date;
    alertRecipients: number;
  },
): Promise<number> {
  const [row] = await tx<{ id: number }[]>`
    insert into device_heartbeat_incidents (device_id, enrollment_id, stale_heartbeat_at, opened_at, alert_recipients)
    values (${incident.deviceId}, ${incident.enrollmentId}, ${incident.staleHeartbeatAt}, ${incident.openedAt},
            ${incident.alertRecipients})
    on conflict (device_id) where closed_at is null do update
      set enrollment_id = excluded.enrollment_id, stale_heartbeat_at = excluded.stale_heartbeat_at,
          opened_at = greatest(device_heartbeat_incidents.opened_at, excluded.opened_at),
          alert_recipients = excluded.alert_recipients
    returning id`;
  if (!row) throw new Error("heartbeat incident not recorded");
  return Number(row.id);
}

export interface OpenIncidentRow {
  id: number;
  deviceId: number;
  devicePublicId: string;
  hostname: string | null;
  ownerAccountId: number;
  deviceStatus: string;
  lastHeartbeat: Date | null;
  staleHeartbeatAt: Date | null;
  openedAt: Date;
  enrollmentId: number;
  enrollmentPublicId: string;
  enrollmentStatus: string;
  enrolledByAccountId: number;
  reportingConfig: unknown;
  /** The device sent a heartbeat after the incident opened and is active again. */
  recovered: boolean;
}

/**
 * Open incidents that can close: the device is active again with a newer heartbeat (recovered), or the
 * enrollment is no longer active / the device was disabled or decommissioned (closed without a notice).
 * Locked with SKIP LOCKED.
 */
export async function lockClosableIncidents(tx: TransactionSql, limit: number): Promise<OpenIncidentRow[]> {
  const rows = await tx<
    {
      id: number;
      device_id: number;
      device_public_id: string;
      hostname: string | null;
      owner_account_id: number;
      device_status: string;
      last_heartbeat: Date | null;
      stale_heartbeat_at: Date | null;
      opened_at: Date;
      enrollment_id: number;
      enrollment_public_id: string;
      enrollment_status: string;
      enrolled_by_account_id: number;
      reporting_config: unknown;
      recovered: boolean;
    }[]
  >`
    select i.id, i.device_id, d.public_id as device_public_id, d.hostname, d.account_id as owner_account_id,
           d.status::text as device_status, d.last_heartbeat, i.stale_heartbeat_at, i.opened_at,
           i.enrollment_id, e.public_id as enrollment_public_id, e.status::text as enrollment_status,
           e.enrolled_by_account_id, e.reporting_config,
           (d.status = 'active' and e.status = 'active' and d.last_heartbeat is not null
            and d.last_heartbeat > coalesce(i.stale_heartbeat_at, '-infinity'::timestamptz)) as recovered
    from device_heartbeat_incidents i
    join devices d on d.id = i.device_id
    join enrollments e on e.id = i.enrollment_id
    where i.closed_at is null
      and ((d.status = 'active' and d.last_heartbeat is not null
            and d.last_heartbeat > coalesce(i.stale_heartbeat_at, '-infinity'::timestamptz))
           or e.status <> 'active'
           or d.status in ('disabled', 'decommissioned'))
    order by i.id
    limit ${limit}
    for update of i skip locked`;
  return rows.map((row) => ({
    id: Number(row.id),
    deviceId: Number(row.device_id),
    devicePublicId: row.device_public_id,
    hostname: row.hostname,
    ownerAccountId: Number(row.owner_account_id),
    deviceStatus: row.device_status,
    lastHeartbeat: row.last_heartbeat,
    staleHeartbeatAt: row.stale_heartbeat_at,
    openedAt: row.opened_at,
    enrollmentId: Number(row.enrollment_id),
    enrollmentPublicId: row.enrollment_public_id,
    enrollmentStatus: row.enrollment_status,
    enrolledByAccountId: Number(row.enrolled_by_account_id),
    reportingConfig: row.reporting_config,
    recovered: row.recovered,
  }));
}

export async function closeHeartbeatIncident(
  tx: TransactionSql,
  id: number,
  closedAt: Date,
  recoveredAt: Date | null,
): Promise<void> {
  await tx`
    update device_heartbeat_incidents
    set closed_at = greatest(${closedAt}::timestamptz, opened_at), recovered_at = ${recoveredAt}
    where id = ${id} and closed_at is null`;
}

/** E-mail addresses of accounts, by id (accounts that no longer exist are absent). */
export async function findAccountEmails(
  tx: TransactionSql,
  accountIds: readonly number[],
): Promise<Map<number, string>> {
  if (accountIds.length === 0) return new Map();
  const rows = await tx<{ id: number; email: string }[]>`
    select id, email from accounts where id = any(${accountIds as number[]}::bigint[])`;
  return new Map(rows.map((row) => [Number(row.id), row.email]));
}
