/**
 * The migrations produce exactly the schema of the database spec (section 3 enums, section 5 tables,
 * constraints and indexes, section 6 row-level security, appendix A triggers) plus the documented additions,
 * checked against explicit lists in the catalogs. Also: the application role's attributes and privileges, and
 * that the whole sequence applies to a second database of the same cluster (the role is cluster-wide).
 */
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, inject, test } from "vitest";
import { createSql } from "../client";
import { migrate, readMigrations } from "../migrate";
import { migrationsDir } from "../paths";
import { createTestDatabase, type TestDatabase } from "../testing";
import { databaseUrl } from "../testing/shared";

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase();
});

afterAll(async () => {
  await db?.drop();
});

const ENUMS: Record<string, string[]> = {
  account_role: ["user", "partner", "authority", "admin"],
  device_platform: ["windows", "macos", "linux", "android", "ios"],
  device_status: ["pending", "active", "stale", "disabled", "decommissioned"],
  enrollment_tier: ["self", "partner", "authority"],
  enrollment_status: ["active", "suspended", "unenrolling", "unenrolled"],
  unenroll_request_status: ["pending", "approved", "denied", "expired", "cancelled"],
  partner_status: ["invited", "active", "revoked", "expired"],
  org_type: ["family", "therapy", "court", "enterprise"],
  org_member_role: ["admin", "member"],
  blocklist_source: ["curated", "automated", "federated"],
  blocklist_entry_status: ["active", "review", "rejected"],
  federated_report_status: ["pending", "confirmed", "rejected", "duplicate"],
  event_type: [
    "block",
    "bypass_attempt",
    "tamper",
    "heartbeat",
    "config_change",
    "unenroll",
    "app_block",
    "install_block",
    "vpn_detected",
    "extension_removed",
  ],
  subscription_plan: ["standard", "partner", "institutional"],
  subscription_status: ["trialing", "active", "past_due", "canceled", "unpaid", "paused"],
  audit_action: ["INSERT", "UPDATE", "DELETE"],
};

/** Every index per table: the spec's names, primary keys, and the additions marked below. */
const INDEXES: Record<string, string[]> = {
  accounts: [
    "accounts_pkey",
    "uq_accounts_public_id",
    "uq_accounts_email",
    "uq_accounts_email_lower", // addition: case-insensitive e-mail uniqueness
    "idx_accounts_role",
    "idx_accounts_created_at",
  ],
  refresh_tokens: [
    "refresh_tokens_pkey",
    "uq_refresh_tokens_hash",
    "idx_refresh_tokens_account_id",
    "idx_refresh_tokens_expires_at",
    "idx_refresh_tokens_family_id", // addition (0012): refresh token families
  ],
  partner_relationships: [
    "partner_relationships_pkey",
    "uq_partner_pair",
    "idx_partner_relationships_account",
    "idx_partner_relationships_partner",
    "idx_partner_relationships_pending",
  ],
  organizations: ["organizations_pkey", "uq_organizations_public_id", "idx_organizations_type"],
  organization_members: [
    "organization_members_pkey",
    "uq_org_member",
    "idx_org_members_account",
    "idx_org_members_org_role",
  ],
  devices: [
    "devices_pkey",
    "uq_devices_public_id",
    "idx_devices_account_id",
    "idx_devices_heartbeat_active",
    "idx_devices_hardware_id",
    "idx_devices_platform",
  ],
  device_certificates: [
    "device_certificates_pkey",
    "uq_device_cert_fingerprint",
    "idx_device_certs_device_active",
    "idx_device_certs_expires",
  ],
  enrollments: [
    "enrollments_pkey",
    "uq_enrollments_public_id",
    "uq_enrollments_device_active",
    "idx_enrollments_enrolled_by",
    "idx_enrollments_tier_status",
    "idx_enrollments_device_status",
  ],
  enrollment_unenroll_requests: [
    "enrollment_unenroll_requests_pkey",
    "uq_unenroll_request_pending",
    "idx_unenroll_requests_approver",
    "idx_unenroll_requests_delay",
  ],
  blocklist_entries: [
    "blocklist_entries_pkey",
    "uq_blocklist_domain",
    "idx_blocklist_domain_trgm",
    "idx_blocklist_category",
    "idx_blocklist_review_queue",
    "idx_blocklist_source",
  ],
  blocklist_versions: [
    "blocklist_versions_pkey",
    "uq_blocklist_version_number",
    "idx_blocklist_versions_published",
  ],
  blocklist_version_entries: ["blocklist_version_entries_pkey", "idx_bve_entry"],
  federated_reports: [
    "federated_reports_pkey",
    "idx_federated_reports_pending",
    "idx_federated_reports_domain",
    "idx_federated_reports_device",
    "uq_federated_reports_device_domain_day", // addition (0016): one report per device, domain and UTC day
  ],
  events: [
    "events_pkey",
    "idx_events_device_created",
    "idx_events_enrollment_created",
    "idx_events_type_created",
    "idx_events_alerts",
    "uq_events_event_uid", // addition (0015): per-event idempotency
  ],
  reporting_snapshots: ["reporting_snapshots_pkey", "uq_reporting_snapshot", "idx_reporting_snapshots_date"],
  subscriptions: [
    "subscriptions_pkey",
    "uq_subscriptions_stripe_customer",
    "uq_subscriptions_stripe_sub",
    "uq_subscriptions_account_active",
    "idx_subscriptions_stripe_customer",
    "idx_subscriptions_period_end",
  ],
  audit_log: ["audit_log_pkey", "idx_audit_log_table_row", "idx_audit_log_actor", "idx_audit_log_created"],
  allowlist_entries: ["allowlist_entries_pkey", "uq_allowlist_domain"], // addition: the whole table
  // addition (0012): the whole table
  email_verification_tokens: [
    "email_verification_tokens_pkey",
    "uq_email_verification_tokens_hash",
    "idx_email_verification_tokens_account_id",
  ],
};

