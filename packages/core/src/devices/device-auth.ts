/**
 * Device authentication for /api/v1/device/*: client certificate fingerprint -> device session.
 *
 * A session is valid while the certificate row is unrevoked and unexpired (by the API clock) and the device is
 * neither disabled nor decommissioned. The TLS layer has already checked that the certificate chains to the
 * device CA; this adds what only the database knows.
 *
 * Cache: fingerprint -> session (or the reason it is refused) for `ttlMs`, so that a heartbeat costs no query.
 * Staleness this allows, per API process: a certificate revoked or a device disabled by ANOTHER replica, or an
 * enrollment whose config changed, takes effect here within ttlMs. Revocation through this process
 * (`invalidateDevice`) takes effect at once. Certificate expiry is checked on every request, cached or not.
 * Loads are single-flight per fingerprint, and the cache is bounded (oldest entries go first).
 */
import { AppError } from "@betblocker/common/errors/app-error";
import type { Sql } from "@betblocker/db/client";
import {
  type CurrentEnrollment,
  type EnrollmentStatus,
  type EnrollmentTier,
  findCurrentEnrollment,
  withDeviceActor,
} from "@betblocker/db/repositories/device.repository";
import {
  type DeviceStatus,
  lookupDeviceCertificate,
} from "@betblocker/db/repositories/device-certificate.repository";
import type { Clock } from "../auth/clock";
import { type EffectiveDeviceConfig, effectiveDeviceConfig } from "./device-config";

/** The enrollment a device answers to, as the device side needs it. */
export interface DeviceEnrollment {
  id: number;
  publicId: string;
  tier: EnrollmentTier;
  status: EnrollmentStatus;
  unenrollEffectiveAt: Date | null;
}

export interface DeviceSession {
  fingerprint: string;
  certificateId: number;
  certificateExpiresAt: Date;
  deviceId: number;
  devicePublicId: string;
  /** The owner: device requests run as this account (apps/api README "Device side"). */
  accountId: number;
  status: DeviceStatus;
  /** Null when the device has never been enrolled. */
  enrollment: DeviceEnrollment | null;
  config: EffectiveDeviceConfig;
}

type Refusal = "unknown" | "revoked" | "expired" | "device_disabled";

interface CacheEntry {
  session: DeviceSession | null;
  refusal: Refusal | null;
  expiresAtMs: number;
}

export interface DeviceAuthenticatorOptions {
  sql: Sql;
  clock: Clock;
  /** How long a lookup is reused. 0 disables the cache. */
  ttlMs: number;
  maxEntries?: number;
  /** Called with every refusal (for logs); never with secrets. */
  onRefusal?: (reason: Refusal, fingerprint: string) => void;
  /** Called when an enrollment's stored config does not validate (the device gets defaults / an error). */
  onInvalidConfig?: (enrollmentId: number, problem: string) => void;
}

/** Every refusal answers the same to the caller, whatever the reason (logged server-side). */
export const DEVICE_UNAUTHENTICATED_MESSAGE = "device certificate not accepted";

export class DeviceAuthenticator {
  private readonly cache = new Map<string, CacheEntry>();
  private readonly byDevice = new Map<number, Set<string>>();
  private readonly loading = new Map<string, Promise<CacheEntry>>();
  private readonly maxEntries: number;

  constructor(private readonly options: DeviceAuthenticatorOptions) {
    this.maxEntries = options.maxEntries ?? 100_000;
  }

  /** The session of the device presenting the certificate with this SHA-256 fingerprint; UNAUTHENTICATED otherwise. */
  async authenticate(fingerprint: string): Promise<DeviceSession> {
    const nowMs = Date.now();
    let entry = this.cache.get(fingerprint);
    if (!entry || entry.expiresAtMs <= nowMs) entry = await this.load(fingerprint);
    const session = entry.session;
    if (!session) throw this.refuse(entry.refusal ?? "unknown", fingerprint);
    if (session.certificateExpiresAt.getTime() <= this.options.clock().getTime()) {
      throw this.refuse("expired", fingerprint);
    }
    return session;
  }

