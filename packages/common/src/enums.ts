/**
 * The PostgreSQL enum types of the database schema (spec 003, section 3), as TypeScript
 * string-literal unions and zod enums.
 *
 * Contract: each tuple lists exactly the values of the SQL enum, in the SQL declaration order.
 * Enum values are append-only (spec 003, section 10: `ALTER TYPE ... ADD VALUE`, never remove or
 * rename), so values are only ever added at the end here too.
 *
 * Naming: `FOO_VALUES` is the tuple, `Foo` the union type, `fooSchema` the zod enum.
 */
import { z } from "zod";

/** Account role within the platform. */
export const ACCOUNT_ROLE_VALUES = ["user", "partner", "authority", "admin"] as const;
export type AccountRole = (typeof ACCOUNT_ROLE_VALUES)[number];
export const accountRoleSchema = z.enum(ACCOUNT_ROLE_VALUES);

/** Device operating system. */
export const DEVICE_PLATFORM_VALUES = ["windows", "macos", "linux", "android", "ios"] as const;
export type DevicePlatform = (typeof DEVICE_PLATFORM_VALUES)[number];
export const devicePlatformSchema = z.enum(DEVICE_PLATFORM_VALUES);

/** Device lifecycle: pending (no heartbeat yet) -> active <-> stale (heartbeat overdue) -> disabled | decommissioned. */
export const DEVICE_STATUS_VALUES = ["pending", "active", "stale", "disabled", "decommissioned"] as const;
export type DeviceStatus = (typeof DEVICE_STATUS_VALUES)[number];
export const deviceStatusSchema = z.enum(DEVICE_STATUS_VALUES);

/** Enrollment tier: decides who may approve unenrollment, what is reported and how hard bypass protection is. */
export const ENROLLMENT_TIER_VALUES = ["self", "partner", "authority"] as const;
export type EnrollmentTier = (typeof ENROLLMENT_TIER_VALUES)[number];
export const enrollmentTierSchema = z.enum(ENROLLMENT_TIER_VALUES);

/** Enrollment lifecycle; `unenrolling` is the delay period of a pending unenrollment. */
export const ENROLLMENT_STATUS_VALUES = ["active", "suspended", "unenrolling", "unenrolled"] as const;
export type EnrollmentStatus = (typeof ENROLLMENT_STATUS_VALUES)[number];
export const enrollmentStatusSchema = z.enum(ENROLLMENT_STATUS_VALUES);

/** Unenrollment request status; `expired` means the self-tier delay elapsed and the request was auto-approved. */
export const UNENROLL_REQUEST_STATUS_VALUES = [
  "pending",
  "approved",
  "denied",
  "expired",
  "cancelled",
] as const;
export type UnenrollRequestStatus = (typeof UNENROLL_REQUEST_STATUS_VALUES)[number];
export const unenrollRequestStatusSchema = z.enum(UNENROLL_REQUEST_STATUS_VALUES);

/** Accountability-partner relationship status. */
export const PARTNER_STATUS_VALUES = ["invited", "active", "revoked", "expired"] as const;
export type PartnerStatus = (typeof PARTNER_STATUS_VALUES)[number];
export const partnerStatusSchema = z.enum(PARTNER_STATUS_VALUES);

/** Organization type. */
export const ORG_TYPE_VALUES = ["family", "therapy", "court", "enterprise"] as const;
export type OrgType = (typeof ORG_TYPE_VALUES)[number];
export const orgTypeSchema = z.enum(ORG_TYPE_VALUES);

/** Role of a member inside an organization. */
export const ORG_MEMBER_ROLE_VALUES = ["admin", "member"] as const;
export type OrgMemberRole = (typeof ORG_MEMBER_ROLE_VALUES)[number];
export const orgMemberRoleSchema = z.enum(ORG_MEMBER_ROLE_VALUES);

/** Where a blocklist entry came from. */
export const BLOCKLIST_SOURCE_VALUES = ["curated", "automated", "federated"] as const;
export type BlocklistSource = (typeof BLOCKLIST_SOURCE_VALUES)[number];
export const blocklistSourceSchema = z.enum(BLOCKLIST_SOURCE_VALUES);

