import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import {
  auditActionSchema,
  eventTypeSchema,
  SQL_ENUM_VALUES,
  type SqlEnumName,
  subscriptionStatusSchema,
} from "./enums";

// Written out from spec 003 section 3 independently of enums.ts, so a typo on either side fails.
const SPEC_ENUMS: Record<SqlEnumName, string[]> = {
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

describe("SQL enums", () => {
  it("lists exactly the spec's enum types", () => {
    expect(Object.keys(SQL_ENUM_VALUES).sort()).toEqual(Object.keys(SPEC_ENUMS).sort());
  });

  it.each(Object.entries(SPEC_ENUMS))("%s has the spec's values in declaration order", (name, values) => {
    expect([...SQL_ENUM_VALUES[name as SqlEnumName]]).toEqual(values);
  });

  it("zod enums accept members and reject anything else, case-sensitively", () => {
    expect(eventTypeSchema.parse("bypass_attempt")).toBe("bypass_attempt");
    expect(eventTypeSchema.safeParse("bypass").success).toBe(false);
    expect(auditActionSchema.safeParse("insert").success).toBe(false);
    // The spec spells it the American way (billing provider's value); "cancelled" belongs to unenroll requests.
    expect(subscriptionStatusSchema.safeParse("cancelled").success).toBe(false);
  });

  // When the migrations declare the enum types, they must agree with this file value for value.
  it("agrees with every CREATE TYPE ... AS ENUM in migrations/ (if any)", () => {
    const migrationsDir = fileURLToPath(new URL("../../../migrations/", import.meta.url));
    let sqlFiles: string[] = [];
    try {
      sqlFiles = readdirSync(migrationsDir).filter((file) => file.endsWith(".sql"));
    } catch {
      sqlFiles = [];
    }
    const declared = new Map<string, string[]>();
    for (const file of sqlFiles) {
      const sql = readFileSync(migrationsDir + file, "utf8").replace(/--[^\n]*/g, "");
      for (const match of sql.matchAll(/CREATE\s+TYPE\s+(\w+)\s+AS\s+ENUM\s*\(([^)]*)\)/gi)) {
        const values = [...(match[2] ?? "").matchAll(/'([^']*)'/g)].map((value) => value[1] ?? "");
        declared.set((match[1] ?? "").toLowerCase(), values);
      }
    }
    for (const [name, values] of declared) {
      if (name in SQL_ENUM_VALUES) {
        // Migrations may append values later (ALTER TYPE ... ADD VALUE); CREATE TYPE must be a prefix.
        expect(values, `enum ${name}`).toEqual(
          [...SQL_ENUM_VALUES[name as SqlEnumName]].slice(0, values.length),
        );
      }
    }
  });
});
