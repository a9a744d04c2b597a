/**
 * enrollments.unenrollment_policy (spec 003 section 9.3): who must approve unenrollment, and when
 * it may happen. The API enforces it; the client never does.
 *
 * Contract: strict objects, every field defaulted as in the spec (`parse({})` is the self-tier
 * default: 48 h delay, no minimum duration, nobody extra to notify).
 */
import { z } from "zod";
import { enrollmentTierSchema } from "../enums";

/**
 * The self-tier cooling-off window. Under 24 h the urge that prompted the request has not passed;
 * over 72 h the delay stops being a cooling-off period and becomes a trap.
 */
export const MIN_UNENROLL_DELAY_HOURS = 24;
export const MAX_UNENROLL_DELAY_HOURS = 72;

/** A positive account id (accounts.id is BIGSERIAL; ids beyond 2^53 are not representable here). */
const accountIdSchema = z
  .int({ error: "must be an account id (a positive whole number)" })
  .positive({ error: "must be an account id (a positive whole number)" });

export const unenrollmentPolicySchema = z.strictObject({
  /** Who must approve: "self" (the delay alone), "partner" or "authority". */
  approval_required_by: enrollmentTierSchema.default("self"),
  /** Mandatory delay between a self-tier request and unenrollment taking effect. */
  delay_hours: z
    .int({ error: "must be a whole number of hours" })
    .min(MIN_UNENROLL_DELAY_HOURS, {
      error: `must be between ${MIN_UNENROLL_DELAY_HOURS} and ${MAX_UNENROLL_DELAY_HOURS} hours`,
    })
    .max(MAX_UNENROLL_DELAY_HOURS, {
      error: `must be between ${MIN_UNENROLL_DELAY_HOURS} and ${MAX_UNENROLL_DELAY_HOURS} hours`,
    })
    .default(48),
  /** Whether the authority is notified when unenrollment is requested. */
  notify_on_request: z.boolean().default(true),
  /** Authority tier: whether the enrolled user may request unenrollment at all. */
  user_can_request: z.boolean().default(true),
  /** Days the enrollment must have lasted before unenrollment is allowed; null = no minimum. */
  minimum_enrollment_days: z
    .int({ error: "must be a whole number of days, or null for no minimum" })
    .min(0, { error: "must not be negative (use null or 0 for no minimum)" })
    .nullable()
    .default(null),
  /** Accounts notified when unenrollment is requested, besides the approver. */
  notify_accounts: z
    .array(accountIdSchema)
    .refine((ids) => new Set(ids).size === ids.length, { error: "must not list an account more than once" })
    .default(() => []),
});

/** A validated unenrollment_policy with every default filled in. */
export type UnenrollmentPolicy = z.output<typeof unenrollmentPolicySchema>;
/** What may be stored or submitted: any subset of the fields. */
export type UnenrollmentPolicyInput = z.input<typeof unenrollmentPolicySchema>;

/** A fresh copy of the default unenrollment_policy (safe to mutate). */
export function defaultUnenrollmentPolicy(): UnenrollmentPolicy {
  return unenrollmentPolicySchema.parse({});
}
