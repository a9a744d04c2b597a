/**
 * What a device enforces and how its events are treated, from its current enrollment (or none).
 *
 * Decisions:
 * - No enrollment yet (registered, not enrolled): the spec defaults of protection_config and reporting_config
 *   (full DNS protection; aggregated reporting, so no domain names are stored). Events are stored with
 *   enrollment_id NULL: the owner sees them, nobody else, and a tamper event before enrollment is not lost.
 * - Enrollment active, suspended or unenrolling: its configs; events attach to it. (A suspended enrollment is
 *   still the one the authority oversees, so its events keep its id.)
 * - Only unenrolled enrollments: their configs until the agent removes itself, unenroll_allowed = true;
 *   events attach to no enrollment.
 * - A stored reporting_config that does not validate: the defaults (aggregated, so the most private reading);
 *   a protection_config that does not validate: null, and the heartbeat answers an error so that the agent
 *   keeps its last known good config rather than a guess. Both are reported through `onInvalid`.
 */
import {
  type ProtectionConfig,
  protectionConfigSchema,
} from "@betblocker/common/config/protection-config.schema";
import {
  defaultReportingConfig,
  type ReportingConfig,
  reportingConfigSchema,
} from "@betblocker/common/config/reporting-config.schema";
import type { CurrentEnrollment } from "@betblocker/db/repositories/device.repository";

export interface EffectiveDeviceConfig {
  /** Null when the enrollment's stored protection_config is invalid. */
  protection: ProtectionConfig | null;
  reporting: ReportingConfig;
  /** events.enrollment_id for events the device sends now. */
  eventEnrollmentId: number | null;
  /** The agent may allow its own removal (the enrollment is unenrolled). */
  unenrollAllowed: boolean;
}

export function effectiveDeviceConfig(
  enrollment: CurrentEnrollment | null,
  onInvalid?: (enrollmentId: number, problem: string) => void,
): EffectiveDeviceConfig {
  if (!enrollment) {
    return {
      protection: protectionConfigSchema.parse({}),
      reporting: defaultReportingConfig(),
      eventEnrollmentId: null,
      unenrollAllowed: false,
    };
  }
  const protection = protectionConfigSchema.safeParse(enrollment.protectionConfig ?? {});
  if (!protection.success) onInvalid?.(enrollment.id, `protection_config: ${protection.error.message}`);
  const reporting = reportingConfigSchema.safeParse(enrollment.reportingConfig ?? {});
  if (!reporting.success) onInvalid?.(enrollment.id, `reporting_config: ${reporting.error.message}`);
  const binding = enrollment.status !== "unenrolled";
  return {
    protection: protection.success ? protection.data : null,
    reporting: reporting.success ? reporting.data : defaultReportingConfig(),
    eventEnrollmentId: binding ? enrollment.id : null,
    unenrollAllowed: !binding,
  };
}
