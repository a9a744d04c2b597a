/**
 * Request and response schemas of /api/v1/enrollments and the request views shared with
 * /api/v1/unenroll-requests and /api/v1/config-change-requests. Request bodies are strict (unknown fields are
 * a 400); the three configs are the packages/common schemas (defaults applied), with notify_accounts as
 * account public ids. Only public ids ever leave the API.
 */
import { protectionConfigSchema } from "@betblocker/common/config/protection-config.schema";
import { reportingConfigSchema } from "@betblocker/common/config/reporting-config.schema";
import {
  enrollmentStatusSchema,
  enrollmentTierSchema,
  unenrollRequestStatusSchema,
} from "@betblocker/common/enums";
import { apiUnenrollmentPolicySchema } from "@betblocker/core/enrollments/enrollment-config";
import type {
  ChangeView,
  EnrollmentView,
  RequestView,
} from "@betblocker/core/enrollments/enrollment-support";
import { z } from "zod";

/** Action routes take no input; no body or an empty JSON object. */
export const emptyBodySchema = z.strictObject({}).nullish();

export const idParamsSchema = z.strictObject({ id: z.uuid({ error: "must be a UUID" }) });

const timestamp = z.iso.datetime({ offset: true });

export const listQuerySchema = z.strictObject({
  limit: z.coerce
    .number()
    .int()
    .min(1)
    .max(200)
    .default(50)
    .meta({ description: "Page size, 1-200 (default 50)." }),
  cursor: z.string().max(512).optional().meta({ description: "next_cursor of the previous page." }),
});

export const createEnrollmentBodySchema = z
  .strictObject({
    device_id: z.uuid({ error: "must be a device id (UUID)" }),
    tier: enrollmentTierSchema,
    partner_account_id: z
      .uuid({ error: "must be an account id (UUID)" })
      .optional()
      .meta({
        description:
          "Partner tier, when the device owner enrolls: the account id of an ACTIVE accountability partner " +
          "(one the owner invited and who accepted). A partner enrolling the owner's device omits it.",
      }),
    organization_id: z.uuid({ error: "must be an organization id (UUID)" }).optional().meta({
      description: "Authority tier: the court or therapy organization whose admin enrolls the device.",
    }),
    protection_config: protectionConfigSchema.optional(),
    reporting_config: reportingConfigSchema.optional(),
    unenrollment_policy: apiUnenrollmentPolicySchema.optional(),
  })
  .meta({ id: "CreateEnrollment" });

const configPatch = (name: string) =>
  z
    .record(z.string(), z.unknown())
    .optional()
    .meta({
      description:
        `Any subset of ${name}: objects merge key by key, values and lists replace. The result must validate; ` +
        "changes that loosen protection need approval (see the tighten/loosen table in the API README).",
    });

export const updateEnrollmentBodySchema = z
  .strictObject({
    protection_config: configPatch("protection_config"),
    reporting_config: configPatch("reporting_config"),
    unenrollment_policy: configPatch("unenrollment_policy"),
  })
  .refine(
    (body) =>
      body.protection_config !== undefined ||
      body.reporting_config !== undefined ||
      body.unenrollment_policy !== undefined,
    { error: "must change at least one of protection_config, reporting_config, unenrollment_policy" },
  )
  .meta({ id: "UpdateEnrollment" });

export const enrollmentSchema = z
  .object({
    id: z.uuid(),
    device_id: z.uuid(),
    tier: enrollmentTierSchema,
    status: enrollmentStatusSchema,
    owner_id: z.uuid().meta({ description: "Account id of the device owner (the protected user)." }),
    enrolled_by_id: z
      .uuid()
      .meta({ description: "Account id of who enrolled: the owner, partner or admin." }),
    organization_id: z.uuid().nullable(),
    protection_config: protectionConfigSchema,
    reporting_config: reportingConfigSchema,
    unenrollment_policy: apiUnenrollmentPolicySchema,
    created_at: timestamp,
    updated_at: timestamp,
  })
  .meta({ id: "Enrollment" });

export const enrollmentListSchema = z
  .object({ items: z.array(enrollmentSchema), next_cursor: z.string().nullable() })
  .meta({ id: "EnrollmentList" });

export const changeSchema = z
  .object({
    field: z.string().meta({ description: 'Dotted path, e.g. "protection_config.dns.block_doh".' }),
    old_value: z.unknown(),
    new_value: z.unknown(),
    direction: z.enum(["tightens", "loosens", "neutral"]),
  })
  .meta({ id: "ConfigFieldChange" });

export const requestSchema = z
  .object({
    id: z.uuid(),
    kind: z.enum(["unenroll", "config_change"]),
    enrollment_id: z.uuid(),
    tier: enrollmentTierSchema,
    status: unenrollRequestStatusSchema,
    requested_by_id: z.uuid(),
    required_approver_id: z
      .uuid()
      .nullable()
      .meta({ description: "Partner tier: the partner; null for self." }),
    decided_by_id: z
      .uuid()
      .nullable()
      .meta({ description: "Who approved, denied, or completed it after the delay; null for the system." }),
    requested_at: timestamp,
    decided_at: timestamp.nullable(),
    delay_until: timestamp.nullable().meta({ description: "Self tier: when the request may take effect." }),
    changes: z.array(changeSchema).meta({ description: "Config change requests: the changes to apply." }),
  })
  .meta({ id: "EnrollmentRequest" });

export const requestListSchema = z
  .object({ items: z.array(requestSchema), next_cursor: z.string().nullable() })
  .meta({ id: "EnrollmentRequestList" });

export const updateEnrollmentResponseSchema = z
  .object({
    enrollment: enrollmentSchema,
    applied_changes: z.array(changeSchema),
    pending_change_request: requestSchema.nullable(),
  })
  .meta({ id: "UpdateEnrollmentResult" });

export function toEnrollmentResponse(view: EnrollmentView): z.infer<typeof enrollmentSchema> {
  return {
    id: view.publicId,
    device_id: view.devicePublicId,
    tier: view.tier,
    status: view.status,
    owner_id: view.ownerPublicId,
    enrolled_by_id: view.enrolledByPublicId,
    organization_id: view.organizationPublicId,
    protection_config: view.protectionConfig,
    reporting_config: view.reportingConfig,
    unenrollment_policy: view.unenrollmentPolicy,
    created_at: view.createdAt.toISOString(),
    updated_at: view.updatedAt.toISOString(),
  };
}

export function toChangeResponse(change: ChangeView): z.infer<typeof changeSchema> {
  return {
    field: change.field,
    old_value: change.oldValue,
    new_value: change.newValue,
    direction: change.direction,
  };
}

export function toRequestResponse(view: RequestView): z.infer<typeof requestSchema> {
  return {
    id: view.publicId,
    kind: view.kind,
    enrollment_id: view.enrollmentPublicId,
    tier: view.tier,
    status: view.status,
    requested_by_id: view.requestedByPublicId,
    required_approver_id: view.requiredApproverPublicId,
    decided_by_id: view.decidedByPublicId,
    requested_at: view.requestedAt.toISOString(),
    decided_at: view.decidedAt?.toISOString() ?? null,
    delay_until: view.delayUntil?.toISOString() ?? null,
    changes: view.changes.map(toChangeResponse),
  };
}
