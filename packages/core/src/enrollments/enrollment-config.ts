/**
 * The three JSONB configs of an enrollment in their two forms:
 * - stored (spec 9.1-9.3, packages/common schemas): unenrollment_policy.notify_accounts are account ids
 *   (bigint), approval_required_by equals the tier;
 * - API: notify_accounts are account public ids (the API never shows internal ids), approval_required_by
 *   may be omitted (the tier decides it).
 * Validation errors point into the request body: "unenrollment_policy.delay_hours".
 */
import { formatZodError } from "@betblocker/common/config/field-errors";
import {
  type ProtectionConfig,
  protectionConfigSchema,
} from "@betblocker/common/config/protection-config.schema";
import {
  type ReportingConfig,
  reportingConfigSchema,
} from "@betblocker/common/config/reporting-config.schema";
import {
  type UnenrollmentPolicy,
  unenrollmentPolicySchema,
} from "@betblocker/common/config/unenrollment-policy.schema";
import { enrollmentTierSchema } from "@betblocker/common/enums";
import { AppError, type ValidationErrorDetails } from "@betblocker/common/errors/app-error";
import type { EnrollmentTier } from "@betblocker/db/repositories/enrollment.repository";
import { z } from "zod";
import type { ConfigName } from "./config-change";

/** unenrollment_policy as the API reads and writes it. */
export const apiUnenrollmentPolicySchema = unenrollmentPolicySchema.extend({
  /** Optional: the tier decides it; when given it must equal the tier. */
  approval_required_by: enrollmentTierSchema.optional(),
  /**
   * Accounts notified when unenrollment is requested, by public id: the device owner, the owner's active
   * accountability partners, or members of the enrollment's organization.
   */
  notify_accounts: z
    .array(z.uuid({ error: "must be an account id (UUID)" }))
    .max(20, { error: "must list at most 20 accounts" })
    .refine((ids) => new Set(ids).size === ids.length, { error: "must not list an account more than once" })
    .default(() => []),
});
export type ApiUnenrollmentPolicy = z.output<typeof apiUnenrollmentPolicySchema>;

export interface StoredConfigs {
  protectionConfig: ProtectionConfig;
  reportingConfig: ReportingConfig;
  unenrollmentPolicy: UnenrollmentPolicy;
}

function fieldErrors(name: ConfigName, error: z.ZodError, input: unknown) {
  return formatZodError(error, { input }).map((fieldError) => ({
    path: fieldError.path ? `${name}.${fieldError.path}` : name,
    message: fieldError.message,
  }));
}

export function validationFailed(errors: Array<{ path: string; message: string }>): AppError {
  const first = errors[0];
  const more = errors.length > 1 ? ` (and ${errors.length - 1} more)` : "";
  const details: ValidationErrorDetails = { fieldErrors: errors };
  return new AppError(
    "VALIDATION_FAILED",
    `invalid enrollment configuration${first ? `: ${first.path}: ${first.message}` : ""}${more}`,
    details,
  );
}

function parseWith<T>(name: ConfigName, schema: z.ZodType<T>, input: unknown): T {
  const result = schema.safeParse(input ?? {});
  if (result.success) return result.data;
  throw validationFailed(fieldErrors(name, result.error, input ?? {}));
}

/** A submitted protection_config (any subset), defaults applied; VALIDATION_FAILED with body paths. */
export function parseProtectionConfig(input: unknown): ProtectionConfig {
  return parseWith("protection_config", protectionConfigSchema, input);
}

export function parseReportingConfig(input: unknown): ReportingConfig {
  return parseWith("reporting_config", reportingConfigSchema, input);
}

/** A stored-form unenrollment_policy (account ids) after applying changes; VALIDATION_FAILED with body paths. */
export function parseStoredUnenrollmentPolicy(input: unknown): UnenrollmentPolicy {
  return parseWith("unenrollment_policy", unenrollmentPolicySchema, input);
}

/** A submitted unenrollment_policy in API form, checked against the tier's rules. */
export function parseApiUnenrollmentPolicy(input: unknown, tier: EnrollmentTier): ApiUnenrollmentPolicy {
  const policy = parseWith("unenrollment_policy", apiUnenrollmentPolicySchema, input);
  const problems: Array<{ path: string; message: string }> = [];
  if (policy.approval_required_by !== undefined && policy.approval_required_by !== tier) {
    problems.push({
      path: "unenrollment_policy.approval_required_by",
      message: `must be "${tier}" for a ${tier} enrollment (the tier decides who approves)`,
    });
  }
  if (!policy.user_can_request && tier !== "authority") {
    problems.push({
      path: "unenrollment_policy.user_can_request",
      message: "can only be false for an authority enrollment (otherwise nobody could ever unenroll)",
    });
  }
  if (problems.length > 0) throw validationFailed(problems);
  return { ...policy, approval_required_by: tier };
}

/** The stored configs of an enrollment, defaults applied (schema-on-read). A stored config that does not
 * validate is a server-side defect: CONFIG_INVALID (500), never silently replaced by defaults. */
export function parseStoredConfigs(row: {
  protectionConfig: unknown;
  reportingConfig: unknown;
  unenrollmentPolicy: unknown;
  tier: EnrollmentTier;
}): StoredConfigs {
  const protection = protectionConfigSchema.safeParse(row.protectionConfig ?? {});
  const reporting = reportingConfigSchema.safeParse(row.reportingConfig ?? {});
  const policy = unenrollmentPolicySchema.safeParse(row.unenrollmentPolicy ?? {});
  if (!protection.success || !reporting.success || !policy.success) {
    throw new AppError("CONFIG_INVALID", "a stored enrollment configuration does not validate");
  }
  return {
    protectionConfig: protection.data,
    reportingConfig: reporting.data,
    // A stored policy without approval_required_by reads as the tier's (the column check keeps them equal).
    unenrollmentPolicy: { ...policy.data, approval_required_by: row.tier },
  };
}

/** Stored -> API form of the policy (account ids -> public ids; ids without a public id are dropped). */
export function toApiPolicy(
  policy: UnenrollmentPolicy,
  tier: EnrollmentTier,
  publicIdOf: ReadonlyMap<number, string>,
): ApiUnenrollmentPolicy {
  return {
    ...policy,
    approval_required_by: tier,
    notify_accounts: policy.notify_accounts
      .map((id) => publicIdOf.get(id))
      .filter((id): id is string => id !== undefined),
  };
}
