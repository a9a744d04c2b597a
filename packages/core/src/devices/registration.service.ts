/**
 * Device registration (one-time enrollment code + CSR -> device, certificate) and certificate renewal.
 *
 * Register: the CSR is checked and the certificate issued first (CN = a new device public id), so that a bad
 * CSR costs no database work and uses up no code. Then ONE transaction: redeem the code (pre-authentication
 * SECURITY DEFINER function), switch the transaction to the code's account acting as the device (row-level
 * security as that owner), insert the device (status pending) and its certificate, and note the device on the
 * code. Any failure rolls the redemption back, so the code stays usable; two agents racing with one code get
 * one device and one ENROLLMENT_CODE_INVALID. Unknown, used and expired codes are indistinguishable.
 *
 * A registration does not enroll the device: enrollment is the owner's (or partner's / authority's) separate
 * step (POST /api/v1/enrollments). Until then the device enforces the default config (device-config.ts).
 *
 * Renew: an authenticated device sends a CSR for a new key and gets a new certificate for the same device id;
 * the presented certificate stays valid until it expires, so a lost answer can be retried.
 */
import { randomUUID } from "node:crypto";
import { type DevicePlatform, devicePlatformSchema } from "@betblocker/common/enums";
import { AppError } from "@betblocker/common/errors/app-error";
import type { Sql } from "@betblocker/db/client";
import { withActor } from "@betblocker/db/context";
import {
  applyDeviceActor,
  insertDevice,
  withDeviceActor,
} from "@betblocker/db/repositories/device.repository";
import { insertDeviceCertificate } from "@betblocker/db/repositories/device-certificate.repository";
import {
  markEnrollmentCodeUsedBy,
  redeemEnrollmentCode,
} from "@betblocker/db/repositories/enrollment-code.repository";
import type { Clock } from "../auth/clock";
import { consumeRateLimit, type RateLimitRule, type RateLimitStore } from "../auth/rate-limit";
import type { DeviceSession } from "./device-auth";
import { type DeviceCa, type IssuedDeviceCertificate, issueDeviceCertificate } from "./device-ca";
import { hashEnrollmentCode, normalizeEnrollmentCode } from "./enrollment-code";

export const ENROLLMENT_CODE_INVALID_MESSAGE = "unknown, used or expired enrollment code";

export interface RegisterDeviceInput {
  enrollmentCode: string;
  csrPem: string;
  /** SQL device_platform; anything else is refused. */
  platform: string;
  /** Empty strings mean unknown. */
  osVersion: string;
  agentVersion: string;
  hostname: string;
  hardwareId: string;
}

export interface RegisteredDevice {
  devicePublicId: string;
  certificate: IssuedDeviceCertificate;
  caCertificatePem: string;
}

export interface DeviceRegistrationServiceOptions {
  sql: Sql;
  ca: DeviceCa;
  clock: Clock;
  certificateValidityDays: number;
  rateLimitStore: RateLimitStore;
  limits: { registerPerIp: RateLimitRule; renewalsPerDevice: RateLimitRule };
}

/** Column limits of devices (spec 5.3). */
const FIELD_LIMITS = { os_version: 50, agent_version: 50, hostname: 255, hardware_id: 255 } as const;
// biome-ignore lint/suspicious/noControlCharactersInRegex: rejecting control characters is the point
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f]/;

export class DeviceRegistrationService {
  constructor(private readonly options: DeviceRegistrationServiceOptions) {}

