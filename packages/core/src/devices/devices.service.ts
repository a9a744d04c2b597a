/**
 * Devices, owner side: one-time enrollment codes, the device list, one device, revocation. Each operation is
 * one transaction as the signed-in account (`AccountTransaction`, e.g. the API's request.withActor), so
 * row-level security shows only the caller's devices: another tenant's device id is NOT_FOUND, never its data.
 */
import { AppError } from "@betblocker/common/errors/app-error";
import type { TransactionSql } from "@betblocker/db/client";
import type { AccountProfile } from "@betblocker/db/repositories/account.repository";
import {
  countOpenEnrollments,
  type DevicePageCursor,
  type DeviceRecord,
  disableDevice,
  findVisibleDevice,
  listOwnedDevices,
} from "@betblocker/db/repositories/device.repository";
import { revokeDeviceCertificates } from "@betblocker/db/repositories/device-certificate.repository";
import { insertEnrollmentCode } from "@betblocker/db/repositories/enrollment-code.repository";
import type { Clock } from "../auth/clock";
import { consumeRateLimit, type RateLimitRule, type RateLimitStore } from "../auth/rate-limit";
import type { DeviceAuthenticator } from "./device-auth";
import { assertCanRevokeDevice } from "./devices.policy";
import { generateEnrollmentCode, hashEnrollmentCode } from "./enrollment-code";

/** Runs `fn` in one transaction as the signed-in account (role re-read from the database). */
export type AccountTransaction = <T>(
  fn: (tx: TransactionSql, account: AccountProfile) => Promise<T>,
) => Promise<T>;

export interface DevicesServiceOptions {
  clock: Clock;
  enrollmentCodeTtlMinutes: number;
  rateLimitStore: RateLimitStore;
  enrollmentCodesPerAccount: RateLimitRule;
  /** Revocation drops the device's cached sessions here at once. */
  authenticator: DeviceAuthenticator;
}

export interface CreatedEnrollmentCode {
  /** Normalized (10 characters); shown once, never stored. */
  code: string;
  expiresAt: Date;
}

export interface DevicePage {
  items: DeviceRecord[];
  next: DevicePageCursor | null;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export class DevicesService {
  constructor(private readonly options: DevicesServiceOptions) {}

  async createEnrollmentCode(run: AccountTransaction, accountId: number): Promise<CreatedEnrollmentCode> {
    const { clock } = this.options;
    await consumeRateLimit(
      this.options.rateLimitStore,
      `rl:enrollment-code:account:${accountId}`,
      this.options.enrollmentCodesPerAccount,
      clock,
    );
    const code = generateEnrollmentCode();
    const createdAt = clock();
    const expiresAt = new Date(createdAt.getTime() + this.options.enrollmentCodeTtlMinutes * 60_000);
    await run((tx, account) =>
      insertEnrollmentCode(tx, {
        accountId: account.id,
        codeHash: hashEnrollmentCode(code),
        createdAt,
        expiresAt,
      }),
    );
    return { code, expiresAt };
  }

  /** The caller's own devices, newest first. */
  list(
    run: AccountTransaction,
    options: { limit: number; after: DevicePageCursor | null },
  ): Promise<DevicePage> {
    return run(async (tx, account) => {
      const rows = await listOwnedDevices(tx, account.id, { limit: options.limit + 1, after: options.after });
      const items = rows.slice(0, options.limit);
      const last = items[items.length - 1];
      return {
        items,
        next:
          rows.length > options.limit && last
            ? { createdAt: last.cursorCreatedAt, publicId: last.publicId }
            : null,
      };
    });
  }

  /** A device the caller owns or holds an active enrollment on; NOT_FOUND otherwise. */
  get(run: AccountTransaction, publicId: string): Promise<DeviceRecord> {
    return run(async (tx) => requireVisible(tx, publicId));
  }

  /**
   * Revokes every certificate of the device and disables it (devices.policy.ts decides who may). The audit
   * trigger records both changes with the caller as actor. The device's cached sessions are dropped after
   * the commit, so its next request is refused.
   */
  async revoke(
    run: AccountTransaction,
    publicId: string,
  ): Promise<{ device: DeviceRecord; revokedCertificates: number }> {
    const result = await run(async (tx, account) => {
      const device = await requireVisible(tx, publicId);
      assertCanRevokeDevice(account, {
        owned: device.owned,
        openEnrollments: await countOpenEnrollments(tx, device.id),
      });
      const revokedCertificates = await revokeDeviceCertificates(tx, device.id, this.options.clock());
      await disableDevice(tx, device.id);
      const updated = await requireVisible(tx, publicId);
      return { device: updated, revokedCertificates };
    });
    this.options.authenticator.invalidateDevice(result.device.id);
    return result;
  }
}

async function requireVisible(tx: TransactionSql, publicId: string): Promise<DeviceRecord> {
  const device = UUID.test(publicId) ? await findVisibleDevice(tx, publicId.toLowerCase()) : null;
  if (!device) throw new AppError("NOT_FOUND", "no such device");
  return device;
}