// additions (0013, 0015): device enrollment codes, event batch idempotency
INDEXES.device_enrollment_codes = [
  "device_enrollment_codes_pkey",
  "uq_device_enrollment_codes_hash",
  "idx_device_enrollment_codes_account",
  "idx_device_enrollment_codes_expires",
];
INDEXES.device_event_batches = [
  "device_event_batches_pkey",
  "uq_device_event_batches",
  "idx_device_event_batches_received",
];

// additions (0017-0020): public ids, invitations, config change requests, the notifications outbox
INDEXES.partner_relationships?.push("uq_partner_relationships_public_id");
INDEXES.enrollments?.push("idx_enrollments_organization", "uq_enrollments_device_current");
INDEXES.enrollment_unenroll_requests?.push("uq_unenroll_requests_public_id");
INDEXES.partner_invitations = [
  "partner_invitations_pkey",
  "uq_partner_invitations_public_id",
  "uq_partner_invitations_token_hash",
  "uq_partner_invitations_pending",
  "idx_partner_invitations_email_pending",
  "idx_partner_invitations_expiry",
  "idx_partner_invitations_relationship",
];
INDEXES.organization_invitations = [
  "organization_invitations_pkey",
  "uq_organization_invitations_public_id",
  "uq_organization_invitations_token_hash",
  "uq_organization_invitations_pending",
  "idx_organization_invitations_email_pending",
  "idx_organization_invitations_expiry",
];
INDEXES.enrollment_config_change_requests = [
  "enrollment_config_change_requests_pkey",
  "uq_config_change_requests_public_id",
  "uq_config_change_request_pending",
  "idx_config_change_requests_approver",
  "idx_config_change_requests_delay",
];
INDEXES.notifications = ["notifications_pkey", "idx_notifications_unsent", "idx_notifications_account"];
const LIFECYCLE_TABLES = [
  "partner_invitations",
  "organization_invitations",
  "enrollment_config_change_requests",
  "notifications",
];

// additions (0025-0028, worker): list sources and their provenance, the alert outbox, version membership
INDEXES.list_sources = ["list_sources_pkey", "uq_list_sources_name"];
INDEXES.list_source_entries = ["list_source_entries_pkey", "idx_list_source_entries_entry"];
INDEXES.alert_deliveries = [
  "alert_deliveries_pkey",
  "uq_alert_deliveries_public_id",
  "uq_alert_deliveries_incident",
  "idx_alert_deliveries_due",
  "idx_alert_deliveries_dead",
  "idx_alert_deliveries_account",
];
INDEXES.blocklist_membership = [
  "blocklist_membership_pkey",
  "uq_blocklist_membership_current",
  "idx_blocklist_membership_versions",
];
// addition (0029, worker): missed-heartbeat incidents
INDEXES.device_heartbeat_incidents = [
  "device_heartbeat_incidents_pkey",
  "uq_heartbeat_incidents_open",
  "idx_heartbeat_incidents_enrollment",
];
// addition (0030, worker): federated-report domains that reached k devices
INDEXES.discovery_candidates = ["discovery_candidates_pkey", "idx_discovery_candidates_queued"];
const WORKER_TABLES = [
  "list_sources",
  "list_source_entries",
  "alert_deliveries",
  "blocklist_membership",
  "device_heartbeat_incidents",
  "discovery_candidates",
];
ENUMS.blocklist_entry_status?.push("inactive"); // addition (0025)
// addition (0031): account webhooks for alerts, their secrets, and deliveries to them
INDEXES.account_webhooks = [
  "account_webhooks_pkey",
  "uq_account_webhooks_public_id",
  "uq_account_webhooks_account_url",
];
INDEXES.account_webhook_secrets = ["account_webhook_secrets_pkey"];
INDEXES.alert_deliveries?.push("idx_alert_deliveries_account_webhook");
const WEBHOOK_TABLES = ["account_webhooks", "account_webhook_secrets"];

/** Tables the spec does not have. */
const ADDED_TABLES = [
  ...WORKER_TABLES,
  ...WEBHOOK_TABLES,
  "allowlist_entries",
  "email_verification_tokens",
  "device_enrollment_codes",
  "device_event_batches",
  ...LIFECYCLE_TABLES,
];
const SPEC_TABLES = Object.keys(INDEXES).filter((t) => !ADDED_TABLES.includes(t));