  async register(input: RegisterDeviceInput, ip: string | null): Promise<RegisteredDevice> {
    const { sql, ca, clock } = this.options;
    await consumeRateLimit(
      this.options.rateLimitStore,
      `rl:device-register:ip:${ip ?? "none"}`,
      this.options.limits.registerPerIp,
      clock,
    );
    const code = normalizeEnrollmentCode(input.enrollmentCode);
    if (code === null) throw codeInvalid();
    const fields = checkRegistrationFields(input);
    const devicePublicId = randomUUID();
    const certificate = await issueDeviceCertificate(ca, {
      csrPem: input.csrPem,
      deviceId: devicePublicId,
      validityDays: this.options.certificateValidityDays,
      now: clock(),
    });
    await withActor(sql, { accountId: null, role: "", ip }, async (tx) => {
      const redeemed = await redeemEnrollmentCode(tx, hashEnrollmentCode(code), clock());
      if (!redeemed) throw codeInvalid();
      await applyDeviceActor(tx, { accountId: redeemed.accountId, deviceId: null }, ip);
      const device = await insertDevice(tx, {
        publicId: devicePublicId,
        accountId: redeemed.accountId,
        ...fields,
      });
      await insertDeviceCertificate(tx, {
        deviceId: device.id,
        fingerprint: certificate.fingerprintSha256Hex,
        issuedAt: certificate.notBefore,
        expiresAt: certificate.notAfter,
      });
      await markEnrollmentCodeUsedBy(tx, redeemed.codeId, device.id);
    });
    return { devicePublicId, certificate, caCertificatePem: ca.certificatePem };
  }

  async renew(session: DeviceSession, csrPem: string, ip: string | null): Promise<RegisteredDevice> {
    const { sql, ca, clock } = this.options;
    await consumeRateLimit(
      this.options.rateLimitStore,
      `rl:device-renew:device:${session.deviceId}`,
      this.options.limits.renewalsPerDevice,
      clock,
    );
    const certificate = await issueDeviceCertificate(ca, {
      csrPem,
      deviceId: session.devicePublicId,
      validityDays: this.options.certificateValidityDays,
      now: clock(),
    });
    await withDeviceActor(sql, { accountId: session.accountId, deviceId: session.deviceId }, ip, (tx) =>
      insertDeviceCertificate(tx, {
        deviceId: session.deviceId,
        fingerprint: certificate.fingerprintSha256Hex,
        issuedAt: certificate.notBefore,
        expiresAt: certificate.notAfter,
      }),
    );
    return { devicePublicId: session.devicePublicId, certificate, caCertificatePem: ca.certificatePem };
  }
}

function codeInvalid(): AppError {
  return new AppError("ENROLLMENT_CODE_INVALID", ENROLLMENT_CODE_INVALID_MESSAGE, {
    fieldErrors: [{ path: "enrollment_code", message: ENROLLMENT_CODE_INVALID_MESSAGE }],
  });
}

function checkRegistrationFields(input: RegisterDeviceInput): {
  platform: DevicePlatform;
  osVersion: string | null;
  agentVersion: string | null;
  hostname: string | null;
  hardwareId: string | null;
} {
  const fieldErrors: { path: string; message: string }[] = [];
  const platform = devicePlatformSchema.safeParse(input.platform);
  if (!platform.success) {
    fieldErrors.push({ path: "platform", message: "must be one of windows, macos, linux, android, ios" });
  }
  const text = (path: keyof typeof FIELD_LIMITS, value: string): string | null => {
    const limit = FIELD_LIMITS[path];
    if (value.length > limit || CONTROL_CHARACTERS.test(value)) {
      fieldErrors.push({ path, message: `must be at most ${limit} characters without control characters` });
    }
    const trimmed = value.trim();
    return trimmed === "" ? null : trimmed;
  };
  const fields = {
    osVersion: text("os_version", input.osVersion),
    agentVersion: text("agent_version", input.agentVersion),
    hostname: text("hostname", input.hostname),
    hardwareId: text("hardware_id", input.hardwareId),
  };
  const first = fieldErrors[0];
  if (first || !platform.success) {
    throw new AppError("VALIDATION_FAILED", `invalid registration: ${first?.path}: ${first?.message}`, {
      fieldErrors,
    });
  }
  return { platform: platform.data, ...fields };
}
