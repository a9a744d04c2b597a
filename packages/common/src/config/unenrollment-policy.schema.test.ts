import { describe, expect, it } from "vitest";
import { type FieldError, formatZodError } from "./field-errors";
import {
  defaultUnenrollmentPolicy,
  type UnenrollmentPolicy,
  unenrollmentPolicySchema,
} from "./unenrollment-policy.schema";

function fieldErrorsFor(value: unknown): FieldError[] {
  const result = unenrollmentPolicySchema.safeParse(value);
  if (result.success) throw new Error(`expected ${JSON.stringify(value)} to be rejected`);
  return formatZodError(result.error, { input: value });
}

// Spec 003 section 9.3; the spec's notify_accounts [42, 99] is an example, the default is nobody.
const SPEC_DEFAULT: UnenrollmentPolicy = {
  approval_required_by: "self",
  delay_hours: 48,
  notify_on_request: true,
  user_can_request: true,
  minimum_enrollment_days: null,
  notify_accounts: [],
};

describe("unenrollment_policy schema", () => {
  it("parses {} to the spec's default", () => {
    expect(unenrollmentPolicySchema.parse({})).toEqual(SPEC_DEFAULT);
    expect(defaultUnenrollmentPolicy()).toEqual(SPEC_DEFAULT);
  });

  it("accepts the spec's example", () => {
    const example = { ...SPEC_DEFAULT, approval_required_by: "authority", notify_accounts: [42, 99] };
    expect(unenrollmentPolicySchema.parse(example)).toEqual(example);
  });

  it("rejects a wrong shape with an error naming the field", () => {
    expect(fieldErrorsFor({ notify_accounts: 42 })).toEqual([
      { path: "notify_accounts", message: "Invalid input: expected array, received number" },
    ]);
    expect(fieldErrorsFor({ approval_required_by: "court" })).toEqual([
      {
        path: "approval_required_by",
        message: 'Invalid option: expected one of "self"|"partner"|"authority"',
      },
    ]);
    expect(fieldErrorsFor({ delay: 48 })).toEqual([{ path: "delay", message: "unknown field" }]);
  });

  it.each([23, 73, 0, 48.5])("rejects delay_hours %d", (hours) => {
    const [error] = fieldErrorsFor({ delay_hours: hours });
    expect(error?.path).toBe("delay_hours");
    expect(error?.message).toMatch(/between 24 and 72 hours|whole number of hours/);
  });

  it("accepts delay_hours at both bounds", () => {
    expect(unenrollmentPolicySchema.parse({ delay_hours: 24 }).delay_hours).toBe(24);
    expect(unenrollmentPolicySchema.parse({ delay_hours: 72 }).delay_hours).toBe(72);
  });

  it("takes null or a non-negative whole number of minimum days", () => {
    expect(unenrollmentPolicySchema.parse({ minimum_enrollment_days: 0 }).minimum_enrollment_days).toBe(0);
    expect(unenrollmentPolicySchema.parse({ minimum_enrollment_days: 90 }).minimum_enrollment_days).toBe(90);
    expect(fieldErrorsFor({ minimum_enrollment_days: -1 })).toEqual([
      { path: "minimum_enrollment_days", message: "must not be negative (use null or 0 for no minimum)" },
    ]);
    expect(fieldErrorsFor({ minimum_enrollment_days: 1.5 })[0]?.path).toBe("minimum_enrollment_days");
  });

  it("requires notify_accounts to be distinct positive whole ids", () => {
    expect(fieldErrorsFor({ notify_accounts: [1, 0, 2.5, "3"] })).toEqual([
      { path: "notify_accounts[1]", message: "must be an account id (a positive whole number)" },
      { path: "notify_accounts[2]", message: "must be an account id (a positive whole number)" },
      { path: "notify_accounts[3]", message: "must be an account id (a positive whole number)" },
    ]);
    expect(fieldErrorsFor({ notify_accounts: [7, 7] })).toEqual([
      { path: "notify_accounts", message: "must not list an account more than once" },
    ]);
  });
});