/** Foreign keys: table.column -> referenced table, ON DELETE action (a = no action, c = cascade, n = set null, r = restrict). */
const FOREIGN_KEYS: string[] = [
  "allowlist_entries.added_by_account_id -> accounts n",
  "audit_log.actor_account_id -> accounts n",
  "blocklist_entries.added_by_account_id -> accounts n",
  "blocklist_version_entries.blocklist_entry_id -> blocklist_entries c",
  "blocklist_version_entries.blocklist_version_id -> blocklist_versions c",
  "device_certificates.device_id -> devices c",
  "device_enrollment_codes.account_id -> accounts c", // addition (0013)
  "device_enrollment_codes.used_by_device_id -> devices n", // addition (0013)
  "device_event_batches.device_id -> devices c", // addition (0015)
  "devices.account_id -> accounts c",
  "email_verification_tokens.account_id -> accounts c",
  "enrollment_config_change_requests.approved_by_account_id -> accounts n", // addition (0019)
  "enrollment_config_change_requests.enrollment_id -> enrollments c", // addition (0019)
  "enrollment_config_change_requests.requested_by_account_id -> accounts c", // addition (0019)
  "enrollment_config_change_requests.required_approver_account_id -> accounts n", // addition (0019)
  "enrollment_unenroll_requests.approved_by_account_id -> accounts n",
  "enrollment_unenroll_requests.enrollment_id -> enrollments c",
  "enrollment_unenroll_requests.requested_by_account_id -> accounts c",
  "enrollment_unenroll_requests.required_approver_account_id -> accounts n",
  "enrollments.device_id -> devices c",
  "enrollments.enrolled_by_account_id -> accounts r",
  "enrollments.organization_id -> organizations r", // addition (0019)
  "federated_reports.device_id -> devices c",
  "federated_reports.resolved_to_entry_id -> blocklist_entries n",
  "federated_reports.reviewed_by_account_id -> accounts n",
  "notifications.account_id -> accounts c", // addition (0019)
  "organization_invitations.accepted_by_account_id -> accounts n", // addition (0018)
  "organization_invitations.invited_by_account_id -> accounts n", // addition (0018)
  "organization_invitations.organization_id -> organizations c", // addition (0018)
  "organization_members.account_id -> accounts c",
  "organization_members.organization_id -> organizations c",
  "partner_invitations.inviter_account_id -> accounts c", // addition (0017)
  "partner_invitations.relationship_id -> partner_relationships c", // addition (0017)
  "partner_relationships.account_id -> accounts c",
  "partner_relationships.partner_account_id -> accounts c",
  "refresh_tokens.account_id -> accounts c",
  "refresh_tokens.replaced_by_id -> refresh_tokens n",
  "reporting_snapshots.enrollment_id -> enrollments c",
  "subscriptions.account_id -> accounts c",
];

const UNIQUE_AND_CHECK_CONSTRAINTS: string[] = [
  "accounts.uq_accounts_email u",
  "accounts.uq_accounts_public_id u",
  "allowlist_entries.chk_allowlist_domain_normalized c",
  "allowlist_entries.uq_allowlist_domain u",
  "blocklist_entries.chk_blocklist_domain_normalized c",
  "blocklist_entries.chk_confidence c",
  "blocklist_entries.uq_blocklist_domain u",
  "blocklist_versions.chk_blocklist_versions_entry_count c",
  "blocklist_versions.chk_blocklist_versions_format_version c",
  "blocklist_versions.chk_blocklist_versions_snapshot_sha256 c",
  "blocklist_versions.uq_blocklist_version_number u",
  "device_certificates.uq_device_cert_fingerprint u",
  "device_enrollment_codes.chk_device_enrollment_code_expiry c", // addition (0013)
  "device_enrollment_codes.chk_device_enrollment_code_hash c", // addition (0013)
  "device_enrollment_codes.uq_device_enrollment_codes_hash u", // addition (0013)
  "device_event_batches.chk_device_event_batches_counts c", // addition (0015)
  "device_event_batches.uq_device_event_batches u", // addition (0015)
  "devices.uq_devices_public_id u",
  "email_verification_tokens.chk_email_verification_token_hash c",
  "email_verification_tokens.uq_email_verification_tokens_hash u",
  "enrollment_config_change_requests.chk_config_change_requests_changes c", // addition (0019)
  "enrollment_config_change_requests.uq_config_change_requests_public_id u", // addition (0019)
  "enrollment_unenroll_requests.uq_unenroll_requests_public_id u", // addition (0019)
  "enrollments.chk_enrollments_organization_tier c", // addition (0019)
  "enrollments.chk_enrollments_policy_tier c", // addition (0019)
  "enrollments.uq_enrollments_public_id u",
  "notifications.chk_notifications_kind c", // addition (0019)
  "notifications.chk_notifications_payload c", // addition (0019)
  "notifications.chk_notifications_recipient c", // addition (0019)
  "organization_invitations.chk_organization_invitations_email c", // addition (0018)
  "organization_invitations.chk_organization_invitations_expiry c", // addition (0018)
  "organization_invitations.chk_organization_invitations_status c", // addition (0018)
  "organization_invitations.chk_organization_invitations_token_hash c", // addition (0018)
  "organization_invitations.uq_organization_invitations_public_id u", // addition (0018)
  "organization_invitations.uq_organization_invitations_token_hash u", // addition (0018)
  "organizations.uq_organizations_public_id u",
  "partner_invitations.chk_partner_invitations_email c", // addition (0017)
  "partner_invitations.chk_partner_invitations_expiry c", // addition (0017)
  "partner_invitations.chk_partner_invitations_status c", // addition (0017)
  "partner_invitations.chk_partner_invitations_token_hash c", // addition (0017)
  "partner_invitations.uq_partner_invitations_public_id u", // addition (0017)
  "partner_invitations.uq_partner_invitations_token_hash u", // addition (0017)
  "partner_relationships.chk_partner_not_self c",
  "partner_relationships.uq_partner_relationships_public_id u", // addition (0017)
  "refresh_tokens.uq_refresh_tokens_hash u",
  "subscriptions.uq_subscriptions_stripe_customer u",
  "subscriptions.uq_subscriptions_stripe_sub u",
];