/** Blocklist entry status; only `active` entries are compiled into a published version. */
export const BLOCKLIST_ENTRY_STATUS_VALUES = ["active", "review", "rejected"] as const;
export type BlocklistEntryStatus = (typeof BLOCKLIST_ENTRY_STATUS_VALUES)[number];
export const blocklistEntryStatusSchema = z.enum(BLOCKLIST_ENTRY_STATUS_VALUES);

/** Review status of a domain reported by an agent (federated intelligence). */
export const FEDERATED_REPORT_STATUS_VALUES = ["pending", "confirmed", "rejected", "duplicate"] as const;
export type FederatedReportStatus = (typeof FEDERATED_REPORT_STATUS_VALUES)[number];
export const federatedReportStatusSchema = z.enum(FEDERATED_REPORT_STATUS_VALUES);

/**
 * Event emitted by a device agent. The shape of `events.metadata` depends on it:
 * see config/event-metadata.schema.ts.
 */
export const EVENT_TYPE_VALUES = [
  "block",
  "bypass_attempt",
  "tamper",
  "heartbeat",
  "config_change",
  "unenroll",
  "app_block", // Phase 2
  "install_block", // Phase 2
  "vpn_detected", // Phase 2
  "extension_removed", // Phase 3
] as const;
export type EventType = (typeof EVENT_TYPE_VALUES)[number];
export const eventTypeSchema = z.enum(EVENT_TYPE_VALUES);

/** Subscription plan (hosted deployments only). */
export const SUBSCRIPTION_PLAN_VALUES = ["standard", "partner", "institutional"] as const;
export type SubscriptionPlan = (typeof SUBSCRIPTION_PLAN_VALUES)[number];
export const subscriptionPlanSchema = z.enum(SUBSCRIPTION_PLAN_VALUES);

/** Subscription lifecycle status (mirrors the billing provider's states). */
export const SUBSCRIPTION_STATUS_VALUES = [
  "trialing",
  "active",
  "past_due",
  "canceled",
  "unpaid",
  "paused",
] as const;
export type SubscriptionStatus = (typeof SUBSCRIPTION_STATUS_VALUES)[number];
export const subscriptionStatusSchema = z.enum(SUBSCRIPTION_STATUS_VALUES);

/** Audit log action; upper case because the audit trigger stores TG_OP verbatim. */
export const AUDIT_ACTION_VALUES = ["INSERT", "UPDATE", "DELETE"] as const;
export type AuditAction = (typeof AUDIT_ACTION_VALUES)[number];
export const auditActionSchema = z.enum(AUDIT_ACTION_VALUES);

/**
 * Every SQL enum type by its PostgreSQL type name, for code that must check the TypeScript
 * values against the database (a migration test, say) without listing them again.
 */
export const SQL_ENUM_VALUES = {
  account_role: ACCOUNT_ROLE_VALUES,
  device_platform: DEVICE_PLATFORM_VALUES,
  device_status: DEVICE_STATUS_VALUES,
  enrollment_tier: ENROLLMENT_TIER_VALUES,
  enrollment_status: ENROLLMENT_STATUS_VALUES,
  unenroll_request_status: UNENROLL_REQUEST_STATUS_VALUES,
  partner_status: PARTNER_STATUS_VALUES,
  org_type: ORG_TYPE_VALUES,
  org_member_role: ORG_MEMBER_ROLE_VALUES,
  blocklist_source: BLOCKLIST_SOURCE_VALUES,
  blocklist_entry_status: BLOCKLIST_ENTRY_STATUS_VALUES,
  federated_report_status: FEDERATED_REPORT_STATUS_VALUES,
  event_type: EVENT_TYPE_VALUES,
  subscription_plan: SUBSCRIPTION_PLAN_VALUES,
  subscription_status: SUBSCRIPTION_STATUS_VALUES,
  audit_action: AUDIT_ACTION_VALUES,
} as const satisfies Record<string, readonly string[]>;
export type SqlEnumName = keyof typeof SQL_ENUM_VALUES;
