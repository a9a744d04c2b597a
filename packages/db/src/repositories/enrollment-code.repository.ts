/**
 * device_enrollment_codes (migration 0013): one-time codes an owner creates and an agent redeems at
 * registration. Creating runs as the owner under row-level security; redeeming is pre-authentication
 * (SECURITY DEFINER device_redeem_enrollment_code) and must share the registration's transaction, so that
 * a registration that fails later leaves the code unused.
 */
import type { Queryable, TransactionSql } from "../client";

export interface NewEnrollmentCode {
  accountId: number;
  /** SHA-256 (32 bytes) of the normalized code. */
  codeHash: Buffer;
  createdAt: Date;
  expiresAt: Date;
}

export async function insertEnrollmentCode(sql: Queryable, code: NewEnrollmentCode): Promise<number> {
  const [row] = await sql<{ id: number }[]>`
    insert into device_enrollment_codes (account_id, code_hash, created_at, expires_at)
    values (${code.accountId}, ${code.codeHash}, ${code.createdAt}, ${code.expiresAt})
    returning id`;
  if (!row) throw new Error("insert into device_enrollment_codes returned no row");
  return row.id;
}

/**
 * Marks an unused, unexpired code used at `now` and returns its id and owner; null for an unknown, used or
 * expired code. Takes the registration's transaction: a rollback gives the code back.
 */
export async function redeemEnrollmentCode(
  tx: TransactionSql,
  codeHash: Buffer,
  now: Date,
): Promise<{ codeId: number; accountId: number } | null> {
  const [row] = await tx<{ code_id: number; account_id: number }[]>`
    select code_id, account_id from device_redeem_enrollment_code(${codeHash}, ${now})`;
  return row ? { codeId: row.code_id, accountId: row.account_id } : null;
}

/** Records which device a redeemed code registered (runs as the code's owner). */
export async function markEnrollmentCodeUsedBy(
  tx: TransactionSql,
  codeId: number,
  deviceId: number,
): Promise<void> {
  await tx`update device_enrollment_codes set used_by_device_id = ${deviceId} where id = ${codeId}`;
}