// additions (0025-0028, worker)
FOREIGN_KEYS.push(
  "alert_deliveries.account_id -> accounts c",
  "blocklist_membership.blocklist_entry_id -> blocklist_entries c",
  "device_heartbeat_incidents.device_id -> devices c", // addition (0029)
  "device_heartbeat_incidents.enrollment_id -> enrollments c", // addition (0029)
  "discovery_candidates.blocklist_entry_id -> blocklist_entries n", // addition (0030)
  "list_source_entries.blocklist_entry_id -> blocklist_entries c",
  "list_source_entries.list_source_id -> list_sources c",
  "account_webhooks.account_id -> accounts c", // addition (0031)
  "account_webhook_secrets.webhook_id -> account_webhooks c", // addition (0031)
  "alert_deliveries.account_webhook_id -> account_webhooks c", // addition (0031)
);
FOREIGN_KEYS.sort();
UNIQUE_AND_CHECK_CONSTRAINTS.push(
  "alert_deliveries.chk_alert_deliveries_attempts c",
  "alert_deliveries.chk_alert_deliveries_channel c",
  "alert_deliveries.chk_alert_deliveries_sent c",
  "alert_deliveries.chk_alert_deliveries_status c",
  "alert_deliveries.uq_alert_deliveries_incident u",
  "alert_deliveries.uq_alert_deliveries_public_id u",
  "blocklist_membership.chk_blocklist_membership_range c",
  "device_heartbeat_incidents.chk_heartbeat_incidents_closed c", // addition (0029)
  "discovery_candidates.chk_discovery_candidates_devices c", // addition (0030)
  "discovery_candidates.chk_discovery_candidates_outcome c", // addition (0030)
  "discovery_candidates.chk_discovery_candidates_score c", // addition (0030)
  "list_sources.chk_list_sources_counts c",
  "list_sources.chk_list_sources_format c",
  "list_sources.chk_list_sources_location c",
  "list_sources.chk_list_sources_name c",
  "list_sources.chk_list_sources_status c",
  "list_sources.uq_list_sources_name u",
  "account_webhooks.chk_account_webhooks_url c", // addition (0031)
  "account_webhooks.uq_account_webhooks_account_url u", // addition (0031)
  "account_webhooks.uq_account_webhooks_public_id u", // addition (0031)
  "account_webhook_secrets.chk_account_webhook_secrets_length c", // addition (0031)
  "alert_deliveries.chk_alert_deliveries_account_webhook c", // addition (0031)
);
UNIQUE_AND_CHECK_CONSTRAINTS.sort();

const RLS_POLICIES: Record<string, string> = {
  accounts: "accounts_self",
  devices: "devices_owner",
  enrollments: "enrollments_access",
  enrollment_unenroll_requests: "unenroll_requests_access",
  partner_relationships: "partner_relationships_access",
  refresh_tokens: "refresh_tokens_self",
  device_certificates: "device_certs_access",
  subscriptions: "subscriptions_self",
  reporting_snapshots: "reporting_snapshots_access",
  email_verification_tokens: "email_verification_tokens_self", // addition (0012)
  alert_deliveries: "alert_deliveries_system", // addition (0027)
  device_heartbeat_incidents: "device_heartbeat_incidents_system", // addition (0029)
  device_enrollment_codes: "device_enrollment_codes_self", // addition (0013)
  device_event_batches: "device_event_batches_access", // addition (0015)
  account_webhooks: "account_webhooks_owner", // addition (0031)
  account_webhook_secrets: "account_webhook_secrets_owner", // addition (0031)
};

