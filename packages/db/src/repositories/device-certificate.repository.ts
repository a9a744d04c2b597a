/**
 * device_certificates: client certificates of devices, by the SHA-256 fingerprint of their DER (lower-case
 * hex). The lookup by fingerprint is pre-authentication (SECURITY DEFINER device_auth_lookup, migration 0014):
 * until it answers, the API does not know whose device is calling. Inserting and revoking run as the device's
 * owner under row-level security.
 */
import type { Queryable, TransactionSql } from "../client";

export type DeviceStatus = "pending" | "active" | "stale" | "disabled" | "decommissioned";

export interface DeviceCertificateState {
  certificateId: number;
  deviceId: number;
  devicePublicId: string;
  /** The device's owner. */
  accountId: number;
  deviceStatus: DeviceStatus;
  expiresAt: Date;
  revokedAt: Date | null;
}

/** The certificate and its device for a fingerprint, whatever their state; null when unknown. */
export async function lookupDeviceCertificate(
  sql: Queryable,
  fingerprint: string,
): Promise<DeviceCertificateState | null> {
  const [row] = await sql<
    {
      certificate_id: number;
      device_id: number;
      device_public_id: string;
      account_id: number;
      device_status: DeviceStatus;
      expires_at: Date;
      revoked_at: Date | null;
    }[]
  >`select certificate_id, device_id, device_public_id, account_id, device_status, expires_at, revoked_at
    from device_auth_lookup(${fingerprint})`;
  return row
    ? {
        certificateId: row.certificate_id,
        deviceId: row.device_id,
        devicePublicId: row.device_public_id,
        accountId: row.account_id,
        deviceStatus: row.device_status,
        expiresAt: row.expires_at,
        revokedAt: row.revoked_at,
      }
    : null;
}

export interface NewDeviceCertificate {
  deviceId: number;
  /** SHA-256 of the certificate's DER, lower-case hex. */
  fingerprint: string;
  issuedAt: Date;
  expiresAt: Date;
}

export async function insertDeviceCertificate(
  tx: TransactionSql,
  certificate: NewDeviceCertificate,
): Promise<number> {
  const [row] = await tx<{ id: number }[]>`
    insert into device_certificates (device_id, certificate_fingerprint, issued_at, expires_at)
    values (${certificate.deviceId}, ${certificate.fingerprint}, ${certificate.issuedAt}, ${certificate.expiresAt})
    returning id`;
  if (!row) throw new Error("insert into device_certificates returned no row");
  return row.id;
}

/** Revokes every unrevoked certificate of the device at `now`; returns how many. */
export async function revokeDeviceCertificates(
  tx: TransactionSql,
  deviceId: number,
  now: Date,
): Promise<number> {
  const rows = await tx`
    update device_certificates set revoked_at = ${now}
    where device_id = ${deviceId} and revoked_at is null
    returning id`;
  return rows.length;
}