  /** Forget every cached lookup of the device's certificates (revocation, status change, new enrollment). */
  invalidateDevice(deviceId: number): void {
    const fingerprints = this.byDevice.get(deviceId);
    if (!fingerprints) return;
    for (const fingerprint of fingerprints) this.cache.delete(fingerprint);
    this.byDevice.delete(deviceId);
  }

  invalidateAll(): void {
    this.cache.clear();
    this.byDevice.clear();
  }

  /** Record a status change this process made (pending -> active) in the cached sessions of the device. */
  updateStatus(deviceId: number, status: DeviceStatus): void {
    for (const fingerprint of this.byDevice.get(deviceId) ?? []) {
      const entry = this.cache.get(fingerprint);
      if (entry?.session) entry.session = { ...entry.session, status };
    }
  }

  private refuse(reason: Refusal, fingerprint: string): AppError {
    this.options.onRefusal?.(reason, fingerprint);
    return new AppError("UNAUTHENTICATED", DEVICE_UNAUTHENTICATED_MESSAGE);
  }

  private load(fingerprint: string): Promise<CacheEntry> {
    const pending = this.loading.get(fingerprint);
    if (pending) return pending;
    const promise = this.lookup(fingerprint)
      .then((entry) => {
        if (this.options.ttlMs > 0) this.remember(fingerprint, entry);
        return entry;
      })
      .finally(() => this.loading.delete(fingerprint));
    this.loading.set(fingerprint, promise);
    return promise;
  }

  private remember(fingerprint: string, entry: CacheEntry): void {
    if (this.cache.size >= this.maxEntries) {
      // Map iteration is insertion order: drop the oldest tenth.
      let drop = Math.ceil(this.maxEntries / 10);
      for (const key of this.cache.keys()) {
        if (drop-- <= 0) break;
        this.cache.delete(key);
      }
    }
    this.cache.delete(fingerprint);
    this.cache.set(fingerprint, entry);
    const deviceId = entry.session?.deviceId;
    if (deviceId !== undefined) {
      const set = this.byDevice.get(deviceId) ?? new Set<string>();
      set.add(fingerprint);
      this.byDevice.set(deviceId, set);
    }
  }

  private async lookup(fingerprint: string): Promise<CacheEntry> {
    const expiresAtMs = Date.now() + this.options.ttlMs;
    const refused = (refusal: Refusal): CacheEntry => ({ session: null, refusal, expiresAtMs });
    const state = await lookupDeviceCertificate(this.options.sql, fingerprint);
    if (!state) return refused("unknown");
    if (state.revokedAt !== null) return refused("revoked");
    if (state.expiresAt.getTime() <= this.options.clock().getTime()) return refused("expired");
    if (state.deviceStatus === "disabled" || state.deviceStatus === "decommissioned") {
      return refused("device_disabled");
    }
    const enrollment = await withDeviceActor(
      this.options.sql,
      { accountId: state.accountId, deviceId: state.deviceId },
      null,
      (tx) => findCurrentEnrollment(tx, state.deviceId),
    );
    const session: DeviceSession = {
      fingerprint,
      certificateId: state.certificateId,
      certificateExpiresAt: state.expiresAt,
      deviceId: state.deviceId,
      devicePublicId: state.devicePublicId,
      accountId: state.accountId,
      status: state.deviceStatus,
      enrollment: enrollment ? toDeviceEnrollment(enrollment) : null,
      config: effectiveDeviceConfig(enrollment, this.options.onInvalidConfig),
    };
    return { session, refusal: null, expiresAtMs };
  }
}

function toDeviceEnrollment(enrollment: CurrentEnrollment): DeviceEnrollment {
  return {
    id: enrollment.id,
    publicId: enrollment.publicId,
    tier: enrollment.tier,
    status: enrollment.status,
    unenrollEffectiveAt: enrollment.unenrollEffectiveAt,
  };
}