// additions (0017-0020): the FOR ALL policies of new tables (in RLS_POLICIES), and per-command or
// RESTRICTIVE policies (the lifecycle guards, organization access, the worker's 'system' access). Tables in
// LIFECYCLE_RLS_TABLES have row-level security without a FOR ALL policy.
Object.assign(RLS_POLICIES, {
  partner_invitations: "partner_invitations_access",
  organization_invitations: "organization_invitations_admin",
  enrollment_config_change_requests: "config_change_requests_access",
});
const LIFECYCLE_RLS_TABLES = ["organizations", "organization_members", "notifications"];
/** "table.policy COMMAND PERMISSIVE|RESTRICTIVE", sorted. */
const LIFECYCLE_POLICIES = [
  "config_change_requests_insert_guard INSERT RESTRICTIVE",
  "config_change_requests_org_admin_read SELECT PERMISSIVE",
  "config_change_requests_org_admin_update UPDATE PERMISSIVE",
  "config_change_requests_system_read SELECT PERMISSIVE",
  "config_change_requests_system_update UPDATE PERMISSIVE",
  "enrollments_insert_guard INSERT RESTRICTIVE",
  "enrollments_org_admin_read SELECT PERMISSIVE",
  "enrollments_org_admin_update UPDATE PERMISSIVE",
  "enrollments_system_read SELECT PERMISSIVE",
  "enrollments_system_update UPDATE PERMISSIVE",
  "notifications_deliver UPDATE PERMISSIVE",
  "notifications_enqueue INSERT PERMISSIVE",
  "notifications_purge DELETE PERMISSIVE",
  "notifications_read SELECT PERMISSIVE",
  "organization_invitations_system_read SELECT PERMISSIVE",
  "organization_invitations_system_update UPDATE PERMISSIVE",
  "organization_members_admin_update UPDATE PERMISSIVE",
  "organization_members_delete DELETE PERMISSIVE",
  "organization_members_platform_insert INSERT PERMISSIVE",
  "organization_members_read SELECT PERMISSIVE",
  "organizations_admin_delete DELETE PERMISSIVE",
  "organizations_admin_insert INSERT PERMISSIVE",
  "organizations_admin_update UPDATE PERMISSIVE",
  "organizations_member_read SELECT PERMISSIVE",
  "partner_invitations_party_read SELECT PERMISSIVE",
  "partner_invitations_system_read SELECT PERMISSIVE",
  "partner_invitations_system_update UPDATE PERMISSIVE",
  "partner_relationships_delete_guard DELETE RESTRICTIVE",
  "partner_relationships_insert_guard INSERT RESTRICTIVE",
  "partner_relationships_system_read SELECT PERMISSIVE",
  "partner_relationships_system_update UPDATE PERMISSIVE",
  "unenroll_requests_insert_guard INSERT RESTRICTIVE",
  "unenroll_requests_org_admin_read SELECT PERMISSIVE",
  "unenroll_requests_org_admin_update UPDATE PERMISSIVE",
  "unenroll_requests_system_read SELECT PERMISSIVE",
  "unenroll_requests_system_update UPDATE PERMISSIVE",
];

const AUDITED = [
  "accounts",
  "enrollments",
  "enrollment_unenroll_requests",
  "devices",
  "device_certificates",
  "partner_relationships",
  "organization_members",
  "blocklist_entries",
  "subscriptions",
  "allowlist_entries", // addition
  "list_sources", // addition (0026)
  "partner_invitations", // addition (0017)
  "organization_invitations", // addition (0018)
  "organizations", // addition (0018)
  "enrollment_config_change_requests", // addition (0019)
  "federated_reports", // addition (0022): review decisions, UPDATE only
  "account_webhooks", // addition (0031); not its secrets table, so secrets never reach audit_log
];

/** Audit triggers beside trg_audit_<table>: devices UPDATEs that change more than last_heartbeat (0014). */
const EXTRA_AUDIT_TRIGGERS = ["devices:trg_audit_devices_update"];

const WITH_UPDATED_AT = [
  "accounts",
  "organizations",
  "devices",
  "enrollments",
  "blocklist_entries",
  "subscriptions",
  "allowlist_entries",
  "list_sources", // addition (0026)
  "discovery_candidates", // addition (0030)
];

