/**
 * Who may do what to a device (owner side). Row-level security is the second wall: a device the caller cannot
 * see never reaches these checks (NOT_FOUND).
 *
 * Revoking (all certificates revoked, device disabled) stops the agent from reporting. For the people this
 * protects, that is a way out of accountability, so it follows the unenrollment rules instead of bypassing
 * them: an owner may revoke only a device with no enrollment that still binds it (active, suspended,
 * unenrolling); otherwise unenroll first (its policy: delay or approval). An account that sees the device
 * through its enrollment (partner, authority) may not revoke it. Admins may (lost or compromised keys).
 */
import { AppError } from "@betblocker/common/errors/app-error";

export interface DeviceActorView {
  role: string;
}

export interface RevocationFacts {
  /** The caller owns the device. */
  owned: boolean;
  /** Enrollments of the device in status active, suspended or unenrolling. */
  openEnrollments: number;
}

/** Throws FORBIDDEN / UNENROLL_NOT_ALLOWED when `actor` may not revoke the device. */
export function assertCanRevokeDevice(actor: DeviceActorView, facts: RevocationFacts): void {
  if (actor.role === "admin") return;
  if (!facts.owned) throw new AppError("FORBIDDEN", "only the device's owner can revoke it");
  if (facts.openEnrollments > 0) {
    throw new AppError(
      "UNENROLL_NOT_ALLOWED",
      "the device is enrolled: request unenrollment first; it can be revoked once the enrollment has ended",
    );
  }
}

/** Publishing a blocklist version is an admin's job. */
export function assertCanPublishBlocklist(actor: DeviceActorView): void {
  if (actor.role !== "admin") throw new AppError("FORBIDDEN", "only admins can publish the blocklist");
}