describe("migrations produce the spec schema", () => {
  test("every spec table (and the added tables) exists, and nothing else", async () => {
    const rows = await db.owner<{ name: string }[]>`
      select c.relname as name from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where n.nspname = 'public' and c.relkind in ('r', 'p') and not c.relispartition and c.relname <> 'schema_migrations'
      order by 1`;
    expect(rows.map((r) => r.name)).toEqual([...SPEC_TABLES, ...ADDED_TABLES].sort());
    expect(SPEC_TABLES).toHaveLength(17);
  });

  test("every spec enum exists with its labels in order", async () => {
    const rows = await db.owner<{ name: string; labels: string[] }[]>`
      select t.typname as name, array_agg(e.enumlabel order by e.enumsortorder)::text[] as labels
      from pg_type t join pg_enum e on e.enumtypid = t.oid join pg_namespace n on n.oid = t.typnamespace
      where n.nspname = 'public' group by t.typname`;
    expect(Object.fromEntries(rows.map((r) => [r.name, r.labels]))).toEqual(ENUMS);
  });

  test("every spec index exists on its table, and nothing else", async () => {
    const rows = await db.owner<{ tbl: string; idx: string; valid: boolean }[]>`
      select t.relname as tbl, c.relname as idx, i.indisvalid as valid
      from pg_index i join pg_class c on c.oid = i.indexrelid join pg_class t on t.oid = i.indrelid
      join pg_namespace n on n.oid = t.relnamespace
      where n.nspname = 'public' and not t.relispartition and t.relname <> 'schema_migrations'`;
    const actual: Record<string, string[]> = {};
    for (const row of rows) actual[row.tbl] = [...(actual[row.tbl] ?? []), row.idx].sort();
    const expected = Object.fromEntries(
      Object.entries(INDEXES).map(([table, names]) => [table, [...names].sort()]),
    );
    expect(actual).toEqual(expected);
    expect(rows.filter((r) => !r.valid)).toEqual([]);
  });

  test("index definitions carry the spec's shape (partial, expression, trigram, unique)", async () => {
    const rows = await db.owner<{ name: string; def: string }[]>`
      select indexname as name, indexdef as def from pg_indexes where schemaname = 'public'`;
    const def = (name: string) => rows.find((r) => r.name === name)?.def ?? `missing ${name}`;
    expect(def("idx_blocklist_domain_trgm")).toMatch(/USING gin \(domain gin_trgm_ops\)/);
    expect(def("uq_partner_pair")).toMatch(
      /UNIQUE INDEX .* \(LEAST\(account_id, partner_account_id\), GREATEST\(account_id, partner_account_id\)\)/,
    );
    expect(def("uq_enrollments_device_active")).toMatch(
      /UNIQUE INDEX .*\(device_id\) WHERE \(status = 'active'/,
    );
    expect(def("uq_unenroll_request_pending")).toMatch(
      /UNIQUE INDEX .*\(enrollment_id\) WHERE \(status = 'pending'/,
    );
    expect(def("uq_subscriptions_account_active")).toMatch(
      /UNIQUE INDEX .*\(account_id\) WHERE \(status = ANY/,
    );
    expect(def("uq_reporting_snapshot")).toMatch(/UNIQUE INDEX .*\(enrollment_id, snapshot_date\)/);
    expect(def("uq_org_member")).toMatch(/UNIQUE INDEX .*\(organization_id, account_id\)/);
    expect(def("idx_devices_heartbeat_active")).toMatch(
      /\(last_heartbeat NULLS FIRST\) WHERE \(status = 'active'/,
    );
    expect(def("idx_events_alerts")).toMatch(
      /\(device_id, created_at DESC\) WHERE \(event_type = ANY .*bypass_attempt.*tamper.*vpn_detected.*extension_removed/,
    );
    expect(def("idx_refresh_tokens_expires_at")).toMatch(/WHERE \(revoked_at IS NULL\)/);
    expect(def("idx_audit_log_actor")).toMatch(
      /\(actor_account_id, created_at DESC\) WHERE \(actor_account_id IS NOT NULL\)/,
    );
  });

  test("foreign keys reference the spec's tables with the spec's ON DELETE actions", async () => {
    const rows = await db.owner<{ fk: string }[]>`
      select c.conrelid::regclass::text || '.' || a.attname || ' -> ' || c.confrelid::regclass::text || ' ' || c.confdeltype::text as fk
      from pg_constraint c join pg_attribute a on a.attrelid = c.conrelid and a.attnum = c.conkey[1]
      where c.connamespace = 'public'::regnamespace and c.contype = 'f' order by 1`;
    expect(rows.map((r) => r.fk)).toEqual(FOREIGN_KEYS);
  });

  test("unique and check constraints carry the spec's names", async () => {
    const rows = await db.owner<{ con: string }[]>`
      select conrelid::regclass::text || '.' || conname || ' ' || contype::text as con
      from pg_constraint where connamespace = 'public'::regnamespace and contype in ('u', 'c')
        and conrelid::regclass::text not like 'events_y%' order by 1`;
    expect(rows.map((r) => r.con)).toEqual(UNIQUE_AND_CHECK_CONSTRAINTS);
  });

  test("events is range-partitioned on created_at with primary key (id, created_at) and no default partition", async () => {
    const [info] = await db.owner`
      select pt.partstrat::text as strategy, (select array_agg(a.attname order by k.ord)::text[] from unnest(pt.partattrs::int2[]) with ordinality k(attnum, ord)
             join pg_attribute a on a.attrelid = pt.partrelid and a.attnum = k.attnum) as keys,
             pt.partdefid as default_partition,
             (select array_agg(a.attname order by k.ord)::text[] from pg_constraint c, unnest(c.conkey) with ordinality k(attnum, ord)
              join pg_attribute a on a.attrelid = 'events'::regclass and a.attnum = k.attnum
              where c.conrelid = 'events'::regclass and c.contype = 'p') as pk
      from pg_partitioned_table pt where pt.partrelid = 'events'::regclass`;
    expect(info).toEqual({
      strategy: "r",
      keys: ["created_at"],
      default_partition: 0,
      pk: ["id", "created_at"],
    });
  });

  test("blocklist_versions carries the signed-snapshot columns (addition), all nullable", async () => {
    const rows = await db.owner<{ name: string; type: string; nullable: string }[]>`
      select column_name as name, data_type as type, is_nullable as nullable from information_schema.columns
      where table_schema = 'public' and table_name = 'blocklist_versions'
        and column_name in ('snapshot_binary', 'snapshot_sha256', 'format_version', 'signing_key_id', 'delta_binary') order by 1`;
    expect(rows).toEqual([
      { name: "delta_binary", type: "bytea", nullable: "YES" },
      { name: "format_version", type: "smallint", nullable: "YES" },
      { name: "signing_key_id", type: "bytea", nullable: "YES" },
      { name: "snapshot_binary", type: "bytea", nullable: "YES" },
      { name: "snapshot_sha256", type: "bytea", nullable: "YES" },
    ]);
  });

  test("required extensions are installed", async () => {
    const rows = await db.owner<
      { name: string }[]
    >`select extname as name from pg_extension where extname in ('pgcrypto', 'pg_trgm') order by 1`;
    expect(rows.map((r) => r.name)).toEqual(["pg_trgm", "pgcrypto"]);
  });

  test("updated_at triggers exist on every table with updated_at; audit triggers on the audited tables", async () => {
    const rows = await db.owner<{ tbl: string; name: string; fn: string }[]>`
      select c.relname as tbl, t.tgname as name, p.proname as fn from pg_trigger t
      join pg_class c on c.oid = t.tgrelid join pg_proc p on p.oid = t.tgfoid
      where not t.tgisinternal and c.relnamespace = 'public'::regnamespace order by 1, 2`;
    const withUpdatedAt = await db.owner<{ tbl: string }[]>`
      select table_name as tbl from information_schema.columns
      where table_schema = 'public' and column_name = 'updated_at' order by 1`;
    expect(withUpdatedAt.map((r) => r.tbl)).toEqual([...WITH_UPDATED_AT].sort());
    expect(rows.filter((r) => r.fn === "fn_set_updated_at").map((r) => `${r.tbl}:${r.name}`)).toEqual(
      [...WITH_UPDATED_AT].sort().map((t) => `${t}:trg_${t}_updated_at`),
    );
    expect(rows.filter((r) => r.fn === "fn_audit_trigger").map((r) => `${r.tbl}:${r.name}`)).toEqual(
      [...[...AUDITED].sort().map((t) => `${t}:trg_audit_${t}`), ...EXTRA_AUDIT_TRIGGERS].sort(),
    );
  });
});

describe("row-level security setup", () => {
  test("RLS is enabled and forced on exactly the nine tenant-scoped tables (plus email_verification_tokens)", async () => {
    const rows = await db.owner<{ name: string; forced: boolean }[]>`
      select relname as name, relforcerowsecurity as forced from pg_class
      where relnamespace = 'public'::regnamespace and relrowsecurity order by 1`;
    expect(rows).toEqual(
      [...Object.keys(RLS_POLICIES), ...LIFECYCLE_RLS_TABLES].sort().map((name) => ({ name, forced: true })),
    );
  });

  test("each RLS table has the spec's FOR ALL policy with USING and an identical WITH CHECK", async () => {
    const rows = await db.owner<
      { tbl: string; name: string; cmd: string; permissive: string; qual: string; check: string }[]
    >`
      select tablename as tbl, policyname as name, cmd, permissive, qual, with_check as check
      from pg_policies where schemaname = 'public' order by 1`;
    const isLifecycle = (r: { name: string; cmd: string; permissive: string }) =>
      LIFECYCLE_POLICIES.includes(`${r.name} ${r.cmd} ${r.permissive}`);
    expect(
      rows
        .filter(isLifecycle)
        .map((r) => `${r.name} ${r.cmd} ${r.permissive}`)
        .sort(),
    ).toEqual(LIFECYCLE_POLICIES);
    const forAll = rows.filter((r) => !isLifecycle(r));
    expect(Object.fromEntries(forAll.map((r) => [r.tbl, r.name]))).toEqual(RLS_POLICIES);
    for (const row of forAll) {
      expect({ policy: row.name, cmd: row.cmd, permissive: row.permissive }).toEqual({
        policy: row.name,
        cmd: "ALL",
        permissive: "PERMISSIVE",
      });
      expect(row.qual).toBeTruthy();
      expect(row.check).toBe(row.qual);
    }
  });

  test("cross-table RLS helpers are SECURITY DEFINER, STABLE, with a pinned search_path; session helpers are NULL-safe", async () => {
    const rows = await db.owner<
      { name: string; definer: boolean; volatility: string; config: string[] | null }[]
    >`
      select proname as name, prosecdef as definer, provolatile::text as volatility, proconfig as config from pg_proc
      where pronamespace = 'public'::regnamespace
        and proname in ('rls_owns_device', 'rls_enrolled_device', 'rls_can_see_enrollment', 'fn_audit_trigger', 'ensure_events_partition')
      order by 1`;
    expect(rows.map((r) => r.name)).toEqual([
      "ensure_events_partition",
      "fn_audit_trigger",
      "rls_can_see_enrollment",
      "rls_enrolled_device",
      "rls_owns_device",
    ]);
    for (const row of rows) {
      expect({ name: row.name, definer: row.definer, config: row.config }).toEqual({
        name: row.name,
        definer: true,
        config: ["search_path=public, pg_catalog, pg_temp"],
      });
      if (row.name.startsWith("rls_")) expect(row.volatility).toBe("s");
    }
    const [values] = await db.owner.begin(async (tx) => {
      const results: unknown[] = [];
      for (const [id, role] of [
        ["", ""],
        ["  ", " "],
        ["abc", "admin"],
        ["42", "user"],
      ]) {
        await tx`select set_config('app.current_account_id', ${id as string}, true), set_config('app.current_role', ${role as string}, true)`;
        const [row] = await tx`select current_account_id() as id, current_account_role() as role`;
        results.push(row);
      }
      return [results];
    });
    expect(values).toEqual([
      { id: null, role: null },
      { id: null, role: null },
      { id: null, role: "admin" },
      { id: 42, role: "user" },
    ]);
  });
});

describe("application role", () => {
  test("betblocker_api is NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE and not a member of the owner", async () => {
    const [role] = await db.owner`
      select rolsuper, rolbypassrls, rolcreatedb, rolcreaterole, rolreplication,
             pg_has_role('betblocker_api', current_user, 'MEMBER') as member_of_owner
      from pg_roles where rolname = 'betblocker_api'`;
    expect(role).toEqual({
      rolsuper: false,
      rolbypassrls: false,
      rolcreatedb: false,
      rolcreaterole: false,
      rolreplication: false,
      member_of_owner: false,
    });
    const [session] = await db.asApp(
      { accountId: null },
      (sql) => sql`select current_user as me, current_setting('is_superuser') as su`,
    );
    expect(session).toEqual({ me: "betblocker_api", su: "off" });
  });

  test("betblocker_api has DML on every table but only SELECT and INSERT on audit_log", async () => {
    const rows = await db.owner<
      { name: string; s: boolean; i: boolean; u: boolean; d: boolean; t: boolean }[]
    >`
      select c.relname as name,
             has_table_privilege('betblocker_api', c.oid, 'SELECT') as s,
             has_table_privilege('betblocker_api', c.oid, 'INSERT') as i,
             has_table_privilege('betblocker_api', c.oid, 'UPDATE') as u,
             has_table_privilege('betblocker_api', c.oid, 'DELETE') as d,
             has_table_privilege('betblocker_api', c.oid, 'TRUNCATE') as t
      from pg_class c where c.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'p')
        and c.relname <> 'schema_migrations' order by 1`;
    for (const row of rows) {
      const expected =
        row.name === "audit_log"
          ? { s: true, i: true, u: false, d: false, t: false }
          : { s: true, i: true, u: true, d: true, t: false };
      expect({ name: row.name, s: row.s, i: row.i, u: row.u, d: row.d, t: row.t }).toEqual({
        name: row.name,
        ...expected,
      });
    }
    const sequences = await db.owner<{ name: string; ok: boolean }[]>`
      select c.relname as name, has_sequence_privilege('betblocker_api', c.oid, 'USAGE') as ok
      from pg_class c where c.relnamespace = 'public'::regnamespace and c.relkind = 'S'`;
    expect(sequences.length).toBeGreaterThan(15);
    expect(sequences.filter((s) => !s.ok)).toEqual([]);
  });

  test("tables created by a later migration get the same grants (default privileges)", async () => {
    await db.owner`create table later_feature (id bigserial primary key, note text)`;
    const [row] = await db.owner`
      select has_table_privilege('betblocker_api', 'later_feature', 'SELECT, INSERT, UPDATE, DELETE') as dml,
             has_sequence_privilege('betblocker_api', 'later_feature_id_seq', 'USAGE') as seq`;
    expect(row).toEqual({ dml: true, seq: true });
  });

  test("the migrations apply to a second database of the same cluster (role creation is idempotent) and re-running is a no-op", async () => {
    const info = inject("betblockerDb");
    const name = `${info.prefix}_second_${randomBytes(4).toString("hex")}`;
    const admin = createSql(info.adminUrl, { max: 1 });
    await admin.unsafe(`create database ${name}`);
    try {
      const url = databaseUrl(info.adminUrl, name);
      const first = await migrate(url, migrationsDir());
      expect(first.applied).toEqual(readMigrations(migrationsDir()).map((m) => m.file));
      const second = await migrate(url, migrationsDir());
      expect(second.applied).toEqual([]);
      const [role] =
        await admin`select rolsuper, rolbypassrls, rolcanlogin from pg_roles where rolname = 'betblocker_api'`;
      // The harness granted LOGIN to the existing role; re-migrating must not take it away.
      expect(role).toEqual({ rolsuper: false, rolbypassrls: false, rolcanlogin: true });
    } finally {
      await admin.unsafe(`drop database if exists ${name} with (force)`);
      await admin.end({ timeout: 5 });
    }
  });
});
